"""Findings: what the care team should follow up, each routed to exactly one role.

Decision support, not an alarm system: findings are evaluated when new data or a new
summary arrives, and a problem that persists keeps **one** open finding (its evidence
updated) until someone resolves it -- the same hypo week does not page three people or
fill the list anew every day (DESIGN.md section 9).

=========================  =========================================  ==================
rule                       fires when                                 default owner
=========================  =========================================  ==================
``level2_hypo``            >= 1 level 2 hypoglycaemia event (< 54     clinician
                           mg/dL for >= 15 min, 2023 consensus)
``below_range``            time < 70 mg/dL at or over the agreed      clinician
                           limit (consensus < 4 %)
``missed_meal_boluses``    missed meal boluses above the agreed rate  pump_educator
                           (share of meals)
``site_change_overdue``    the last site change older than agreed     pump_educator
                           (pump agreements: every <= 3 days) + 1 day
``no_upload``              no data for more than N days (default 7)   chw
``low_wear``               CGM wear below the agreed share (70 %)     chw
``tdd_change``             total daily dose changed >= 25 % against   clinician
                           the baseline period
``refill_mismatch``        insulin used (TDD x days + priming) and    pharmacist
                           insulin dispensed disagree by >= 30 % over
                           the refill interval
=========================  =========================================  ==================

Thresholds come from the care plan's agreements where it sets them (a plain mapping
here: the care-plan module fills it), the defaults above otherwise; owners from the
plan's follow-up roles, else the site defaults.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gateway.careplan.plan import DEFAULT_OWNERS as SITE_DEFAULT_OWNERS

RULES = (
    "level2_hypo",
    "below_range",
    "missed_meal_boluses",
    "site_change_overdue",
    "no_upload",
    "low_wear",
    "tdd_change",
    "refill_mismatch",
)
DEFAULT_OWNERS = {rule: SITE_DEFAULT_OWNERS[rule] for rule in RULES}
"""Owner of each rule's follow-up unless the care plan says otherwise (the site
defaults live with the care plan: :data:`gateway.careplan.plan.DEFAULT_OWNERS`)."""
DEFAULTS = {
    "below_range_max_pct": 4.0,
    "missed_meal_bolus_max_pct": 20.0,
    "site_change_max_days": 3.0,
    "no_upload_days": 7.0,
    "wear_min_pct": 70.0,
    "tdd_change_pct": 25.0,
    "refill_mismatch_pct": 30.0,
}


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    role: str
    message: str
    evidence: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Refill:
    """Insulin dispensed to the patient (from the pharmacist's record)."""

    dispensed: datetime
    units: float


def _num(m: Mapping[str, Any] | None, name: str) -> float | None:
    value = None if m is None else m.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return None
    return float(value)


def evaluate(
    *,
    metrics: Mapping[str, Any],
    insulin: Mapping[str, Any] | None = None,
    baseline_insulin: Mapping[str, Any] | None = None,
    last_data: datetime | None,
    last_site_change: datetime | None = None,
    refills: Sequence[Refill] = (),
    agreements: Mapping[str, float] | None = None,
    owners: Mapping[str, str] | None = None,
    now: datetime,
) -> list[Finding]:
    """Every rule that fires for one patient now (see the module table)."""
    limits = {**DEFAULTS, **(agreements or {})}
    roles = {**DEFAULT_OWNERS, **(owners or {})}
    out: list[Finding] = []

    def fire(rule: str, message: str, **evidence: Any) -> None:
        out.append(Finding(rule, roles[rule], message, evidence))

    l2 = _num(metrics, "hypo_l2_events")
    if l2 is not None and l2 >= 1:
        fire(
            "level2_hypo",
            f"{l2:.0f} level 2 low(s) (< 54 mg/dL for 15 min or more)",
            events=int(l2),
        )
    below = None
    lt54, l54_69 = _num(metrics, "tbr_lt54_pct"), _num(metrics, "tbr_54_69_pct")
    if lt54 is not None and l54_69 is not None:
        below = lt54 + l54_69
        if below >= limits["below_range_max_pct"]:
            fire(
                "below_range",
                f"time below 70 mg/dL {below:.1f} % (agreed < {limits['below_range_max_pct']:g} %)",
                below_70_pct=below,
            )
    missed = _num(insulin, "missed_meal_bolus_pct")
    if missed is not None and missed > limits["missed_meal_bolus_max_pct"]:
        fire(
            "missed_meal_boluses",
            f"{missed:.0f} % of meals without a bolus"
            f" (agreed at most {limits['missed_meal_bolus_max_pct']:g} %)",
            missed_pct=missed,
            meals_per_day=_num(insulin, "meals_per_day"),
        )
    if last_site_change is not None:
        age_d = (now - last_site_change).total_seconds() / 86400.0
        if age_d > limits["site_change_max_days"] + 1.0:
            fire(
                "site_change_overdue",
                f"infusion site last changed {age_d:.1f} days ago"
                f" (agreed every {limits['site_change_max_days']:g} days)",
                last_site_change=last_site_change.isoformat(),
                days=round(age_d, 1),
            )
    if last_data is None or (now - last_data).total_seconds() / 86400.0 > limits["no_upload_days"]:
        days = None if last_data is None else (now - last_data).total_seconds() / 86400.0
        text = "no data received yet" if days is None else f"no new data for {days:.0f} days"
        fire("no_upload", text, last_data=None if last_data is None else last_data.isoformat())
    wear = _num(metrics, "wear_pct")
    if wear is not None and wear < limits["wear_min_pct"]:
        fire(
            "low_wear",
            f"CGM worn {wear:.0f} % of the time (agreed {limits['wear_min_pct']:g} %)",
            wear_pct=wear,
        )
    tdd, base = _num(insulin, "tdd_u"), _num(baseline_insulin, "tdd_u")
    if tdd is not None and base is not None and base > 0:
        change = 100.0 * (tdd - base) / base
        if abs(change) >= limits["tdd_change_pct"]:
            fire(
                "tdd_change",
                f"total daily insulin {tdd:.1f} U, {change:+.0f} % against {base:.1f} U",
                tdd_u=tdd,
                baseline_tdd_u=base,
                change_pct=change,
            )
    if tdd is not None and len(refills) >= 2:
        ordered = sorted(refills, key=lambda r: r.dispensed)
        days = (ordered[-1].dispensed - ordered[0].dispensed).total_seconds() / 86400.0
        dispensed = sum(r.units for r in ordered[:-1])  # what was used up by the last refill
        prime = _num(insulin, "site_changes")
        used = tdd * days
        if days > 0 and dispensed > 0:
            mismatch = 100.0 * (dispensed - used) / dispensed
            if abs(mismatch) >= limits["refill_mismatch_pct"]:
                more = "more" if mismatch > 0 else "less"
                fire(
                    "refill_mismatch",
                    f"{dispensed:.0f} U dispensed over {days:.0f} days,"
                    f" about {used:.0f} U used at {tdd:.1f} U/day: {abs(mismatch):.0f} %"
                    f" {more} dispensed than used",
                    dispensed_u=dispensed,
                    used_u=used,
                    days=days,
                    site_changes=prime,
                )
    return out


def hub_status_findings(gateway: str, doc: Mapping[str, Any]) -> list[Finding]:
    """Findings from a home hub's status: its store over the disk cap after pruning (it
    keeps every unsent record and says so rather than dropping any), and devices that
    have not synced for hours; for the site's community health worker, who visits."""
    found: list[Finding] = []
    outbox = doc.get("outbox") or {}
    if outbox.get("state") == "over-limit":
        found.append(
            Finding(
                "outbox_over_limit",
                "chw",
                f"home hub {gateway}: {outbox.get('pending')} messages waiting, over its disk"
                " cap; nothing is dropped, but the link has been down long",
                {"unsent_bytes": outbox.get("unsent_bytes"), "cap_bytes": outbox.get("cap_bytes")},
            )
        )
    stale = [d for d in doc.get("devices") or [] if d.get("stale")]
    if stale:
        names = ", ".join(str(d.get("name")) for d in stale)
        found.append(
            Finding(
                "sync_stopped",
                "chw",
                f"home hub {gateway}: no good sync from {names}",
                {"devices": [d.get("name") for d in stale]},
            )
        )
    return found


FINDINGS_SCHEMA = """
CREATE TABLE IF NOT EXISTS findings (
    id INTEGER PRIMARY KEY, site TEXT NOT NULL, patient TEXT NOT NULL, rule TEXT NOT NULL,
    role TEXT NOT NULL, message TEXT NOT NULL, evidence TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'acknowledged', 'resolved')),
    opened_utc TEXT NOT NULL, updated_utc TEXT NOT NULL, closed_by TEXT, closed_utc TEXT);
CREATE UNIQUE INDEX IF NOT EXISTS findings_one_open
    ON findings (site, patient, rule) WHERE status != 'resolved';
CREATE INDEX IF NOT EXISTS findings_role ON findings (role, status);
"""


class FindingsStore:
    """Findings in the care record's SQLite file: one unresolved finding per patient and
    rule (a partial unique index enforces it), so re-evaluating never duplicates."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.db.executescript(FINDINGS_SCHEMA)

    @staticmethod
    def _sql(text: str) -> str:
        """SQL with ``?`` placeholders (the PostgreSQL subclass turns them into ``%s``)."""
        return text

    def record(self, site: str, patient: str, findings: Sequence[Finding], now: datetime) -> int:
        """Open new findings, refresh the evidence of open ones; returns how many opened."""
        stamp = now.astimezone(UTC).isoformat()
        opened = 0
        for f in findings:
            cur = self.db.execute(
                "UPDATE findings SET message = ?, evidence = ?, updated_utc = ?"
                " WHERE site = ? AND patient = ? AND rule = ? AND status != 'resolved'",
                (f.message, json.dumps(f.evidence, default=str), stamp, site, patient, f.rule),
            )
            if cur.rowcount == 0:
                self.db.execute(
                    "INSERT INTO findings (site, patient, rule, role, message, evidence, status,"
                    " opened_utc, updated_utc) VALUES (?, ?, ?, ?, ?, ?, 'open', ?, ?)",
                    (
                        site,
                        patient,
                        f.rule,
                        f.role,
                        f.message,
                        json.dumps(f.evidence, default=str),
                        stamp,
                        stamp,
                    ),
                )
                opened += 1
        return opened

    def set_status(self, finding_id: int, status: str, *, by: str, now: datetime) -> None:
        if status not in ("acknowledged", "resolved"):
            raise ValueError(f"unknown finding status {status!r}")
        closed = now.astimezone(UTC).isoformat() if status == "resolved" else None
        cur = self.db.execute(
            self._sql(
                "UPDATE findings SET status = ?, closed_by = ?, closed_utc = ?, updated_utc = ?"
                " WHERE id = ? AND status != 'resolved'"
            ),
            (status, by, closed, now.astimezone(UTC).isoformat(), finding_id),
        )
        if cur.rowcount != 1:
            raise KeyError(f"no open finding {finding_id}")

    def open_for(self, role: str | None = None) -> list[dict[str, Any]]:
        where = "status != 'resolved'" + ("" if role is None else " AND role = ?")
        rows = self.db.execute(
            self._sql(
                "SELECT id, site, patient, rule, role, message, evidence, status, opened_utc"
                f" FROM findings WHERE {where} ORDER BY opened_utc, id"
            ),
            () if role is None else (role,),
        ).fetchall()
        keys = (
            "id",
            "site",
            "patient",
            "rule",
            "role",
            "message",
            "evidence",
            "status",
            "opened_utc",
        )
        return [{**dict(zip(keys, r, strict=True)), "evidence": json.loads(r[6])} for r in rows]
