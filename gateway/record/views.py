"""What the care record's pages show, assembled from the store (no HTTP here).

* :func:`build_worklist`: every stored patient through :func:`gateway.record.worklist.
  worklist`, judged on the targets of the patient's current care plan (preset, then the
  plan's own numbers) and routed to the plan's follow-up owners, with the patient's open
  findings beside the row.
* :func:`patient_page`: one patient's latest summary, findings, plan, plan history, KPIs.
* :class:`AuditLog`: who read or changed which pseudonym, in the care record's own file.

Role scopes: the sign-in roles (:class:`gateway.api.auth.Role`) have no separate
``pump_educator``; a certified pump educator signs in as ``educator`` and so owns the
``pump_educator`` follow-ups too (findings for missed meal boluses and overdue site
changes). ``admin`` acts for every role.

The summary a gateway publishes is the newest window only and the store keeps one per
patient; the "large drop in time in range" group uses the gateway's own comparison in
that summary (``tir_change_14d_points``: the last 14 days against the 14 before).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from gateway.api.auth import Role
from gateway.careplan.plan import ROLES, CarePlan
from gateway.record.kpis import PatientKpis, patient_kpis
from gateway.record.store import CareRecordStore, PatientView
from gateway.record.worklist import (
    GROUP_TITLES,
    PRESETS,
    PatientMetrics,
    Targets,
    WorklistEntry,
    worklist,
)

ROLE_SCOPES: dict[Role, frozenset[str]] = {
    Role.CLINICIAN: frozenset({"clinician"}),
    Role.EDUCATOR: frozenset({"educator", "pump_educator"}),
    Role.PHARMACIST: frozenset({"pharmacist"}),
    Role.CHW: frozenset({"chw"}),
    Role.ADMIN: frozenset(ROLES),
    Role.KIOSK: frozenset(),
}
"""Follow-up roles (worklist groups, findings) each sign-in role owns."""

_TARGET_FIELDS = {
    "tbr_lt54_pct": "very_low_max_pct",
    "tbr_lt70_pct": "low_max_pct",
    "tar_gt250_pct": "very_high_max_pct",
    "tar_gt180_pct": "high_max_pct",
    "tir_70_180_pct": "tir_min_pct",
    "cgm_wear_pct": "wear_min_pct",
}
"""Care-plan item metric -> worklist threshold it sets."""

RANGE_BARS = (
    ("tbr_lt54_pct", "very-low", "< 54"),
    ("tbr_54_69_pct", "low", "54-69"),
    ("tir_70_180_pct", "in-range", "70-180"),
    ("tar_181_250_pct", "high", "181-250"),
    ("tar_gt250_pct", "very-high", "> 250"),
)
"""The time-in-ranges bar's segments: summary metric, CSS class, mg/dL label."""


def plan_targets(plan: CarePlan | None) -> Targets:
    """The worklist thresholds of a care plan: its preset's, then its own items' values.

    A ``custom`` plan starts from the general (consensus) thresholds. Items on the
    pregnancy range (63-140 mg/dL) have no worklist metric and keep the preset's note.
    """
    if plan is None:
        return Targets()
    base = PRESETS.get(plan.preset, Targets())
    overrides: dict[str, Any] = {
        _TARGET_FIELDS[item.metric]: item.value
        for item in plan.items
        if item.metric in _TARGET_FIELDS
    }
    return replace(base, **overrides)


@dataclass(frozen=True, slots=True)
class WorklistRow:
    """One worklist entry with where it lives and its open findings."""

    site: str
    entry: WorklistEntry
    findings: list[dict[str, Any]]

    @property
    def title(self) -> str:
        return GROUP_TITLES[self.entry.group]

    def as_json(self) -> dict[str, Any]:
        e = self.entry
        return {
            "site": self.site,
            "patient": e.pseudonym,
            "group": e.group,
            "group_title": self.title,
            "priority": e.priority,
            "role": e.role,
            "reason": e.reason,
            "findings": self.findings,
        }


def days_since(summary: Mapping[str, Any] | None, now: datetime) -> float:
    """Days from the summary window's last data to ``now`` (NaN without a summary)."""
    if summary is None:
        return float("nan")
    end = datetime.fromisoformat(summary["window"]["end_utc"])
    return (now - end).total_seconds() / 86400.0


