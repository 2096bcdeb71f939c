"""A virtual Dexcom receiver on a pseudo-terminal, answering byte for byte.

``VirtualReceiver(db).start()`` opens a pty (``os.openpty``) and serves it from a
background thread; :attr:`VirtualReceiver.port` is the slave path, which the driver opens
with pyserial exactly as it would open ``/dev/ttyACM0``. Frames are built and parsed
with the driver's own codecs. Any command id off the driver's read-only allow-list is
answered INVALID_COMMAND and recorded in :attr:`VirtualReceiver.violations`; nothing is
ever written to the database.

Faults (:class:`Fault`) hit the n-th occurrence of a command: ``bad-crc`` (answer with a
damaged CRC), ``nak``, ``truncate`` (half an answer), ``timeout`` (no answer),
``garbage`` (junk before the answer), ``disconnect`` (the port vanishes, as when the
cable is pulled; :meth:`VirtualReceiver.replug` brings it back on a new path). A
corrupt record is a database fault: :meth:`ReceiverDatabase.corrupt_record`.
"""

from __future__ import annotations

import contextlib
import os
import select
import struct
import threading
import time
import tty
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Literal

from drivers._core.errors import DriverError
from drivers.cgm.dexcom_receiver import messages as m
from drivers.cgm.dexcom_receiver.frames import Frame, build_frame, split_frames
from simulators.cgm.dexcom_receiver.database import ReceiverDatabase

FaultKind = Literal["bad-crc", "nak", "truncate", "timeout", "garbage", "disconnect"]
C, R = m.Command, m.ResponseCode


@dataclass(frozen=True, slots=True)
class Fault:
    """Misbehave on occurrences ``nth`` .. ``nth + times - 1`` of ``command``."""

    kind: FaultKind
    command: int = C.READ_DATABASE_PAGES
    nth: int = 1
    times: int = 1


