"""Last steps shared by every CareLink layout: basal durations and unique dedup keys.

Both work on records already in device order (oldest first).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from operator import attrgetter, itemgetter
from typing import Protocol

from drivers._core.records import BasalSegment, DeviceEvent, GlucoseSample, Record

_KIND, _INDEX = attrgetter("kind"), attrgetter("source_index")
MAX_SEGMENT = timedelta(hours=24)
"""A basal segment whose next boundary is further away than this gets no duration."""


def _is_boundary(rec: Record) -> bool:
    if isinstance(rec, BasalSegment):
        return rec.basal_type != "automated"
    return isinstance(rec, DeviceEvent) and rec.event_type in ("resume", "suspend")


def fill_basal_durations(records: Sequence[Record]) -> list[Record]:
    """Give each basal segment the time until the next basal boundary.

    The boundary is the next scheduled/temp/suspend segment or resume event. A
    programmed duration (temp basal) is kept when shorter. With no boundary (end of the
    export) or one more than 24 h away, a segment without a programmed duration gets
    ``duration_s=None`` and the annotation ``basal/unknown-duration``. Daily
    ``automated`` aggregates are left alone.
    """
    out = list(records)
    next_boundary = None
    for i in range(len(out) - 1, -1, -1):
        rec = out[i]
        if type(rec) is GlucoseSample:  # nine records in ten: neither segment nor boundary
            continue
        if isinstance(rec, BasalSegment) and rec.basal_type != "automated":
            gap = None if next_boundary is None else next_boundary - rec.device_time
            usable = gap is not None and timedelta(0) <= gap <= MAX_SEGMENT
            programmed = rec.duration_s
            if usable and gap is not None:
                seconds = int(gap.total_seconds())
                duration = seconds if programmed is None else min(programmed, seconds)
                out[i] = replace(rec, duration_s=duration)
            elif programmed is None:
                out[i] = replace(
                    rec, annotations=(*rec.annotations, "basal/unknown-duration"), duration_s=None
                )
        if _is_boundary(rec):
            next_boundary = rec.device_time
    return out


class HasContent(Protocol):
    """A row that can give its content (:meth:`.parse.CLRow.content`)."""

    def content(self) -> tuple[str, ...]: ...


Content = tuple[str, ...] | HasContent
"""A row's content, or the row, asked for its content only when a key repeats."""


def _content(content: Content) -> tuple[str, ...]:
    return content if isinstance(content, tuple) else content.content()


def unique_keys(
    items: Sequence[tuple[int, Content, Record]],
) -> tuple[list[Record], list[tuple[int, str]]]:
    """Drop repeated rows and make dedup keys unique within one file.

    Args:
        items: ``(line, row content, record)`` in device order; the content may be
            given as the row that has it.

    Returns:
        The records (order kept) and ``(line, reason)`` for each dropped duplicate: a
        record whose kind and key repeat an earlier one *and* whose row content is the
        same is a duplicate row; with different content its key gets ``#2``, ``#3`` ...
    """
    recs = list(map(itemgetter(2), items))
    if len(set(zip(map(_KIND, recs), map(_INDEX, recs), strict=True))) == len(recs):
        return recs, []  # no key repeats (the usual file): what the loop below returns
    seen: dict[tuple[str, str], tuple[int, Content]] = {}
    repeats: dict[tuple[str, str], int] = {}
    records: list[Record] = []
    skipped: list[tuple[int, str]] = []
    for line, content, rec in items:
        key = (rec.kind, rec.source_index)
        if key in seen:
            first_line, first_content = seen[key]
            if not isinstance(first_content, tuple):
                first_content = _content(first_content)
                seen[key] = (first_line, first_content)
            if first_content == _content(content):
                skipped.append((line, f"duplicate of line {first_line}"))
                continue
            repeats[key] = repeats.get(key, 1) + 1
            rec = replace(rec, source_index=f"{rec.source_index}#{repeats[key]}")
        else:
            seen[key] = (line, content)
        records.append(rec)
    return records, skipped
