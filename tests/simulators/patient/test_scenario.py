"""Scenario: reproducible records whose planted truth can be recovered exactly."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from drivers._core.records import (
    BasalSegment,
    Bolus,
    DeviceEvent,
    Food,
    GlucoseSample,
    Record,
    SettingsSnapshot,
)
from simulators.patient.presets import PRESETS, preset
from simulators.patient.scenario import Scenario


def utc(r: Record) -> datetime:
    assert r.time_utc is not None
    return r.time_utc


@cache
def scenario(name: str, days: int = 14, seed: int = 3, tz: str = "America/Chicago") -> Scenario:
    return Scenario(preset(name), days=days, seed=seed, tz=tz)


def _meal_bolus_pairs(sc: Scenario) -> tuple[list[Food], dict[int, Bolus]]:
    """Each meal's bolus: a calculator bolus with carbs in the behaviour's time window."""
    beh = sc.patient.behaviour
    before = timedelta(minutes=beh.prebolus_min[1] + 5)
    after = timedelta(minutes=beh.late_bolus_min[1] + 5)
    foods = [r for r in sc.records if isinstance(r, Food)]
    boluses = [
        r
        for r in sc.records
        if isinstance(r, Bolus) and r.calculation is not None and (r.calculation.carbs_g or 0) > 0
    ]
    pairs: dict[int, Bolus] = {}
    used: set[str] = set()
    for i, f in enumerate(foods):
        assert f.time_utc is not None
        for b in boluses:
            assert b.time_utc is not None
            if (
                b.source_index not in used
                and f.time_utc - before <= b.time_utc <= f.time_utc + after
            ):
                pairs[i] = b
                used.add(b.source_index)
                break
    assert len(used) == len(boluses), "every meal bolus belongs to one meal"
    return foods, pairs


@pytest.mark.parametrize("name", list(PRESETS))
def test_planted_behaviour_is_exactly_what_the_records_show(name: str) -> None:
    sc = scenario(name)
    t = sc.truth
    foods, pairs = _meal_bolus_pairs(sc)
    assert len(foods) == t.n_meals
    assert len(foods) - len(pairs) == t.missed_meal_boluses
    assert t.missed_meal_boluses == t.planted_missed + t.zero_dose_meals
    assert t.missed_bolus_rate == pytest.approx(t.missed_meal_boluses / t.n_meals)
    late = sum(utc(b) > utc(foods[i]) + timedelta(minutes=15) for i, b in pairs.items())
    assert late == t.late_boluses
    boluses = [r for r in sc.records if isinstance(r, Bolus)]
    assert len(boluses) == t.meal_boluses + t.correction_boluses
    changed = [b for b in boluses if b.calculation and b.calculation.user_changed]
    assert len(changed) == t.overrides
    assert t.override_rate == pytest.approx(len(changed) / len(boluses))
    for b in boluses:
        assert b.calculation is not None and b.calculation.user_changed is not None
        rec = b.calculation.recommended_total_u
        assert rec is not None and rec >= 0.0 and b.programmed_u > 0
        assert (abs(b.programmed_u - rec) > 1e-9) == b.calculation.user_changed
    up = sum(
        b.programmed_u > (b.calculation.recommended_total_u or 0.0)
        for b in changed
        if b.calculation
    )
    assert up == t.overrides_up
    events = [r for r in sc.records if isinstance(r, DeviceEvent)]
    assert sum(e.event_type == "site-change" for e in events) == t.n_site_changes
    assert sum(e.event_type == "reservoir-change" for e in events) == t.cartridge_changes
    assert sum(e.event_type == "sensor-start" for e in events) == t.sensor_sessions
    smbg = [r for r in sc.records if isinstance(r, GlucoseSample) and r.sample_type == "smbg"]
    cal = [r for r in sc.records if isinstance(r, GlucoseSample) and r.sample_type == "calibration"]
    assert (len(smbg), len(cal)) == (t.fingersticks, t.calibrations)


def test_missed_bolus_rate_is_the_planted_one_over_a_long_period() -> None:
    sc = scenario("missed_boluses", days=60, seed=8)
    rate = sc.patient.behaviour.missed_bolus_rate
    n = sc.truth.n_meals
    assert abs(sc.truth.planted_missed / n - rate) < 3 * np.sqrt(rate * (1 - rate) / n)
    well = scenario("well_controlled", days=60, seed=8)
    assert well.truth.missed_bolus_rate < sc.truth.missed_bolus_rate / 3


def test_same_seed_same_records_other_seed_other_records() -> None:
    a = Scenario(preset("missed_boluses"), days=5, seed=42, tz="Europe/Berlin")
    b = Scenario(preset("missed_boluses"), days=5, seed=42, tz="Europe/Berlin")
    c = Scenario(preset("missed_boluses"), days=5, seed=43, tz="Europe/Berlin")
    assert a.records == b.records
    np.testing.assert_array_equal(a.truth.true_mgdl, b.truth.true_mgdl)
    np.testing.assert_array_equal(a.truth.cgm_mgdl, b.truth.cgm_mgdl)
    assert a.records != c.records
    assert not np.array_equal(a.truth.true_mgdl, c.truth.true_mgdl)


def test_records_are_time_ordered_with_distinct_devices_and_unique_keys() -> None:
    sc = scenario("new_pump_start")
    times = [r.time_utc for r in sc.records]
    assert all(t is not None for t in times)
    assert times == sorted(times)  # type: ignore[type-var]
    assert sc.pump_id != sc.cgm_id
    cgm = {
        r.device_id for r in sc.records if isinstance(r, GlucoseSample) and r.sample_type == "cgm"
    }
    assert cgm == {sc.cgm_id}
    pump_kinds = {type(r) for r in sc.records if r.device_id == sc.pump_id}
    assert {Bolus, BasalSegment, Food, SettingsSnapshot, DeviceEvent} <= pump_kinds
    keys = [r.dedup_key for r in sc.records]
    assert len(keys) == len(set(keys))


def test_bounds_and_special_values() -> None:
    sc = scenario("missed_boluses")
    t = sc.truth
    assert t.true_mgdl.min() >= 30.0 and t.true_mgdl.max() <= 500.0
    cgm = [r for r in sc.records if isinstance(r, GlucoseSample) and r.sample_type == "cgm"]
    for r in cgm:
        if r.special is None:
            assert r.glucose_mgdl is not None and 40.0 <= r.glucose_mgdl <= 400.0
            assert r.glucose_mgdl == round(r.glucose_mgdl)
        else:
            assert r.glucose_mgdl is None
            assert r.reporting_limit_mgdl == (40.0 if r.special == "low" else 400.0)
    assert sum(r.special == "high" for r in cgm) == int(t.cgm_high.sum())
    assert sum(r.special == "low" for r in cgm) == int(t.cgm_low.sum())
    assert len(cgm) == int(np.isfinite(t.cgm_mgdl).sum())


def test_no_cgm_reading_during_sensor_warmup() -> None:
    sc = scenario("well_controlled", days=25)
    starts = [
        utc(r) for r in sc.records if isinstance(r, DeviceEvent) and r.event_type == "sensor-start"
    ]
    assert len(starts) >= 3 and sc.truth.warmup_slots == 24 * len(starts)
    readings = [
        utc(r) for r in sc.records if isinstance(r, GlucoseSample) and r.sample_type == "cgm"
    ]
    two_h = timedelta(hours=2)
    for s in starts:
        assert [t for t in readings if s <= t < s + two_h] == []
        assert any(s + two_h <= t < s + two_h + timedelta(minutes=30) for t in readings)
    assert readings[0] >= starts[0] + two_h


@pytest.mark.parametrize(
    ("tz", "start", "offsets"),
    [
        ("America/New_York", date(2024, 3, 9), {-5 * 3600, -4 * 3600}),
        ("Europe/Berlin", date(2024, 10, 26), {7200, 3600}),
    ],
)
def test_device_time_is_the_local_wall_clock_across_dst(
    tz: str, start: date, offsets: set[int]
) -> None:
    sc = Scenario(preset("well_controlled"), days=3, seed=5, tz=tz, start=start)
    zone = ZoneInfo(tz)
    seen = set()
    for r in sc.records:
        assert r.time_utc is not None and r.time_utc.tzinfo is not None
        assert r.device_time == r.time_utc.astimezone(zone).replace(tzinfo=None)
        assert r.utc_offset_s == int(r.time_utc.astimezone(zone).utcoffset().total_seconds())  # type: ignore[union-attr]
        seen.add(r.utc_offset_s)
    assert seen == offsets
    cgm = [r for r in sc.records if isinstance(r, GlucoseSample) and r.sample_type == "cgm"]
    local = [r.device_time for r in cgm]
    if start.month == 10:  # autumn: a repeated local hour, device time goes backwards once
        assert any(b < a for a, b in itertools.pairwise(local))
    else:  # spring: no reading shows 02:xx on the change night
        assert not any(t.date() == date(2024, 3, 10) and t.hour == 2 for t in local)


def test_basal_covers_the_period_and_settings_are_snapshotted() -> None:
    sc = scenario("new_pump_start")
    basal = [r for r in sc.records if isinstance(r, BasalSegment)]
    assert sum(r.duration_s or 0 for r in basal) == 14 * 86400
    for a, b in itertools.pairwise(basal):
        assert utc(a) + timedelta(seconds=a.duration_s or 0) == utc(b)
    temps = [r for r in basal if r.basal_type == "temp"]
    assert all(
        r.percent == 50.0 and r.rate_u_per_h < (r.scheduled_rate_u_per_h or 0) for r in temps
    )
    snaps = [r for r in sc.records if isinstance(r, SettingsSnapshot)]
    assert len(snaps) >= 1 + len(sc.truth.upload_slots)
    # the day-7 retitration shows as a change of settings between snapshots
    assert snaps[0].insulin_action_s == 4 * 3600 and snaps[-1].insulin_action_s == 5 * 3600
    total = sum(r.rate_u_per_h * (r.duration_s or 0) / 3600 for r in basal)
    assert total == pytest.approx(sc.truth.basal_insulin_u, rel=1e-3)


def test_truth_arrays_line_up_with_time() -> None:
    sc = scenario("pregnancy", days=3)
    t = sc.truth
    assert len(t.time_utc) == len(t.true_mgdl) == len(t.cgm_mgdl) == 3 * 288
    assert (np.diff(t.time_utc).astype(int) == 300).all()
    meals = [r for r in sc.records if isinstance(r, Food)]
    slot_times = t.time_utc[t.meal_slots].astype("datetime64[s]").astype(int)
    assert [int(m.time_utc.timestamp()) for m in meals] == slot_times.tolist()  # type: ignore[union-attr]
