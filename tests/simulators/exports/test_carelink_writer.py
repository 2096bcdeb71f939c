"""Round trips: records -> simulators.exports.carelink writers -> importer -> same records.

Covered: the 780G layout in the EU locale (``;``, decimal comma, BOM, CRLF, sections
newest first) and the US locale (``,``), Guardian Connect, the classic Raw-Type layout
and iPro2 (UTF-16LE). The scenario crosses the EU DST fall-back: the pump clock is set
back from 03:00 to 02:00 (``New Device Time``) and the 02:xx hour repeats; the importer
must return pump records in the pump's order (it cannot sort by time).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from drivers._core.records import (
    BasalSegment,
    Bolus,
    BolusCalculation,
    DeviceEvent,
    Food,
    GlucoseSample,
    Injection,
    Record,
    make_device_id,
)
from drivers.exports import carelink
from simulators.exports.carelink import write_classic, write_ipro2, write_modern

PUMP = make_device_id("Medtronic", "MiniMed 780G MMT-1886", "NG1234567H")
T = datetime(2025, 10, 26, 1, 0)


def at(h: int, m: int = 0) -> datetime:
    return datetime(2025, 10, 26, h, m)


def strip(records: tuple[Record, ...] | list[Record]) -> list[dict[str, Any]]:
    out = []
    for rec in records:
        d = rec.to_dict()
        d.pop("source_index")
        out.append(d)
    return out


def pump_scenario(dev: str = PUMP) -> list[Record]:
    """Pump records in device order across a clock set back 03:00 -> 02:00."""
    calc = BolusCalculation(
        carbs_g=30.0,
        bg_mgdl=150.0,
        carb_ratio_g_per_u=10.0,
        sensitivity_mgdl_per_u=50.0,
        target_low_mgdl=100.0,
        target_high_mgdl=120.0,
        iob_u=0.5,
        recommended_food_u=3.0,
        recommended_correction_u=0.5,
        recommended_total_u=3.0,
        user_changed=True,
    )
    return [
        BasalSegment(
            device_id=dev,
            source_index="",
            device_time=at(1),
            basal_type="scheduled",
            rate_u_per_h=0.8,
            duration_s=30 * 60,
        ),
        BasalSegment(
            device_id=dev,
            source_index="",
            device_time=at(1, 30),
            basal_type="temp",
            rate_u_per_h=0.4,
            duration_s=30 * 60,
            scheduled_rate_u_per_h=0.8,
            percent=50.0,
        ),
        BasalSegment(
            device_id=dev,
            source_index="",
            device_time=at(2),
            basal_type="scheduled",
            rate_u_per_h=0.9,
            duration_s=40 * 60,
        ),
        Bolus(
            device_id=dev,
            source_index="",
            device_time=at(2, 20),
            subtype="normal",
            programmed_u=3.5,
            delivered_u=3.5,
            calculation=calc,
        ),
        GlucoseSample(
            device_id=dev,
            source_index="",
            device_time=at(2, 30),
            sample_type="smbg",
            glucose_mgdl=150.0,
        ),
        BasalSegment(
            device_id=dev,
            source_index="",
            device_time=at(2, 40),
            basal_type="suspend",
            rate_u_per_h=0.0,
            duration_s=15 * 60,
            scheduled_rate_u_per_h=0.9,
            annotations=("carelink/user_suspend",),
        ),
        DeviceEvent(
            device_id=dev,
            source_index="",
            device_time=at(2, 55),
            event_type="resume",
            code="NORMAL_PUMPING",
        ),
        DeviceEvent(
            device_id=dev,
            source_index="",
            device_time=at(3),
            event_type="time-change",
            time_from=at(3),
            time_to=at(2),
        ),
        # after the change the same local hour again, in pump order
        DeviceEvent(device_id=dev, source_index="", device_time=at(2, 10), event_type="rewind"),
        DeviceEvent(
            device_id=dev,
            source_index="",
            device_time=at(2, 12),
            event_type="prime",
            prime_u=0.3,
            detail="Cannula Fill",
        ),
        Bolus(
            device_id=dev,
            source_index="",
            device_time=at(2, 20),
            subtype="dual",
            programmed_u=1.0,
            delivered_u=1.0,
            extended_programmed_u=2.0,
            extended_delivered_u=2.0,
            extended_duration_s=7200,
        ),
        GlucoseSample(
            device_id=dev,
            source_index="",
            device_time=at(2, 30),
            sample_type="calibration",
            glucose_mgdl=140.0,
        ),
    ]


def cgm(dev: str, times: list[datetime]) -> list[Record]:
    return [
        GlucoseSample(
            device_id=dev, source_index="", device_time=t, sample_type="cgm", glucose_mgdl=100.0 + i
        )
        for i, t in enumerate(times)
    ]


CGM_TIMES = [at(2, 5), at(2, 35), at(3, 5), at(2, 5), at(2, 35)]  # second 02:05 after the change


def _split(records: tuple[Record, ...]) -> tuple[list[Record], list[Record]]:
    sensor = [r for r in records if isinstance(r, GlucoseSample) and r.sample_type == "cgm"]
    return [r for r in records if r not in sensor], sensor


def _pump_only(records: tuple[Record, ...]) -> list[Record]:
    # the basal right before the fold lasts until the suspend; drop the aggregate rows
    return [r for r in records if not (isinstance(r, BasalSegment) and r.basal_type == "automated")]


def test_modern_eu_round_trip_across_dst() -> None:
    pump, sensor = pump_scenario(), cgm(PUMP, CGM_TIMES)
    data = write_modern([*pump, *sensor], locale="eu", patient=("Secret", "Person"))
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data and b";0,8;" in data
    result = carelink.parse(data.decode("utf-8"), file="780g.csv")
    assert result.format == "carelink-csv" and result.skipped == ()
    got_pump, got_sensor = _split(result.records)
    assert strip(_pump_only(tuple(got_pump))) == strip(pump)
    assert strip(got_sensor) == strip(sensor)
    assert "Secret" not in repr(result)


def test_modern_us_round_trip_and_auto_insulin() -> None:
    auto = BasalSegment(
        device_id=PUMP,
        source_index="",
        device_time=at(0),
        basal_type="automated",
        rate_u_per_h=0.125,
        duration_s=86400,
        annotations=("basal/daily-aggregate",),
    )
    pump = pump_scenario()
    data = write_modern([auto, *pump], locale="us")
    assert not data.startswith(b"\xef\xbb\xbf") and b",0.8," in data
    result = carelink.parse(data.decode("utf-8"))
    assert strip([r for r in result.records if r is not None][:1]) == strip([auto])
    assert strip(_pump_only(result.records)) == strip(pump)


def test_guardian_connect_round_trip() -> None:
    dev = make_device_id("Medtronic", "Guardian Connect", "GC-1")
    recs: list[Record] = [
        GlucoseSample(
            device_id=dev, source_index="", device_time=at(8), sample_type="smbg", glucose_mgdl=98.0
        ),
        DeviceEvent(
            device_id=dev, source_index="", device_time=at(8, 1), event_type="alarm", code="LOW SG"
        ),
        Injection(device_id=dev, source_index="", device_time=at(8, 2), insulin_u=4.0),
        Food(device_id=dev, source_index="", device_time=at(8, 3), carbs_g=45.0),
    ]
    sensor = cgm(dev, [at(8, 5), at(8, 10)])
    data = write_modern([*recs, *sensor], locale="eu", guardian=True, serial="GC-1")
    assert not data.startswith(b"\xef\xbb\xbf")
    result = carelink.parse(data.decode("utf-8"))
    assert result.format == "carelink-guardian-connect-csv"
    assert strip(result.records) == strip([*recs, *sensor])


def test_classic_round_trip() -> None:
    dev = make_device_id("Medtronic", "Paradigm Revel 723", "unknown")
    recs = [
        replace(r, schedule_name="standard")
        if isinstance(r, BasalSegment) and r.basal_type == "scheduled"
        else r
        for r in pump_scenario(dev)[:7]
    ] + cgm(dev, [at(4), at(4, 5)])
    data = write_classic(recs)
    assert data.startswith(b"Data Range,10/26/25") and not data.endswith(b"\n")
    result = carelink.parse(data.decode("utf-8"))
    assert result.format == "carelink-classic-csv" and result.skipped == ()
    assert strip(result.records) == strip(recs)
    assert all(r.source_index.startswith("raw:") for r in result.records)


def test_ipro2_utf16_round_trip() -> None:
    dev = make_device_id("Medtronic", "iPro2", "3080857")
    recs: list[Record] = [
        DeviceEvent(
            device_id=dev,
            source_index="",
            device_time=at(9),
            event_type="sensor-start",
            detail="iPro2: Sensor Connect",
        ),
        *cgm(dev, [at(10), at(10, 5)]),
        GlucoseSample(
            device_id=dev,
            source_index="",
            device_time=at(10, 7),
            sample_type="calibration",
            glucose_mgdl=97.29,
        ),
        Food(
            device_id=dev,
            source_index="",
            device_time=at(12),
            carbs_g=None,
            annotations=("food/carbs-unknown",),
        ),
    ]
    data = write_ipro2(recs, patient_id="PATIENT-42")
    assert data.startswith(b"\xff\xfe")
    result = carelink.parse(data.decode("utf-16"))
    assert result.format == "carelink-ipro2-csv"
    assert strip(result.records) == strip(recs)
    assert "PATIENT-42" not in repr(result)