class VirtualReceiver:
    """Serves a :class:`ReceiverDatabase` on a pty.

    Args:
        db: The database (shared with the test, which may append records between syncs).
        faults: Faults to inject.
        system_time_s: The receiver's system clock now; by default one minute after the
            newest record, advancing in real time.
    """

    def __init__(
        self,
        db: ReceiverDatabase,
        *,
        faults: Sequence[Fault] = (),
        system_time_s: Callable[[], int] | None = None,
    ) -> None:
        self.db = db
        self.faults = list(faults)
        self.commands: list[int] = []
        self.violations: list[int] = []
        self.bytes_out = 0
        self._seen: dict[int, int] = {}
        self._started = time.monotonic()
        self._clock = system_time_s or self._default_clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._master = self._slave = -1
        self.port = ""

    def _default_clock(self) -> int:
        newest = max((r[-1].sys_s for r in self.db.records.values() if r), default=0)
        return newest + 60 + int(time.monotonic() - self._started)

    def start(self) -> VirtualReceiver:
        """Open a pty and serve it; returns self (``port`` is set)."""
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self.port = os.ttyname(self._slave)
        self._stop.clear()
        self._thread = threading.Thread(target=self._serve, name="virtual-dexcom", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the pty."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._close()

    def replug(self) -> str:
        """After a disconnect: serve the same database on a new pty; returns its path."""
        self.stop()
        self.start()
        return self.port

    def __enter__(self) -> VirtualReceiver:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _close(self) -> None:
        for fd in (self._master, self._slave):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = -1

    def _serve(self) -> None:
        buf = b""
        while not self._stop.is_set() and self._master >= 0:
            ready, _, _ = select.select([self._master], [], [], 0.05)
            if not ready:
                continue
            try:
                buf += os.read(self._master, 65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                return
            try:
                frames, buf = split_frames(buf)
            except DriverError:
                frames, buf = [], b""
                self._send(build_frame(R.INCOMPLETE_PACKET_RECEIVED))
            for frame in frames:
                if not self._handle(frame):
                    return

    def _send(self, data: bytes) -> None:
        view = memoryview(data)
        while view and not self._stop.is_set() and self._master >= 0:
            _, ready, _ = select.select([], [self._master], [], 0.05)
            if ready:
                try:
                    sent = os.write(self._master, view)
                except BlockingIOError:
                    continue
                self.bytes_out += sent
                view = view[sent:]

    def _fault(self, command: int) -> FaultKind | None:
        n = self._seen[command] = self._seen.get(command, 0) + 1
        for fault in self.faults:
            if fault.command == command and fault.nth <= n < fault.nth + fault.times:
                return fault.kind
        return None

    def _handle(self, frame: Frame) -> bool:
        """Answer one request; False when the port has been 'unplugged'."""
        self.commands.append(frame.code)
        if frame.code not in m.READ_ONLY_COMMANDS:
            self.violations.append(frame.code)
            self._send(build_frame(R.INVALID_COMMAND))
            return True
        kind = self._fault(frame.code)
        try:
            answer = build_frame(R.ACK, self._answer(frame))
        except (DriverError, KeyError, struct.error):
            answer = build_frame(R.INVALID_PARAM)
        if kind == "disconnect":
            self._close()
            return False
        if kind == "timeout":
            return True
        if kind == "nak":
            answer = build_frame(R.NAK)
        elif kind == "bad-crc":
            answer = answer[:-1] + bytes([answer[-1] ^ 0xFF])
        elif kind == "truncate":
            answer = answer[: len(answer) // 2]
        elif kind == "garbage":
            answer = b"AT\r\nOK\r\n" + answer
        self._send(answer)
        return True

    def _answer(self, frame: Frame) -> bytes:
        db, model, code, payload = self.db, self.db.model, frame.code, frame.payload
        display_offset = next(
            (r[-1].disp_s - r[-1].sys_s for r in (db.records[4], db.records[10]) if r), 0
        )
        simple: dict[int, bytes] = {
            C.PING: b"",
            C.READ_FIRMWARE_HEADER: m.encode_xml_element(
                "FirmwareHeader",
                {
                    "SchemaVersion": "1",
                    "ApiVersion": "2.2.0.0",
                    "ProductId": model.product_id,
                    "ProductName": model.product_name,
                    "SoftwareNumber": model.software_number,
                    "FirmwareVersion": model.firmware_version,
                },
            ),
            C.READ_DATABASE_PARTITION_INFO: m.encode_partition_info(model.partitions()),
            C.READ_SYSTEM_TIME: m.encode_u32(self._clock()),
            C.READ_DISPLAY_TIME_OFFSET: m.encode_i32(display_offset),
            C.READ_SYSTEM_TIME_OFFSET: m.encode_i32(0),
            C.READ_RTC: m.encode_u32(self._clock()),
            C.READ_BATTERY_LEVEL: m.encode_u32(80),
            C.READ_TRANSMITTER_ID: b"60HMW" if model.egv_revision < 4 else b"8G1234",
            C.READ_LANGUAGE: struct.pack("<H", 0x0409),
            C.READ_GLUCOSE_UNIT: b"\x01",
            C.READ_BLINDED_MODE: b"\x00",
            C.READ_CLOCK_MODE: b"\x00",
            C.READ_BATTERY_STATE: b"\x02",
            C.READ_FIRMWARE_SETTINGS: m.encode_xml_element("FirmwareSettings", {}),
            C.READ_CHARGER_CURRENT_SETTING: b"\x02",
        }
        if code in simple:
            return simple[code]
        if code == C.READ_DATABASE_PAGE_RANGE and len(payload) == 1:
            return m.encode_page_range(db.page_range(payload[0]))
        if code in (C.READ_DATABASE_PAGES, C.READ_DATABASE_PAGE_HEADER):
            if code == C.READ_DATABASE_PAGE_HEADER:
                rtype, first = struct.unpack("<BI", payload)
                count, size = 1, 28
            else:
                rtype, first, count = m.decode_pages_request(payload)
                size = 528
            rng = db.page_range(rtype)
            if rng is None or not 1 <= count <= 4 or first < rng.first:
                raise KeyError(rtype)
            if first + count - 1 > rng.last:
                raise KeyError(first)
            return b"".join(db.page(rtype, first + k)[:size] for k in range(count))
        raise KeyError(code)
