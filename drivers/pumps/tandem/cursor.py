"""The incremental-sync cursor of a Tandem pump (pure).

``Cursor.value`` is JSON::

    {"v": 1, "serial": "90000123", "next_seq": 100001,
     "carry": ["<36-byte LOG_ENTRY payload, hex>", ...], "settings": "<digest>"}

``next_seq`` is the first sequence number the next sync reads (one past the newest
record read). ``carry`` holds the log entries of records not complete at the end of the
sync -- the running basal segment, a running temp rate, boluses whose completion is not
logged yet -- so the next sync can finish them without reading those records again.
``settings`` is the digest of the last settings snapshot returned (an unchanged profile
set is not returned again). A cursor of another pump, another version or unreadable is
ignored: the sync reads the whole log and the store's dedup keys drop what it has.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from drivers._core.capabilities import Cursor
from drivers._core.errors import DriverError
from drivers.pumps.tandem.events import Event, decode_event, encode_event
from drivers.pumps.tandem.messages import LogEntry

CURSOR_VERSION = 1


@dataclass(frozen=True, slots=True)
class CursorState:
    """What a cursor says: where to resume, and what was left open."""

    next_seq: int
    carry: tuple[Event, ...] = ()
    settings: str | None = None


def dump_cursor(serial: str, state: CursorState) -> Cursor:
    """Encode the resume point of a sync."""
    payload = {
        "v": CURSOR_VERSION,
        "serial": serial,
        "next_seq": state.next_seq,
        "carry": [encode_event(e).encode().hex() for e in state.carry],
        "settings": state.settings,
    }
    return Cursor(json.dumps(payload, sort_keys=True))


def load_cursor(since: Cursor | None, serial: str) -> CursorState | None:
    """The state of a cursor of this pump, or None when it is absent or unusable."""
    if since is None:
        return None
    try:
        state: Any = json.loads(since.value)
    except ValueError:
        return None
    if not isinstance(state, dict) or state.get("v") != CURSOR_VERSION:
        return None
    if state.get("serial") != serial:
        return None
    next_seq = state.get("next_seq")
    if not isinstance(next_seq, int) or next_seq < 0:
        return None
    carry: list[Event] = []
    for item in state.get("carry") or []:
        try:
            carry.append(decode_event(LogEntry.decode(bytes.fromhex(str(item)))))
        except (ValueError, DriverError):
            continue
    settings = state.get("settings")
    return CursorState(next_seq, tuple(carry), settings if isinstance(settings, str) else None)
