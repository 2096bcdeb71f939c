"""Insulin and bolus patterns: the rules on hand-built days, and the planted truth of
synthetic patients recovered from their pump records."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from analytics.insulin import (
    BASAL_SCHEDULED,
    BASAL_SUSPEND,
    BASAL_TEMP,
    InsulinData,
    example_data,
    insulin_patterns,
    match_meals,
)
from gateway.analyze.insulin import insulin_data
from simulators.patient.presets import PRESETS, preset
from simulators.patient.scenario import Scenario

H = 3600.0


def _with_bolus_at(offset_s: float) -> InsulinData:
    """One meal at 12:00 and one meal bolus ``offset_s`` from it."""
    d = example_data()
    return dataclasses.replace(
        d,
        bolus_patient=np.zeros(1, np.int64),
        bolus_s=np.array([12 * H + offset_s]),
        bolus_local_s=np.array([12 * H + offset_s]),
        bolus_delivered_u=np.array([5.0]),
        bolus_programmed_u=np.array([5.0]),
        bolus_recommended_u=np.array([5.0]),
        bolus_carbs_g=np.array([50.0]),
        bolus_correction_u=np.array([0.0]),
        meal_patient=np.zeros(1, np.int64),
        meal_s=np.array([12 * H]),
        meal_carbs_g=np.array([50.0]),
    )


@pytest.mark.parametrize(
    ("offset_min", "missed", "late"),
    [
        (-31, True, False),
        (-30, False, False),
        (0, False, False),
        (15, False, False),
        (16, False, True),
        (90, False, True),
        (91, True, False),
    ],
)
def test_meal_window_edges(offset_min: int, missed: bool, late: bool) -> None:
    chosen, is_late = match_meals(_with_bolus_at(offset_min * 60.0))
    assert (bool(chosen[0] < 0), bool(is_late[0])) == (missed, late)


def test_one_bolus_serves_one_meal() -> None:
    d = _with_bolus_at(20 * 60.0)
    two_meals = dataclasses.replace(
        d,
        meal_patient=np.zeros(2, np.int64),
        meal_s=np.array([12 * H, 12 * H + 10 * 60]),
        meal_carbs_g=np.array([50.0, 20.0]),
    )
    chosen, _ = match_meals(two_meals)
    assert chosen.tolist() == [0, -1]


def test_basal_suspend_and_temp_by_hand() -> None:
    d = dataclasses.replace(
        example_data(),
        basal_patient=np.zeros(4, np.int64),
        basal_start_s=np.array([-2 * H, 10 * H, 12 * H, 14 * H]),
        # 12 h scheduled at 1 U/h from -2 h (10 h inside the day), 2 h suspended,
        # 2 h temp at 0.5 U/h, then scheduled to the end and beyond
        basal_duration_s=np.array([12 * H, 2 * H, 2 * H, 20 * H]),
        basal_rate_u_per_h=np.array([1.0, 0.0, 0.5, 1.0]),
        basal_kind=np.array([BASAL_SCHEDULED, BASAL_SUSPEND, BASAL_TEMP, BASAL_SCHEDULED]),
    )
    m = insulin_patterns(d)
    assert float(m["basal_u_per_day"][0]) == pytest.approx(10 + 0 + 1 + 10)
    assert float(m["suspended_h_per_day"][0]) == 2.0
    assert float(m["temp_basal_h_per_day"][0]) == 2.0
    assert float(m["tdd_u"][0]) == pytest.approx(21 + 13)


def test_batch_equals_each_patient_alone() -> None:
    a = example_data()
    b = _with_bolus_at(45 * 60.0)

    def shift(d: InsulinData, p: int) -> dict[str, Any]:
        return {
            f.name: getattr(d, f.name) + p if f.name.endswith("_patient") else getattr(d, f.name)
            for f in dataclasses.fields(d)
        }

    fa, fb = shift(a, 0), shift(b, 1)
    both = InsulinData(
        **{  # type: ignore[arg-type]
            name: (
                2
                if name == "n_patients"
                else np.concatenate([np.atleast_1d(fa[name]), np.atleast_1d(fb[name])])
            )
            for name in fa
        }
    )
    together = insulin_patterns(both)
    for i, alone in enumerate((insulin_patterns(a), insulin_patterns(b))):
        for name, v in alone.items():
            np.testing.assert_allclose(together[name][i], v[0], equal_nan=True, err_msg=name)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_planted_rates_are_recovered_from_the_pump_records(name: str) -> None:
    """The issue's bar: recovered rates within 3 percentage points of the planted truth."""
    tz = "America/New_York"  # the period includes the 8 March 2026 spring-forward
    sc = Scenario(preset(name), days=28, seed=11, tz=tz, start=date(2026, 3, 1))
    start = datetime(2026, 3, 1, tzinfo=ZoneInfo(tz))
    data = insulin_data(sc.records, start=start, end=start + timedelta(days=28))
    m = {k: float(v[0]) for k, v in insulin_patterns(data).items()}
    t = sc.truth
    n_boluses = data.bolus_s.size
    assert m["missed_meal_bolus_pct"] == pytest.approx(100 * t.missed_bolus_rate, abs=3)
    assert m["late_bolus_pct"] == pytest.approx(100 * t.late_boluses / t.n_meals, abs=3)
    assert m["override_pct"] == pytest.approx(100 * t.overrides_up / n_boluses, abs=3)
    assert m["override_pct"] + m["underride_pct"] == pytest.approx(100 * t.override_rate, abs=3)
    days = (data.end_s[0] - data.start_s[0]) / 86400  # 28 days less the skipped DST hour
    assert m["meals_per_day"] == pytest.approx(t.n_meals / days)
    assert m["site_changes"] == len(t.site_change_slots)
    assert 0 < m["basal_pct"] < 100 and m["calculator_use_pct"] == 100.0


def test_reservoir_changes_are_the_planted_cartridge_changes() -> None:
    from gateway.analyze.insulin import patient_insulin

    tz = "America/New_York"
    sc = Scenario(preset("well_controlled"), days=28, seed=11, tz=tz, start=date(2026, 3, 1))
    start = datetime(2026, 3, 1, tzinfo=ZoneInfo(tz))
    m = patient_insulin(sc.records, start=start, end=start + timedelta(days=28))
    assert m["reservoir_changes"] == sc.truth.cartridge_changes > 0
    assert m["reservoir_change_interval_h"] is not None
    assert 24 < m["reservoir_change_interval_h"] < 28 * 24
