"""A virtual Tandem t:slim X2 on a pseudo-terminal, answering byte for byte.

``VirtualPump(log).start()`` opens a pty (``os.openpty``) and serves it from a
background thread; :attr:`VirtualPump.port` is the slave path, which the driver opens
with pyserial exactly as it would open ``/dev/ttyACM0``. Frames are built and parsed
with the driver's own codecs (:mod:`drivers.pumps.tandem.frames`, ``messages``,
``events``). Every answer's trailer carries the pump clock.

Any message id off the driver's allow-list is answered COMMAND_ACK(id, 0) and recorded
in :attr:`VirtualPump.violations`; nothing the host sends changes the pump.

Faults (:class:`Fault`) hit the n-th occurrence of a request id, or -- with ``seq`` --
the n-th time the record with that sequence number is sent (single or multi mode):
``bad-checksum`` (a damaged checksum), ``nak`` (COMMAND_ACK success 0), ``timeout``
(no answer; in a multi dump the stream stalls), ``garbage`` (junk before the answer),
``disconnect`` (the port vanishes, as when the cable is pulled;
:meth:`VirtualPump.replug` brings it back on a new path). A wrapped log (oldest
sequence number > 0) is ``first_seq`` of :func:`history.build_log` or ``capacity``.

Output is queued and written as the pty accepts it, while requests keep being read: as
on the real pump, whose USB OUT endpoint does not wait for the host to drain IN, a
STOP_DUMP is honoured at once even while the host is not reading (protocols.md §4 2.5,
"honour STOP_DUMP immediately"). The dump is queued one frame at a time, so after
STOP_DUMP at most the rest of the frame being written goes out, then nothing more.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time
import tty
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Literal

from drivers._core.errors import DriverError
from drivers.pumps.tandem import messages as m
from drivers.pumps.tandem.events import Event, encode_event
from drivers.pumps.tandem.frames import Frame, build_frame, split_frames
from simulators.pumps.tandem.history import default_profiles

FaultKind = Literal["bad-checksum", "nak", "timeout", "garbage", "disconnect"]
C, R = m.Command, m.Response


@dataclass(frozen=True, slots=True)
class Fault:
    """Misbehave on occurrences ``nth`` .. ``nth + times - 1`` of ``command`` (or of
    the record ``seq`` being sent, when given)."""

    kind: FaultKind
    command: int = C.LOG_ENTRY_SEQ_MULTI_REQ
    nth: int = 1
    times: int = 1
    seq: int | None = None


class VirtualPump:
    """Serves a pump log on a pty.

    Args:
        events: The log records (sequence-numbered, e.g. ``build_log(...).events``).
        serial: Pump serial number (VERSION_TE ``pump_sn``).
        firmware: ARM software build (>= 59814 answers multi-record requests).
        profiles: Personal profiles by id; the first id listed is the active one.
        capacity: Keep only the newest ``capacity`` records (a ring that wrapped).
        faults: Faults to inject.
        clock: The pump clock now, seconds since 2008-01-01; by default one minute
            after the newest record, advancing in real time.
    """

    def __init__(
        self,
        events: Iterable[Event],
        *,
        serial: int = 90_000_123,
        firmware: str = "105900",
        profiles: dict[int, m.IdpProfile] | None = None,
        capacity: int | None = None,
        faults: Sequence[Fault] = (),
        clock: Callable[[], int] | None = None,
    ) -> None:
        self.entries: dict[int, m.LogEntry] = {}
        self.capacity = capacity
        self.version = m.VersionInfo(
            arm_sw_ver=firmware,
            msp_sw_ver="1.0",
            pump_sn=serial,
            pump_part_no=1_004_000,
            pump_rev="A",
            pcba_sn=serial + 1,
            pcba_rev="B",
            model_no=1_004_000,
        )
        self.profiles = default_profiles() if profiles is None else profiles
        self.faults = list(faults)
        self.requests: list[int] = []
        self.violations: list[int] = []
        self.stop_dumps = 0
        self.dumps: list[tuple[int, int]] = []
        """``(first seq, count)`` of every multi-record request, in order."""
        self._seen: dict[tuple[str, int], int] = {}
        self._started = time.monotonic()
        self._clock = clock or self._default_clock
        self._lock = threading.Lock()
        self._dump: list[int] = []
        self._out = bytearray()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._master = self._slave = -1
        self.port = ""
        self.append(events)

    # -- the log ---------------------------------------------------------------------

    def append(self, events: Iterable[Event]) -> None:
        """Write more records (the pump went on logging between two syncs)."""
        with self._lock:
            for event in events:
                self.entries[event.seq] = encode_event(event)
            if self.capacity is not None and len(self.entries) > self.capacity:
                for seq in sorted(self.entries)[: len(self.entries) - self.capacity]:
                    del self.entries[seq]

    def log_size(self) -> m.LogSize:
        """Entries and the inclusive range the pump reports."""
        with self._lock:
            if not self.entries:
                return m.LogSize(0, 0, 0)
            return m.LogSize(len(self.entries), min(self.entries), max(self.entries))

    def _default_clock(self) -> int:
        newest = max((e.timestamp for e in self.entries.values()), default=500_000_000)
        return newest + 60 + int(time.monotonic() - self._started)

    # -- the pty ---------------------------------------------------------------------

    def start(self) -> VirtualPump:
        """Open a pty and serve it; returns self (``port`` is set)."""
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self.port = os.ttyname(self._slave)
        self._stop.clear()
        self._dump = []
        self._out = bytearray()
        self._thread = threading.Thread(target=self._serve, name="virtual-tandem", daemon=True)
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
        """After a disconnect: serve the same log on a new pty; returns its path."""
        self.stop()
        self.start()
        return self.port

    def __enter__(self) -> VirtualPump:
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
            writing = [self._master] if self._out or self._dump else []
            readable, writable, _ = select.select([self._master], writing, [], 0.05)
            if readable:  # requests first: a STOP_DUMP is never stuck behind output
                try:
                    buf += os.read(self._master, 65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    return
                frames, buf, _bad = split_frames(buf)  # a corrupt request gets no answer
                for frame in frames:
                    if not self._handle(frame):
                        return
                continue
            if not writable:
                continue
            if not self._out and self._dump and not self._stream_one():
                return
            if self._out:
                try:
                    sent = os.write(self._master, self._out)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    return
                del self._out[:sent]

    def _send(self, data: bytes) -> None:
        """Queue ``data``; :meth:`_serve` writes it when the pty accepts it."""
        self._out += data

    def _answer(self, msg_id: int, payload: bytes = b"") -> bytes:
        return build_frame(msg_id, payload, self._clock())

    def _nak(self, msg_id: int) -> bytes:
        return self._answer(R.COMMAND_ACK, m.CommandAck(msg_id, 0).encode())

    # -- faults ------------------------------------------------------------------------

    def _fault(self, key: tuple[str, int]) -> FaultKind | None:
        n = self._seen[key] = self._seen.get(key, 0) + 1
        for fault in self.faults:
            target = ("seq", fault.seq) if fault.seq is not None else ("cmd", fault.command)
            if target == key and fault.nth <= n < fault.nth + fault.times:
                return fault.kind
        return None

    def _emit(self, answer: bytes, kind: FaultKind | None, msg_id: int) -> bool:
        """Send ``answer`` as the fault says; False when the port was 'unplugged'."""
        if kind == "disconnect":
            self._dump = []
            self._close()
            return False
        if kind == "timeout":
            return True
        if kind == "nak":
            answer = self._nak(msg_id)
        elif kind == "bad-checksum":
            answer = answer[:-1] + bytes([answer[-1] ^ 0xFF])
        elif kind == "garbage":
            answer = b"\x00\x13\x37" + answer
        self._send(answer)
        return True

    # -- requests ----------------------------------------------------------------------

    def _entry(self, seq: int) -> bytes | None:
        with self._lock:
            entry = self.entries.get(seq)
        return None if entry is None else self._answer(R.LOG_ENTRY_TE, entry.encode())

    def _stream_one(self) -> bool:
        seq = self._dump.pop(0)
        answer = self._entry(seq)
        if answer is None:
            self._dump = []
            return True
        kind = self._fault(("seq", seq))
        if kind == "timeout":  # the stream stalls: nothing more until STOP_DUMP
            self._dump = []
            return True
        return self._emit(answer, kind, C.LOG_ENTRY_SEQ_REQ)

    def _handle(self, frame: Frame) -> bool:
        """Answer one request; False when the port has been 'unplugged'."""
        msg_id, payload = frame.msg_id, frame.payload
        self.requests.append(msg_id)
        if msg_id not in m.ALLOWED_COMMANDS:
            self.violations.append(msg_id)
            self._send(self._nak(msg_id))
            return True
        if len(payload) != m.REQUEST_PAYLOAD_SIZES[msg_id]:
            self._send(self._nak(msg_id))
            return True
        kind = self._fault(("cmd", msg_id))
        if msg_id == C.LOG_ENTRY_SEQ_MULTI_STOP_DUMP:
            self._dump = []
            self.stop_dumps += 1
            return kind != "disconnect" or self._emit(b"", kind, msg_id)
        if msg_id == C.LOG_ENTRY_SEQ_MULTI_REQ:
            if self.version.arm_build < m.MULTI_MIN_FIRMWARE:
                return self._emit(self._nak(msg_id), kind, msg_id)
            first, count = m.decode_multi_request(payload)
            self.dumps.append((first, count))
            size = self.log_size()
            last = min(first + count - 1, size.end_seq)
            if kind in ("disconnect", "timeout"):
                return self._emit(b"", kind, msg_id)
            self._dump = list(range(max(first, size.start_seq), last + 1))
            return True
        try:
            answer = self._reply(msg_id, payload)
        except (DriverError, KeyError):
            answer = self._nak(msg_id)
        if msg_id == C.LOG_ENTRY_SEQ_REQ and kind is None:
            kind = self._fault(("seq", m.decode_log_entry_request(payload)))
        return self._emit(answer, kind, msg_id)

    def _reply(self, msg_id: int, payload: bytes) -> bytes:
        if msg_id == C.VERSION_REQ:
            return self._answer(R.VERSION_TE, self.version.encode())
        if msg_id == C.LOG_SIZE_REQ:
            return self._answer(R.LOG_SIZE_TE, self.log_size().encode())
        if msg_id == C.LOG_ENTRY_SEQ_REQ:
            answer = self._entry(m.decode_log_entry_request(payload))
            return self._nak(msg_id) if answer is None else answer
        if msg_id == C.IDP_LIST_REQ:
            ids = tuple(self.profiles)
            return self._answer(R.IDP_LIST_TE, m.IdpList(len(ids), ids).encode())
        if msg_id == C.IDP_REQ:
            return self._answer(R.IDP_TE, self.profiles[payload[0]].encode())
        raise KeyError(msg_id)
