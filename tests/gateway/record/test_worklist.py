"""The worklist groups: boundaries from the consensus targets, priority order, one group
and one owning role per patient, and synthetic patients landing where their preset says."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.record.outreach import outreach_csv
from gateway.record.worklist import (
    DEFAULT_ROLES,
    GROUPS,
    PatientMetrics,
    Targets,
    for_role,
    with_targets,
    worklist,
)


def patient(name: str, **values: float) -> PatientMetrics:
    base = {
        "tbr_lt54_pct": 0.2,
        "tbr_54_69_pct": 1.0,
        "tar_181_250_pct": 15.0,
        "tar_gt250_pct": 2.0,
        "tir_70_180_pct": 81.8,
        "wear_pct": 95.0,
        "previous_tir_70_180_pct": 80.0,
        "days_since_data": 1.0,
    }
    base.update(values)
    return PatientMetrics(pseudonym=name, **base)


def group_of(p: PatientMetrics) -> str:
    [entry] = worklist([p])
    return entry.group


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({}, "meeting"),
        # consensus: < 54 mg/dL "< 1 %": exactly 1 % is not meeting it
        ({"tbr_lt54_pct": 1.0}, "very_low"),
        ({"tbr_lt54_pct": 0.99}, "meeting"),
        # < 70 mg/dL "< 4 %" counts < 54 too: 0.5 + 3.5 = 4.0
        ({"tbr_lt54_pct": 0.5, "tbr_54_69_pct": 3.5}, "low"),
        ({"tbr_lt54_pct": 0.5, "tbr_54_69_pct": 3.49}, "meeting"),
        # > 250 "< 5 %"; > 180 "< 25 %" counts > 250 too: 21 + 4 = 25
        ({"tar_gt250_pct": 5.0, "tir_70_180_pct": 75.0}, "very_high"),
        ({"tar_181_250_pct": 21.0, "tar_gt250_pct": 4.0}, "high"),
        ({"tar_181_250_pct": 20.99, "tar_gt250_pct": 4.0}, "meeting"),
        # a drop of exactly 15 points flags; 14.9 does not
        ({"tir_70_180_pct": 75.0, "previous_tir_70_180_pct": 90.0}, "tir_drop"),
        ({"tir_70_180_pct": 75.1, "previous_tir_70_180_pct": 90.0}, "meeting"),
        # wear "at least 70 %"
        ({"wear_pct": 69.9}, "low_wear"),
        ({"wear_pct": 70.0}, "meeting"),
        # TIR "> 70 %": exactly 70 is below target
        ({"tir_70_180_pct": 70.0, "previous_tir_70_180_pct": 72.0}, "low_tir"),
        ({"tir_70_180_pct": np.nan}, "data_issues"),
        ({"days_since_data": 15.0}, "data_issues"),
    ],
)
def test_each_rule_at_its_boundary(values: dict[str, float], expected: str) -> None:
    assert group_of(patient("p", **values)) == expected


def test_priority_order_decides_between_rules() -> None:
    # very low and very high and low wear at once: very low comes first (TIDE order)
    both = patient("p", tbr_lt54_pct=3.0, tar_gt250_pct=12.0, wear_pct=50.0)
    assert group_of(both) == "very_low"
    # stale data hides everything else
    assert group_of(patient("q", tbr_lt54_pct=3.0, days_since_data=30.0)) == "data_issues"


def test_care_plan_thresholds_replace_the_defaults_and_appear_in_the_reason() -> None:
    # an older adult at 2 % below 70 and 55 % in range: the older/high-risk preset
    # (< 1 % below 70, > 50 % in range) flags the lows, the general one would too but
    # would also call 55 % in range low; with a plan-set 60 % TIR the low wins first
    p = patient(
        "p",
        tbr_lt54_pct=0.5,
        tbr_54_69_pct=1.5,
        tir_70_180_pct=55.0,
        previous_tir_70_180_pct=56.0,
        tar_181_250_pct=35.0,
        tar_gt250_pct=8.0,
    )
    older = with_targets(p, "older_high_risk")
    [entry] = worklist([older])
    assert entry.group == "low"
    assert entry.reason == "time < 70 mg/dL 2.0 % (target < 1 %)"
    relaxed = with_targets(p, "older_high_risk", low_max_pct=3.0)
    [entry] = worklist([relaxed])
    assert entry.group == "meeting"  # 55 % > 50 %, > 250 8 % < 10 %, > 180 43 % < 50 %
    general = worklist([p])[0]
    assert general.group == "very_high"  # 8 % > 250 against < 5 %


def test_roles_route_each_patient_to_exactly_one_owner() -> None:
    people = [
        patient("a", tbr_lt54_pct=2.0),
        patient("b", wear_pct=40.0),
        PatientMetrics.from_summary(
            "c",
            {
                "tir_70_180_pct": 60.0,
                "wear_pct": 90.0,
                "tbr_lt54_pct": 0.0,
                "tbr_54_69_pct": 0.0,
                "tar_181_250_pct": 35.0,
                "tar_gt250_pct": 4.0,
            },
            days_since_data=2.0,
            roles={"high": "pump_educator"},
        ),
    ]
    entries = worklist(people)
    assert [e.role for e in entries] == [DEFAULT_ROLES["very_low"], "pump_educator", "chw"]
    roles = {e.role for e in entries}
    assert sorted(e.pseudonym for r in roles for e in for_role(entries, r)) == ["a", "b", "c"]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(0, 10),
            st.floats(0, 10),
            st.floats(0, 40),
            st.floats(0, 20),
            st.floats(0, 100),
            st.floats(0, 100),
            st.floats(0, 100) | st.just(np.nan),
            st.floats(0, 30),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_every_patient_is_in_exactly_one_group_in_priority_order(rows: list[tuple]) -> None:
    people = [
        PatientMetrics(
            pseudonym=f"p{i}",
            tbr_lt54_pct=a,
            tbr_54_69_pct=b,
            tar_181_250_pct=c,
            tar_gt250_pct=d,
            tir_70_180_pct=e,
            wear_pct=f,
            previous_tir_70_180_pct=g,
            days_since_data=h,
        )
        for i, (a, b, c, d, e, f, g, h) in enumerate(rows)
    ]
    entries = worklist(people)
    assert sorted(e.pseudonym for e in entries) == sorted(p.pseudonym for p in people)
    assert [e.priority for e in entries] == sorted(e.priority for e in entries)
    by_name = {p.pseudonym: p for p in people}
    for e in entries:
        p = by_name[e.pseudonym]
        assert GROUPS[e.priority] == e.group
        # no earlier group's rule holds for this patient
        if e.group == "meeting":
            assert p.tbr_lt54_pct < 1 and p.tbr_lt54_pct + p.tbr_54_69_pct < 4
            assert p.tar_gt250_pct < 5 and p.tar_181_250_pct + p.tar_gt250_pct < 25
            assert p.wear_pct >= 70 and p.tir_70_180_pct > 70 and p.days_since_data <= 14


def test_synthetic_patients_land_where_their_preset_says() -> None:
    from analytics.catalogue import metrics
    from analytics.grid import to_grid
    from simulators.patient import presets
    from simulators.patient.cohort import cohort  # noqa: F401  (documents the alternative)
    from simulators.patient.scenario import Scenario

    people = []
    for name, seed in (("frequent_lows", 5), ("well_controlled", 6)):
        sc = Scenario(presets.preset(name), days=14, seed=seed, tz="UTC", start=date(2026, 3, 2))
        cgm = [
            r
            for r in sc.records
            if r.device_id == sc.cgm_id
            and getattr(r, "sample_type", "") == "cgm"
            and r.time_utc is not None
        ]
        t = np.array([r.time_utc.timestamp() for r in cgm])
        g = np.array(
            [r.glucose_mgdl if r.glucose_mgdl is not None else r.reporting_limit_mgdl for r in cgm],
            dtype=float,
        )
        m = {k: float(v[0]) for k, v in metrics(to_grid(np.zeros(t.size, int), t, g)).items()}
        people.append(PatientMetrics.from_summary(name, m, days_since_data=0.0))
    groups = {e.pseudonym: e.group for e in worklist(people)}
    assert groups["frequent_lows"] in ("very_low", "low")
    assert groups["well_controlled"] == "meeting"


def test_outreach_csv_neutralises_formulas() -> None:
    hostile = PatientMetrics.from_summary(
        "p-x",
        {
            "tir_70_180_pct": 50.0,
            "wear_pct": 90.0,
            "tbr_lt54_pct": 0.0,
            "tbr_54_69_pct": 0.0,
            "tar_181_250_pct": 20.0,
            "tar_gt250_pct": 4.0,
        },
        days_since_data=1.0,
        contact={"preference": "=cmd|' /C calc'!A0", "language": "+es", "best_time": "@noon"},
    )
    text = outreach_csv(worklist([hostile]))
    lines = text.split("\r\n")
    assert lines[0] == "priority,group,patient,role,reason,contact_preference,language,best_time"
    assert "'=cmd|' /C calc'!A0" in lines[1] and ",'+es,'@noon" in lines[1]
    assert not any(cell.startswith(("=", "+", "@")) for cell in lines[1].split(","))


def test_targets_defaults_are_the_consensus_numbers() -> None:
    t = Targets()
    assert (
        t.very_low_max_pct,
        t.low_max_pct,
        t.very_high_max_pct,
        t.high_max_pct,
        t.tir_min_pct,
        t.wear_min_pct,
    ) == (1.0, 4.0, 5.0, 25.0, 70.0, 70.0)


def test_the_gateways_14_day_change_flags_a_drop_without_a_stored_previous_summary() -> None:
    """The summary carries ``tir_change_14d_points`` (last 14 days against the 14
    before, computed at the gateway): a fall of 15 points is a large drop."""
    base = {
        "tbr_lt54_pct": 0.2,
        "tbr_54_69_pct": 1.0,
        "tar_181_250_pct": 15.0,
        "tar_gt250_pct": 2.0,
        "tir_70_180_pct": 81.8,
        "wear_pct": 95.0,
    }
    dropped = PatientMetrics.from_summary(
        "p", {**base, "tir_change_14d_points": -15.0}, days_since_data=1.0
    )
    steady = PatientMetrics.from_summary(
        "q", {**base, "tir_change_14d_points": -14.9}, days_since_data=1.0
    )
    groups = {e.pseudonym: (e.group, e.reason) for e in worklist([dropped, steady])}
    assert groups["p"] == ("tir_drop", "time in range 81.8 %, down 15.0 points (flag at 15)")
    assert groups["q"][0] == "meeting"
