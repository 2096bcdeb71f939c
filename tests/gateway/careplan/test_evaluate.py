"""The care plan against synthetic patients whose truth is known (simulators.patient)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from gateway.careplan.evaluate import ItemResult, evaluate, measure, measure_periods
from gateway.careplan.plan import CarePlan, Item, new_plan
from simulators.patient import presets
from simulators.patient.scenario import Scenario

TZ = "America/Chicago"
DAYS = 28


def plan(preset: str = "general") -> CarePlan:
    return new_plan(
        site="clinic-a",
        patient="p-abcdefghijklmnop",
        changed_by="staff-1",
        changed_at=datetime(2024, 3, 1, tzinfo=UTC),
        preset=preset,
    )


def by_id(results: list[ItemResult]) -> dict[str, ItemResult]:
    return {r.id: r for r in results}


def whole(sc: Scenario) -> tuple[datetime, datetime]:
    """The scenario's whole period [first slot, last slot + 5 min)."""
    t = sc.truth.time_utc
    first = datetime.fromtimestamp(int(t[0].astype(np.int64)), tz=UTC)
    return first, first + timedelta(days=sc.days)


def truth_share(sc: Scenario, lo: float, hi: float) -> float:
    """Percent of the sensor's own 5-min values (the truth's grid) in [lo, hi)."""
    v = sc.truth.cgm_mgdl[np.isfinite(sc.truth.cgm_mgdl)]
    return float(100.0 * ((v >= lo) & (v < hi)).mean())


