"""The care record's store: what every gateway of every site has published.

SQLite (WAL) by default. Records are unique on ``(site, device_id, kind,
source_index)``, so QoS 1 redelivery, a gateway re-publishing after a crash, or two
uploads of the same device add nothing. Only pseudonyms are stored here; the mapping
to a person stays on the gateway that made it.
"""

from __future__ import annotations

import functools
import json
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast

from gateway.careplan.plan import CarePlan, finding_agreements, finding_owners, loads
from gateway.record.findings import FindingsStore, evaluate, hub_status_findings

SCHEMA = """
CREATE TABLE IF NOT EXISTS patients (
    site TEXT NOT NULL, pseudonym TEXT NOT NULL, first_seen_utc TEXT NOT NULL,
    PRIMARY KEY (site, pseudonym));
CREATE TABLE IF NOT EXISTS records (
    id INTEGER PRIMARY KEY, site TEXT NOT NULL, patient TEXT NOT NULL,
    device_id TEXT NOT NULL, kind TEXT NOT NULL, source_index TEXT NOT NULL,
    time_utc TEXT NOT NULL, payload TEXT NOT NULL, gateway TEXT NOT NULL,
    UNIQUE (site, device_id, kind, source_index));
CREATE INDEX IF NOT EXISTS records_patient ON records (site, patient, kind, time_utc);
CREATE TABLE IF NOT EXISTS summaries (
    site TEXT NOT NULL, patient TEXT NOT NULL, payload TEXT NOT NULL,
    received_utc TEXT NOT NULL, PRIMARY KEY (site, patient));
CREATE TABLE IF NOT EXISTS gateways (
    site TEXT NOT NULL, gateway TEXT NOT NULL, state TEXT NOT NULL, time_utc TEXT NOT NULL,
    PRIMARY KEY (site, gateway));
CREATE TABLE IF NOT EXISTS careplans (
    site TEXT NOT NULL, patient TEXT NOT NULL, version INTEGER NOT NULL,
    changed_by TEXT NOT NULL, changed_at TEXT NOT NULL, doc TEXT NOT NULL,
    PRIMARY KEY (site, patient, version));
CREATE TABLE IF NOT EXISTS web_audit (
    id INTEGER PRIMARY KEY, time_utc TEXT NOT NULL, actor TEXT NOT NULL,
    action TEXT NOT NULL, detail TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rejected (
    id INTEGER PRIMARY KEY, topic TEXT NOT NULL, reason TEXT NOT NULL,
    received_utc TEXT NOT NULL);
"""


F = TypeVar("F", bound=Callable[..., Any])


def _locked(method: F) -> F:
    @functools.wraps(method)
    def wrapper(self: CareRecordStore, *args: Any, **kwargs: Any) -> Any:
        with self.lock:
            return method(self, *args, **kwargs)

    return cast(F, wrapper)


@dataclass(frozen=True, slots=True)
class PatientView:
    """What the care team sees first about a patient."""

    site: str
    pseudonym: str
    records: int
    summary: dict[str, Any] | None


