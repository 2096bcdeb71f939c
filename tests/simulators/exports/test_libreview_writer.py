"""Round trips: records -> simulators.exports.libreview writer -> importer -> same records.

LibreView has no sequence number and the importer returns rows sorted by device time, so
records are compared as time-sorted lists of their content (``source_index`` aside: it
is the importer's to make). Covered: US mg/dL, EU mmol/L (CRLF), Spanish clinic export
with decimal commas in quotes, the two-line clinic preamble, a DST fall-back hour
(repeated local times), and the reader-software TXT in English and Spanish.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from drivers._core.records import (
    Activity,
    DeviceEvent,
    Food,
    GlucoseSample,
    Injection,
    Record,
    make_device_id,
)
from drivers._core.units import mmoll_to_mgdl
from drivers.exports import freestyle_reader, libreview
from simulators.exports.libreview import write_libreview, write_reader_txt

SERIAL = "F91A8D8B-15FF-4028-A066-F97CD2ED2660"
DEV = make_device_id("Abbott", "FreeStyle LibreLink", SERIAL)
READER = make_device_id("Abbott", "FreeStyle Libre reader", "unknown")


def content(records: tuple[Record, ...] | list[Record]) -> list[dict[str, Any]]:
    """Records as comparable dicts: no source_index, no repeated-row marker, time-sorted."""
    out = []
    for rec in records:
        d = rec.to_dict()
        d.pop("source_index")
        d["annotations"] = [a for a in d["annotations"] if a != "libre/repeated-row"]
        out.append(d)
    return sorted(out, key=lambda d: (d["device_time"], json.dumps(d, sort_keys=True)))


def glucose(
    t: datetime, mgdl: float, *, scan: bool = False, smbg: bool = False, dev: str = DEV
) -> GlucoseSample:
    return GlucoseSample(
        device_id=dev,
        source_index="",
        device_time=t,
        sample_type="smbg" if smbg else "cgm",
        glucose_mgdl=mgdl,
        annotations=("libre/scan",) if scan else (),
    )


def mmol(tenths: int) -> float:
    return round(mmoll_to_mgdl(tenths / 10), 2)


def scenario(mmol_units: bool) -> list[Record]:
    """A day with historic/scan/strip glucose, HI, insulin, food and exercise, across the
    EU DST fall-back (2021-10-31 03:00 -> 02:00: the 02:xx hour appears twice)."""
    t0 = datetime(2021, 10, 31, 1, 0)
    value = mmol if mmol_units else float
    recs: list[Record] = [glucose(t0 + timedelta(minutes=15 * i), value(60 + i)) for i in range(8)]
    recs += [
        glucose(datetime(2021, 10, 31, 2, 15 * i), value(90 + i)) for i in range(4)
    ]  # repeated hour
    recs += [
        glucose(datetime(2021, 10, 31, 7, 3), value(101), scan=True),
        glucose(datetime(2021, 10, 31, 7, 5), value(99), smbg=True),
        GlucoseSample(
            device_id=DEV,
            source_index="",
            device_time=datetime(2021, 10, 31, 8, 0),
            sample_type="cgm",
            glucose_mgdl=None,
            special="high",
            reporting_limit_mgdl=500.0,
            annotations=("libre/scan", "cgm/high-out-of-range"),
        ),
        Injection(
            device_id=DEV,
            source_index="",
            device_time=datetime(2021, 10, 31, 7, 10),
            insulin_u=4.5,
            insulin_type="rapid",
        ),
        Injection(
            device_id=DEV,
            source_index="",
            device_time=datetime(2021, 10, 31, 22, 0),
            insulin_u=18.0,
            insulin_type="long",
        ),
        Food(
            device_id=DEV, source_index="", device_time=datetime(2021, 10, 31, 7, 12), carbs_g=45.0
        ),
        Food(
            device_id=DEV,
            source_index="",
            device_time=datetime(2021, 10, 31, 12, 0),
            carbs_g=None,
            annotations=("food/carbs-unknown",),
        ),
        Activity(
            device_id=DEV,
            source_index="",
            device_time=datetime(2021, 10, 31, 17, 0),
            activity_type="exercise",
        ),
    ]
    return recs


def test_us_mgdl_round_trip() -> None:
    recs = scenario(False)
    data = write_libreview(recs, locale="us", units="mg/dL")
    assert b" PM," in data and b"\r\n" not in data
    result = libreview.parse(data.decode("utf-8"), file="us.csv")
    assert result.skipped == () and not result.day_first
    assert content(result.records) == content(recs)


def test_eu_mmol_round_trip_with_dst_fold() -> None:
    recs = scenario(True)
    data = write_libreview(recs, locale="eu", units="mmol/L")
    assert b"\r\n" in data and b"31-10-2021 02:15" in data
    result = libreview.parse(data.decode("utf-8"), file="eu.csv")
    assert result.day_first and result.units_in_file == "mmol/L"
    assert content(result.records) == content(recs)
    repeated = [r for r in result.records if r.device_time == datetime(2021, 10, 31, 2, 15)]
    assert len(repeated) == 2 and len({r.source_index for r in repeated}) == 2


def test_spanish_clinic_decimal_comma_round_trip() -> None:
    recs = scenario(True)
    data = write_libreview(recs, locale="es", units="mmol/L", patient="Paciente Secreto")
    assert b'"6,0"' in data and b"Informe del paciente" in data
    result = libreview.parse(data.decode("utf-8"), file="es.csv")
    assert content(result.records) == content(recs)
    assert "Secreto" not in repr(result)


def test_english_clinic_two_line_preamble() -> None:
    recs = scenario(False)
    data = write_libreview(recs, locale="us", clinic=True, patient="Secret Name")
    assert data.decode().splitlines()[1].startswith("Secret Name,")
    result = libreview.parse(data.decode(), file="clinic.csv")
    assert content(result.records) == content(recs) and "Secret" not in repr(result)


def test_reader_txt_round_trip_en_and_es() -> None:
    t = datetime(2019, 3, 31, 1, 45)
    recs: list[Record] = [
        glucose(t, mmol(52), dev=READER),
        DeviceEvent(
            device_id=READER,
            source_index="",
            device_time=datetime(2019, 3, 31, 3, 0),
            event_type="time-change",
            time_from=datetime(2019, 3, 31, 2, 0),
            time_to=datetime(2019, 3, 31, 3, 0),
        ),
        DeviceEvent(
            device_id=READER,
            source_index="",
            device_time=datetime(2019, 3, 31, 4, 0),
            event_type="sensor-start",
        ),
        glucose(datetime(2019, 3, 31, 5, 0), mmol(61), scan=True, dev=READER),
    ]
    for language in ("en", "es"):
        data = write_reader_txt(recs, language=language, units="mmol/L")  # type: ignore[arg-type]
        result = freestyle_reader.parse(data.decode("utf-8"), file="r.txt")
        assert result.skipped == ()
        assert content(result.records) == content(recs)
        assert result.records[0].source_index.startswith("1:")


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 60 * 24 * 20), st.integers(40, 400)), min_size=1, max_size=40
    ),
    st.sampled_from([("us", "mg/dL"), ("eu", "mmol/L"), ("es", "mmol/L"), ("eu", "mg/dL")]),
)
def test_random_glucose_round_trip(points: list[tuple[int, int]], layout: tuple[str, str]) -> None:
    locale, units = layout
    t0 = datetime(2022, 1, 1)
    value = (lambda v: mmol(round(v / 1.8))) if units == "mmol/L" else float
    recs = [glucose(t0 + timedelta(minutes=m), value(v)) for m, v in points]
    data = write_libreview(recs, locale=locale, units=units)  # type: ignore[arg-type]
    result = libreview.parse(data.decode("utf-8"))
    assert content(result.records) == content(recs)


def test_ketone_rows_round_trip_and_impossible_ones_are_skipped() -> None:
    """Record type 3 (blood ketone, mmol/L). 0.6 and 3.1 mmol/L are readings a
    FreeStyle meter reports; 12.0 is above its 8.0 mmol/L range and is skipped."""
    from drivers._core.records import Ketone

    def ketone(hour: int, value: float) -> Ketone:
        return Ketone(
            device_id=DEV,
            source_index="",
            device_time=datetime(2021, 6, 1, hour),
            ketone_mmoll=value,
        )

    data = write_libreview(
        [glucose(datetime(2021, 6, 1, 7), 120.0), ketone(8, 0.6), ketone(9, 3.1), ketone(10, 12.0)]
    )
    result = libreview.parse(data.decode("utf-8"))
    got = [(r.device_time.hour, r.ketone_mmoll) for r in result.records if isinstance(r, Ketone)]
    assert got == [(8, 0.6), (9, 3.1)]
    assert [reason for _, reason in result.skipped] == ["ketone is above 8.0"] or any(
        "ketone" in reason for _, reason in result.skipped
    )
