"""A Dexcom receiver on its USB serial port: the one file of this driver that does I/O.

Every request goes through :meth:`DexcomReceiver._exchange`, which builds it with
:func:`messages.build_request` (the read-only allow-list) and reads exactly one answer
frame; timeouts, CRC errors, NAKs and framing junk are retried a few times (every
allowed command is a read, so a retry is harmless). History is read page by page,
oldest first, so the cursor after any page is a valid resume point.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any

from drivers._core.capabilities import Cursor, HistoryBatch
from drivers._core.errors import ProtocolError, TransportError
from drivers._core.records import DeviceInfo, make_device_id
from drivers.cgm.dexcom_receiver import messages as m
from drivers.cgm.dexcom_receiver.cursor import dump_cursor, load_cursor
from drivers.cgm.dexcom_receiver.decode import (
    Page,
    SkippedRecord,
    decode_page_header,
    decode_pages,
)
from drivers.cgm.dexcom_receiver.frames import HEADER_LEN, SOF, frame_length, parse_frame
from drivers.cgm.dexcom_receiver.layouts import DexcomRecord, XmlRecord
from drivers.cgm.dexcom_receiver.normalize import model_name, normalize, receiver_time
from drivers.transports.serial import SerialPortInfo, SerialTransport, list_serial_ports

DEXCOM_VID, DEXCOM_PID = 0x22A3, 0x0047
HISTORY_PARTITIONS = (
    m.RecordType.EGV_DATA,
    m.RecordType.BACKFILLED_EGV_DATA,
    m.RecordType.METER_DATA,
    m.RecordType.INSERTION_TIME,
    m.RecordType.USER_EVENT_DATA,
)
MAX_JUNK = 4096


@dataclass(frozen=True, slots=True)
class PortInfo:
    """A serial port and whether it looks like a Dexcom receiver, and why."""

    port: str
    vid: int | None
    pid: int | None
    description: str
    serial_number: str | None
    recognised: bool
    reason: str


def detect_receivers(ports: Sequence[SerialPortInfo] | None = None) -> list[PortInfo]:
    """Every serial port, recognised Dexcom receivers (USB 22A3:0047) first.

    Args:
        ports: The ports to judge; by default the OS list (``serial.tools.list_ports``).
    """
    found = []
    for p in list_serial_ports() if ports is None else ports:
        if p.vid is None or p.pid is None:
            ok, why = False, "no USB vendor/product id (not a USB device, or a virtual port)"
        elif p.vid == DEXCOM_VID and p.pid == DEXCOM_PID:
            ok, why = True, "Dexcom G4/G5/G6 receiver (USB 22A3:0047)"
        elif p.vid == DEXCOM_VID:
            ok, why = False, f"Dexcom vendor id but product {p.pid:04X} is not a receiver"
        else:
            ok, why = False, f"USB {p.vid:04X}:{p.pid:04X} is not a Dexcom receiver (22A3:0047)"
        found.append(PortInfo(p.port, p.vid, p.pid, p.description, p.serial_number, ok, why))
    return sorted(found, key=lambda info: not info.recognised)


class TransferInterrupted(TransportError):
    """The link failed mid-history; :attr:`partial` holds every page read before it,
    with a cursor that resumes after the last complete page."""

    def __init__(self, message: str, *, partial: HistoryBatch, **context: Any) -> None:
        super().__init__(message, **context)
        self.partial = partial


class DexcomReceiver:
    """A Dexcom G4/G5/G6 receiver: history since a cursor, clock and identity; read-only.

    Args:
        port: The serial port (``/dev/ttyACM0``, ``COM3``, a virtual receiver's pty).
        timeout_s: Deadline for each answer (the reference recommends 2-5 s).
        retries: Extra attempts per command after a timeout, CRC error or NAK.
        pages_per_read: Pages per READ_DATABASE_PAGES (1-4; Dexcom's software uses 4).
        partitions: Record types :meth:`read_history` reads.
    """

    def __init__(
        self,
        port: str,
        *,
        timeout_s: float = 2.0,
        retries: int = 2,
        pages_per_read: int = 1,
        partitions: Sequence[int] = HISTORY_PARTITIONS,
    ) -> None:
        if not 1 <= pages_per_read <= 4:
            raise ValueError("pages_per_read must be 1..4")
        self.transport = SerialTransport(port, timeout_s=timeout_s)
        self.retries = retries
        self.pages_per_read = pages_per_read
        self.partitions = tuple(partitions)
        self.round_trips = 0
        self.retried = 0
        self._identity: tuple[dict[str, str], dict[int, m.Partition], str] | None = None
        self._identity_raw = b""
        self._raw = bytearray()

    def __enter__(self) -> DexcomReceiver:
        self.transport.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the port."""
        self.transport.close()

    def _read_frame(self) -> bytes:
        junk = 0
        while (first := self.transport.read_exact(1)) != bytes([SOF]):
            junk += 1
            if junk > MAX_JUNK:
                raise ProtocolError("no frame start in the receiver's output", skipped=junk)
        head = first + self.transport.read_exact(HEADER_LEN - 1)
        return head + self.transport.read_exact(frame_length(head) - HEADER_LEN)

    def _exchange(self, command: int, payload: bytes = b"", *, keep_raw: bool = False) -> bytes:
        """Send one allowed command and return its ACK payload (the only sender)."""
        request = m.build_request(command, payload)
        for attempt in range(self.retries + 1):
            try:
                self.transport.discard_input()
                self.transport.write(request)
                raw = self._read_frame()
                answer = m.ack_payload(parse_frame(raw), command)
            except (TransportError, ProtocolError) as exc:
                retry = exc.retryable or type(exc) is ProtocolError
                if not retry or attempt == self.retries:
                    raise
                self.retried += 1
                continue
            self.round_trips += 1
            if keep_raw:
                self._raw += raw
            return answer
        raise AssertionError("unreachable")  # pragma: no cover

    def ping(self) -> None:
        """PING; returns when the receiver answered ACK."""
        self._exchange(m.Command.PING)

    def identity(self) -> tuple[dict[str, str], dict[int, m.Partition], str]:
        """(firmware header attributes, partitions, serial number), read once."""
        if self._identity is None:
            mark = len(self._raw)
            firmware = m.decode_xml_attrs(
                self._exchange(m.Command.READ_FIRMWARE_HEADER, keep_raw=True)
            )[1]
            parts = m.decode_partition_info(self._exchange(m.Command.READ_DATABASE_PARTITION_INFO))
            serial = "unknown"
            rng = m.decode_page_range(
                self._exchange(m.Command.READ_DATABASE_PAGE_RANGE, m.page_range_payload(0))
            )
            if rng is not None:  # the last page: a receiver may be re-manufactured
                for _, rec in self._read_pages(0, rng.last, 1, None)[0].records:
                    if isinstance(rec, XmlRecord):
                        serial = m.decode_xml_attrs(rec.xml)[1].get("SerialNumber", serial)
            self._identity = (firmware, parts, serial)
            self._identity_raw = bytes(self._raw[mark:])
        return self._identity

    def device_id(self) -> str:
        """``dexcom:<model>:<serial>`` (see :func:`drivers._core.records.make_device_id`)."""
        firmware, _, serial = self.identity()
        return make_device_id(
            "Dexcom",
            model_name(firmware.get("ProductId", ""), firmware.get("ProductName", "")),
            serial,
        )

    def read_clock(self) -> datetime:
        """The receiver's display clock now (naive): system time + display offset."""
        system_s = m.decode_u32(self._exchange(m.Command.READ_SYSTEM_TIME))
        offset_s = m.decode_i32(self._exchange(m.Command.READ_DISPLAY_TIME_OFFSET))
        return receiver_time(system_s + offset_s)

    def device_info(self) -> DeviceInfo:
        """Model, serial, firmware version and the display clock, as a record."""
        firmware, _, serial = self.identity()
        clock = self.read_clock()
        return DeviceInfo(
            device_id=self.device_id(),
            source_index=f"info:{clock.isoformat()}",
            device_time=clock,
            manufacturer="Dexcom",
            model=model_name(firmware.get("ProductId", ""), firmware.get("ProductName", "")),
            serial=serial,
            firmware=firmware.get("FirmwareVersion"),
            device_clock=clock,
        )

    def _read_pages(
        self, rtype: int, first: int, count: int, record_length: int | None
    ) -> list[Page]:
        payload = self._exchange(
            m.Command.READ_DATABASE_PAGES, m.pages_payload(rtype, first, count), keep_raw=True
        )
        return decode_pages(
            payload, record_type=rtype, first_page=first, record_length=record_length
        )

    def read_history(self, since: Cursor | None = None) -> HistoryBatch:
        """Records newer than ``since`` (all when None), the raw page answers and the
        cursor for the next sync.

        Raises:
            TransferInterrupted: the link failed mid-history (``partial`` has the rest).
            TransportError, ProtocolError: before any history page was read.
        """
        firmware, parts, serial = self.identity()
        self._raw = bytearray(self._identity_raw)
        marks, offset = load_cursor(since, serial)
        run = _Run(marks=marks, offset=offset)
        run.meta.update(receiver={**firmware, "SerialNumber": serial}, partitions={}, gaps=[])
        try:
            for rtype in (t for t in self.partitions if t in parts):
                self._read_partition(rtype, parts[rtype].record_length, run)
        except TransportError as exc:
            raise TransferInterrupted(
                f"link lost mid-history: {exc.message}",
                partial=self._batch(run),
                port=self.transport.port,
            ) from exc
        return self._batch(run)

    def _read_partition(self, rtype: int, record_length: int, run: _Run) -> None:
        name = m.RecordType(rtype).name
        rng = m.decode_page_range(
            self._exchange(m.Command.READ_DATABASE_PAGE_RANGE, m.page_range_payload(rtype))
        )
        stats: dict[str, Any] = {
            "range": None if rng is None else [rng.first, rng.last],
            "pages_read": 0,
            "records": 0,
        }
        run.meta["partitions"][name] = stats
        if rng is None:
            return
        start, after = rng.first, -1
        if str(rtype) in run.marks:
            page, index = run.marks[str(rtype)]
            if page > rng.last:
                run.meta["gaps"].append({"partition": name, "reason": "receiver reset"})
            elif page < rng.first:
                run.meta["gaps"].append({"partition": name, "reason": "pages overwritten"})
                after = index
            else:
                start, after = page, index
        if start == rng.last and after >= 0:  # only the last page: is anything new on it?
            header = decode_page_header(
                self._exchange(
                    m.Command.READ_DATABASE_PAGE_HEADER, m.page_header_payload(rtype, start)
                )
            )
            if header.first_index + header.num_records - 1 <= after:
                return
        for first in range(start, rng.last + 1, self.pages_per_read):
            count = min(self.pages_per_read, rng.last + 1 - first)
            for pg in self._read_pages(rtype, first, count, record_length):
                new = [rec for idx, rec in pg.records if idx > after]
                run.decoded += new
                run.skipped += pg.skipped
                stats["pages_read"] += 1
                stats["records"] += len(new)
                if pg.header.num_records:
                    last = pg.header.first_index + pg.header.num_records - 1
                    run.marks[str(rtype)] = [pg.header.page_number, last]

    def _batch(self, run: _Run) -> HistoryBatch:
        result = normalize(run.decoded, device_id=self.device_id(), last_offset_s=run.offset)
        cursor = dump_cursor(self.identity()[2], run.marks, result.last_offset_s)
        run.meta.update(
            skipped=[asdict(s) for s in run.skipped],
            display_only_dropped=result.display_only_dropped,
            unmapped=result.unmapped,
            round_trips=self.round_trips,
            retries=self.retried,
            bytes_in=self.transport.bytes_in,
            bytes_out=self.transport.bytes_out,
        )
        return HistoryBatch(result.records, bytes(self._raw), cursor, run.meta)


@dataclass
class _Run:
    """What one history read has gathered so far."""

    marks: dict[str, list[int]]
    offset: int | None
    decoded: list[DexcomRecord] = field(default_factory=list)
    skipped: list[SkippedRecord] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