class CareRecordStore:
    """One SQLite file and connection, shared by the subscription thread and readers;
    a lock serialises them (sqlite3 connections are not safe for concurrent use)."""

    def __init__(self, path: str | Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(SCHEMA)
        self.lock = threading.RLock()
        self.findings = FindingsStore(self.db)  # same connection: hold self.lock to use it

    @_locked
    def close(self) -> None:
        self.db.close()

    @staticmethod
    def _now() -> str:
        return datetime.now(UTC).isoformat()

    @staticmethod
    def _sql(text: str) -> str:
        """SQL of the methods both stores share, with ``?`` placeholders (the PostgreSQL
        store, :mod:`gateway.record.pgstore`, turns them into its own)."""
        return text

    @_locked
    def add_records(
        self, site: str, patient: str, gateway: str, records: list[dict[str, Any]]
    ) -> int:
        """Store a batch in one transaction; returns how many were new."""
        now = self._now()
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.execute("INSERT OR IGNORE INTO patients VALUES (?, ?, ?)", (site, patient, now))
            before = self.db.total_changes
            self.db.executemany(
                "INSERT OR IGNORE INTO records (site, patient, device_id, kind, source_index,"
                " time_utc, payload, gateway) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        site,
                        patient,
                        r["device_id"],
                        r["kind"],
                        r["source_index"],
                        r["time_utc"],
                        json.dumps(r, separators=(",", ":")),
                        gateway,
                    )
                    for r in records
                ],
            )
            added = self.db.total_changes - before
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return added

    @_locked
    def set_summary(self, site: str, patient: str, doc: dict[str, Any]) -> None:
        """Keep the newest summary per patient (by its generated time)."""
        row = self.db.execute(
            "SELECT payload FROM summaries WHERE site = ? AND patient = ?", (site, patient)
        ).fetchone()
        if row is not None and json.loads(row[0])["generated_utc"] > doc["generated_utc"]:
            return
        self.db.execute(
            "INSERT OR IGNORE INTO patients VALUES (?, ?, ?)", (site, patient, self._now())
        )
        self.db.execute(
            "INSERT OR REPLACE INTO summaries VALUES (?, ?, ?, ?)",
            (site, patient, json.dumps(doc), self._now()),
        )

    @_locked
    def evaluate_findings(self, site: str, patient: str, doc: dict[str, Any]) -> int:
        """Run the finding rules on a patient's new summary (its window's end is the
        last data seen), with the thresholds and owners of the patient's current care
        plan where there is one; returns how many findings were opened."""
        last = datetime.fromisoformat(doc["window"]["end_utc"])
        plan = self.careplan(site, patient)
        found = evaluate(
            metrics=doc.get("metrics", {}),
            last_data=last,
            agreements=None if plan is None else finding_agreements(plan),
            owners=None if plan is None else finding_owners(plan),
            now=datetime.now(UTC),
        )
        return self.findings.record(site, patient, found, datetime.now(UTC))

    @_locked
    def gateway_findings(self, site: str, gateway: str, doc: dict[str, Any]) -> int:
        """Findings from a home hub's status: its outbox over the disk cap (it keeps
        every unsent record and says so rather than dropping any), and devices that have
        not synced for hours. Filed under ``gateway:<id>`` (no patient), for the site's
        community health worker, who visits the home; cleared findings stay resolved."""
        found = hub_status_findings(gateway, doc)
        return self.findings.record(site, f"gateway:{gateway}", found, datetime.now(UTC))

    @_locked
    def sweep(self, now: datetime) -> int:
        """'Sync has silently stopped' as a finding: re-run the rules on every patient's
        newest summary at ``now`` (the intake only runs them when a summary arrives, and
        a gateway that stopped sends none). Returns how many findings were opened."""
        opened = 0
        rows = self.db.execute(self._sql("SELECT site, patient, payload FROM summaries")).fetchall()
        for site, patient, payload in rows:
            doc = json.loads(payload)
            plan = self.careplan(site, patient)
            found = evaluate(
                metrics=doc.get("metrics", {}),
                last_data=datetime.fromisoformat(doc["window"]["end_utc"]),
                agreements=None if plan is None else finding_agreements(plan),
                owners=None if plan is None else finding_owners(plan),
                now=now,
            )
            opened += self.findings.record(site, patient, found, now)
        return opened

    # -- care plans ------------------------------------------------------------------
    @_locked
    def save_careplan(self, plan: CarePlan) -> None:
        """Keep a new version (who changed what and when stays: versions are never
        overwritten). Refuses a version that is not the next one."""
        current = self.careplan(plan.site, plan.patient)
        expected = 1 if current is None else current.version + 1
        if plan.version != expected:
            raise ValueError(
                f"care plan version {plan.version} for {plan.patient}: expected {expected}"
            )
        self.db.execute(
            self._sql("INSERT INTO careplans VALUES (?, ?, ?, ?, ?, ?)"),
            (
                plan.site,
                plan.patient,
                plan.version,
                plan.changed_by,
                plan.changed_at.isoformat(),
                plan.to_json(),
            ),
        )

    @_locked
    def careplan(self, site: str, patient: str, version: int | None = None) -> CarePlan | None:
        """The current care plan (or one version of it)."""
        sql = "SELECT doc FROM careplans WHERE site = ? AND patient = ?"
        args: tuple[object, ...] = (site, patient)
        if version is not None:
            sql += " AND version = ?"
            args += (version,)
        row = self.db.execute(self._sql(sql + " ORDER BY version DESC LIMIT 1"), args).fetchone()
        return None if row is None else loads(row[0])

    @_locked
    def careplan_history(self, site: str, patient: str) -> list[tuple[int, str, str]]:
        """(version, changed_by, changed_at) of every version, oldest first."""
        rows = self.db.execute(
            self._sql(
                "SELECT version, changed_by, changed_at FROM careplans WHERE site = ? AND"
                " patient = ? ORDER BY version"
            ),
            (site, patient),
        ).fetchall()
        return [(int(v), str(b), str(a)) for v, b, a in rows]

    @_locked
    def set_gateway(self, site: str, gateway: str, state: str) -> None:
        self.db.execute(
            self._sql(
                "INSERT INTO gateways VALUES (?, ?, ?, ?) ON CONFLICT (site, gateway)"
                " DO UPDATE SET state = excluded.state, time_utc = excluded.time_utc"
            ),
            (site, gateway, state, self._now()),
        )

    @_locked
    def reject(self, topic: str, reason: str) -> None:
        self.db.execute(
            self._sql("INSERT INTO rejected (topic, reason, received_utc) VALUES (?, ?, ?)"),
            (topic, reason[:500], self._now()),
        )

    # -- the pages' audit trail and KPI reads ------------------------------------------
    @_locked
    def audit(self, actor: str, action: str, detail: dict[str, object]) -> None:
        """One entry of the pages' audit trail (role and token-hash prefix, never a token)."""
        self.db.execute(
            self._sql(
                "INSERT INTO web_audit (time_utc, actor, action, detail) VALUES (?, ?, ?, ?)"
            ),
            (datetime.now(UTC).isoformat(), actor, action, json.dumps(detail, sort_keys=True)),
        )

    @_locked
    def audit_entries(self) -> list[tuple[str, str, dict[str, Any]]]:
        """Every entry, oldest first: (actor, action, detail)."""
        rows = self.db.execute("SELECT actor, action, detail FROM web_audit ORDER BY id")
        return [(str(a), str(b), json.loads(c)) for a, b, c in rows.fetchall()]

    @_locked
    def cgm_readings(self, site: str, patient: str) -> list[tuple[str, int]]:
        """(UTC time as stored, UTC offset in s) of every distinct stored CGM reading."""
        rows = self.db.execute(
            "SELECT DISTINCT time_utc, json_extract(payload, '$.utc_offset_s') FROM records"
            " WHERE site = ? AND patient = ? AND kind = 'glucose'"
            " AND json_extract(payload, '$.sample_type') = 'cgm'",
            (site, patient),
        ).fetchall()
        return [(str(t), int(o or 0)) for t, o in rows]

    # -- reads ---------------------------------------------------------------------
    @_locked
    def patients(self) -> list[PatientView]:
        rows = self.db.execute(
            "SELECT p.site, p.pseudonym, (SELECT count(*) FROM records r WHERE r.site = p.site"
            " AND r.patient = p.pseudonym), s.payload FROM patients p LEFT JOIN summaries s"
            " ON s.site = p.site AND s.patient = p.pseudonym ORDER BY p.site, p.pseudonym"
        ).fetchall()
        return [
            PatientView(str(a), str(b), int(c), json.loads(d) if d else None) for a, b, c, d in rows
        ]

    @_locked
    def gateways(self) -> dict[tuple[str, str], str]:
        rows = self.db.execute("SELECT site, gateway, state FROM gateways").fetchall()
        return {(str(s), str(g)): str(st) for s, g, st in rows}

    @_locked
    def rejected(self) -> list[tuple[str, str]]:
        return [
            (str(t), str(r))
            for t, r in self.db.execute("SELECT topic, reason FROM rejected ORDER BY id").fetchall()
        ]
