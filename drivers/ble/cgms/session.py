"""CGMS collector session: the only CGMS file that does I/O (through the BLE transport).

Procedure (CGMP 1.0.1 section 4; protocols.md 3.9), strictly read-only: read CGM
Feature, Status, Session Start Time and Run Time (and Device Information); subscribe to
CGM Measurement, then to the RACP; report records with time offset ``>=`` the one after
the cursor's (``01 03 01 <offset LE16>``), or all (``01 01``) on a first read or a new
session; finish on ``06 00 01 01`` / ``06 00 01 06``. The only characteristic ever
written is the RACP (report / abort); never the Session Start Time or the SOCP.

Cursor: ``cgms/1;session=<start time>;offset=<last time offset>``. A cursor from another
session (new sensor, or offsets that went backwards) is ignored and all records are read.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from drivers._core.capabilities import Cursor, HistoryBatch
from drivers._core.records import GlucoseSample, make_device_id
from drivers.ble import racp, uuids
from drivers.ble.cgms import messages, normalize
from drivers.ble.cgms.decode import CgmMeasurement, decode_measurements
from drivers.ble.date_time import ZonedLocalTime
from drivers.ble.history import RacpHistory, make_cursor, parse_cursor, read_identity
from drivers.ble.procedure import ControlPoint
from drivers.transports.ble import BleLink, BleOptions, ClientBackend, options_for

CURSOR_PREFIX = "cgms/1"
CONTROL_POINT = ControlPoint(uuids.RACP, racp.SIG, (uuids.CGM_MEASUREMENT,))


def _utcnow() -> datetime:
    return datetime.now(UTC)


class _CgmsHistory(RacpHistory[CgmMeasurement]):
    control_point = CONTROL_POINT

    def __init__(self, address: str, options: BleOptions, clock: Callable[[], datetime]) -> None:
        super().__init__(address, options)
        self._clock = clock
        self.feature = messages.CgmFeature(0)
        self.status = messages.CgmStatus(0, 0)
        self.start = ZonedLocalTime(None, None, None)
        self.run_time_h: int | None = None
        self.anchor_utc: datetime | None = None
        self.device_id = ""

    async def prelude(self, link: BleLink) -> None:
        self.feature = messages.decode_feature(await link.read(uuids.CGM_FEATURE))
        e2e = self.feature.e2e_crc
        self.status = messages.decode_status(await link.read(uuids.CGM_STATUS), e2e=e2e)
        raw_start = await link.read(uuids.CGM_SESSION_START_TIME)
        self.start = messages.decode_session_start(raw_start, e2e=e2e)
        if link.has(uuids.CGM_SESSION_RUN_TIME):
            raw_run = await link.read(uuids.CGM_SESSION_RUN_TIME)
            self.run_time_h = messages.decode_run_time(raw_run, e2e=e2e)
        if self.start.local is None and self.anchor_utc is None:
            anchor = self._clock() - timedelta(minutes=self.status.time_offset_min)
            self.anchor_utc = anchor.replace(second=0, microsecond=0)
        ident = await read_identity(link)
        self.device_id = make_device_id(
            ident.manufacturer or "unknown", ident.model or "cgms", ident.serial or self.address
        )

    @property
    def session(self) -> str:
        return normalize.session_key(self.start, self.anchor_utc)

    def start_key(self, since: Cursor | None) -> int | None:
        fields = parse_cursor(since, CURSOR_PREFIX)
        if not fields or fields.get("session") != self.session:
            return None
        try:
            last = int(fields["offset"])
        except (KeyError, ValueError):
            return None
        if last > self.status.time_offset_min:
            return None  # offsets went backwards: a new session on the same start time
        return min(last + 1, 0xFFFF)

    def decode(self, uuid: str, value: bytes) -> Iterable[tuple[int, CgmMeasurement]]:
        for m in decode_measurements(value, e2e=self.feature.e2e_crc):
            yield m.time_offset_min, m

    def finish(self, items: dict[int, CgmMeasurement], since: Cursor | None) -> HistoryBatch:
        records = normalize.to_samples(
            items.values(), device_id=self.device_id, start=self.start, anchor_utc=self.anchor_utc
        )
        cursor = since
        if items:
            cursor = make_cursor(CURSOR_PREFIX, session=self.session, offset=max(items))
        meta: dict[str, Any] = {
            "profile": "cgms",
            "features": self.feature.features,
            "e2e_crc": self.feature.e2e_crc,
            "status_annunciation": self.status.annunciation,
            "status_time_offset_min": self.status.time_offset_min,
            "session": self.session,
            "session_run_time_h": self.run_time_h,
        }
        return HistoryBatch(records, b"", cursor, meta)


class CgmsReader:
    """Read-only collector for one CGM Service sensor.

    Args:
        address: The sensor's Bluetooth address (a UUID on macOS).
        backend: A bleak client backend class (e.g. the simulator's); None = platform.
        options: Connection, bonding, timeout and backoff options.
        clock: Host UTC clock, used only when the sensor's session start is unset.
    """

    def __init__(
        self,
        address: str,
        *,
        backend: ClientBackend | None = None,
        options: BleOptions | None = None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.address = address
        self.options = options_for(options, backend)
        self._clock = clock

    async def read_history(self, since: Cursor | None = None) -> HistoryBatch:
        """Records newer than ``since`` (all on a first read), with the next cursor."""
        return await _CgmsHistory(self.address, self.options, self._clock).read(since)

    async def read_status(self) -> dict[str, Any]:
        """Feature bits, status annunciations, session start and run time."""
        history = _CgmsHistory(self.address, self.options, self._clock)
        link = await BleLink.open(self.address, self.options)
        try:
            await history.prelude(link)
        finally:
            await link.close()
        return {
            "device_id": history.device_id,
            "features": history.feature.features,
            "time_offset_min": history.status.time_offset_min,
            "annunciations": messages.annunciation_codes(history.status.annunciation),
            "session_start_local": history.start.local,
            "utc_offset_s": history.start.utc_offset_s,
            "session_run_time_h": history.run_time_h,
        }

    async def subscribe_live(self) -> AsyncIterator[GlucoseSample]:
        """Yield each periodic CGM Measurement notification as a sample, until cancelled.
        Reconnects with backoff when the link drops."""
        history = _CgmsHistory(self.address, self.options, self._clock)
        while True:
            link = await BleLink.open(self.address, self.options)
            queue: asyncio.Queue[bytes] = asyncio.Queue()
            try:
                await history.prelude(link)
                await link.subscribe(uuids.CGM_MEASUREMENT, _put_into(queue))
                while link.is_connected:
                    getter = asyncio.ensure_future(queue.get())
                    lost = asyncio.ensure_future(link.disconnected.wait())
                    await asyncio.wait({getter, lost}, return_when=asyncio.FIRST_COMPLETED)
                    lost.cancel()
                    if not getter.done():
                        getter.cancel()
                        break
                    for m in decode_measurements(getter.result(), e2e=history.feature.e2e_crc):
                        yield normalize.to_sample(
                            m,
                            device_id=history.device_id,
                            start=history.start,
                            anchor_utc=history.anchor_utc,
                        )
            finally:
                await link.close()


def _put_into(queue: asyncio.Queue[bytes]) -> Callable[[str, bytes], None]:
    def put(_uuid: str, value: bytes) -> None:
        queue.put_nowait(value)

    return put
