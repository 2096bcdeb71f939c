"""KPIs for reimbursement and quality, per patient and per cohort.

Sources (shared/reference/clinical-and-landscape.md section 7):

- **RPM device supply**: CPT 99454 needs data on >= 16 days of a 30-day period; from
  periods starting 2026-01-01, CPT 99445 covers 2-15 days (not billable together).
  A day counts when it has at least one transmitted reading (Tidepool's RPM report
  counts a day with real-time records in any hour: the same for CGM data).
- **CGM interpretation**: CPT 95251 (analysis and report) needs >= 72 hours of CGM data
  in the period.
- **HEDIS GSD / CMS122**: the most recent glycaemic status, HbA1c *or* GMI documented
  with LOINC 97506-0 and its CGM date range; rates < 8.0 % (control) and > 9.0 % (poor
  control, where a missing value also counts as poor).
- Share of patients meeting their agreed targets, change against a baseline period,
  and follow-ups closed by their due date.

These are decision support and data-sufficiency figures; billing also needs consent,
medical necessity and logged time, which the care record does not judge.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray

RPM_99454_MIN_DAYS = 16
RPM_99445_MIN_DAYS = 2
RPM_99445_FROM = date(2026, 1, 1)
CGM_INTERPRETATION_MIN_HOURS = 72.0
GSD_CONTROL_BELOW_PCT = 8.0
GSD_POOR_ABOVE_PCT = 9.0


def rpm_code(days_with_data: int, period_start: date) -> str | None:
    """The RPM device-supply code a 30-day period's data supports, if any.

    Examples
    --------
    >>> rpm_code(16, date(2026, 3, 1)), rpm_code(15, date(2026, 3, 1))
    ('99454', '99445')
    >>> rpm_code(15, date(2025, 12, 1)), rpm_code(1, date(2026, 3, 1))
    (None, None)
    """
    if days_with_data >= RPM_99454_MIN_DAYS:
        return "99454"
    if days_with_data >= RPM_99445_MIN_DAYS and period_start >= RPM_99445_FROM:
        return "99445"
    return None


def days_with_data(reading_dates: Iterable[date], start: date, days: int = 30) -> int:
    """Distinct local dates with at least one reading in [start, start + days)."""
    end = date.fromordinal(start.toordinal() + days)
    return len({d for d in reading_dates if start <= d < end})


def cgm_hours(n_readings: int, *, minutes_per_reading: float = 5.0) -> float:
    """Hours of CGM data from the count of distinct readings on the 5-min grid."""
    return n_readings * minutes_per_reading / 60.0


def gsd_status(gmi_pct: float | None) -> str:
    """HEDIS GSD bucket of the most recent GMI (or HbA1c): control, middle, poor.

    Missing counts as poor control, as the measure counts it.

    >>> gsd_status(7.9), gsd_status(8.0), gsd_status(9.0), gsd_status(9.01), gsd_status(None)
    ('control', 'middle', 'middle', 'poor', 'poor')
    """
    if gmi_pct is None or not np.isfinite(gmi_pct):
        return "poor"
    if gmi_pct < GSD_CONTROL_BELOW_PCT:
        return "control"
    if gmi_pct > GSD_POOR_ABOVE_PCT:
        return "poor"
    return "middle"


@dataclass(frozen=True, slots=True)
class PatientKpis:
    pseudonym: str
    period_start: date
    period_end: date
    days_with_data: int
    rpm_code: str | None
    cgm_hours: float
    cgm_interpretation_ok: bool  # >= 72 h (CPT 95251)
    gmi_pct: float | None
    gsd: str
    meeting_targets: bool
    tir_change_points: float | None  # against the baseline period


def patient_kpis(
    pseudonym: str,
    *,
    period_start: date,
    period_end: date,
    reading_dates: Iterable[date],
    n_readings: int,
    metrics: Mapping[str, Any],
    baseline: Mapping[str, Any] | None,
    meeting_targets: bool,
) -> PatientKpis:
    """One patient's KPIs for the period [period_start, period_end] (dates inclusive)."""
    n_days = (period_end - period_start).days + 1
    dwd = days_with_data(reading_dates, period_start, min(n_days, 30))
    hours = cgm_hours(n_readings)
    gmi = metrics.get("gmi_pct")
    gmi_f = float(gmi) if isinstance(gmi, (int, float)) and np.isfinite(gmi) else None
    tir = metrics.get("tir_70_180_pct")
    base = None if baseline is None else baseline.get("tir_70_180_pct")
    change = (
        float(tir) - float(base)
        if isinstance(tir, (int, float)) and isinstance(base, (int, float))
        else None
    )
    return PatientKpis(
        pseudonym=pseudonym,
        period_start=period_start,
        period_end=period_end,
        days_with_data=dwd,
        rpm_code=rpm_code(dwd, period_start),
        cgm_hours=hours,
        cgm_interpretation_ok=hours >= CGM_INTERPRETATION_MIN_HOURS,
        gmi_pct=gmi_f,
        gsd=gsd_status(gmi_f),
        meeting_targets=meeting_targets,
        tir_change_points=change,
    )


@dataclass(frozen=True, slots=True)
class FollowUp:
    opened: datetime
    due: datetime
    closed: datetime | None


def cohort_kpis(
    patients: Sequence[PatientKpis], follow_ups: Sequence[FollowUp] = (), *, now: datetime
) -> dict[str, float | int | None]:
    """Cohort shares (percent of patients) and follow-up timeliness.

    ``followups_on_time_pct`` counts follow-ups that are due by ``now``: closed by their
    due time, over all of them (open and overdue ones count as late).
    """
    n = len(patients)

    def share(flags: NDArray[np.bool_]) -> float | None:
        return float(100.0 * flags.mean()) if n else None

    rpm = np.array([p.rpm_code == "99454" for p in patients], dtype=bool)
    rpm_any = np.array([p.rpm_code is not None for p in patients], dtype=bool)
    interp = np.array([p.cgm_interpretation_ok for p in patients], dtype=bool)
    meeting = np.array([p.meeting_targets for p in patients], dtype=bool)
    control = np.array([p.gsd == "control" for p in patients], dtype=bool)
    poor = np.array([p.gsd == "poor" for p in patients], dtype=bool)
    changes = np.array(
        [p.tir_change_points for p in patients if p.tir_change_points is not None], dtype=float
    )
    due = [f for f in follow_ups if f.due <= now]
    on_time = sum(1 for f in due if f.closed is not None and f.closed <= f.due)
    return {
        "patients": n,
        "rpm_99454_pct": share(rpm),
        "rpm_any_pct": share(rpm_any),
        "cgm_interpretation_pct": share(interp),
        "meeting_targets_pct": share(meeting),
        "gsd_control_pct": share(control),
        "gsd_poor_pct": share(poor),
        "tir_change_mean_points": float(changes.mean()) if changes.size else None,
        "followups_due": len(due),
        "followups_on_time_pct": 100.0 * on_time / len(due) if due else None,
    }
