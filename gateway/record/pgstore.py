"""The care record's store on PostgreSQL (``glucogate record --db postgresql://...``).

The same tables, uniqueness rules and public methods as the SQLite
:class:`gateway.record.store.CareRecordStore`: records unique on ``(site, device_id,
kind, source_index)`` and inserted with ``ON CONFLICT DO NOTHING`` in one transaction per
batch, the newest summary per patient, never-overwritten care-plan versions, and one
unresolved finding per (site, patient, rule) enforced by a partial unique index.

One connection, serialised by :attr:`PgCareRecordStore.lock` (as the SQLite store), so
callers that hold ``store.lock`` keep working. The care team's web pages that read
``store.db`` with SQLite SQL (``gateway/record/views.py``) still need the SQLite store.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast

from gateway.careplan.plan import CarePlan, finding_agreements, finding_owners, loads
from gateway.record.findings import Finding, evaluate, hub_status_findings
from gateway.record.store import PatientView

if TYPE_CHECKING:
    import psycopg

SCHEMA = """
CREATE TABLE IF NOT EXISTS patients (
    site TEXT NOT NULL, pseudonym TEXT NOT NULL, first_seen_utc TEXT NOT NULL,
    PRIMARY KEY (site, pseudonym));
CREATE TABLE IF NOT EXISTS records (
    id BIGSERIAL PRIMARY KEY, site TEXT NOT NULL, patient TEXT NOT NULL,
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
    id BIGSERIAL PRIMARY KEY, time_utc TEXT NOT NULL, actor TEXT NOT NULL,
    action TEXT NOT NULL, detail TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rejected (
    id BIGSERIAL PRIMARY KEY, topic TEXT NOT NULL, reason TEXT NOT NULL,
    received_utc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS findings (
    id BIGSERIAL PRIMARY KEY, site TEXT NOT NULL, patient TEXT NOT NULL, rule TEXT NOT NULL,
    role TEXT NOT NULL, message TEXT NOT NULL, evidence TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'acknowledged', 'resolved')),
    opened_utc TEXT NOT NULL, updated_utc TEXT NOT NULL, closed_by TEXT, closed_utc TEXT);
CREATE UNIQUE INDEX IF NOT EXISTS findings_one_open
    ON findings (site, patient, rule) WHERE status != 'resolved';
CREATE INDEX IF NOT EXISTS findings_role ON findings (role, status);
"""

F = TypeVar("F", bound=Callable[..., Any])


def is_dsn(target: str) -> bool:
    """True when ``--db`` names a PostgreSQL server rather than a SQLite file."""
    return target.startswith(("postgresql://", "postgres://"))


def _locked(method: F) -> F:
    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        with self.lock:
            return method(self, *args, **kwargs)

    return cast(F, wrapper)


class PgFindingsStore:
    """:class:`gateway.record.findings.FindingsStore` on PostgreSQL: the same methods,
    one unresolved finding per (site, patient, rule). Hold the owning store's lock."""

    def __init__(self, db: psycopg.Connection[Any], lock: threading.RLock) -> None:
        self.db = db
        self.lock = lock

    @_locked
    def record(self, site: str, patient: str, findings: Sequence[Finding], now: datetime) -> int:
        """Open new findings, refresh the evidence of open ones; returns how many opened.
        The insert skips on the partial unique index, so a race cannot open a second."""
        stamp = now.astimezone(UTC).isoformat()
        opened = 0
        with self.db.transaction():
            for f in findings:
                evidence = json.dumps(f.evidence, default=str)
                cur = self.db.execute(
                    "UPDATE findings SET message = %s, evidence = %s, updated_utc = %s"
                    " WHERE site = %s AND patient = %s AND rule = %s AND status != 'resolved'",
                    (f.message, evidence, stamp, site, patient, f.rule),
                )
                if cur.rowcount == 0:
                    cur = self.db.execute(
                        "INSERT INTO findings (site, patient, rule, role, message, evidence,"
                        " status, opened_utc, updated_utc)"
                        " VALUES (%s, %s, %s, %s, %s, %s, 'open', %s, %s)"
                        " ON CONFLICT (site, patient, rule) WHERE status != 'resolved'"
                        " DO NOTHING",
                        (site, patient, f.rule, f.role, f.message, evidence, stamp, stamp),
                    )
                    opened += cur.rowcount
        return opened

    @_locked
    def set_status(self, finding_id: int, status: str, *, by: str, now: datetime) -> None:
        if status not in ("acknowledged", "resolved"):
            raise ValueError(f"unknown finding status {status!r}")
        closed = now.astimezone(UTC).isoformat() if status == "resolved" else None
        cur = self.db.execute(
            "UPDATE findings SET status = %s, closed_by = %s, closed_utc = %s,"
            " updated_utc = %s WHERE id = %s AND status != 'resolved'",
            (status, by, closed, now.astimezone(UTC).isoformat(), finding_id),
        )
        if cur.rowcount != 1:
            raise KeyError(f"no open finding {finding_id}")

    @_locked
    def open_for(self, role: str | None = None) -> list[dict[str, Any]]:
        where = "status != 'resolved'" + ("" if role is None else " AND role = %s")
        rows = self.db.execute(
            "SELECT id, site, patient, rule, role, message, evidence, status, opened_utc"
            f" FROM findings WHERE {where} ORDER BY opened_utc, id",
            () if role is None else (role,),
        ).fetchall()
        keys = ("id", "site", "patient", "rule", "role", "message", "evidence", "status")
        return [
            {
                **dict(zip(keys, r[:8], strict=True)),
                "opened_utc": r[8],
                "evidence": json.loads(r[6]),
            }
            for r in rows
        ]


