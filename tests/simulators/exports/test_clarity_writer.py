"""Writer -> importer -> time base gives back the trace, in every layout, across DST."""

from __future__ import annotations

from datetime import date

import pytest

from drivers._core.records import GlucoseSample
from drivers._core.timebase import resolve_times
from drivers.exports import read_export
from simulators.cgm_trace import cgm_trace
from simulators.exports.dexcom_clarity import write_clarity

TZ = "America/Chicago"


@pytest.fixture(scope="module")
def trace():  # type: ignore[no-untyped-def]
    # 2026-10-31 .. 2026-11-02 local: contains the 1 November fall-back hour.
    return cgm_trace(days=3, seed=11, tz=TZ, start=date(2026, 10, 31))


@pytest.mark.parametrize(
    "options",
    [
        {"quoted": True, "bom": True, "crlf": False},
        {"quoted": False, "bom": True, "crlf": True},
        {"quoted": True, "bom": False, "crlf": True, "ragged": False},
        {"units": "mmol/L", "quoted": False, "bom": True, "crlf": True},
    ],
)
def test_round_trip_recovers_values_and_utc_times(trace, options) -> None:  # type: ignore[no-untyped-def]
    data = write_clarity(trace.records, **options)
    assert data.startswith(b"\xef\xbb\xbf") == options["bom"]
    result = read_export("x.csv", data=data)
    assert result.skipped == []
    resolved = resolve_times(result.records, TZ)
    want = sorted(trace.records, key=lambda r: (r.time_utc, r.sample_type))
    got = sorted(resolved, key=lambda r: (r.time_utc, r.sample_type))  # type: ignore[arg-type,return-value]
    assert [r.time_utc for r in got] == [r.time_utc for r in want]
    tolerance = 0.1 * 18.01559 / 2 + 1e-6 if options.get("units") == "mmol/L" else 0
    for a, b in zip(got, want, strict=True):
        assert isinstance(a, GlucoseSample) and a.special == b.special
        if b.glucose_mgdl is not None:
            assert a.glucose_mgdl == pytest.approx(b.glucose_mgdl, abs=tolerance)


def test_repeated_hour_is_in_the_file_twice(trace) -> None:  # type: ignore[no-untyped-def]
    text = write_clarity(trace.records, quoted=False, bom=False).decode()
    assert text.count("2026-11-01T01:30:00") == 2 or text.count("2026-11-01T01:3") >= 4
