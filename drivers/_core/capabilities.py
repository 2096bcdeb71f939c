"""Capabilities: the small protocols a driver implements, each only if it can.

A CSV importer implements :class:`FileImporter` and nothing else; a Dexcom receiver
implements :class:`HistoryReader` and :class:`ClockReader`. The sync engine asks
``isinstance(driver, HistoryReader)`` instead of calling methods that raise
``NotImplementedError`` (the one-fat-ABC shape STYLE.md asks us to leave behind).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from drivers._core.records import Record


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where the last read stopped, in the device's own terms (log index, page, offset)."""

    value: str


@dataclass(frozen=True, slots=True)
class HistoryBatch:
    """What one history read returned: records in device order, the raw bytes read
    (frames, pages or the file, for replay without the device) and the next cursor."""

    records: Sequence[Record]
    raw: bytes
    cursor: Cursor | None
    meta: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class HistoryReader(Protocol):
    """Reads stored history newer than a cursor."""

    def read_history(self, since: Cursor | None = None) -> HistoryBatch: ...


@runtime_checkable
class ClockReader(Protocol):
    """Reads the device clock (naive device time) for the time base's clock pair."""

    def read_clock(self) -> datetime: ...


@runtime_checkable
class StatusReader(Protocol):
    """Reads battery, reservoir, sensor session and similar live status."""

    def read_status(self) -> dict[str, Any]: ...


@runtime_checkable
class LiveSubscriber(Protocol):
    """Streams new records as the device produces them (BLE notifications)."""

    def subscribe_live(self) -> AsyncIterator[Record]: ...


@runtime_checkable
class FileImporter(Protocol):
    """Reads one vendor export file into records."""

    def sniff(self, text: str) -> bool: ...

    def import_file(self, path: Path, data: bytes) -> HistoryBatch: ...
