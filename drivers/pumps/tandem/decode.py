"""Frames and log entries to typed events, and a raw capture back to what it held (pure).

A history read is a run of LOG_ENTRY_TE frames; the session keeps the frames' bytes
exactly as read (:attr:`HistoryBatch.raw`), and :func:`decode_capture` turns such bytes
back into the version, profiles and events, so an upload can be replayed through the
decoder and :mod:`normalize` without the pump.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from drivers.pumps.tandem import messages as m
from drivers.pumps.tandem.events import Event, decode_event
from drivers.pumps.tandem.frames import split_frames


def decode_entries(entries: Iterable[m.LogEntry]) -> list[Event]:
    """Typed events of log entries, in sequence order, each sequence number once."""
    unique = {entry.seq: entry for entry in entries}
    return [decode_event(unique[seq]) for seq in sorted(unique)]


@dataclass
class Capture:
    """What a raw capture holds (answers only; requests are not part of it)."""

    version: m.VersionInfo | None = None
    clock: int | None = None
    """The trailer timestamp of the VERSION_TE answer: the pump clock at upload."""
    log_size: m.LogSize | None = None
    idp_list: m.IdpList | None = None
    profiles: dict[int, m.IdpProfile] = field(default_factory=dict)
    settings_clock: int | None = None
    entries: list[m.LogEntry] = field(default_factory=list)
    bad_frames: int = 0

    @property
    def events(self) -> list[Event]:
        """The decoded history events, in sequence order."""
        return decode_entries(self.entries)


def decode_capture(raw: bytes) -> Capture:
    """Decode the pump's answers concatenated as the session kept them.

    Raises:
        DecodeError: an answer of a known id has the wrong size.
    """
    frames, _tail, bad = split_frames(raw)
    capture = Capture(bad_frames=bad)
    for frame in frames:
        if frame.msg_id == m.Response.VERSION_TE:
            capture.version = m.VersionInfo.decode(frame.payload)
            capture.clock = frame.timestamp
        elif frame.msg_id == m.Response.LOG_SIZE_TE:
            capture.log_size = m.LogSize.decode(frame.payload)
        elif frame.msg_id == m.Response.IDP_LIST_TE:
            capture.idp_list = m.IdpList.decode(frame.payload)
        elif frame.msg_id == m.Response.IDP_TE:
            profile = m.IdpProfile.decode(frame.payload)
            capture.profiles[profile.idp] = profile
            capture.settings_clock = frame.timestamp
        elif frame.msg_id == m.Response.LOG_ENTRY_TE:
            capture.entries.append(m.LogEntry.decode(frame.payload))
    return capture