def truth_site_days(sc: Scenario) -> list[int]:
    """Local calendar day of each planted site change."""
    slots = sc.truth.site_change_slots
    utc_s = sc.truth.time_utc[slots].astype(np.int64) + sc.truth.utc_offset_s[slots]
    return [int(d) for d in utc_s // 86400]


@pytest.fixture(scope="module")
def missed() -> Scenario:
    return Scenario(presets.missed_boluses(), days=DAYS, seed=11, tz=TZ)


@pytest.fixture(scope="module")
def well() -> Scenario:
    return Scenario(presets.well_controlled(), days=DAYS, seed=11, tz=TZ)


def test_missed_boluses_break_the_meal_bolus_agreement_by_the_planted_rate(
    missed: Scenario,
) -> None:
    start, end = whole(missed)
    got = by_id(evaluate(plan(), measure(missed.records, start=start, end=end)))
    meal = got["meal_boluses"]
    truth_pct = 100.0 * missed.truth.missed_bolus_rate
    assert meal.met is False  # agreed at most 20 % of meals without a bolus
    assert meal.measured is not None
    assert abs(meal.measured - truth_pct) <= 3.0, (meal.measured, truth_pct)
    assert meal.evidence.endswith(f"of {missed.truth.n_meals} meals without a bolus")
    assert meal.owner == "pump_educator"
    assert meal.agreed == "<= 20 % of meals"


def test_site_changes_are_counted_in_calendar_days_as_planted(
    missed: Scenario, well: Scenario
) -> None:
    for sc, met in ((missed, False), (well, True)):  # every 4 +- 1 days vs every 3
        start, end = whole(sc)
        site = by_id(evaluate(plan(), measure(sc.records, start=start, end=end)))["site_change"]
        gaps = np.diff(truth_site_days(sc))
        assert site.measured == pytest.approx(gaps.mean(), abs=1e-3)
        assert site.met is met
        assert site.evidence == (
            f"{len(gaps) + 1} site changes, every {gaps.mean():.1f} days on average,"
            f" longest {gaps.max()} d"
        )


def test_well_controlled_meets_the_consensus_time_in_range(well: Scenario) -> None:
    start, end = whole(well)
    got = by_id(evaluate(plan(), measure(well.records, start=start, end=end)))
    tir = got["tir"]
    assert tir.met is True and tir.measured is not None
    # the same share the truth's sensor grid has (gridding bridges short gaps only)
    assert tir.measured == pytest.approx(truth_share(well, 69.5, 180.5), abs=1.0)
    for item in ("tbr_70", "tbr_54", "meal_boluses", "calculator_use", "cgm_wear"):
        assert got[item].met is True, got[item]
    assert got["cgm_wear"].evidence.startswith(f"days with CGM {DAYS}/{DAYS}, ")
    assert got["calculator_use"].measured == 100.0  # the simulated pump always uses it


def test_pregnancy_is_judged_on_63_to_140() -> None:
    sc = Scenario(presets.pregnancy(), days=14, seed=5, tz=TZ)
    start, end = whole(sc)
    m = measure(sc.records, start=start, end=end)
    got = by_id(evaluate(plan("pregnancy"), m))
    assert got["tir"].metric == "tir_63_140_pct"
    assert got["tir"].measured == pytest.approx(truth_share(sc, 62.5, 140.5), abs=1.0)
    assert got["tbr_63"].measured == pytest.approx(truth_share(sc, 0.0, 62.5), abs=0.5)
    assert got["tar_140"].measured == pytest.approx(truth_share(sc, 140.5, 1e9), abs=1.0)
    # the tight pregnancy range holds less of the day than 70-180 does
    assert m["tir_63_140_pct"] is not None and m["tir_70_180_pct"] is not None
    assert m["tir_63_140_pct"] < m["tir_70_180_pct"] - 5.0


def test_the_trend_compares_two_periods() -> None:
    # 14 days missing a quarter of meal boluses, then 14 days of well-controlled habits
    before = Scenario(presets.missed_boluses(), days=14, seed=3, tz="UTC")
    after = Scenario(presets.well_controlled(), days=14, seed=3, tz="UTC", start=date(2024, 3, 18))
    end = datetime(2024, 4, 1, tzinfo=UTC)
    current, previous = measure_periods(before.records + after.records, end=end, days=14)
    got = by_id(evaluate(plan(), current, previous))
    meal = got["meal_boluses"]
    assert meal.previous is not None and meal.measured is not None
    assert abs(meal.previous - 100.0 * before.truth.missed_bolus_rate) <= 3.0
    assert abs(meal.measured - 100.0 * after.truth.missed_bolus_rate) <= 3.0
    assert (meal.met, meal.trend) == (True, "better")
    assert got["site_change"].trend == "better"  # every 4-5 days, then every 3
    tir = got["tir"]
    assert tir.previous is not None and tir.measured is not None
    assert tir.measured > tir.previous + 1.0 and tir.trend == "better"
    # without a previous period there is no trend
    assert by_id(evaluate(plan(), current))["tir"].trend is None


def test_upload_before_the_visit(well: Scenario) -> None:
    slot = int(well.truth.upload_slots[1])
    uploaded = datetime.fromtimestamp(int(well.truth.time_utc[slot].astype(np.int64)), tz=UTC)
    known = [r for r in well.records if r.time_utc is not None and r.time_utc <= uploaded]
    start = uploaded - timedelta(days=14)
    for visit_after, met in ((2, True), (5, False)):
        visit = uploaded + timedelta(days=visit_after)
        m = measure(known, start=start, end=uploaded, visit=visit)
        item = by_id(evaluate(plan(), m))["upload_before_visit"]
        assert item.measured == pytest.approx(visit_after, abs=0.01)
        assert item.met is met
        assert item.evidence == (
            f"last data {visit_after:.1f} days before the visit on {visit.date().isoformat()}"
        )
    # with the store's upload times, those count, not the data's own times
    m = measure(
        well.records,
        start=start,
        end=uploaded,
        visit=uploaded + timedelta(days=2),
        uploads=[uploaded - timedelta(days=1)],
    )
    assert m["upload_days_before_visit"] == pytest.approx(3.0)


def test_no_data_means_not_measured() -> None:
    start = datetime(2024, 3, 4, tzinfo=UTC)
    results = evaluate(plan(), measure([], start=start, end=start + timedelta(days=14)))
    assert len(results) == 11  # 6 general targets + 5 default agreements
    assert all(r.measured is None and r.met is None and r.trend is None for r in results)
    got = by_id(results)
    assert got["site_change"].evidence == "no pump data in the period"
    assert got["upload_before_visit"].evidence == "no visit date given"
    assert got["tir"].evidence.startswith("days with CGM 0/14")
    json.dumps([r.to_dict() for r in results], allow_nan=False)  # report-ready


def test_trend_steps_and_directions() -> None:
    p = plan()
    now = {"tir_70_180_pct": 70.4, "tbr_lt70_pct": 3.0, "cv_pct": 38.0}
    before = {"tir_70_180_pct": 70.0, "tbr_lt70_pct": 5.0, "cv_pct": 33.0}
    got = by_id(evaluate(p, now, before))
    assert got["tir"].trend == "same"  # less than one point
    assert got["tbr_70"].trend == "better"  # less time low
    assert got["cv"].trend == "worse"  # more variable
    assert got["tir"].to_dict()["agreed"] == {"op": ">", "value": 70.0, "unit": "%"}


def test_a_site_kept_too_long_breaks_the_agreement_without_a_full_interval() -> None:
    site = Item(id="site_change", metric="site_change_interval_days", op="<=", value=3.0)
    p = CarePlan(
        site="clinic-a",
        patient="p-abcdefghijklmnop",
        version=1,
        changed_by="staff-1",
        changed_at=datetime(2024, 3, 1, tzinfo=UTC),
        targets=(),
        agreements=(site,),
    )
    long_wear = {"site_changes": 1.0, "site_change_open_days": 9.5, "pump_days": 13.0}
    [r] = evaluate(p, long_wear)
    assert (r.measured, r.met) == (9.5, False)
    assert r.evidence == "1 site change(s) in the period, 9.5 days without a change"
    [r] = evaluate(p, {"site_changes": 1.0, "site_change_open_days": 2.0})
    assert (r.measured, r.met) == (None, None)  # too short to tell
