"""The care record's store on PostgreSQL (``glucogate record --db postgresql://...``).

The same tables, uniqueness rules and public methods as the SQLite
:class:`gateway.record.store.CareRecordStore`: records unique on ``(site, device_id,
kind, source_index)`` and inserted with ``ON CONFLICT DO NOTHING`` in one transaction per
batch, the newest summary per patient, never-overwritten care-plan versions, and one
unresolved finding per (site, patient, rule) enforced by a partial unique index.

One connection, serialised by :attr:`PgCareRecordStore.lock` (as the SQLite store), so
callers that hold ``store.lock`` keep working; the care team's pages run on either.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast

from gateway.record.findings import Finding, FindingsStore
from gateway.record.store import CareRecordStore

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


def is_dsn(target: str) -> bool:
    """True when ``--db`` names a PostgreSQL server rather than a SQLite file."""
    return target.startswith(("postgresql://", "postgres://"))


def _pg(text: str) -> str:
    """The shared ``?``-placeholder SQL in psycopg's ``%s`` style."""
    return text.replace("?", "%s")


F = TypeVar("F", bound=Callable[..., Any])


def _locked(method: F) -> F:
    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        with self.lock:
            return method(self, *args, **kwargs)

    return cast(F, wrapper)


class PgFindingsStore(FindingsStore):
    """:class:`gateway.record.findings.FindingsStore` on PostgreSQL: the same methods,
    one unresolved finding per (site, patient, rule); it takes the owning store's lock."""

    def __init__(self, db: psycopg.Connection[Any], lock: threading.RLock) -> None:
        self.db = db  # type: ignore[assignment]  # the schema comes with the store's
        self.lock = lock

    _sql = staticmethod(_pg)

    @_locked
    def record(self, site: str, patient: str, findings: Sequence[Finding], now: datetime) -> int:
        """Open new findings, refresh the evidence of open ones; returns how many opened.
        The insert skips on the partial unique index, so a race cannot open a second."""
        stamp = now.astimezone(UTC).isoformat()
        opened = 0
        with self.db.transaction():  # type: ignore[attr-defined]
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
        super().set_status(finding_id, status, by=by, now=now)

    @_locked
    def open_for(self, role: str | None = None) -> list[dict[str, Any]]:
        return super().open_for(role)


class PgCareRecordStore(CareRecordStore):
    """The care record on one PostgreSQL connection (autocommit; explicit transactions
    per batch), shared by the subscription thread and readers under :attr:`lock`.

    Everything but the connection, the batch writes and the JSON read is the SQLite
    store's own code, its ``?`` placeholders turned into ``%s``."""

    def __init__(self, dsn: str) -> None:
        import psycopg  # the optional ``postgres`` extra

        self.db = psycopg.connect(dsn, autocommit=True)  # type: ignore[assignment]
        self.lock = threading.RLock()
        with self.lock, self.db.transaction():  # type: ignore[attr-defined]
            # two services starting on an empty database at once: serialise the DDL
            self.db.execute("SELECT pg_advisory_xact_lock(7411)")
            self.db.execute(SCHEMA)
        self.findings = PgFindingsStore(self.db, self.lock)  # type: ignore[arg-type]

    _sql = staticmethod(_pg)

    @property
    def _conn(self) -> Any:
        """The psycopg connection (``db``, typed as the SQLite store's)."""
        return self.db

    @_locked
    def add_records(
        self, site: str, patient: str, gateway: str, records: list[dict[str, Any]]
    ) -> int:
        """Store a batch in one transaction; returns how many were new."""
        now = self._now()
        added = 0
        with self._conn.transaction(), self._conn.cursor() as cur:
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
        with self._conn.transaction():
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
    def cgm_readings(self, site: str, patient: str) -> list[tuple[str, int]]:
        """As :meth:`CareRecordStore.cgm_readings`."""
        rows = self.db.execute(
            "SELECT DISTINCT time_utc, (payload::jsonb ->> 'utc_offset_s')::int FROM records"
            " WHERE site = %s AND patient = %s AND kind = 'glucose'"
            " AND payload::jsonb ->> 'sample_type' = 'cgm'",
            (site, patient),
        ).fetchall()
        return [(str(t), int(o or 0)) for t, o in rows]
