"""Pump settings, the bolus calculator, basal runs and the slot clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from simulators.patient.physiology import Physiology
from simulators.patient.presets import matched_settings
from simulators.patient.therapy import (
    PumpSettings,
    SlotClock,
    TempBasal,
    basal_program,
    basal_runs,
    bolus_iob,
    recommend_bolus,
    schedule,
)

SETTINGS = PumpSettings(
    basal_u_per_h=schedule(("00:00", 0.8), ("06:00", 1.0)),
    carb_ratio_g_per_u=schedule(("00:00", 10.0), ("12:00", 12.0)),
    sensitivity_mgdl_per_u=schedule(("00:00", 50.0)),
    target_low_mgdl=schedule(("00:00", 100.0)),
    target_high_mgdl=schedule(("00:00", 120.0)),
)


def calc(carbs: float, bg: float | None, iob: float = 0.0, hour: int = 8):  # type: ignore[no-untyped-def]
    return recommend_bolus(
        SETTINGS, seconds_of_day=hour * 3600, carbs_g=carbs, bg_mgdl=bg, iob_u=iob
    )


def test_food_bolus_uses_the_ratio_in_force() -> None:
    assert calc(60, None).recommended_total_u == 6.0
    assert calc(60, None, hour=13).recommended_total_u == 5.0
    assert calc(60, 110).recommended_correction_u == 0.0


def test_correction_above_and_below_the_target_range() -> None:
    above, below = calc(0, 220), calc(30, 50)
    assert above.recommended_correction_u == pytest.approx(2.0)  # (220 - 120) / 50
    assert below.recommended_correction_u == pytest.approx(-1.0)  # (50 - 100) / 50
    assert below.recommended_total_u == pytest.approx(2.0)  # 3 U food - 1 U


def test_iob_reduces_the_correction_never_the_food_and_total_is_never_negative() -> None:
    assert calc(0, 220, iob=0.5).recommended_total_u == pytest.approx(1.5)
    assert calc(0, 220, iob=5.0).recommended_total_u == 0.0
    assert calc(60, 220, iob=5.0).recommended_total_u == pytest.approx(6.0)
    assert calc(5, 40, iob=3.0).recommended_total_u == 0.0
    c = calc(33, 187, iob=0.37)
    assert c.recommended_total_u is not None
    assert round(c.recommended_total_u / 0.05, 6) == round(c.recommended_total_u / 0.05)
    assert c.recommended_total_u <= 3.3 + 1.34 - 0.37 + 1e-9  # rounded down


def test_bolus_iob_uses_the_pump_action_time() -> None:
    assert bolus_iob([0.0], [3.0], SETTINGS) == 3.0
    assert bolus_iob([360.0], [3.0], SETTINGS) == 0.0
    short = replace(SETTINGS, insulin_action_min=240.0)
    assert bolus_iob([120.0], [3.0], short) < bolus_iob([120.0], [3.0], SETTINGS)


def test_settings_snapshot_carries_every_schedule() -> None:
    snap = SETTINGS.snapshot(device_id="p", source_index="s", device_time=datetime(2024, 1, 1))
    assert snap.basal_schedules_u_per_h["standard"] == SETTINGS.basal_u_per_h
    assert snap.insulin_action_s == 6 * 3600
    assert snap.carb_ratios_g_per_u[1].start_s == 12 * 3600


def test_matched_settings_deliver_the_basal_need() -> None:
    phys = Physiology(basal_need_u_per_h=0.9, dawn_fraction=0.2)
    s = matched_settings(phys)
    # the dawn bump adds 0.2 * need over a raised cosine of 6 h (3 h equivalent)
    assert s.daily_basal_u == pytest.approx(0.9 * 24 + 0.9 * 0.2 * 3, abs=0.05)


def test_basal_runs_split_at_schedule_entries_and_temps() -> None:
    clock = SlotClock.build(tz="UTC", start=date(2024, 1, 1), n_slots=288)
    prog = basal_program([SETTINGS], [0], clock.seconds_of_day, [TempBasal(200, 12, 50.0)])
    runs = basal_runs(prog)
    assert [r[0] for r in runs] == [0, 72, 200, 212]
    assert sum(n for _, n in runs) == 288
    assert prog.rate_u_per_h[205] == 0.5 and prog.scheduled_u_per_h[205] == 1.0
    assert prog.units_per_slot.sum() == pytest.approx(0.8 * 6 + 1.0 * 18 - 0.5)


def test_slot_clock_follows_dst() -> None:
    clock = SlotClock.build(tz="America/New_York", start=date(2024, 3, 10), n_slots=288)
    assert clock.offset_s[0] == -5 * 3600 and clock.offset_s[-1] == -4 * 3600
    assert all(lt.hour != 2 for lt in clock.local)  # 02:00-02:59 does not exist that night
    zone = ZoneInfo("America/New_York")
    for k in (0, 30, 287):
        assert clock.local[k] == clock.utc[k].astimezone(zone).replace(tzinfo=None)
        shifted = clock.utc[k] + timedelta(seconds=int(clock.offset_s[k]))
        assert clock.local[k] == shifted.replace(tzinfo=None)
    assert clock.slot_at_local([0], [3 * 60.0])[0] == 24  # 03:00 EDT is 2 h after midnight
    np.testing.assert_array_equal(np.diff(clock.local_day) >= 0, True)
