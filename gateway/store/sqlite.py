"""The gateway's durable store: one SQLite file in WAL mode.

Everything an upload produces -- the raw capture, the normalized records, the cursor
and the outbox messages -- is written in **one transaction** (:meth:`Store.ingest`), so a
crash or a bad file never leaves half-written state, and records are unique on their
dedup key ``(device_id, kind, source_index)``, so the same upload twice adds nothing.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import attrgetter
from pathlib import Path

from drivers._core.records import Record, collector_paused, json_and_time, record_from_dict
from gateway.store.crosssource import KINDS, TOLERANCE_S, Stored, match
from gateway.store.schema import MIGRATIONS


@dataclass(frozen=True, slots=True)
class Patient:
    """A patient as the store knows them; only ``pseudonym`` ever leaves the gateway."""

    id: int
    pseudonym: str
    tz: str


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """One queued MQTT message, in publish order."""

    seq: int
    topic: str
    payload: str
    qos: int
    retain: bool


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What one ingest added: new records by kind, and whether the capture was new."""

    added: int
    already_stored: int
    capture_new: bool
    merged: int = 0  # the same events already stored from another source (not added)


def _now() -> str:
    return datetime.now(UTC).isoformat()


class Store:
    """The SQLite store. Use as a context manager or call :meth:`close`."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self._migrate()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    def _migrate(self) -> None:
        version = int(self.db.execute("PRAGMA user_version").fetchone()[0])
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            with self.transaction():
                for statement in script.split(";"):
                    if statement.strip():
                        self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version={number}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on any exception."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # -- patients -----------------------------------------------------------------
    def patient(self, local_id: str, pseudonym: str, tz: str) -> Patient:
        """Get or create the patient with this local identity."""
        row = self.db.execute(
            "SELECT id, pseudonym, tz FROM patients WHERE local_id = ?", (local_id,)
        ).fetchone()
        if row is None:
            with self.transaction():
                cur = self.db.execute(
                    "INSERT INTO patients (local_id, pseudonym, tz) VALUES (?, ?, ?)",
                    (local_id, pseudonym, tz),
                )
            return Patient(int(cur.lastrowid or 0), pseudonym, tz)
        return Patient(int(row[0]), str(row[1]), str(row[2]))

    def patient_by_local_id(self, local_id: str) -> Patient | None:
        """The patient with this local identity, or None (never creates one)."""
        row = self.db.execute(
            "SELECT id, pseudonym, tz FROM patients WHERE local_id = ?", (local_id,)
        ).fetchone()
        return None if row is None else Patient(int(row[0]), str(row[1]), str(row[2]))

    def device_descriptions(self, patient: Patient) -> list[str]:
        """What each of the patient's devices is (no serial numbers), oldest first."""
        rows = self.db.execute(
            "SELECT description FROM devices WHERE patient_id = ? ORDER BY first_seen_utc",
            (patient.id,),
        ).fetchall()
        return [str(r[0]) for r in rows]

    def save_careplan(self, pseudonym: str, version: int, doc: str) -> bool:
        """Keep a care plan received from the care record if it is newer than the one
        held; returns whether it was kept (a redelivered or older version is not)."""
        with self.transaction() as db:
            cur = db.execute(
                "INSERT INTO careplans (pseudonym, version, doc, received_utc) VALUES"
                " (?, ?, ?, ?) ON CONFLICT(pseudonym) DO UPDATE SET version ="
                " excluded.version, doc = excluded.doc, received_utc = excluded.received_utc"
                " WHERE excluded.version > careplans.version",
                (pseudonym, version, doc, _now()),
            )
            return cur.rowcount == 1

    def careplan_doc(self, pseudonym: str) -> str | None:
        """The current care plan's JSON for a patient, if one was received."""
        row = self.db.execute(
            "SELECT doc FROM careplans WHERE pseudonym = ?", (pseudonym,)
        ).fetchone()
        return None if row is None else str(row[0])

    def patient_by_pseudonym(self, pseudonym: str) -> Patient | None:
        """The patient behind a pseudonym, or None."""
        row = self.db.execute(
            "SELECT id, pseudonym, tz FROM patients WHERE pseudonym = ?", (pseudonym,)
        ).fetchone()
        return None if row is None else Patient(int(row[0]), str(row[1]), str(row[2]))

    def audit(self, actor: str, action: str, detail: dict[str, object]) -> None:
        """Append one entry to the audit log (who did what to which pseudonym)."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO audit (time_utc, actor, action, detail) VALUES (?, ?, ?, ?)",
                (_now(), actor, action, json.dumps(detail, sort_keys=True)),
            )

    def audit_log(self) -> list[tuple[str, str, dict[str, object]]]:
        """Every audit entry, oldest first: (actor, action, detail)."""
        rows = self.db.execute("SELECT actor, action, detail FROM audit ORDER BY id").fetchall()
        return [(str(a), str(b), json.loads(c)) for a, b, c in rows]

    # -- ingest -------------------------------------------------------------------
    def ingest(
        self,
        patient: Patient,
        records: Sequence[Record],
        *,
        raw: bytes,
        fmt: str,
        devices: dict[str, str],
        messages: Callable[[list[Record]], Iterable[tuple[str, str, int, bool]]] | None = None,
        cursor: tuple[str, str] | None = None,
        actor: str = "gateway",
    ) -> IngestResult:
        """Store a capture, its records, the cursor and outbox messages atomically.

        ``messages`` is called inside the transaction with the records that were new
        (not already stored), and its (topic, payload, qos, retain) tuples are queued
        in the outbox in the same transaction: a record is never stored without its
        message, and a repeated upload queues nothing for records already sent.
        """
        sha = hashlib.sha256(raw).hexdigest()
        now = _now()
        added = 0
        with collector_paused(), self.transaction() as db:  # a row per record, no garbage
            cur = db.execute(
                "INSERT OR IGNORE INTO raw_captures (sha256, format, size, data, received_utc)"
                " VALUES (?, ?, ?, ?, ?)",
                (sha, fmt, len(raw), raw, now),
            )
            capture_new = cur.rowcount == 1
            capture_id = db.execute(
                "SELECT id FROM raw_captures WHERE sha256 = ?", (sha,)
            ).fetchone()[0]
            for device_id, description in devices.items():
                db.execute(
                    "INSERT INTO devices (device_id, patient_id, description, first_seen_utc,"
                    " last_seen_utc) VALUES (?, ?, ?, ?, ?) ON CONFLICT(device_id) DO UPDATE"
                    " SET last_seen_utc = excluded.last_seen_utc",
                    (device_id, patient.id, description, now, now),
                )
            new_records = self._new_only(records)
            new_records, merged = self._merge_other_sources(db, patient, new_records, capture_id)
            values: list[object] = []  # the rows' columns one after the other
            writers: dict[type, Callable[[Record], tuple[str, str | None]]] = {}
            patient_id = patient.id
            for rec in new_records:
                cls = type(rec)
                writer = writers.get(cls)
                if writer is None:
                    writer = writers[cls] = json_and_time(cls)
                # json.dumps(rec.to_dict(), separators=(",", ":")) and rec.time_utc's ISO
                # text, made once for the payload and the time_utc column
                payload, time_utc = writer(rec)
                if time_utc is None:
                    raise ValueError(f"record {rec.dedup_key} has no time_utc: run the time base")
                values += (
                    patient_id,
                    rec.device_id,
                    cls.kind,
                    rec.source_index,
                    time_utc,
                    payload,
                    capture_id,
                )
            # 128 rows per statement, in order (the same rows and ids as one INSERT per
            # row; executemany's per-row statement step costs a fifth more); 896
            # parameters, within SQLite's oldest default limit of 999 per statement
            width = 128 * 7
            for start in range(0, len(values), width):
                chunk = values[start : start + width]
                db.execute(
                    "INSERT INTO records (patient_id, device_id, kind, source_index, time_utc,"
                    " payload, capture_id) VALUES "
                    + ",".join(["(?, ?, ?, ?, ?, ?, ?)"] * (len(chunk) // 7)),
                    chunk,
                )
            added = len(new_records)
            if messages is not None:
                self._queue(db, messages(new_records), now)
            if cursor is not None:
                db.execute(
                    "INSERT INTO cursors (device_id, cursor, updated_utc) VALUES (?, ?, ?)"
                    " ON CONFLICT(device_id) DO UPDATE SET cursor = excluded.cursor,"
                    " updated_utc = excluded.updated_utc",
                    (cursor[0], cursor[1], now),
                )
            db.execute(
                "INSERT INTO audit (time_utc, actor, action, detail) VALUES (?, ?, ?, ?)",
                (
                    now,
                    actor,
                    "ingest",
                    json.dumps(
                        {
                            "patient": patient.pseudonym,
                            "format": fmt,
                            "added": added,
                            "merged": merged,
                            "capture": sha[:16],
                        }
                    ),
                ),
            )
        return IngestResult(
            added=added,
            already_stored=len(records) - added,
            capture_new=capture_new,
            merged=merged,
        )

    def _merge_other_sources(
        self, db: sqlite3.Connection, patient: Patient, new: list[Record], capture_id: int
    ) -> tuple[list[Record], int]:
        """Take out of ``new`` the records that are the same event as one stored from
        another device id (gateway/store/crosssource.py); each is noted as another
        source of the stored record instead. Returns the rest and how many merged."""
        candidates = [
            r.time_utc.timestamp() for r in new if r.kind in KINDS and r.time_utc is not None
        ]
        if not candidates:
            return new, 0
        tol = max(TOLERANCE_S.values())
        lo = datetime.fromtimestamp(min(candidates) - tol, UTC).isoformat()
        hi = datetime.fromtimestamp(max(candidates) + tol + 1, UTC).isoformat()
        own = sorted({r.device_id for r in new})
        rows = db.execute(
            "SELECT id, device_id, payload FROM records WHERE patient_id = ? AND kind IN"
            f" ({','.join('?' * len(KINDS))}) AND time_utc >= ? AND time_utc <= ?"
            f" AND device_id NOT IN ({','.join('?' * len(own))})",
            (patient.id, *KINDS, lo, hi, *own),
        ).fetchall()
        if not rows:
            return new, 0
        stored = []
        for record_id, device_id, payload in rows:
            rec = record_from_dict(json.loads(payload))
            if rec.time_utc is not None:
                stored.append(Stored(int(record_id), str(device_id), rec.time_utc.timestamp(), rec))
        same = match(new, stored)
        if not same:
            return new, 0
        db.executemany(
            "INSERT OR IGNORE INTO provenance (record_id, device_id, kind, source_index,"
            " capture_id) VALUES (?, ?, ?, ?, ?)",
            [
                (record_id, new[i].device_id, new[i].kind, new[i].source_index, capture_id)
                for i, record_id in same.items()
            ],
        )
        return [r for i, r in enumerate(new) if i not in same], len(same)

    def sources(self, record_id: int) -> list[tuple[str, str, str]]:
        """Every (device_id, kind, source_index) a stored record arrived as: its own key
        first, then the other paths that brought the same event."""
        own = self.db.execute(
            "SELECT device_id, kind, source_index FROM records WHERE id = ?", (record_id,)
        ).fetchall()
        others = self.db.execute(
            "SELECT device_id, kind, source_index FROM provenance WHERE record_id = ?"
            " ORDER BY rowid",
            (record_id,),
        ).fetchall()
        return [(str(d), str(k), str(i)) for d, k, i in [*own, *others]]

    def _new_only(self, records: Sequence[Record]) -> list[Record]:
        """Records whose dedup key is not stored yet (and the first of repeats within the
        batch). Called inside the write transaction, so nothing can slip in between."""
        device_of, kind_of, index_of = (
            attrgetter("device_id"),
            attrgetter("kind"),
            attrgetter("source_index"),
        )
        # each rec.dedup_key, made by C loops (a 90-day upload has 25 000 records)
        keys = list(
            zip(map(device_of, records), map(kind_of, records), map(index_of, records), strict=True)
        )
        seen: set[tuple[str, str, str]] = set()
        for device_id in set(map(device_of, records)):
            seen.update(
                (device_id, kind, index)
                for kind, index in self.db.execute(
                    "SELECT kind, source_index FROM records WHERE device_id = ?", (device_id,)
                )
            )
        distinct = set(keys)
        if len(distinct) == len(keys) and distinct.isdisjoint(seen):
            return list(records)  # no repeats, nothing stored: the loop below keeps all
        new: list[Record] = []
        for key, rec in zip(keys, records, strict=True):
            if key not in seen:
                seen.add(key)
                new.append(rec)
        return new

    def enqueue(self, messages: Iterable[tuple[str, str, int, bool]]) -> int:
        """Queue messages for MQTT in one transaction; returns how many."""
        with self.transaction() as db:
            return self._queue(db, messages, _now())

    @staticmethod
    def _queue(
        db: sqlite3.Connection, messages: Iterable[tuple[str, str, int, bool]], now: str
    ) -> int:
        """Append messages to the outbox inside the caller's transaction."""
        rows = [(topic, payload, qos, int(retain), now) for topic, payload, qos, retain in messages]
        db.executemany(
            "INSERT INTO outbox (topic, payload, qos, retain, created_utc) VALUES (?, ?, ?, ?, ?)",
            rows,
        )
        return len(rows)

    # -- reads --------------------------------------------------------------------
    def records(
        self, patient: Patient, kind: str | None = None, *, since_utc: datetime | None = None
    ) -> list[Record]:
        """A patient's records in time order (optionally one kind, from ``since_utc``)."""
        sql = "SELECT payload FROM records WHERE patient_id = ?"
        args: tuple[object, ...] = (patient.id,)
        if kind is not None:
            sql += " AND kind = ?"
            args += (kind,)
        if since_utc is not None:
            sql += " AND time_utc >= ?"
            args += (since_utc.astimezone(UTC).isoformat(),)
        rows = self.db.execute(sql + " ORDER BY time_utc, id", args).fetchall()
        return [record_from_dict(json.loads(r[0])) for r in rows]

    def last_time(self, patient: Patient, kind: str) -> datetime | None:
        """The UTC time of the patient's newest record of ``kind`` (None without any)."""
        row = self.db.execute(
            "SELECT max(time_utc) FROM records WHERE patient_id = ? AND kind = ?",
            (patient.id, kind),
        ).fetchone()
        return None if row[0] is None else datetime.fromisoformat(row[0])

    def count_records(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM records").fetchone()[0])

    def cursor(self, device_id: str) -> str | None:
        row = self.db.execute(
            "SELECT cursor FROM cursors WHERE device_id = ?", (device_id,)
        ).fetchone()
        return None if row is None else str(row[0])

    def set_cursor(self, key: str, value: str) -> None:
        """Store a cursor outside an ingest (the hub keeps ``hub:<device>`` -> the time
        of its last successful sync here, so a restart does not forget it)."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO cursors (device_id, cursor, updated_utc) VALUES (?, ?, ?)"
                " ON CONFLICT(device_id) DO UPDATE SET cursor = excluded.cursor,"
                " updated_utc = excluded.updated_utc",
                (key, value, _now()),
            )

    # -- outbox -------------------------------------------------------------------
    def unsent(self, limit: int = 1000, *, after: int = 0) -> list[OutboxMessage]:
        """The oldest unsent messages queued after sequence number ``after``, in the
        order they were queued."""
        rows = self.db.execute(
            "SELECT seq, topic, payload, qos, retain FROM outbox WHERE sent_utc IS NULL"
            " AND seq > ? ORDER BY seq LIMIT ?",
            (after, limit),
        ).fetchall()
        return [OutboxMessage(int(s), str(t), str(p), int(q), bool(r)) for s, t, p, q, r in rows]

    def outbox_messages(self, *, include_sent: bool = True) -> list[OutboxMessage]:
        """Every outbox message in queue order (for inspection and the demo)."""
        where = "" if include_sent else " WHERE sent_utc IS NULL"
        rows = self.db.execute(
            f"SELECT seq, topic, payload, qos, retain FROM outbox{where} ORDER BY seq"
        ).fetchall()
        return [OutboxMessage(int(s), str(t), str(p), int(q), bool(r)) for s, t, p, q, r in rows]

    def mark_sent(self, seqs: Sequence[int]) -> None:
        if not seqs:
            return
        now = _now()
        with self.transaction() as db:
            db.executemany("UPDATE outbox SET sent_utc = ? WHERE seq = ?", [(now, s) for s in seqs])

    def outbox_pending(self) -> int:
        return int(
            self.db.execute("SELECT count(*) FROM outbox WHERE sent_utc IS NULL").fetchone()[0]
        )
