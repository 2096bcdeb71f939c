"""A Tandem t:slim X2 on its USB serial port: the one file of this driver that does I/O.

Every byte the host sends goes through :meth:`TandemPump._send`, which checks the id
against :data:`messages.ALLOWED_COMMANDS` (a frozenset) and builds the frame with
:func:`messages.build_request` (which checks again, and the payload size). Nothing
else in the driver writes to the port.

History: LOG_SIZE_REQ gives the stored range; records newer than the cursor are read
with one LOG_ENTRY_SEQ_MULTI_REQ (firmware >= 59814; the pump streams the records
back to back, ended with LOG_ENTRY_SEQ_MULTI_STOP_DUMP) or one LOG_ENTRY_SEQ_REQ per
record on older firmware. A corrupt frame, a gap in the sequence or a stall stops the
dump and resumes at the first record not yet received (the uploader's recovery): the
records already received and validated are kept, never read twice. Too many failures
raise. Nothing is returned from a read that did not complete: the caller keeps its
previous cursor and the next sync reads the same range again.

Stale frames: after STOP_DUMP the pump may still have records of the aborted dump in
flight (its USB buffer, the host's), and a late answer to a timed-out request can arrive
after the next request went out. Correctness never depends on a pause being long
enough: after an aborted dump the driver sends VERSION_REQ and drops every byte up to
the end of its answer (:meth:`TandemPump._resync`; the pump answers in order, so
whatever came before it is stale), and a request's answer is recognised by its id, the
request id of a COMMAND_ACK and, for a record, its sequence number; anything else is
skipped as stale.

Pacing (protocols.md §4 2.1): 10 ms between requests ("not to starve the Control-IQ
process"), 1 s pause after STOP_DUMP before the next command; both can be shortened for
the virtual pump.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any

from drivers._core.capabilities import Cursor, HistoryBatch
from drivers._core.errors import DriverError, ProtocolError, TransportError
from drivers._core.records import DeviceInfo, Record, SettingsSnapshot
from drivers.pumps.tandem import messages as m
from drivers.pumps.tandem.cursor import CursorState, dump_cursor, load_cursor
from drivers.pumps.tandem.decode import decode_entries
from drivers.pumps.tandem.events import pump_time
from drivers.pumps.tandem.frames import (
    HEADER_LEN,
    MIN_FRAME_LEN,
    SYNC,
    Frame,
    parse_frame,
)
from drivers.pumps.tandem.normalize import (
    device_info,
    normalize,
    pump_device_id,
    settings_snapshot,
)
from drivers.transports.serial import SerialPortInfo, SerialTransport, list_serial_ports

TANDEM_VID, TANDEM_PID = 0x0483, 0x5740
"""USB ids of the pump's CDC-ACM port (tidepool-org/uploader ``lib/core/device.js``).
They are STMicroelectronics' generic "Virtual COM Port" ids, shared by many STM32
gadgets: a match means "may be a Tandem pump"; :meth:`TandemPump.version` confirms."""
BAUD_RATE = 921600
MAX_JUNK = 4096
MULTI_RESUME_MIN = 128
"""After a stall, resume with another multi-request only if this many records remain
(uploader ``multiLogRequester``); fewer are read one by one."""
NAK_TRIES = 5
"""COMMAND_ACK failures accepted per request (uploader ``MAX_TRIES``)."""
VERSION_TE_LEN = 138
"""VERSION_TE payload length (protocols.md §4 2.3.2): the answer :meth:`TandemPump._resync`
waits for is exactly ``VERSION_TE_LEN + MIN_FRAME_LEN`` bytes long."""


@dataclass(frozen=True, slots=True)
class PortInfo:
    """A serial port and whether it looks like a Tandem pump, and why."""

    port: str
    vid: int | None
    pid: int | None
    description: str
    serial_number: str | None
    recognised: bool
    reason: str


def detect_pumps(ports: Sequence[SerialPortInfo] | None = None) -> list[PortInfo]:
    """Every serial port, those with the pump's USB ids (0483:5740) first.

    Args:
        ports: The ports to judge; by default the OS list (``serial.tools.list_ports``).
    """
    found = []
    for p in list_serial_ports() if ports is None else ports:
        if p.vid is None or p.pid is None:
            ok, why = False, "no USB vendor/product id (not a USB device, or a virtual port)"
        elif (p.vid, p.pid) == (TANDEM_VID, TANDEM_PID):
            ok, why = True, "Tandem t:slim pump? (USB 0483:5740, ST virtual COM port)"
        else:
            ok, why = False, f"USB {p.vid:04X}:{p.pid:04X} is not a Tandem pump (0483:5740)"
        found.append(PortInfo(p.port, p.vid, p.pid, p.description, p.serial_number, ok, why))
    return sorted(found, key=lambda info: not info.recognised)


class TandemPump:
    """A Tandem t:slim X2: history since a cursor, clock, identity, settings; read-only.

    Args:
        port: The serial port (``/dev/ttyACM0``, ``COM3``, a virtual pump's pty).
        timeout_s: Deadline for each answer (the uploader gives up after 2 s).
        retries: Extra attempts per request after a timeout or a corrupt answer, and
            recoveries per history read.
        gap_s: Pause between requests (10 ms on a real pump).
        settle_s: Pause after STOP_DUMP before the next request (1 s on a real pump).
        stall_s: A multi-record dump that sends nothing for this long has stalled.
        multi: Force (True) or forbid (False) batched reads; None decides by firmware.
        settings: Include the personal profiles in :meth:`read_history` when they
            differ from those of the cursor's sync.
    """

    def __init__(
        self,
        port: str,
        *,
        timeout_s: float = 2.0,
        retries: int = 2,
        gap_s: float = 0.01,
        settle_s: float = 1.0,
        stall_s: float = 1.0,
        multi: bool | None = None,
        settings: bool = True,
    ) -> None:
        self.transport = SerialTransport(port, baudrate=BAUD_RATE, timeout_s=timeout_s)
        self.retries = retries
        self.gap_s = gap_s
        self.settle_s = settle_s
        self.stall_s = stall_s
        self.multi = multi
        self.include_settings = settings
        self.sent: list[int] = []
        self.round_trips = 0
        self.recoveries = 0
        self._last_send = 0.0
        self._version: m.VersionInfo | None = None
        self._raw = bytearray()

    def __enter__(self) -> TandemPump:
        self.transport.open()
        self.transport.discard_input()
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

    # -- the only writer ---------------------------------------------------------------

    def _send(self, command: int, payload: bytes = b"") -> None:
        """Send one request: the single point where bytes leave for the pump.

        Raises:
            CommandNotAllowed: ``command`` is off the allow-list or its payload has the
                wrong size; nothing is written.
        """
        if command not in m.ALLOWED_COMMANDS:
            raise m.CommandNotAllowed(
                "refusing to send a message id off the read-only allow-list", command=command
            )
        frame = m.build_request(command, payload)
        wait = self._last_send + self.gap_s - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self.transport.write(frame)
        self._last_send = time.monotonic()
        self.sent.append(command)

    # -- reading -----------------------------------------------------------------------

    def _read_frame(self, timeout_s: float | None = None) -> tuple[bytes, Frame]:
        junk = 0
        while (first := self.transport.read_exact(1, timeout_s)) != bytes((SYNC,)):
            junk += 1
            if junk > MAX_JUNK:
                raise ProtocolError("no frame start in the pump's output", skipped=junk)
        head = first + self.transport.read_exact(HEADER_LEN - 1, timeout_s)
        raw = head + self.transport.read_exact(head[2] + MIN_FRAME_LEN - HEADER_LEN, timeout_s)
        return raw, parse_frame(raw)

    def _read_answer(self, command: int, seq: int | None) -> tuple[bytes, Frame]:
        """The next frame that answers ``command``: its response id, or a COMMAND_ACK
        naming ``command``; for a record request, only the record ``seq``. Any other
        frame is stale (a late answer to an earlier request, the tail of an aborted
        dump) and is skipped until the deadline."""
        want = m.RESPONSE_FOR[command]
        deadline = time.monotonic() + self.transport.timeout_s
        stale: list[str] = []
        while True:
            try:
                raw, frame = self._read_frame(max(deadline - time.monotonic(), 0.0))
            except TransportError as exc:
                if stale and exc.retryable:
                    raise TransportError(
                        "no answer before the deadline, only stale frames",
                        command=m.command_name(command),
                        skipped=stale,
                    ) from exc
                raise
            if _answers(frame, want, command, seq):
                return raw, frame
            stale.append(m.command_name(frame.msg_id))

    def _exchange(
        self, command: int, payload: bytes = b"", *, seq: int | None = None
    ) -> tuple[bytes, Frame]:
        """Send an allowed request and return its answer (raw bytes, frame); timeouts,
        corrupt frames and NAKs are retried, stale frames skipped (``seq``: the record
        a LOG_ENTRY_SEQ_REQ asks for)."""
        tries = max(self.retries, NAK_TRIES - 1) if command == m.Command.LOG_ENTRY_SEQ_REQ else 0
        attempts = max(self.retries, tries) + 1
        for attempt in range(attempts):
            try:
                self.transport.discard_input()
                self._send(command, payload)
                raw, frame = self._read_answer(command, seq)
                m.expect(frame, command)
            except (TransportError, ProtocolError) as exc:
                if not (exc.retryable or type(exc) is ProtocolError) or attempt == attempts - 1:
                    raise
                continue
            self.round_trips += 1
            return raw, frame
        raise AssertionError("unreachable")  # pragma: no cover

    def version(self) -> tuple[m.VersionInfo, datetime]:
        """VERSION_REQ: identity and the pump clock (the answer's trailer time)."""
        raw, frame = self._exchange(m.Command.VERSION_REQ)
        self._raw += raw
        self._version = m.VersionInfo.decode(frame.payload)
        return self._version, pump_time(frame.timestamp)

    def _identity(self) -> m.VersionInfo:
        if self._version is None:
            self.version()
        assert self._version is not None
        return self._version

    def device_id(self) -> str:
        """``tandem:tslim-x2:<serial>``."""
        return pump_device_id(self._identity().pump_sn)

    def read_clock(self) -> datetime:
        """The pump clock now (naive local time)."""
        return self.version()[1]

    def device_info(self) -> DeviceInfo:
        """Serial number, firmware and clock, as a record."""
        version, clock = self.version()
        return device_info(version, clock)

    def _read_profiles(self) -> tuple[dict[int, m.IdpProfile], int | None, datetime]:
        raw, frame = self._exchange(m.Command.IDP_LIST_REQ)
        self._raw += raw
        listing = m.IdpList.decode(frame.payload)
        profiles: dict[int, m.IdpProfile] = {}
        clock = frame.timestamp
        for idp in listing.profile_ids:
            raw, frame = self._exchange(m.Command.IDP_REQ, m.idp_payload(idp))
            self._raw += raw
            profile = m.IdpProfile.decode(frame.payload)
            profiles[profile.idp] = profile
            clock = frame.timestamp
        active = listing.profile_ids[0] if listing.profile_ids else None
        return profiles, active, pump_time(clock)

    def read_settings(self) -> SettingsSnapshot:
        """The personal profiles (IDP_LIST_REQ, IDP_REQ per profile) as one snapshot,
        timed by the pump clock of the last answer (the uploader's settings time)."""
        profiles, active, clock = self._read_profiles()
        return settings_snapshot(profiles, active, device_id=self.device_id(), clock=clock)

    def log_size(self) -> m.LogSize:
        """LOG_SIZE_REQ: entries stored and the range of sequence numbers."""
        raw, frame = self._exchange(m.Command.LOG_SIZE_REQ)
        self._raw += raw
        return m.LogSize.decode(frame.payload)

    # -- history -------------------------------------------------------------------------

    def read_history(self, since: Cursor | None = None) -> HistoryBatch:
        """Records newer than ``since`` (all when None), the raw answers and the cursor
        for the next sync.

        Raises:
            TransportError: the link failed (timeout, port gone); nothing is returned.
            ProtocolError: the pump kept answering wrongly; nothing is returned.
        """
        self._raw = bytearray()
        version, _clock = self.version()  # the capture starts with identity and clock
        serial = str(version.pump_sn)
        state = load_cursor(since, serial)
        size = self.log_size()
        meta: dict[str, Any] = {
            "pump": {"serial": serial, "arm": version.arm_sw_ver, "msp": version.msp_sw_ver},
            "log": {"entries": size.entries, "start": size.start_seq, "end": size.end_seq},
            "gaps": [],
        }
        carry = list(state.carry) if state is not None else []
        first = size.start_seq
        if state is not None:
            if state.next_seq > size.end_seq + 1:
                meta["gaps"].append({"reason": "log counter reset", "cursor": state.next_seq})
                carry = []
            elif state.next_seq < size.start_seq:
                meta["gaps"].append(
                    {"reason": "records overwritten", "from": state.next_seq, "to": size.start_seq}
                )
            else:
                first = state.next_seq
        last = size.end_seq
        entries: list[m.LogEntry] = []
        if size.entries and first <= last:
            use_multi = version.supports_multi if self.multi is None else self.multi
            entries = self._read_range(first, last, use_multi, meta)
        meta["read"] = {"first": first, "last": last, "count": len(entries)}
        events = decode_entries(entries)
        names: dict[int, str] = {}
        settings: list[Record] = []
        settings_digest = state.settings if state is not None else None
        if self.include_settings:
            profiles, active, clock = self._read_profiles()
            names = {idp: p.name for idp, p in profiles.items()}
            snapshot = settings_snapshot(profiles, active, device_id=self.device_id(), clock=clock)
            digest = snapshot.source_index.removeprefix("settings:")
            if digest != settings_digest:
                settings.append(snapshot)
                settings_digest = digest
        result = normalize([*carry, *events], device_id=self.device_id(), profile_names=names)
        records = [*result.records, *settings]
        next_seq = last + 1 if size.entries and first <= last else first
        cursor = dump_cursor(serial, CursorState(next_seq, tuple(result.carry), settings_digest))
        meta.update(
            carried_in=len(carry),
            carried_out=len(result.carry),
            daily_basal_u=result.daily_basal_u,
            skipped=result.skipped,
            round_trips=self.round_trips,
            recoveries=self.recoveries,
            bytes_in=self.transport.bytes_in,
            bytes_out=self.transport.bytes_out,
        )
        return HistoryBatch(records, bytes(self._raw), cursor, meta)

    def _stop_dump(self) -> None:
        """End a dump that delivered every record asked for: nothing is left in flight."""
        self._send(m.Command.LOG_ENTRY_SEQ_MULTI_STOP_DUMP)
        time.sleep(self.settle_s)
        self.transport.discard_input()

    def _abort_dump(self) -> None:
        """Stop a dump that failed half-way and leave the link quiet and aligned on a
        frame boundary: STOP_DUMP, the pause the pump wants, then :meth:`_resync`. The
        pause is pacing only; frames of the old dump still in flight after it are
        dropped by the resync, not by luck."""
        self._send(m.Command.LOG_ENTRY_SEQ_MULTI_STOP_DUMP)
        time.sleep(self.settle_s)
        self.transport.discard_input()
        self._resync()

    def _resync(self) -> None:
        """Send VERSION_REQ and drop every byte up to the last byte of its answer.

        The pump answers requests in order, and after STOP_DUMP it streams nothing
        more, so everything before the VERSION_TE is stale: whole records of the
        aborted dump or the tail of one cut by :meth:`SerialTransport.discard_input`.
        The answer is looked for at every 0x55 (not frame by frame, which a cut frame
        would misalign), and never more bytes are read than the answer could still
        need, so nothing after it is consumed.

        Raises:
            TransportError: no VERSION_TE after ``retries + 1`` requests.
        """
        size = VERSION_TE_LEN + MIN_FRAME_LEN
        header = bytes((SYNC, m.Response.VERSION_TE, VERSION_TE_LEN))
        for _attempt in range(self.retries + 1):
            self._send(m.Command.VERSION_REQ)
            deadline = time.monotonic() + self.transport.timeout_s
            buf = b""
            while (left := deadline - time.monotonic()) > 0:
                try:
                    buf += self.transport.read_exact(size - len(buf), left)
                except TransportError as exc:
                    if not exc.retryable:
                        raise
                    break
                while buf:
                    if buf[: len(header)] == header[: len(buf)] and len(buf) == size:
                        try:
                            parse_frame(buf)
                        except ProtocolError:
                            pass
                        else:
                            return
                    # the answer starts at a later 0x55 of buf (or after it)
                    at = buf.find(SYNC, 1)
                    buf = b"" if at < 0 else buf[at:]
                    if buf[: len(header)] == header[: len(buf)]:
                        break
        raise TransportError("the pump did not answer after a dump was stopped")

    def _read_range(
        self, first: int, last: int, use_multi: bool, meta: dict[str, Any]
    ) -> list[m.LogEntry]:
        """Every record ``first..last`` (inclusive), or raise.

        ``got`` only grows, by the next expected record, so after a failure the read
        resumes at ``first + len(got)`` -- the first record not yet received -- and
        keeps what came before it.
        """
        got: list[m.LogEntry] = []
        raws: list[bytes] = []
        failures = 0
        meta["mode"] = "multi" if use_multi else "single"
        while (expected := first + len(got)) <= last:
            remaining = last - expected + 1
            dumping = False
            try:
                if use_multi and (not got or remaining >= MULTI_RESUME_MIN):
                    dumping = True
                    self._dump(expected, last, got, raws, probe=not got and failures == 0)
                    dumping = False
                else:
                    raw, frame = self._exchange(
                        m.Command.LOG_ENTRY_SEQ_REQ, m.log_entry_payload(expected), seq=expected
                    )
                    got.append(m.LogEntry.decode(frame.payload))  # record ``expected``
                    raws.append(raw)
            except _MultiUnsupported:
                self._abort_dump()
                use_multi = False
                meta["mode"] = "single (multi not answered)"
            except (TransportError, ProtocolError) as exc:
                failures += 1
                self.recoveries += 1
                if failures > self.retries or not (exc.retryable or type(exc) is ProtocolError):
                    if dumping:  # do not leave the pump streaming to the next session
                        with contextlib.suppress(DriverError):
                            self._send(m.Command.LOG_ENTRY_SEQ_MULTI_STOP_DUMP)
                    raise
                if dumping:
                    self._abort_dump()
        assert [e.seq for e in got] == list(range(first, last + 1))
        for raw in raws:
            self._raw += raw
        return got

    def _dump(
        self, first: int, last: int, got: list[m.LogEntry], raws: list[bytes], *, probe: bool
    ) -> None:
        """One multi-record request for ``first..last``; each record is appended to
        ``got`` (and its frame to ``raws``) as soon as it is validated, so a failure
        half-way keeps them. Raises on a corrupt frame, a gap or a stall; the caller
        stops the dump.

        ``probe``: this is the first multi-request of the read, and an answer other
        than a record means the pump does not support it (:class:`_MultiUnsupported`).
        """
        self.transport.discard_input()
        self._send(m.Command.LOG_ENTRY_SEQ_MULTI_REQ, m.multi_payload(first, last - first + 1))
        expected = first
        while expected <= last:
            try:
                raw, frame = self._read_frame(self.stall_s)
            except TransportError as exc:
                if probe and expected == first and "received" in exc.context:
                    raise _MultiUnsupported("no record after a multi-request") from exc
                raise
            if frame.msg_id != m.Response.LOG_ENTRY_TE:
                if probe and expected == first:
                    raise _MultiUnsupported("multi-request answered with another message")
                raise ProtocolError(
                    "unexpected message in a multi-record dump",
                    got=m.command_name(frame.msg_id),
                )
            entry = m.LogEntry.decode(frame.payload)
            if entry.seq < expected:
                continue  # a repeat: ignored, as the uploader does
            if entry.seq > expected:
                raise ProtocolError("record missing in the dump", missing=expected, got=entry.seq)
            got.append(entry)
            raws.append(raw)
            expected += 1
        self.round_trips += 1
        self._stop_dump()


def _answers(frame: Frame, want: int, command: int, seq: int | None) -> bool:
    """Whether ``frame`` can be the answer to ``command`` (response id ``want``; for a
    record request, the record ``seq``) rather than a stale frame."""
    if frame.msg_id == want:
        return seq is None or m.LogEntry.decode(frame.payload).seq == seq
    if frame.msg_id == m.Response.COMMAND_ACK:
        return m.CommandAck.decode(frame.payload).msg_id == command
    return False


class _MultiUnsupported(DriverError):
    """The pump did not answer a multi-record request with a record."""
