"""Round trips: records -> simulators.exports.tidepool -> importer -> same records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from drivers._core.records import (
    BasalSegment,
    Bolus,
    BolusCalculation,
    DeviceEvent,
    Food,
    GlucoseSample,
    Record,
    ScheduleEntry,
    SettingsSnapshot,
)
from drivers._core.timebase import SOURCE_UTC
from drivers.exports import tidepool
from simulators.exports.tidepool import write_tidepool
from tests.fixtures.make_golden_other import read

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
DEV = "insulet:omnipod:130505754"


def _t(minutes: int, offset: int = 3600) -> dict[str, object]:
    utc = T0 + timedelta(minutes=minutes)
    return {
        "time_utc": utc,
        "utc_offset_s": offset,
        "time_reason": SOURCE_UTC,
        "device_time": utc.replace(tzinfo=None) + timedelta(seconds=offset),
        "annotations": ("time/source-utc",),
        "device_id": DEV,
    }


def _records() -> list[Record]:
    calc = BolusCalculation(
        carbs_g=45.0,
        bg_mgdl=160.0,
        carb_ratio_g_per_u=10.0,
        sensitivity_mgdl_per_u=40.0,
        target_low_mgdl=100.0,
        target_high_mgdl=120.0,
        iob_u=0.5,
        recommended_food_u=4.5,
        recommended_correction_u=1.0,
        recommended_total_u=5.0,
        user_changed=True,
    )
    interrupted = _t(30)
    interrupted["annotations"] = ("time/source-utc", "bolus/interrupted")
    return [
        GlucoseSample(**_t(0), source_index="c1", sample_type="cgm", glucose_mgdl=123.0),  # type: ignore[arg-type]
        GlucoseSample(**_t(5), source_index="s1", sample_type="smbg", glucose_mgdl=140.0),  # type: ignore[arg-type]
        Bolus(
            **_t(10),
            source_index="b1",
            subtype="normal",
            programmed_u=5.5,
            delivered_u=5.5,  # type: ignore[arg-type]
            calculation=calc,
        ),
        Bolus(
            **_t(20),
            source_index="b2",
            subtype="dual",
            programmed_u=2.0,
            delivered_u=2.0,  # type: ignore[arg-type]
            extended_programmed_u=3.0,
            extended_delivered_u=3.0,
            extended_duration_s=5400,
        ),
        Bolus(
            **interrupted, source_index="b3", subtype="normal", programmed_u=2.85, delivered_u=0.1
        ),  # type: ignore[arg-type]
        BasalSegment(
            **_t(40),
            source_index="ba1",
            basal_type="scheduled",
            rate_u_per_h=0.9,  # type: ignore[arg-type]
            duration_s=7200,
            schedule_name="Weekday",
        ),
        BasalSegment(
            **_t(50),
            source_index="ba2",
            basal_type="temp",
            rate_u_per_h=0.0,  # type: ignore[arg-type]
            duration_s=1800,
            percent=0.0,
            scheduled_rate_u_per_h=0.9,
        ),
        Food(**_t(60), source_index="f1", carbs_g=30.0),  # type: ignore[arg-type]
        DeviceEvent(
            **_t(70),
            source_index="e1",
            event_type="alarm",
            code="occlusion",  # type: ignore[arg-type]
            detail="AlrmHAZ_PUMP_OCCL",
        ),
        DeviceEvent(
            **_t(80),
            source_index="e2",
            event_type="prime",
            prime_u=0.3,  # type: ignore[arg-type]
            detail="target=cannula",
        ),
        SettingsSnapshot(
            **_t(90),
            source_index="ps1",
            active_schedule="Weekday",  # type: ignore[arg-type]
            basal_schedules_u_per_h={
                "Weekday": (
                    ScheduleEntry(start_s=0, value=0.9),
                    ScheduleEntry(start_s=21600, value=1.2),
                )
            },
            carb_ratios_g_per_u=(ScheduleEntry(start_s=0, value=10.0),),
            sensitivities_mgdl_per_u=(ScheduleEntry(start_s=0, value=40.0),),
            target_low_mgdl=(ScheduleEntry(start_s=0, value=100.0),),
            target_high_mgdl=(ScheduleEntry(start_s=0, value=120.0),),
        ),
    ]


@pytest.mark.parametrize("device_times", [True, False])
def test_round_trip(device_times: bool) -> None:
    records = _records()
    text = write_tidepool(records, device_times=device_times).decode()
    assert tidepool.sniff(text)
    result = tidepool.parse(text, "TidepoolExport.json")
    assert not result.skipped
    assert [r.to_dict() for r in result.records] == [r.to_dict() for r in records]


@pytest.mark.parametrize(
    "name",
    [
        "tidepool_export_json_omnipod_2020_TRIMMED.json",
        "tidepool_export_json_twiist_loop_2026_TRIMMED.json",
    ],
)
def test_real_files_rewritten(real_fixtures: Path, name: str) -> None:
    first = read(real_fixtures / "tidepool" / name, tidepool.parse).records
    again = tidepool.parse(write_tidepool(first).decode(), "w").records
    assert [r.to_dict() for r in again] == [r.to_dict() for r in first]
