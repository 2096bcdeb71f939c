"""Bounded disk for the home hub: the store file stays under a cap, and nothing unsent
is ever dropped.

What counts is the store's *used* size: ``(page_count - freelist_count) * page_size``
of the SQLite file (pages freed by a delete are reused by later writes, so the file
stops growing at about the cap; it is not vacuumed, which would need twice the space).

Every pass (:func:`enforce`):

1. **Retention**: raw captures older than ``raw_retention_days`` lose their bytes.
2. **Cap**: while the used size is over ``cap_bytes``: the oldest raw captures lose their
   bytes first (the fewest oldest that hold the excess, then measured again), then the
   oldest outbox rows that were *already sent* are deleted.
3. Unsent outbox rows are never touched. If they alone weigh more than the cap, the
   result says ``outbox_over_limit`` (the hub publishes it) and the hub keeps syncing.

A pruned capture keeps its row (sha256, format, original ``size``) with an empty
``data``: records still point at it, a repeated upload of the same bytes is still
recognised, and ``length(data) = 0 and size > 0`` tells it was pruned. Stored records,
cursors and the audit log are never pruned.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from gateway.store.sqlite import Store

MB = 1_000_000


@dataclass(frozen=True, slots=True)
class DiskReport:
    """What one :func:`enforce` pass saw and did (sizes in bytes)."""

    used_before: int
    used_after: int
    cap: int
    unsent_bytes: int
    captures_pruned: int
    sent_rows_deleted: int

    @property
    def outbox_over_limit(self) -> bool:
        """Unsent messages alone exceed the cap (they are kept all the same)."""
        return self.unsent_bytes > self.cap

    @property
    def over_cap(self) -> bool:
        """The store is still over the cap after pruning everything it may prune."""
        return self.used_after > self.cap


def used_bytes(store: Store) -> int:
    """Bytes of the store file in use: ``(page_count - freelist_count) * page_size``."""
    db = store.db
    pages = int(db.execute("PRAGMA page_count").fetchone()[0])
    free = int(db.execute("PRAGMA freelist_count").fetchone()[0])
    size = int(db.execute("PRAGMA page_size").fetchone()[0])
    return (pages - free) * size


def unsent_bytes(store: Store) -> int:
    """Bytes of topic + payload of every unsent outbox message."""
    row = store.db.execute(
        "SELECT coalesce(sum(length(topic) + length(payload)), 0) FROM outbox"
        " WHERE sent_utc IS NULL"
    ).fetchone()
    return int(row[0])


def _prune_captures(store: Store, *, older_than: str | None, need_bytes: int) -> int:
    """Empty the bytes of the oldest captures: all received before ``older_than``, or
    (without it) the fewest oldest ones holding at least ``need_bytes``."""
    where = "length(data) > 0" + (" AND received_utc < ?" if older_than else "")
    args: tuple[object, ...] = (older_than,) if older_than else ()
    with store.transaction() as db:
        ids: list[int] = []
        held = 0
        for capture_id, size in db.execute(
            f"SELECT id, length(data) FROM raw_captures WHERE {where} ORDER BY received_utc, id",
            args,
        ):
            if older_than is None and ids and held >= need_bytes:
                break
            ids.append(int(capture_id))
            held += int(size)
        db.executemany("UPDATE raw_captures SET data = X'' WHERE id = ?", [(i,) for i in ids])
    return len(ids)


def _delete_sent(store: Store, limit: int) -> int:
    """Delete up to ``limit`` of the oldest outbox rows that were already sent."""
    with store.transaction() as db:
        cur = db.execute(
            "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox WHERE sent_utc IS NOT NULL"
            " ORDER BY seq LIMIT ?)",
            (limit,),
        )
    return int(cur.rowcount)


def enforce(
    store: Store, *, cap_bytes: int, now_utc: datetime, raw_retention_days: float
) -> DiskReport:
    """Apply retention, then prune until the store is under ``cap_bytes`` (see module doc).

    Args:
        store: The gateway store.
        cap_bytes: Upper bound on :func:`used_bytes`.
        now_utc: Now (aware UTC), for the retention cut-off.
        raw_retention_days: Raw captures received before ``now - this`` lose their bytes.
    """
    before = used_bytes(store)
    cutoff = (now_utc - timedelta(days=raw_retention_days)).isoformat()
    pruned = _prune_captures(store, older_than=cutoff, need_bytes=0)
    deleted = 0
    used = used_bytes(store)
    while used > cap_bytes:
        batch = _prune_captures(store, older_than=None, need_bytes=used - cap_bytes)
        pruned += batch
        if not batch:
            step = _delete_sent(store, 256)
            deleted += step
            if not step:
                break  # only unsent messages, records and the audit log are left
        used = used_bytes(store)
    return DiskReport(before, used, cap_bytes, unsent_bytes(store), pruned, deleted)
