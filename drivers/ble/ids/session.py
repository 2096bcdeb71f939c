"""IDS collector session: the only IDS file that does I/O (through the BLE transport).

Procedure (protocols.md 5.11, read-only subset): read IDD Features (E2E protection),
Status, Status Changed and Annunciation Status and Device Information; subscribe to
History Data, then to the IDD RACP; report records with record number ``>=`` the one
after the cursor's (``33 55 0F <uint32>``), or all (``33 33``); finish on the RACP
response. The transport refuses any write except to the IDD RACP, and the RACP channel
refuses any op but Report, Report Number and Abort: the Command Control Point cannot
be written from here.

Cursor: ``ids/1;record=<n>;ref=<UTC reference>;tz=<min>;dst=<min>`` -- the last record
consumed and the Reference Time in force there, because later relative offsets count
from it. The cursor stops before a bolus or temp basal whose end is not yet recorded.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from drivers._core.capabilities import Cursor, HistoryBatch
from drivers._core.records import make_device_id
from drivers.ble import racp, uuids
from drivers.ble.date_time import ZonedLocalTime
from drivers.ble.history import RacpHistory, make_cursor, parse_cursor, read_identity
from drivers.ble.ids import messages
from drivers.ble.ids.decode import HistoryEvent, decode_event
from drivers.ble.ids.normalize import anchor_of, normalize
from drivers.ble.procedure import ControlPoint
from drivers.transports.ble import BleLink, BleOptions, ClientBackend, options_for

CURSOR_PREFIX = "ids/1"
CONTROL_POINT = ControlPoint(uuids.IDD_RACP, racp.IDD, (uuids.IDD_HISTORY_DATA,))
RECORD_NUMBER_FILTER = 0x0F


def _anchor_from(fields: dict[str, str] | None) -> ZonedLocalTime | None:
    try:
        if fields and "ref" in fields:
            ref = datetime.strptime(fields["ref"], "%Y%m%dT%H%M%S")
            return ZonedLocalTime(ref, int(fields.get("tz", "0")), int(fields.get("dst", "0")))
    except ValueError:
        return None
    return None


class _IdsHistory(RacpHistory[HistoryEvent]):
    control_point = CONTROL_POINT
    filter_type = RECORD_NUMBER_FILTER

    def __init__(self, address: str, options: BleOptions) -> None:
        super().__init__(address, options)
        self.features = messages.IddFeatures(0, messages.concentration(100))
        self.status: messages.IddStatus | None = None
        self.status_changed = 0
        self.annunciation: messages.Annunciation | None = None
        self.device_id = ""
        self.anchor: ZonedLocalTime | None = None

    async def prelude(self, link: BleLink) -> None:
        self.features = messages.decode_features(await link.read(uuids.IDD_FEATURES))
        e2e = self.features.e2e
        self.status = messages.decode_status(await link.read(uuids.IDD_STATUS), e2e=e2e)
        if link.has(uuids.IDD_STATUS_CHANGED):
            raw = await link.read(uuids.IDD_STATUS_CHANGED)
            self.status_changed = messages.decode_status_changed(raw, e2e=e2e)
        if link.has(uuids.IDD_ANNUNCIATION_STATUS):
            raw = await link.read(uuids.IDD_ANNUNCIATION_STATUS)
            self.annunciation = messages.decode_annunciation(raw, e2e=e2e)
        ident = await read_identity(link)
        self.device_id = make_device_id(
            ident.manufacturer or "unknown", ident.model or "ids", ident.serial or self.address
        )

    def start_key(self, since: Cursor | None) -> int | None:
        fields = parse_cursor(since, CURSOR_PREFIX)
        self.anchor = _anchor_from(fields)
        try:
            return int(fields["record"]) + 1 if fields and self.anchor else None
        except (KeyError, ValueError):
            return None

    def decode(self, uuid: str, value: bytes) -> Iterable[tuple[int, HistoryEvent]]:
        event = decode_event(value, e2e=self.features.e2e)
        return [(event.record_number, event)]

    def finish(self, items: dict[int, HistoryEvent], since: Cursor | None) -> HistoryBatch:
        result = normalize(list(items.values()), device_id=self.device_id, anchor=self.anchor)
        cursor = since
        if items:
            last = max(items) if result.pending_from is None else result.pending_from - 1
            anchor = self.anchor
            for number in sorted(items):
                found = anchor_of(items[number]) if number <= last else None
                if found is not None:
                    anchor = found
            if anchor is not None and anchor.local is not None and last >= min(items):
                ref = anchor.local.strftime("%Y%m%dT%H%M%S")
                tz, dst = anchor.tz_minutes or 0, anchor.dst_minutes or 0
                cursor = make_cursor(CURSOR_PREFIX, record=last, ref=ref, tz=tz, dst=dst)
        meta: dict[str, Any] = {
            "profile": "ids",
            "features": self.features.flags,
            "e2e": self.features.e2e,
            "insulin_concentration_u_per_ml": self.features.concentration.number(),
            "status": dataclasses.asdict(self.status) if self.status else None,
            "status_changed": self.status_changed,
            "annunciation": dataclasses.asdict(self.annunciation) if self.annunciation else None,
            "pending_from_record": result.pending_from,
            **result.meta,
        }
        return HistoryBatch(result.records, b"", cursor, meta)


class IdsReader:
    """Read-only history reader for one Insulin Delivery Service pump.

    Args:
        address: The pump's Bluetooth address (a UUID on macOS).
        backend: A bleak client backend class; None = the platform's.
        options: Connection, bonding (IDS pumps expect an authenticated bond:
            ``pair=True``), timeouts, backoff.
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
        return await _IdsHistory(self.address, self.options).read(since)

    async def read_status(self) -> dict[str, Any]:
        """Features, therapy/operational state, reservoir and the current annunciation."""
        history = _IdsHistory(self.address, self.options)
        link = await BleLink.open(self.address, self.options)
        try:
            await history.prelude(link)
        finally:
            await link.close()
        batch_meta = history.finish({}, None).meta
        return {"device_id": history.device_id, **batch_meta}
