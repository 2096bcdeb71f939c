"""The four real Clarity exports in shared/fixtures/real/dexcom-clarity.

Expected counts were taken with awk, independently of the parser: data rows are rows
with a timestamp (field 2), grouped by Event Type (field 3), with EGV rows whose
glucose cell (field 8) is the word High/Low counted apart:
``sed 's/\r$//; s/"//g' F | awk -F, 'NR>1 && $2!="" {k=$3;
if($3=="EGV" && ($8=="High"||$8=="Low")) k="EGV-"$8; c[k]++}
END{for(k in c) print k, c[k]}'``
"""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers._core.records import GlucoseSample, count_by_kind
from drivers.exports import read_export

G6_2019 = "clarity_g6_android_2019_unquoted_bom.csv"
G6_2025 = "clarity_g6_android_2025_quoted_bom.csv"
RECEIVER = "clarity_g6_receiver_mmol_not_stored_bom.csv"
G7 = "clarity_g7_ios_2025_quoted_nobom_names_REDACTED.csv"

EXPECTED = {
    # EGV 3898 + High 13 + Low 2; Calibration 9, Insulin 73, Carbs 4, Exercise 3
    G6_2019: {"cgm": 3913, "calibration": 9, "injection": 73, "food": 4, "activity": 3},
    # EGV 3917 + Low 5; Insulin 47
    G6_2025: {"cgm": 3922, "injection": 47},
    RECEIVER: {"cgm": 299},
    G7: {"cgm": 2772, "injection": 1},
}


@pytest.fixture(scope="module")
def clarity(real_fixtures: Path) -> Path:
    return real_fixtures / "dexcom-clarity"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_counts_units_and_no_skips(clarity: Path, name: str) -> None:
    result = read_export(clarity / name)
    assert result.format == "dexcom-clarity-csv"
    assert count_by_kind(result.records) == EXPECTED[name]
    assert result.skipped == []
    assert result.units_in_file == ("mmol/L" if name == RECEIVER else "mg/dL")
    keys = [r.dedup_key for r in result.records]
    assert len(set(keys)) == len(keys)
    assert all(r.time_utc is None for r in result.records)  # the gateway's time base fills it


def test_high_and_low_stay_flagged_with_the_sensor_limit(clarity: Path) -> None:
    cgm = [r for r in read_export(clarity / G6_2019).records if isinstance(r, GlucoseSample)]
    high = [r for r in cgm if r.special == "high"]
    low = [r for r in cgm if r.special == "low"]
    assert (len(high), len(low)) == (13, 2)
    assert all(r.glucose_mgdl is None and r.reporting_limit_mgdl == 400.0 for r in high)
    assert all(r.glucose_mgdl is None and r.reporting_limit_mgdl == 40.0 for r in low)
    assert all("cgm/high-out-of-range" in r.annotations for r in high)
    numeric = [r.glucose_mgdl for r in cgm if r.glucose_mgdl is not None]
    assert min(numeric) >= 40 and max(numeric) <= 400


def test_mmol_file_is_converted(clarity: Path) -> None:
    first = read_export(clarity / RECEIVER).records[0]
    assert isinstance(first, GlucoseSample)
    # line 12: 2019-03-14T16:16:28, 6.7 mmol/L -> 6.7 x 18.01559 = 120.70 mg/dL
    assert str(first.device_time) == "2019-03-14 16:16:28"
    assert first.glucose_mgdl == pytest.approx(120.704, abs=0.001)


def test_receiver_sessions_reuse_transmitter_times_and_stay_distinct(clarity: Path) -> None:
    """The receiver export repeats (transmitter id, transmitter time) across days, e.g.
    11100 at 2019-03-14T17:11:27 and at 2019-03-15T11:11:27 (awk on field 13): the
    timestamp is part of the key so no reading is lost as a duplicate."""
    records = read_export(clarity / RECEIVER).records
    keys = [r.source_index for r in records if ":11100:" in r.source_index]
    assert len(keys) == 4 and len(set(keys)) == 4


def test_two_entries_in_one_minute_are_both_kept(clarity: Path) -> None:
    """Lines 1848-1849: Long-Acting 3.00 U and 29.00 U, both at 2025-05-07T10:25:00."""
    doses = sorted(
        r.insulin_u
        for r in read_export(clarity / G6_2025).records
        if r.kind == "injection" and str(r.device_time) == "2025-05-07 10:25:00"
    )
    assert doses == [3.0, 29.0]


def test_patient_identity_never_reaches_records(clarity: Path) -> None:
    result = read_export(clarity / G7)
    text = repr(result.records) + repr(result.device)
    assert "REDACTED" not in text and "FirstName" not in text


def test_g7_sensor_changes_are_sessions_in_order(clarity: Path) -> None:
    records = read_export(clarity / G7).records
    cgm_times = [r.device_time for r in records if r.kind == "glucose"]
    assert cgm_times == sorted(cgm_times)
    transmitters = {r.source_index.split(":")[1] for r in records if r.kind == "glucose"}
    assert len(transmitters) >= 1


def test_same_file_twice_and_an_overlapping_cut_give_the_same_keys(
    clarity: Path, tmp_path: Path
) -> None:
    data = (clarity / G6_2025).read_bytes()
    lines = data.split(b"\n")
    partial = b"\n".join(lines[:2000]) + b"\n"  # the first part of the same export
    full = {r.dedup_key for r in read_export(clarity / G6_2025).records}
    again = {r.dedup_key for r in read_export(clarity / G6_2025).records}
    cut = {r.dedup_key for r in read_export("cut.csv", data=partial).records}
    assert full == again and cut < full and len(cut) > 1900
