"""Decoded records to normalized records: glucose specials, time, events."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import pytest

from drivers._core.records import Activity, DeviceEvent, Food, GlucoseSample, Injection
from drivers.cgm.dexcom_receiver.decode import decode_pages
from drivers.cgm.dexcom_receiver.frames import parse_frame
from drivers.cgm.dexcom_receiver.layouts import (
    EgvRecord,
    InsertionRecord,
    MeterRecord,
    UserEventRecord,
)
from drivers.cgm.dexcom_receiver.normalize import (
    glucose_value,
    model_name,
    normalize,
    receiver_seconds,
    receiver_time,
)
from tests.drivers.cgm.dexcom_receiver.capture import exchanges

DEV = "dexcom:g4-receiver:sm1"
OFF = -18000


def egv(sys_s: int, word: int, trend: int = 0x14, **ext: int) -> EgvRecord:
    return EgvRecord(sys_s, sys_s + OFF, word, trend, **ext)


def test_epoch_and_clocks() -> None:
    # protocols.md 2 §10.1: sys 203619600 = 2015-06-15 17:00:00 (epoch 2009-01-01, no zone).
    assert receiver_time(203619600) == datetime(2015, 6, 15, 17, 0)
    assert receiver_seconds(datetime(2015, 6, 15, 12, 0)) == 203601600


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        (120, (120.0, None, None)),
        (40, (40.0, None, None)),
        (400, (400.0, None, None)),
        (39, (None, "low", "cgm/low-out-of-range")),
        (20, (None, "low", "cgm/low-out-of-range")),
        (401, (None, "high", "cgm/high-out-of-range")),
        (1, (None, "sensor-error", "cgm/dexcom-error-1-sensor-not-active")),
        (5, (None, "warmup", "cgm/dexcom-error-5-sensor-not-calibrated")),
        (9, (None, "not-computable", "cgm/dexcom-error-9-absolute-deviation")),
        (12, (None, "sensor-error", "cgm/dexcom-error-12-bad-rf")),
        (0, (None, "not-computable", "cgm/dexcom-error-0-none")),
        (7, (None, "sensor-error", "cgm/dexcom-error-7-unknown")),
        (0x4000 | 150, (150.0, None, None)),
    ],
)
def test_glucose_values_and_specials(word: int, expected: tuple[object, ...]) -> None:
    assert glucose_value(word) == expected


def test_egv_sample_fields() -> None:
    [low, special] = normalize([egv(1000, 39), egv(1300, 5, 0x58)], device_id=DEV).records
    assert isinstance(low, GlucoseSample) and isinstance(special, GlucoseSample)
    assert (low.glucose_mgdl, low.special, low.reporting_limit_mgdl) == (None, "low", 40.0)
    assert low.source_index == "egv:1000" and low.device_time == receiver_time(1000 + OFF)
    assert low.trend == "Flat"
    assert (special.glucose_mgdl, special.special, special.trend) == (
        None,
        "warmup",
        "NOT COMPUTABLE",
    )


def test_display_only_records_are_dropped_and_counted() -> None:
    out = normalize([egv(1000, 0x8005), egv(1000, 130)], device_id=DEV)
    assert [r.source_index for r in out.records] == ["egv:1000"]
    assert out.display_only_dropped == 1


def test_backfilled_reading_gets_its_true_time() -> None:
    ext = {"transmitter_time_s": 9, "filtered_rate": 0, "algorithm_state": 6, "predicted_word": 0}
    live = egv(5000, 110, system_time_s=5000, **ext)
    # written at sys 5600 (disp = backfill time), taken at system time 4400
    late = EgvRecord(5600, 5600 + OFF, 0x2000 | 99, 0x14, system_time_s=4400, **ext)
    out = normalize([live, late], device_id=DEV).records
    back = next(r for r in out if r.source_index == "egv:4400")
    assert back.device_time == receiver_time(5000 + OFF - 600)
    assert "cgm/backfilled" in back.annotations


def test_clock_changes_become_time_change_events() -> None:
    recs = [
        egv(1000, 100),
        egv(1300, 101),
        EgvRecord(1600, 1601 + OFF, 102, 0x14),
        EgvRecord(1900, 1900 + OFF + 3600, 103, 0x14),
    ]
    out = normalize(recs, device_id=DEV, last_offset_s=OFF)
    [change] = [r for r in out.records if isinstance(r, DeviceEvent)]
    assert change.event_type == "time-change" and change.source_index == "time-change:1900"
    assert change.time_from == receiver_time(1900 + OFF)
    assert change.time_to == receiver_time(1900 + OFF + 3600)
    assert out.last_offset_s == OFF + 3600
    assert out.records.index(change) == 3  # in log order, before the first new-clock record
    again = normalize(recs[3:], device_id=DEV, last_offset_s=OFF)  # across two syncs
    assert any(isinstance(r, DeviceEvent) for r in again.records)


def test_meter_insertion_and_user_events() -> None:
    recs = [
        MeterRecord(2000, 2000 + OFF, 135, 1970),
        InsertionRecord(2100, 2100 + OFF, 2090, 7),
        InsertionRecord(2200, 2200 + OFF, 0xFFFFFFFF, 1),
        InsertionRecord(2250, 2250 + OFF, 0xFFFFFFFF, 9),
        UserEventRecord(2300, 2300 + OFF, 1, 0, 2200 + OFF, 45),
        UserEventRecord(2400, 2400 + OFF, 2, 0, 2390 + OFF, 350),
        UserEventRecord(2500, 2500 + OFF, 4, 2, 2500 + OFF, 30),
        UserEventRecord(2600, 2600 + OFF, 3, 1, 2600 + OFF, 0),
    ]
    out = normalize(recs, device_id=DEV)
    meter, start, stop, food, insulin, exercise, health = out.records
    assert isinstance(meter, GlucoseSample) and meter.sample_type == "calibration"
    assert (meter.glucose_mgdl, meter.source_index) == (135.0, "meter:2000")
    assert isinstance(start, DeviceEvent) and start.event_type == "sensor-start"
    assert start.device_time == receiver_time(2090 + OFF)
    assert isinstance(stop, DeviceEvent) and (stop.event_type, stop.code) == (
        "sensor-stop",
        "removed",
    )
    assert out.unmapped == 1  # session state 9 (manufacturing mode)
    assert isinstance(food, Food) and food.carbs_g == 45.0
    assert food.device_time == receiver_time(2200 + OFF)  # when it happened, not entered
    assert isinstance(insulin, Injection) and insulin.insulin_u == 3.5
    assert isinstance(exercise, Activity) and (exercise.duration_s, exercise.intensity) == (
        1800,
        "medium",
    )
    assert isinstance(health, Activity) and health.activity_type == "health/illness"


def test_real_g4_capture_normalizes() -> None:
    decoded = []
    for request, answer in exchanges():
        if request[3] == 0x11:
            for page in decode_pages(parse_frame(answer).payload):
                if page.header.record_type in (4, 7, 10, 11):
                    decoded += [rec for _, rec in page.records]
    out = normalize(decoded, device_id=DEV)
    kinds = Counter(r.sample_type if isinstance(r, GlucoseSample) else r.kind for r in out.records)
    assert kinds["cgm"] + out.display_only_dropped == 152 and kinds["calibration"] == 32
    assert kinds["food"] + kinds["injection"] + kinds["activity"] == 35
    assert len({r.dedup_key for r in out.records}) == len(out.records)
    assert out.last_offset_s == -25162  # the capture's READ_DISPLAY_TIME_OFFSET: -25161
    assert model_name("G4Receiver") == "G4 receiver"
    assert model_name("OrionReceiver") == "G6 touchscreen receiver"
