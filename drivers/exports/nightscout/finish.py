"""Last steps shared by the JSON importers: device order and unique dedup keys.

Nightscout and Tidepool list newest first (Tidepool grouped by type); records leave
the importer oldest first. Two items that map to the same ``(kind, source_index)``
are either the same reading uploaded twice (same content: the later one is skipped,
naming the first) or two different records that share a key (the later one's key
gets ``#2``, ``#3`` ...), so the store's dedup never merges different data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from drivers._core.records import Record
from drivers.exports.detect import Skipped


@dataclass(frozen=True, slots=True)
class Done:
    """A record made from one item, with where it came from.

    Attributes:
        line: Physical line of the item (for skipped duplicates).
        label: ``item N`` or ``line N``, used in reasons.
        record: The normalized record.
    """

    line: int
    label: str
    record: Record


def _when(rec: Record) -> datetime:
    if rec.time_utc is not None:
        return rec.time_utc.astimezone(UTC).replace(tzinfo=None)
    return rec.device_time


def _content(rec: Record) -> dict[str, object]:
    data = rec.to_dict()
    data.pop("source_index")
    return data


def device_order(done: Sequence[Done], *, newest_first: bool = True) -> list[Done]:
    """Sort oldest first by UTC instant (device time when none); records at the same
    instant by kind and key, so two exports of the same data (in any file order) give
    the same sequence; remaining ties keep file order, reversed when the file lists
    newest first."""
    ordered = list(reversed(done)) if newest_first else list(done)
    return sorted(ordered, key=lambda d: (_when(d.record), d.record.kind, d.record.source_index))


def unique_keys(done: Sequence[Done]) -> tuple[list[Record], list[Skipped]]:
    """Drop repeated items and make ``(kind, source_index)`` unique (see module doc)."""
    seen: dict[tuple[str, str], list[tuple[str, dict[str, object]]]] = {}
    records: list[Record] = []
    skipped: list[Skipped] = []
    for item in done:
        rec = item.record
        key = (rec.kind, rec.source_index)
        content = _content(rec)
        variants = seen.setdefault(key, [])
        first = next((label for label, c in variants if c == content), None)
        if first is not None:
            skipped.append(Skipped(item.line, f"{item.label}: duplicate of {first}"))
            continue
        variants.append((item.label, content))
        if len(variants) > 1:
            rec = rec.evolve(source_index=f"{rec.source_index}#{len(variants)}")
        records.append(rec)
    return records, skipped


def finish(
    done: Sequence[Done], *, newest_first: bool = True
) -> tuple[list[Record], list[Skipped]]:
    """:func:`device_order` then :func:`unique_keys`."""
    return unique_keys(device_order(done, newest_first=newest_first))


def not_imported(counts: dict[str, tuple[int, int]], what: str) -> list[Skipped]:
    """One skipped entry per kind of item that has no normalized record kind.

    Args:
        counts: name -> (line of the first such item, how many).
        what: How the file calls them (``eventType``, ``type``).
    """
    return [
        Skipped(line, f"{what} {name!r}: {n} item(s) not imported (no normalized record kind)")
        for name, (line, n) in sorted(counts.items(), key=lambda kv: kv[1][0])
    ]


def count(counts: dict[str, tuple[int, int]], name: str, line: int) -> None:
    """Add one item named ``name`` at ``line`` to a :func:`not_imported` tally."""
    first, n = counts.get(name, (line, 0))
    counts[name] = (first, n + 1)
