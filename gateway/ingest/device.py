"""One device upload: read since the stored cursor -> time base -> store -> publish.

The same coordinator serves every driver that implements
:class:`~drivers._core.capabilities.HistoryReader` (a Dexcom receiver on a serial port,
a BLE CGM, meter or pump). Progress is reported per step through a callback so the
kiosk can draw its bar and the CLI its line. The raw bytes the driver read, the
records and the new cursor are stored in one transaction: a device that disconnects
half-way leaves the previous cursor in place and nothing half-written, and the next
sync reads again from there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from drivers._core.capabilities import ClockReader, Cursor, HistoryReader
from drivers._core.records import Record
from drivers._core.timebase import ClockPair, resolve_times
from gateway.config import Config
from gateway.ingest.common import (
    messages_for,
    open_patient,
    records_overview,
    refresh_summary,
)
from gateway.ingest.files import publish_pending
from gateway.store.sqlite import Patient, Store


class SyncReader:
    """Runs an async BLE reader's ``read_history`` to completion for the coordinator."""

    def __init__(self, reader: Any) -> None:
        self.reader = reader

    def read_history(self, since: Cursor | None = None) -> Any:
        import asyncio

        return asyncio.run(self.reader.read_history(since=since))


class SyncClockReader(SyncReader):
    """A :class:`SyncReader` for readers that can read the device clock (a meter with
    the Current Time Service): the coordinator then pairs it with the host clock."""

    def read_clock(self) -> datetime | None:
        import asyncio

        clock: datetime | None = asyncio.run(self.reader.read_clock())
        return clock


def sync_reader(reader: Any) -> SyncReader:
    """The synchronous wrapper that fits ``reader`` (with ``read_clock`` when it has one)."""
    return SyncClockReader(reader) if hasattr(reader, "read_clock") else SyncReader(reader)


Progress = Callable[[str, float], None]
"""Called with a step name and the overall fraction done (0..1)."""

STEPS = (("clock", 0.05), ("history", 0.70), ("store", 0.85), ("publish", 1.0))


@dataclass
class UploadReport:
    """What a device upload did; ``as_json()`` follows the import JSON contract."""

    format: str
    device: str
    records: list[Record]
    patient: Patient
    timezone: str
    added: int
    already_stored: int
    cursor: str | None
    clock: ClockPair | None
    metrics: dict[str, Any]
    published: int = 0
    outbox_pending: int = 0
    warnings: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "device": self.device,
            "units_in_file": "mg/dL",
            **records_overview(self.records),
            "skipped": [],
            "patient": self.patient.pseudonym,
            "timezone": self.timezone,
            "added": self.added,
            "already_stored": self.already_stored,
            "cursor": self.cursor,
            "clock_offset_s": (None if self.clock is None else -self.clock.device_minus_utc_s),
            "published": self.published,
            "outbox_pending": self.outbox_pending,
            "warnings": self.warnings,
        }


def _no_progress(step: str, fraction: float) -> None:
    return None


def upload_device(
    driver: HistoryReader,
    *,
    device_id: str,
    description: str,
    fmt: str,
    config: Config,
    store: Store,
    local_id: str | None = None,
    tz: str | None = None,
    progress: Progress = _no_progress,
    now_utc: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> UploadReport:
    """Read everything newer than the stored cursor from ``driver`` and store it."""
    tz = tz or config.timezone
    clock: ClockPair | None = None
    if isinstance(driver, ClockReader):
        device_clock = driver.read_clock()
        if device_clock is not None:  # None: a device that cannot tell its clock
            clock = ClockPair(device_time=device_clock, host_utc=now_utc())
    progress("clock", STEPS[0][1])
    stored = store.cursor(device_id)
    batch = driver.read_history(since=Cursor(stored) if stored is not None else None)
    progress("history", STEPS[1][1])
    records = resolve_times(batch.records, tz, clock=clock)
    patient, secret = open_patient(config, store, local_id or f"device:{device_id}", tz)
    cursor = batch.cursor.value if batch.cursor is not None else stored
    result = store.ingest(
        patient,
        records,
        raw=batch.raw,
        fmt=fmt,
        devices={device_id: description},
        messages=messages_for(config, patient, secret),
        cursor=(device_id, cursor) if cursor is not None else None,
    )
    progress("store", STEPS[2][1])
    metrics = refresh_summary(config, store, patient, changed=result.added > 0, now_utc=now_utc())
    report = UploadReport(
        fmt,
        description,
        records,
        patient,
        tz,
        result.added,
        result.already_stored,
        cursor,
        clock,
        metrics,
    )
    report.published = publish_pending(config, store)
    report.outbox_pending = store.outbox_pending()
    progress("publish", STEPS[3][1])
    return report
