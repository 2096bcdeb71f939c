"""Round trips: records -> simulators.exports.nightscout -> importer -> same records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from drivers._core.records import (
    BasalSegment,
    Bolus,
    DeviceEvent,
    Food,
    GlucoseSample,
    Record,
    ScheduleEntry,
    SettingsSnapshot,
)
from drivers._core.timebase import SOURCE_UTC
from drivers.exports import nightscout
from simulators.exports import nightscout as writer
from tests.fixtures.make_golden_other import read

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
OFFSET = -5 * 3600


def _t(minutes: int, offset: int | None = OFFSET) -> dict[str, object]:
    utc = T0 + timedelta(minutes=minutes)
    local = utc.replace(tzinfo=None) + timedelta(seconds=offset or 0)
    notes = (
        ("time/source-utc",)
        if offset is not None
        else ("time/source-utc", "time/utc-offset-unknown")
    )
    return {
        "time_utc": utc,
        "utc_offset_s": offset,
        "device_time": local,
        "time_reason": SOURCE_UTC,
        "annotations": notes,
    }


def _dicts(records: list[Record]) -> list[dict[str, object]]:
    return [r.to_dict() for r in records]


def _cgm(n: int, offset: int | None = OFFSET) -> list[Record]:
    out: list[Record] = []
    for i in range(n):
        fields = _t(5 * i, offset)
        ms = int((T0 + timedelta(minutes=5 * i)).timestamp() * 1000)
        out.append(
            GlucoseSample(
                **fields,
                device_id="nightscout:xdrip-dexcomg6:unknown",  # type: ignore[arg-type]
                source_index=f"sgv:{ms}",
                sample_type="cgm",
                glucose_mgdl=float(100 + i),
                trend="Flat",
            )
        )
    special = _t(5 * n, offset)
    special["annotations"] = (*special["annotations"], "cgm/dexcom-error-5-sensor-not-calibrated")  # type: ignore[misc]
    ms = int((T0 + timedelta(minutes=5 * n)).timestamp() * 1000)
    out.append(
        GlucoseSample(
            **special,
            device_id="nightscout:xdrip-dexcomg6:unknown",  # type: ignore[arg-type]
            source_index=f"sgv:{ms}",
            sample_type="cgm",
            glucose_mgdl=None,
            special="not-computable",
            trend="NOT COMPUTABLE",
        )
    )
    return out


@pytest.mark.parametrize("offset", [OFFSET, None])
def test_entries_json_csv_tsv(offset: int | None) -> None:
    records = _cgm(12, offset)
    for data, fmt in (
        (writer.write_entries_json(records), "nightscout-entries-json"),
        (writer.write_entries_json(records, legacy_strings=True), "nightscout-entries-json"),
        (writer.write_entries_text(records), "nightscout-entries-csv"),
        (writer.write_entries_text(records, delimiter="\t"), "nightscout-entries-tsv"),
    ):
        text = data.decode()
        assert nightscout.sniff(text)
        result = nightscout.parse(text, "w")
        assert result.format == fmt and not result.skipped
        assert _dicts(result.records) == _dicts(records)


def test_treatments() -> None:
    dev = "nightscout:loop:unknown"
    records: list[Record] = [
        Bolus(
            **_t(0),
            device_id=dev,
            source_index="b1",
            subtype="normal",  # type: ignore[arg-type]
            programmed_u=3.0,
            delivered_u=2.5,
        ),
        BasalSegment(
            **_t(5),
            device_id=dev,
            source_index="t1",
            basal_type="temp",  # type: ignore[arg-type]
            rate_u_per_h=0.85,
            duration_s=1800,
        ),
        Food(**_t(10), device_id=dev, source_index="c1", carbs_g=30.0),  # type: ignore[arg-type]
        DeviceEvent(**_t(15), device_id=dev, source_index="s1", event_type="site-change"),  # type: ignore[arg-type]
    ]
    smb = _t(20)
    smb["annotations"] = (*smb["annotations"], "bolus/smb", "bolus/automatic")  # type: ignore[misc]
    records.append(
        Bolus(
            **smb,
            device_id=dev,
            source_index="b2",
            subtype="normal",  # type: ignore[arg-type]
            programmed_u=0.1,
            delivered_u=0.1,
        )
    )
    result = nightscout.parse(writer.write_treatments_json(records).decode(), "t.json")
    assert _dicts(result.records) == _dicts(records)


def test_profile() -> None:
    snap = SettingsSnapshot(
        **_t(0, None),  # type: ignore[arg-type]
        device_id="nightscout:iaps:unknown",
        source_index="p1",
        active_schedule="default",
        basal_schedules_u_per_h={
            "default": (
                ScheduleEntry(start_s=0, value=0.8),
                ScheduleEntry(start_s=21600, value=1.1),
            )
        },
        carb_ratios_g_per_u=(ScheduleEntry(start_s=0, value=10.0),),
        sensitivities_mgdl_per_u=(ScheduleEntry(start_s=0, value=45.0),),
        target_low_mgdl=(ScheduleEntry(start_s=0, value=100.0),),
        target_high_mgdl=(ScheduleEntry(start_s=0, value=120.0),),
        insulin_action_s=5 * 3600,
    )
    for units in ("mmol", "mg/dl"):
        (got,) = nightscout.parse(
            writer.write_profile_json([snap], units=units).decode(), "p"
        ).records
        assert isinstance(got, SettingsSnapshot)
        assert got.basal_schedules_u_per_h == snap.basal_schedules_u_per_h
        assert got.sensitivities_mgdl_per_u[0].value == pytest.approx(45.0)
        assert got.target_high_mgdl[0].value == pytest.approx(120.0)
        assert got.insulin_action_s == snap.insulin_action_s


@pytest.mark.parametrize(
    ("name", "write"),
    [
        ("iaps_nightscout_entries.json", writer.write_entries_json),
        ("legacy_2014_entries_example.json", writer.write_entries_json),
        ("legacy_2014_entries_example.tsv", writer.write_entries_json),
        ("iaps_nightscout_treatments.json", writer.write_treatments_json),
    ],
)
def test_real_files_rewritten(real_fixtures: Path, name: str, write: object) -> None:
    first = read(real_fixtures / "nightscout" / name, nightscout.parse).records
    again = nightscout.parse(write(first).decode(), "w").records  # type: ignore[operator]
    assert _dicts(again) == _dicts(first)
