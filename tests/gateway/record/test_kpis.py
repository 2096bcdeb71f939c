"""Reimbursement and quality KPIs at their published thresholds."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from gateway.record.kpis import (
    FollowUp,
    cohort_kpis,
    days_with_data,
    gsd_status,
    patient_kpis,
    rpm_code,
)

MARCH = date(2026, 3, 1)


@pytest.mark.parametrize(
    ("days", "start", "code"),
    [
        (30, MARCH, "99454"),
        (16, MARCH, "99454"),  # "16-30 days of data in a 30-day period"
        (15, MARCH, "99445"),  # 2-15 days, from periods starting 2026-01-01
        (2, MARCH, "99445"),
        (1, MARCH, None),
        (15, date(2025, 12, 31), None),  # 99445 did not exist yet
        (16, date(2025, 12, 31), "99454"),
    ],
)
def test_rpm_device_supply_codes(days: int, start: date, code: str | None) -> None:
    assert rpm_code(days, start) == code


def test_days_with_data_counts_distinct_dates_inside_the_window() -> None:
    dates = [MARCH + timedelta(days=d) for d in (0, 0, 1, 5, 29, 30, -1)]
    assert days_with_data(dates, MARCH) == 4  # 0, 1, 5, 29; day 30 and the day before out


def test_gsd_buckets_and_missing_counts_as_poor() -> None:
    assert [gsd_status(v) for v in (6.5, 7.99, 8.0, 9.0, 9.1, None, float("nan"))] == [
        "control",
        "control",
        "middle",
        "middle",
        "poor",
        "poor",
        "poor",
    ]


def test_patient_and_cohort_kpis() -> None:
    # 20 days with data of 30, 72 h exactly (864 five-minute readings) -> 95251 ok
    reading_dates = [MARCH + timedelta(days=d) for d in range(20)]
    a = patient_kpis(
        "p-a",
        period_start=MARCH,
        period_end=date(2026, 3, 30),
        reading_dates=reading_dates,
        n_readings=864,
        metrics={"gmi_pct": 7.1, "tir_70_180_pct": 72.0},
        baseline={"tir_70_180_pct": 60.0},
        meeting_targets=True,
    )
    assert (a.days_with_data, a.rpm_code, a.cgm_hours, a.cgm_interpretation_ok) == (
        20,
        "99454",
        72.0,
        True,
    )
    assert (a.gsd, a.tir_change_points) == ("control", 12.0)
    b = patient_kpis(
        "p-b",
        period_start=MARCH,
        period_end=date(2026, 3, 30),
        reading_dates=reading_dates[:5],
        n_readings=863,
        metrics={"gmi_pct": 9.4},
        baseline=None,
        meeting_targets=False,
    )
    assert (b.rpm_code, b.cgm_interpretation_ok, b.gsd, b.tir_change_points) == (
        "99445",
        False,
        "poor",
        None,
    )
    now = datetime(2026, 4, 1)
    follow_ups = [
        FollowUp(datetime(2026, 3, 1), datetime(2026, 3, 5), datetime(2026, 3, 4)),  # on time
        FollowUp(datetime(2026, 3, 1), datetime(2026, 3, 5), datetime(2026, 3, 6)),  # late
        FollowUp(datetime(2026, 3, 1), datetime(2026, 3, 20), None),  # overdue, open
        FollowUp(datetime(2026, 3, 30), datetime(2026, 4, 5), None),  # not due yet
    ]
    k = cohort_kpis([a, b], follow_ups, now=now)
    assert k["patients"] == 2
    assert k["rpm_99454_pct"] == 50.0 and k["rpm_any_pct"] == 100.0
    assert k["cgm_interpretation_pct"] == 50.0 and k["meeting_targets_pct"] == 50.0
    assert k["gsd_control_pct"] == 50.0 and k["gsd_poor_pct"] == 50.0
    assert k["tir_change_mean_points"] == 12.0
    assert k["followups_due"] == 3
    assert k["followups_on_time_pct"] == pytest.approx(100 / 3)
