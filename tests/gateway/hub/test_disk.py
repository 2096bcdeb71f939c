"""Bounded disk: a real SQLite store filled through Store.ingest, pruned under small caps.

The store's used size is measured by SQLite itself (page_count - freelist_count); the
caps below are chosen from the sizes measured in each test, so they hold for any page
size.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from drivers._core.records import Record
from gateway.hub.disk import enforce, unsent_bytes, used_bytes
from gateway.store.sqlite import Patient, Store
from tests.gateway.factories import cgm

CAPTURE_BYTES = 64_000  # each raw capture: incompressible bytes, far above a page


def _one_message(topic: str) -> Callable[[list[Record]], list[tuple[str, str, int, bool]]]:
    def make(new: list[Record]) -> list[tuple[str, str, int, bool]]:
        return [(topic, "x" * 2000, 1, False)]

    return make


def _fill(store: Store, captures: int, *, per: int = 12) -> Patient:
    """``captures`` uploads of ``per`` new readings each, with a 64 kB raw capture and
    one 2 kB outbox message per upload."""
    patient = store.patient("local-1", "p-aaaaaaaaaaaaaaaa", "UTC")
    for n in range(captures):
        records = [cgm(n * per + i) for i in range(per)]
        store.ingest(
            patient,
            records,
            raw=os.urandom(CAPTURE_BYTES),
            fmt="dexcom-receiver",
            devices={"dexcom:g6:abc123": "Dexcom G6 receiver"},
            messages=_one_message(f"t/{n}"),
        )
    return patient


def _captures(store: Store) -> list[tuple[int, int]]:
    """(id, bytes still held) of every capture, oldest first."""
    rows = store.db.execute("SELECT id, length(data) FROM raw_captures ORDER BY id")
    return [(int(a), int(b)) for a, b in rows]


def test_oldest_captures_go_first_and_records_stay(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite") as store:
        patient = _fill(store, 10)
        full = used_bytes(store)
        assert full > 10 * CAPTURE_BYTES
        # room for about six of the ten captures
        cap = full - 4 * CAPTURE_BYTES - CAPTURE_BYTES // 2
        report = enforce(store, cap_bytes=cap, now_utc=datetime.now(UTC), raw_retention_days=30)
        held = [size for _, size in _captures(store)]
        assert held[:5] == [0] * 5  # the five oldest lost their bytes ...
        assert held[5:] == [CAPTURE_BYTES] * 5  # ... the five newest are whole
        assert report.captures_pruned == 5 and report.sent_rows_deleted == 0
        assert report.used_after <= cap < report.used_before
        assert not report.outbox_over_limit
        # every record is still there, still pointing at its (emptied) capture
        assert len(store.records(patient)) == 120
        assert (
            store.db.execute("SELECT count(*) FROM records WHERE capture_id IS NULL").fetchone()[0]
            == 0
        )
        assert store.outbox_pending() == 10  # nothing unsent was touched


def test_unsent_rows_over_the_cap_are_kept_and_reported(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite") as store:
        _fill(store, 4)
        sent = [m.seq for m in store.unsent()][:2]
        store.mark_sent(sent)
        unsent_before = [m.seq for m in store.unsent()]
        assert unsent_bytes(store) == 2 * (3 + 2000)  # topic "t/2", "t/3" + payloads
        report = enforce(store, cap_bytes=3000, now_utc=datetime.now(UTC), raw_retention_days=30)
        assert report.outbox_over_limit and report.over_cap
        assert [size for _, size in _captures(store)] == [0, 0, 0, 0]
        assert report.sent_rows_deleted == 2  # delivered messages may go ...
        assert [m.seq for m in store.unsent()] == unsent_before  # ... unsent ones never
        assert [m.seq for m in store.outbox_messages()] == unsent_before


def test_retention_prunes_old_captures_even_under_the_cap(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite") as store:
        _fill(store, 3)
        roomy = 100 * used_bytes(store)
        now = datetime.now(UTC)
        kept = enforce(store, cap_bytes=roomy, now_utc=now, raw_retention_days=30)
        assert kept.captures_pruned == 0
        later = enforce(
            store, cap_bytes=roomy, now_utc=now + timedelta(days=31), raw_retention_days=30
        )
        assert later.captures_pruned == 3
        assert [size for _, size in _captures(store)] == [0, 0, 0]


def test_a_month_long_outage_stays_bounded_and_loses_nothing_unsent(tmp_path: Path) -> None:
    """30 days without a broker: an hourly sync stores 12 readings with a 4 kB raw
    capture and queues their message. Under a 1 MB cap the store stays within the cap
    while old raw captures can give way; once the unsent messages alone outgrow it, the
    hub says so (``outbox_over_limit``: the care record turns the status into a finding)
    and still keeps every unsent message; when the link is back all of them are there.
    (The hub reports ``over-limit`` as soon as pruning cannot keep the cap.)"""
    cap = 1_000_000
    start = datetime(2026, 3, 1, tzinfo=UTC)
    first_over: int | None = None
    with Store(tmp_path / "s.sqlite") as store:
        patient = store.patient("local-1", "p-aaaaaaaaaaaaaaaa", "UTC")
        for hour in range(30 * 24):
            records = [cgm(hour * 12 + i) for i in range(12)]
            store.ingest(
                patient,
                records,
                raw=os.urandom(4_000),
                fmt="ble-cgms",
                devices={"dexcom:g6:abc123": "BLE CGM"},
                messages=lambda new, h=hour: [(f"t/{h}", "r" * 1500, 1, False)],
            )
            report = enforce(
                store,
                cap_bytes=cap,
                now_utc=start + timedelta(hours=hour),
                raw_retention_days=30,
            )
            if report.over_cap and first_over is None:
                first_over = hour
                # it goes over only when nothing prunable is left: the raw captures
                # have given their bytes (records and unsent messages are never pruned)
                held = store.db.execute("SELECT sum(length(data)) FROM raw_captures")
                assert held.fetchone()[0] < 0.02 * cap
            if first_over is None:
                assert used_bytes(store) <= cap  # bounded while the cap can be kept
        # every one of the month's 720 messages is still waiting, in order
        assert [m.topic for m in store.unsent(limit=1000)] == [f"t/{h}" for h in range(720)]
        assert store.count_records() == 720 * 12
    assert first_over is not None and first_over > 48  # the captures went first
