"""The store on a real SQLite file: atomic ingest, dedup, outbox order, migrations."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from gateway.store.schema import MIGRATIONS
from gateway.store.sqlite import Store
from tests.gateway.factories import cgm


def _msgs(new: list[object]) -> list[tuple[str, str, int, bool]]:
    return [("t/records", f"{len(new)} new", 1, False)] if new else []


def test_same_upload_twice_adds_and_queues_nothing(tmp_path: Path) -> None:
    with Store(tmp_path / "g.sqlite") as store:
        patient = store.patient("local-1", "p-aaaaaaaaaaaaaaaa", "UTC")
        records = [cgm(i) for i in range(10)]
        first = store.ingest(patient, records, raw=b"file", fmt="x", devices={}, messages=_msgs)
        second = store.ingest(patient, records, raw=b"file", fmt="x", devices={}, messages=_msgs)
        assert (first.added, first.already_stored, first.capture_new) == (10, 0, True)
        assert (second.added, second.already_stored, second.capture_new) == (0, 10, False)
        assert store.count_records() == 10
        assert [m.payload for m in store.unsent()] == ["10 new"]


def test_overlapping_upload_adds_only_the_new_part(tmp_path: Path) -> None:
    with Store(tmp_path / "g.sqlite") as store:
        patient = store.patient("local-1", "p-aaaaaaaaaaaaaaaa", "UTC")
        store.ingest(patient, [cgm(i) for i in range(10)], raw=b"a", fmt="x", devices={})
        result = store.ingest(
            patient, [cgm(i) for i in range(5, 15)], raw=b"b", fmt="x", devices={}, messages=_msgs
        )
        assert (result.added, result.already_stored) == (5, 5)
        assert [m.payload for m in store.unsent()] == ["5 new"]
        assert [r.source_index for r in store.records(patient)] == [f"egv:{i}" for i in range(15)]


def test_failure_mid_ingest_leaves_nothing_half_written(tmp_path: Path) -> None:
    path = tmp_path / "g.sqlite"
    with Store(path) as store:
        patient = store.patient("local-1", "p-aaaaaaaaaaaaaaaa", "UTC")
        unresolved = replace(cgm(3), source_index="egv:x", time_utc=None)
        with pytest.raises(ValueError, match="no time_utc"):
            store.ingest(
                patient,
                [cgm(0), cgm(1), unresolved],
                raw=b"bad",
                fmt="x",
                devices={"dexcom:g6:abc123": "G6"},
                messages=_msgs,
            )
    db = sqlite3.connect(path)
    for table in ("records", "raw_captures", "outbox", "devices", "audit"):
        assert db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table


def test_outbox_is_drained_in_queue_order_and_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "g.sqlite"
    with Store(path) as store:
        store.enqueue([(f"t/{i}", str(i), 1, False) for i in range(5)])
        first = store.unsent(limit=2)
        store.mark_sent([m.seq for m in first])
    with Store(path) as store:
        assert [m.payload for m in store.unsent()] == ["2", "3", "4"]
        assert store.outbox_pending() == 3


def test_records_round_trip_through_the_store(tmp_path: Path) -> None:
    with Store(tmp_path / "g.sqlite") as store:
        patient = store.patient("local-1", "p-aaaaaaaaaaaaaaaa", "UTC")
        high = replace(cgm(1, None), special="high", reporting_limit_mgdl=400.0)
        store.ingest(patient, [cgm(0, 95.0), high], raw=b"r", fmt="x", devices={})
        assert store.records(patient) == [cgm(0, 95.0), high]


def test_schema_is_migrated_once_and_versioned(tmp_path: Path) -> None:
    path = tmp_path / "g.sqlite"
    Store(path).close()
    Store(path).close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_same_local_identity_gets_the_same_patient(tmp_path: Path) -> None:
    with Store(tmp_path / "g.sqlite") as store:
        a = store.patient("local-1", "p-aaaaaaaaaaaaaaaa", "UTC")
        b = store.patient("local-1", "p-aaaaaaaaaaaaaaaa", "UTC")
        c = store.patient("local-2", "p-bbbbbbbbbbbbbbbb", "UTC")
        assert a == b and a.id != c.id