class PgCareRecordStore:
    """The care record on one PostgreSQL connection (autocommit; explicit transactions
    per batch), shared by the subscription thread and readers under :attr:`lock`."""

    def __init__(self, dsn: str) -> None:
        import psycopg  # the optional ``postgres`` extra

        self.db: psycopg.Connection[Any] = psycopg.connect(dsn, autocommit=True)
        self.lock = threading.RLock()
        with self.lock, self.db.transaction():
            # two services starting on an empty database at once: serialise the DDL
            self.db.execute("SELECT pg_advisory_xact_lock(7411)")
            self.db.execute(SCHEMA)
        self.findings = PgFindingsStore(self.db, self.lock)

    @_locked
    def close(self) -> None:
        self.db.close()

    @staticmethod
    def _now() -> str:
        return datetime.now(UTC).isoformat()

    @_locked
    def add_records(
        self, site: str, patient: str, gateway: str, records: list[dict[str, Any]]
    ) -> int:
        """Store a batch in one transaction; returns how many were new."""
        now = self._now()
        added = 0
        with self.db.transaction(), self.db.cursor() as cur:
            cur.execute(
                "INSERT INTO patients VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                (site, patient, now),
            )
            cur.executemany(
                "INSERT INTO records (site, patient, device_id, kind, source_index, time_utc,"
                " payload, gateway) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT DO NOTHING RETURNING 1",
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
                returning=True,
            )
            while True:  # one result set per row; a skipped duplicate returns no row
                added += len(cur.fetchall())
                if not cur.nextset():
                    break
        return added

    @_locked
    def set_summary(self, site: str, patient: str, doc: dict[str, Any]) -> None:
        """Keep the newest summary per patient (by its generated time)."""
        with self.db.transaction():
            row = self.db.execute(
                "SELECT payload FROM summaries WHERE site = %s AND patient = %s FOR UPDATE",
                (site, patient),
            ).fetchone()
            if row is not None and json.loads(row[0])["generated_utc"] > doc["generated_utc"]:
                return
            self.db.execute(
                "INSERT INTO patients VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                (site, patient, self._now()),
            )
            self.db.execute(
                "INSERT INTO summaries VALUES (%s, %s, %s, %s) ON CONFLICT (site, patient)"
                " DO UPDATE SET payload = EXCLUDED.payload, received_utc = EXCLUDED.received_utc",
                (site, patient, json.dumps(doc), self._now()),
            )

    @_locked
    def evaluate_findings(self, site: str, patient: str, doc: dict[str, Any]) -> int:
        """As :meth:`CareRecordStore.evaluate_findings`."""
        plan = self.careplan(site, patient)
        found = evaluate(
            metrics=doc.get("metrics", {}),
            last_data=datetime.fromisoformat(doc["window"]["end_utc"]),
            agreements=None if plan is None else finding_agreements(plan),
            owners=None if plan is None else finding_owners(plan),
            now=datetime.now(UTC),
        )
        return self.findings.record(site, patient, found, datetime.now(UTC))

    @_locked
    def gateway_findings(self, site: str, gateway: str, doc: dict[str, Any]) -> int:
        """As :meth:`CareRecordStore.gateway_findings` (the same rules)."""
        found = hub_status_findings(gateway, doc)
        return self.findings.record(site, f"gateway:{gateway}", found, datetime.now(UTC))

    @_locked
    def sweep(self, now: datetime) -> int:
        """As :meth:`CareRecordStore.sweep`."""
        opened = 0
        rows = self.db.execute("SELECT site, patient, payload FROM summaries").fetchall()
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
        """Keep a new version; refuses a version that is not the next one (the primary
        key refuses it too when two writers race)."""
        current = self.careplan(plan.site, plan.patient)
        expected = 1 if current is None else current.version + 1
        if plan.version != expected:
            raise ValueError(
                f"care plan version {plan.version} for {plan.patient}: expected {expected}"
            )
        self.db.execute(
            "INSERT INTO careplans VALUES (%s, %s, %s, %s, %s, %s)",
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
        sql = "SELECT doc FROM careplans WHERE site = %s AND patient = %s"
        args: tuple[object, ...] = (site, patient)
        if version is not None:
            sql += " AND version = %s"
            args += (version,)
        row = self.db.execute(sql + " ORDER BY version DESC LIMIT 1", args).fetchone()
        return None if row is None else loads(row[0])

    @_locked
    def careplan_history(self, site: str, patient: str) -> list[tuple[int, str, str]]:
        rows = self.db.execute(
            "SELECT version, changed_by, changed_at FROM careplans WHERE site = %s AND"
            " patient = %s ORDER BY version",
            (site, patient),
        ).fetchall()
        return [(int(v), str(b), str(a)) for v, b, a in rows]

    @_locked
    def set_gateway(self, site: str, gateway: str, state: str) -> None:
        self.db.execute(
            "INSERT INTO gateways VALUES (%s, %s, %s, %s) ON CONFLICT (site, gateway)"
            " DO UPDATE SET state = EXCLUDED.state, time_utc = EXCLUDED.time_utc",
            (site, gateway, state, self._now()),
        )

    @_locked
    def reject(self, topic: str, reason: str) -> None:
        self.db.execute(
            "INSERT INTO rejected (topic, reason, received_utc) VALUES (%s, %s, %s)",
            (topic, reason[:500], self._now()),
        )

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
    def audit(self, actor: str, action: str, detail: dict[str, object]) -> None:
        """As :meth:`CareRecordStore.audit`."""
        with self.db.transaction():
            self.db.execute(
                "INSERT INTO web_audit (time_utc, actor, action, detail) VALUES (%s, %s, %s, %s)",
                (datetime.now(UTC).isoformat(), actor, action, json.dumps(detail, sort_keys=True)),
            )

    @_locked
    def audit_entries(self) -> list[tuple[str, str, dict[str, Any]]]:
        """As :meth:`CareRecordStore.audit_entries`."""
        rows = self.db.execute("SELECT actor, action, detail FROM web_audit ORDER BY id")
        return [(str(a), str(b), json.loads(c)) for a, b, c in rows.fetchall()]

    @_locked
    def cgm_readings(self, site: str, patient: str) -> list[tuple[str, int]]:
        """As :meth:`CareRecordStore.cgm_readings`."""
        rows = self.db.execute(
            "SELECT DISTINCT time_utc, (payload::jsonb ->> 'utc_offset_s')::int FROM records"
            " WHERE site = %s AND patient = %s AND kind = 'glucose'"
            " AND payload::jsonb ->> 'sample_type' = 'cgm'",
            (site, patient),
        ).fetchall()
        return [(str(t), int(o or 0)) for t, o in rows]

    @_locked
    def gateways(self) -> dict[tuple[str, str], str]:
        rows = self.db.execute("SELECT site, gateway, state FROM gateways").fetchall()
        return {(str(s), str(g)): str(st) for s, g, st in rows}

    @_locked
    def rejected(self) -> list[tuple[str, str]]:
        rows = self.db.execute("SELECT topic, reason FROM rejected ORDER BY id").fetchall()
        return [(str(t), str(r)) for t, r in rows]
