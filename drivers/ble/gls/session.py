"""GLS collector session: the only GLS file that does I/O (through the BLE transport).

Procedure (GLP 1.0 section 4.10; protocols.md 4.5), read-only: read Glucose Feature and
Device Information; subscribe to Glucose Measurement, to Measurement Context when the
meter has it, then to the RACP; report records with sequence number ``>=`` the one after
the cursor's (``01 03 01 <seq LE16>``), or all (``01 01``) on a first read; pair each
measurement whose flag 0x10 announces a context with the context of the same sequence
number. Meters that refuse the ``>=`` filter get ``01 01`` and are filtered here.

Clock: :meth:`GlsReader.read_clock` reads the Current Time Service (0x1805/0x2A2B) when
the meter offers it, for the time base's (device clock, host clock) pair.

Cursor: ``gls/1;seq=<last sequence number>``. When an incremental read finds nothing,
the reader asks for the last record (``01 06``); a sequence number below the cursor's
means the meter was reset, and everything is read again.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from drivers._core.capabilities import Cursor, HistoryBatch
from drivers._core.records import Record, make_device_id
from drivers.ble import cts, racp, uuids
from drivers.ble.gls import messages, normalize
from drivers.ble.gls.decode import (
    GlucoseContext,
    GlucoseMeasurement,
    decode_context,
    decode_measurement,
)
from drivers.ble.history import Progress, RacpHistory, make_cursor, parse_cursor, read_identity
from drivers.ble.procedure import ControlPoint
from drivers.transports.ble import BleLink, BleOptions, ClientBackend, options_for

CURSOR_PREFIX = "gls/1"
CONTROL_POINT = ControlPoint(
    uuids.RACP, racp.SIG, (uuids.GLUCOSE_MEASUREMENT, uuids.GLUCOSE_CONTEXT)
)


@dataclass(frozen=True, slots=True)
class GlsItem:
    """A measurement and (once it arrives) its context."""

    measurement: GlucoseMeasurement | None = None
    context: GlucoseContext | None = None

    @property
    def complete(self) -> bool:
        """Measurement held, and its context too if it announced one."""
        m = self.measurement
        return m is not None and (not m.context_follows or self.context is not None)


class _GlsHistory(RacpHistory[GlsItem]):
    control_point = CONTROL_POINT
    optional_data = (uuids.GLUCOSE_CONTEXT,)

    def __init__(self, address: str, options: BleOptions, *, last_only: bool = False) -> None:
        super().__init__(address, options)
        self.features = 0
        self.device_id = ""
        self.last_only = last_only

    async def prelude(self, link: BleLink) -> None:
        self.features = messages.decode_feature(await link.read(uuids.GLUCOSE_FEATURE))
        ident = await read_identity(link)
        self.device_id = make_device_id(
            ident.manufacturer or "unknown", ident.model or "gls", ident.serial or self.address
        )

    def start_key(self, since: Cursor | None) -> int | None:
        fields = parse_cursor(since, CURSOR_PREFIX)
        try:
            return int(fields["seq"]) + 1 if fields else None
        except (KeyError, ValueError):
            return None

    def request(self, start: int | None) -> racp.Request:
        if self.last_only:
            return racp.report(racp.Operator.LAST)
        return super().request(start)

    def resume_key(self, progress: Progress[GlsItem], start: int | None) -> int | None:
        pending = [k for k, item in progress.items.items() if not item.complete]
        if pending and progress.in_order:
            return min(pending)
        return super().resume_key(progress, start)

    def decode(self, uuid: str, value: bytes) -> Iterable[tuple[int, GlsItem]]:
        if uuid == uuids.GLUCOSE_CONTEXT:
            context = decode_context(value)
            return [(context.sequence, GlsItem(context=context))]
        m = decode_measurement(value)
        return [(m.sequence, GlsItem(measurement=m))]

    def merge(self, held: GlsItem, new: GlsItem) -> GlsItem:
        return GlsItem(held.measurement or new.measurement, held.context or new.context)

    def finish(self, items: dict[int, GlsItem], since: Cursor | None) -> HistoryBatch:
        records: list[Record] = []
        hba1c: list[dict[str, Any]] = []
        for seq in sorted(items):
            item = items[seq]
            if item.measurement is None:
                continue  # a context whose measurement was never sent: nothing to attach to
            context = item.context if item.measurement.context_follows else None
            out = normalize.to_records(item.measurement, context, device_id=self.device_id)
            records += out
            if context is not None and context.hba1c_percent is not None:
                hba1c.append(
                    {
                        "source_index": out[0].source_index,
                        "hba1c_percent": context.hba1c_percent.number(),
                    }
                )
        done = [k for k, item in items.items() if item.measurement is not None]
        cursor = make_cursor(CURSOR_PREFIX, seq=max(done)) if done else since
        meta = {"profile": "gls", "features": self.features, "hba1c": hba1c}
        return HistoryBatch(records, b"", cursor, meta)


class GlsReader:
    """Read-only collector for one Glucose Service meter.

    Args:
        address: The meter's Bluetooth address (a UUID on macOS).
        backend: A bleak client backend class; None = the platform's.
        options: Connection, bonding (most meters need ``pair=True``), timeouts, backoff.
    """

    def __init__(
        self,
        address: str,
        *,
        backend: ClientBackend | None = None,
        options: BleOptions | None = None,
    ) -> None:
        self.address = address
        self.options = options_for(options, backend)

    async def read_history(self, since: Cursor | None = None) -> HistoryBatch:
        """Records newer than ``since`` (all on a first read), with the next cursor."""
        batch = await _GlsHistory(self.address, self.options).read(since)
        fields = parse_cursor(since, CURSOR_PREFIX)
        if batch.records or not fields or "seq" not in fields:
            return batch
        probe = await _GlsHistory(self.address, self.options, last_only=True).read(None)
        newest = parse_cursor(probe.cursor, CURSOR_PREFIX) or {}
        if "seq" in newest and int(newest["seq"]) < int(fields["seq"]):
            fresh = await _GlsHistory(self.address, self.options).read(None)
            return HistoryBatch(
                fresh.records,
                batch.raw + probe.raw + fresh.raw,
                fresh.cursor,
                {**fresh.meta, "sequence_reset": True},
            )
        return HistoryBatch(batch.records, batch.raw + probe.raw, batch.cursor, batch.meta)

    async def read_clock(self) -> datetime | None:
        """The meter's wall clock now (naive), from Current Time; None without CTS.

        The value read is advanced by the time spent closing the link, so that the
        caller's host clock read right after this returns pairs with it.
        """
        link = await BleLink.open(self.address, self.options)
        try:
            if not link.has(cts.CURRENT_TIME):
                return None
            value = cts.decode_current_time(await link.read(cts.CURRENT_TIME))
            read_at = time.monotonic()
        finally:
            await link.close()
        if value.exact is None:
            return None
        return value.exact + timedelta(seconds=time.monotonic() - read_at)
