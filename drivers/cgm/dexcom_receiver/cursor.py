"""The incremental-sync cursor of a Dexcom receiver (pure).

``Cursor.value`` is JSON::

    {"v": 1, "serial": "SM12345678", "pages": {"4": [page, last_index], ...},
     "offset": -18000}

``pages`` maps a record type to the page number and global record index of the last
record read; the next sync starts at that page (the last page fills up over time) and
keeps only records with a larger index. ``offset`` is the display offset
(``disp - sys``) at the end of the sync, so a clock change between two syncs is seen.
A cursor from another receiver (serial), of another version or unreadable is ignored:
the sync then reads everything, and the store's dedup keys drop what it already has.
"""

from __future__ import annotations

import json
from typing import Any

from drivers._core.capabilities import Cursor

CURSOR_VERSION = 1


def dump_cursor(serial: str, marks: dict[str, list[int]], offset_s: int | None) -> Cursor:
    """Encode the resume point of a sync."""
    state = {"v": CURSOR_VERSION, "serial": serial, "pages": marks, "offset": offset_s}
    return Cursor(json.dumps(state, sort_keys=True))


def load_cursor(since: Cursor | None, serial: str) -> tuple[dict[str, list[int]], int | None]:
    """(page marks by record type, display offset) of a cursor, empty when unusable."""
    if since is None:
        return {}, None
    try:
        state: Any = json.loads(since.value)
    except ValueError:
        return {}, None
    if not isinstance(state, dict) or state.get("v") != CURSOR_VERSION:
        return {}, None
    if state.get("serial") != serial:
        return {}, None
    marks: dict[str, list[int]] = {}
    for key, mark in dict(state.get("pages") or {}).items():
        if (
            isinstance(mark, list)
            and len(mark) == 2
            and all(isinstance(v, int) and v >= 0 for v in mark)
        ):
            marks[str(key)] = [int(mark[0]), int(mark[1])]
    offset = state.get("offset")
    return marks, offset if isinstance(offset, int) else None