def build_worklist(
    store: CareRecordStore,
    *,
    now: datetime,
    contacts: Mapping[str, Mapping[str, str]] | None = None,
) -> list[WorklistRow]:
    """Every patient of the care record in worklist order (priority, then worst first).

    ``contacts`` maps pseudonym -> contact preferences kept by the site (``preference``,
    ``best_time``, ``language``); the care plan's language is used when none is given.
    """
    views = store.patients()
    with store.lock:
        open_findings = store.findings.open_for()
    by_patient: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for f in open_findings:
        by_patient[(f["site"], f["patient"])].append(f)
    people: list[PatientMetrics] = []
    sites: dict[str, str] = {}
    for view in views:
        plan = store.careplan(view.site, view.pseudonym)
        contact = {"language": plan.language} if plan is not None else {}
        contact.update((contacts or {}).get(view.pseudonym, {}))
        summary = view.summary
        people.append(
            PatientMetrics.from_summary(
                view.pseudonym,
                {} if summary is None else summary.get("metrics", {}),
                days_since_data=days_since(summary, now),
                targets=plan_targets(plan),
                roles=None if plan is None else plan.follow_up,
                contact=contact,
            )
        )
        sites[view.pseudonym] = view.site
    return [
        WorklistRow(sites[e.pseudonym], e, by_patient.get((sites[e.pseudonym], e.pseudonym), []))
        for e in worklist(people)
    ]


def rows_for(rows: Sequence[WorklistRow], scope: str, role: Role) -> list[WorklistRow]:
    """The rows a view asks for: ``all``, one follow-up role's, or (``mine``) those the
    signed-in role owns."""
    if scope == "all":
        return list(rows)
    owned = ROLE_SCOPES[role] if scope == "mine" else frozenset({scope})
    return [r for r in rows if r.entry.role in owned]


def find_patient(store: CareRecordStore, pseudonym: str) -> PatientView | None:
    """The patient with this pseudonym (pseudonyms are site-scoped keyed hashes, so one
    pseudonym names one patient of one site)."""
    for view in store.patients():
        if view.pseudonym == pseudonym:
            return view
    return None


def cgm_reading_times(
    store: CareRecordStore, site: str, pseudonym: str, since_utc: datetime
) -> list[tuple[datetime, int]]:
    """(UTC time, UTC offset in s) of every stored CGM reading since ``since_utc``."""
    rows = store.cgm_readings(site, pseudonym)
    out = []
    for text, offset in rows:
        t = datetime.fromisoformat(text)
        if t >= since_utc:
            out.append((t, int(offset or 0)))
    return out


def kpis_for(
    store: CareRecordStore, view: PatientView, *, meeting_targets: bool
) -> PatientKpis | None:
    """The 30-day KPIs ending on the summary window's last day, from the stored CGM
    readings (days counted on the patient's local dates)."""
    if view.summary is None:
        return None
    end_utc = datetime.fromisoformat(view.summary["window"]["end_utc"]).astimezone(UTC)
    start_utc = end_utc - timedelta(days=30)
    readings = cgm_reading_times(store, view.site, view.pseudonym, start_utc)
    local_dates = [(t + timedelta(seconds=off)).date() for t, off in readings]
    end: date = max(local_dates) if local_dates else end_utc.date()
    start = end - timedelta(days=29)
    return patient_kpis(
        view.pseudonym,
        period_start=start,
        period_end=end,
        reading_dates=local_dates,
        n_readings=len(readings),
        metrics=view.summary.get("metrics", {}),
        baseline=None,
        meeting_targets=meeting_targets,
    )


class AuditLog:
    """Who read or changed what, for which pseudonym (the care record's audit trail).

    Kept by the care record's store (SQLite or PostgreSQL); entries name the role and
    the token hash prefix (:attr:`gateway.api.auth.Principal.actor`), never a token.
    """

    def __init__(self, store: CareRecordStore) -> None:
        self.store = store

    def add(self, actor: str, action: str, detail: Mapping[str, object]) -> None:
        self.store.audit(actor, action, dict(detail))

    def entries(self) -> list[tuple[str, str, dict[str, Any]]]:
        """Every entry, oldest first: (actor, action, detail)."""
        return self.store.audit_entries()
