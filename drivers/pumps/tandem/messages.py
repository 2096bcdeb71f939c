"""Tandem t:slim X2 USB requests, responses and payload codecs (pure).

Message ids and payload layouts: tidepool-org/uploader ``lib/drivers/tandem/tandemDriver.js``
(``COMMANDS``, ``RESPONSES``; last public version before commit 34e707f, 2022-06-22),
summarised with worked vectors in ``shared/reference/protocols.md`` §4 part 2 §2.3.
All payload integers are little-endian (``lib/struct.js`` lower-case letters).

**Read-only rule.** :data:`ALLOWED_COMMANDS` is the allow-list and :func:`build_request`
is the only way this driver builds a host-to-pump frame: it refuses every other id and
any payload of the wrong size. No public source gives the USB ids of Tandem's therapy
commands (bolus, temp basal, suspend, set time, profile edits, fills, factory reset), so
no id outside the list may ever be sent, and no id may be "tried". Both directions'
codecs live here so the virtual pump speaks the driver's bytes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

from drivers._core.errors import DecodeError, DriverError, ProtocolError
from drivers.pumps.tandem.frames import Frame, build_frame


class Command(IntEnum):
    """Host-to-pump request ids the public USB driver defines (not all are allowed)."""

    VERSION_REQ = 82
    LOG_ENTRY_SEQ_REQ = 151
    LOG_ENTRY_SEQ_MULTI_REQ = 152
    LOG_ENTRY_SEQ_MULTI_STOP_DUMP = 153
    LOG_SIZE_REQ = 168
    IDP_LIST_REQ = 173
    IDP_REQ = 175
    GLOBALS_REQ = 178
    PUMP_SETTINGS_REQ = 181
    REMIND_SETTINGS_REQ = 184
    AA_INFO_REQ = 230
    MAX_BOLUS_REQ = 245


class Response(IntEnum):
    """Pump-to-host response ids."""

    VERSION_TE = 81
    COMMAND_ACK = 123
    LOG_ENTRY_TE = 125
    LOG_SIZE_TE = 169
    IDP_LIST_TE = 174
    IDP_TE = 176
    GLOBALS_TE = 179
    PUMP_SETTINGS_TE = 182
    REMIND_SETTINGS_TE = 185
    AA_INFO_TE = 231
    MAX_BOLUS_TE = 246


REQUEST_PAYLOAD_SIZES: dict[int, int] = {
    Command.VERSION_REQ: 0,
    Command.LOG_SIZE_REQ: 0,
    Command.LOG_ENTRY_SEQ_REQ: 4,
    Command.LOG_ENTRY_SEQ_MULTI_REQ: 8,
    Command.LOG_ENTRY_SEQ_MULTI_STOP_DUMP: 0,
    Command.IDP_LIST_REQ: 0,
    Command.IDP_REQ: 1,
}
"""Exact request payload size of every allowed id (protocols.md §4 2.3.1)."""

ALLOWED_COMMANDS: frozenset[int] = frozenset(REQUEST_PAYLOAD_SIZES)
"""The allow-list: the only ids this driver can send. Identity and pump clock
(VERSION_REQ; the clock is every answer's trailer), log range (LOG_SIZE_REQ), history
(LOG_ENTRY_SEQ_REQ, LOG_ENTRY_SEQ_MULTI_REQ and its STOP_DUMP) and the personal profiles
(IDP_LIST_REQ, IDP_REQ: basal, carb ratio, sensitivity, target, insulin duration).
Left out although the uploader defined them: GLOBALS_REQ (quick-bolus settings, half-word
endianness unknown), PUMP_SETTINGS_REQ and REMIND_SETTINGS_REQ (never called by the
uploader, layouts unverified), AA_INFO_REQ and MAX_BOLUS_REQ (not needed: nothing we
normalize comes from them; AA_INFO's id 230 is BLE CreateIDP in the BLE numbering)."""

RESPONSE_IDS: frozenset[int] = frozenset(int(r) for r in Response)

BLE_CONTROL_OPCODES: frozenset[int] = frozenset(
    {
        0x9E, 0xA0, 0xA2, 0xF0, 0xFA, 0xF2, 0xB6, 0xA4, 0xA6, 0x9C, 0x9A, 0xD6,
        0xEC, 0xE6, 0xAE, 0xA8, 0xAC, 0xAA, 0x88, 0x86, 0xCA, 0xCC, 0xCE, 0xD2,
        0x90, 0x92, 0x94, 0x96, 0x98, 0xEE, 0xE8, 0x7C, 0xBA, 0xBE,
        0xC0, 0xB0, 0xB2, 0xB4, 0xFC,
        0xDE, 0xE0, 0xDC, 0xD8, 0xDA, 0xC2, 0xC4, 0xC6, 0xD4, 0xE4, 0xB8, 0xF4,
        0x7E,
    }
)  # fmt: skip
"""Opcodes (unsigned) of the therapy-changing *Bluetooth* requests in jwoglom/pumpX2
``request/control/*.java`` (protocols.md §4 2.3.3). The BLE and USB numberings differ
(BLE 0xA8 RenameIDP is USB LOG_SIZE_REQ, BLE 0x98 FillCannula is USB
LOG_ENTRY_SEQ_MULTI_REQ), so this set only documents what must never be *guessed*."""

NEVER_SEND: frozenset[int] = (BLE_CONTROL_OPCODES | RESPONSE_IDS) - ALLOWED_COMMANDS
"""Ids a reviewer should see refused by name: every pump-to-host id and every BLE
control opcode that is not one of the allowed USB reads. (All ids outside
:data:`ALLOWED_COMMANDS` are refused; this set is not the rule, only a checklist.)"""

MULTI_MIN_FIRMWARE = 59814
"""ARM build from which LOG_ENTRY_SEQ_MULTI_REQ works (uploader commit 9b0f6f2be; build
54676 fails half-way per Tandem)."""


class CommandNotAllowed(DriverError):
    """A request outside :data:`ALLOWED_COMMANDS` (or with a wrong payload size) was
    about to be sent: a bug in the caller, never retried."""


class PumpRefused(ProtocolError):
    """The pump answered COMMAND_ACK with ``success == 0`` (a NAK) to a request."""

    retryable = True


def build_request(command: int, payload: bytes = b"") -> bytes:
    """The one place a host-to-pump frame is built; refuses ids off the allow-list.

    Raises:
        CommandNotAllowed: ``command`` is not in :data:`ALLOWED_COMMANDS`, or the payload
            size differs from :data:`REQUEST_PAYLOAD_SIZES`.
    """
    if command not in ALLOWED_COMMANDS:
        raise CommandNotAllowed(
            "refusing to send a message id off the read-only allow-list", command=command
        )
    if len(payload) != REQUEST_PAYLOAD_SIZES[command]:
        raise CommandNotAllowed(
            "refusing a request with the wrong payload size",
            command=command,
            size=len(payload),
            expected=REQUEST_PAYLOAD_SIZES[command],
        )
    return build_frame(command, payload, 0)


def command_name(msg_id: int) -> str:
    """The name of a request or response id, or its number."""
    for enum in (Command, Response):
        try:
            return enum(msg_id).name
        except ValueError:
            continue
    return str(msg_id)


def _need(payload: bytes, size: int, what: str) -> None:
    if len(payload) != size:
        raise DecodeError(f"{what}: expected {size} byte(s)", received=len(payload))


def _text(raw: bytes) -> str:
    return raw.split(b"\x00", 1)[0].decode("ascii", "replace")


def _pad(text: str, size: int) -> bytes:
    raw = text.encode("ascii")
    if len(raw) >= size:
        raise ProtocolError("text too long for its field", text=text, size=size)
    return raw.ljust(size, b"\x00")


# -- requests -----------------------------------------------------------------------

_U32 = struct.Struct("<I")
_MULTI = struct.Struct("<II")


def log_entry_payload(seq: int) -> bytes:
    """LOG_ENTRY_SEQ_REQ payload: u32 sequence number."""
    return _U32.pack(seq)


def decode_log_entry_request(payload: bytes) -> int:
    """The sequence number of a LOG_ENTRY_SEQ_REQ payload."""
    _need(payload, 4, "LOG_ENTRY_SEQ_REQ")
    return int(_U32.unpack(payload)[0])


def multi_payload(first_seq: int, count: int) -> bytes:
    """LOG_ENTRY_SEQ_MULTI_REQ payload: u32 first sequence number, u32 count."""
    return _MULTI.pack(first_seq, count)


def decode_multi_request(payload: bytes) -> tuple[int, int]:
    """(first sequence number, count) of a LOG_ENTRY_SEQ_MULTI_REQ payload."""
    _need(payload, 8, "LOG_ENTRY_SEQ_MULTI_REQ")
    first, count = _MULTI.unpack(payload)
    return int(first), int(count)


def idp_payload(idp: int) -> bytes:
    """IDP_REQ payload: u8 profile id."""
    if not 0 <= idp <= 0xFF:
        raise ProtocolError("profile id must be one byte", idp=idp)
    return bytes((idp,))


# -- COMMAND_ACK ----------------------------------------------------------------------

_ACK = struct.Struct("<BB")


@dataclass(frozen=True, slots=True)
class CommandAck:
    """COMMAND_ACK (123): the request id answered and ``success`` (0 = refused)."""

    msg_id: int
    success: int

    def encode(self) -> bytes:
        return _ACK.pack(self.msg_id, self.success)

    @classmethod
    def decode(cls, payload: bytes) -> CommandAck:
        _need(payload, _ACK.size, "COMMAND_ACK")
        msg_id, success = _ACK.unpack(payload)
        return cls(int(msg_id), int(success))


# -- VERSION_TE -------------------------------------------------------------------------

_VERSION = struct.Struct("<16s16s20xII8sI4x8s50xI")


@dataclass(frozen=True, slots=True)
class VersionInfo:
    """VERSION_TE (81), 138 bytes: firmware builds, serial numbers, model number."""

    arm_sw_ver: str
    msp_sw_ver: str
    pump_sn: int
    pump_part_no: int
    pump_rev: str
    pcba_sn: int
    pcba_rev: str
    model_no: int

    @property
    def arm_build(self) -> int:
        """The ARM software build as an integer (the uploader's firmware gates), 0 if
        the string is not a number."""
        digits = self.arm_sw_ver.strip()
        return int(digits) if digits.isdigit() else 0

    @property
    def supports_multi(self) -> bool:
        """Whether LOG_ENTRY_SEQ_MULTI_REQ can be used (build >= 59814)."""
        return self.arm_build >= MULTI_MIN_FIRMWARE

    def encode(self) -> bytes:
        return _VERSION.pack(
            _pad(self.arm_sw_ver, 16),
            _pad(self.msp_sw_ver, 16),
            self.pump_sn,
            self.pump_part_no,
            _pad(self.pump_rev, 8),
            self.pcba_sn,
            _pad(self.pcba_rev, 8),
            self.model_no,
        )

    @classmethod
    def decode(cls, payload: bytes) -> VersionInfo:
        _need(payload, _VERSION.size, "VERSION_TE")
        arm, msp, sn, part, rev, pcba_sn, pcba_rev, model = _VERSION.unpack(payload)
        return cls(
            _text(arm), _text(msp), int(sn), int(part), _text(rev), int(pcba_sn),
            _text(pcba_rev), int(model),
        )  # fmt: skip


# -- LOG_SIZE_TE ------------------------------------------------------------------------

_LOG_SIZE = struct.Struct("<III")


@dataclass(frozen=True, slots=True)
class LogSize:
    """LOG_SIZE_TE (169): entries stored and the inclusive range of sequence numbers."""

    entries: int
    start_seq: int
    end_seq: int

    def encode(self) -> bytes:
        return _LOG_SIZE.pack(self.entries, self.start_seq, self.end_seq)

    @classmethod
    def decode(cls, payload: bytes) -> LogSize:
        _need(payload, _LOG_SIZE.size, "LOG_SIZE_TE")
        entries, start, end = _LOG_SIZE.unpack(payload)
        return cls(int(entries), int(start), int(end))


# -- LOG_ENTRY_TE -----------------------------------------------------------------------

_LOG_ENTRY = struct.Struct("<I2sHIII16s")
LOG_ENTRY_LEN = _LOG_ENTRY.size
EVENT_ID_MASK = 0x0FFF


@dataclass(frozen=True, slots=True)
class LogEntry:
    """LOG_ENTRY_TE (125), 36 bytes: one history record in its USB wrapper.

    ``header_id`` is the whole u16 (low 12 bits the event id, top 4 bits a "source"
    nibble per jwoglom/tconnectsync ``raw_event.py``); :attr:`event_id` masks it.
    ``timestamp`` is seconds since 2008-01-01 on the pump's local clock. ``data`` is the
    16-byte event area d0..d15 (the canonical 26-byte record of jwoglom/pumpX2 is
    ``header_id, timestamp, seq, data``).
    """

    index: int
    header_id: int
    timestamp: int
    seq: int
    data: bytes
    spare: int = 0
    unused: bytes = b"\x00\x00"

    @property
    def event_id(self) -> int:
        return self.header_id & EVENT_ID_MASK

    def encode(self) -> bytes:
        if len(self.data) != 16 or len(self.unused) != 2:
            raise ProtocolError("log entry data must be 16 bytes", size=len(self.data))
        return _LOG_ENTRY.pack(
            self.index, self.unused, self.header_id, self.timestamp, self.seq, self.spare,
            self.data,
        )  # fmt: skip

    @classmethod
    def decode(cls, payload: bytes) -> LogEntry:
        _need(payload, LOG_ENTRY_LEN, "LOG_ENTRY_TE")
        index, unused, header_id, ts, seq, spare, data = _LOG_ENTRY.unpack(payload)
        return cls(int(index), int(header_id), int(ts), int(seq), data, int(spare), unused)


# -- IDP_LIST_TE / IDP_TE ----------------------------------------------------------------

_IDP_LIST = struct.Struct("<B6B")


@dataclass(frozen=True, slots=True)
class IdpList:
    """IDP_LIST_TE (174): number of profiles and the slots; slot 1 is the active one."""

    num_available: int
    slots: tuple[int, ...]

    @property
    def profile_ids(self) -> tuple[int, ...]:
        """The ids to request, active first (the uploader reads slot1..slotN)."""
        return self.slots[: min(self.num_available, 6)]

    def encode(self) -> bytes:
        slots = (*self.slots, *([0] * 6))[:6]
        return _IDP_LIST.pack(self.num_available, *slots)

    @classmethod
    def decode(cls, payload: bytes) -> IdpList:
        _need(payload, _IDP_LIST.size, "IDP_LIST_TE")
        num, *slots = _IDP_LIST.unpack(payload)
        return cls(int(num), tuple(int(s) for s in slots))


_SEGMENT = struct.Struct("<HHIHHB")
_IDP = struct.Struct("<B17sB208sHHBB")
MAX_SEGMENTS = 16


@dataclass(frozen=True, slots=True)
class IdpSegment:
    """One time segment of a personal profile (13 bytes)."""

    start_min: int
    basal_mu_per_h: int
    carb_ratio_milli: int
    target_bg_mgdl: int
    isf_mgdl_per_u: int
    status: int = 0


@dataclass(frozen=True, slots=True)
class IdpProfile:
    """IDP_TE (176), 233 bytes: one personal profile (IDP) with up to 16 segments."""

    idp: int
    name: str
    segments: tuple[IdpSegment, ...]
    insulin_duration_min: int
    max_bolus_mu: int
    carb_entry: int = 1
    status: int = 0

    def encode(self) -> bytes:
        if len(self.segments) > MAX_SEGMENTS:
            raise ProtocolError("a profile has at most 16 segments", segments=len(self.segments))
        area = b"".join(
            _SEGMENT.pack(
                s.start_min, s.basal_mu_per_h, s.carb_ratio_milli, s.target_bg_mgdl,
                s.isf_mgdl_per_u, s.status,
            )
            for s in self.segments
        ).ljust(MAX_SEGMENTS * _SEGMENT.size, b"\x00")  # fmt: skip
        return _IDP.pack(
            self.idp, _pad(self.name, 17), len(self.segments), area, self.insulin_duration_min,
            self.max_bolus_mu, self.carb_entry, self.status,
        )  # fmt: skip

    @classmethod
    def decode(cls, payload: bytes) -> IdpProfile:
        _need(payload, _IDP.size, "IDP_TE")
        idp, name, count, area, duration, max_bolus, carb_entry, status = _IDP.unpack(payload)
        if count > MAX_SEGMENTS:
            raise DecodeError("profile announces more than 16 segments", tdep_num=count)
        segments = tuple(
            IdpSegment(*_SEGMENT.unpack_from(area, i * _SEGMENT.size)) for i in range(count)
        )
        return cls(
            int(idp), _text(name), segments, int(duration), int(max_bolus), int(carb_entry),
            int(status),
        )  # fmt: skip


RESPONSE_FOR: dict[int, int] = {
    Command.VERSION_REQ: Response.VERSION_TE,
    Command.LOG_SIZE_REQ: Response.LOG_SIZE_TE,
    Command.LOG_ENTRY_SEQ_REQ: Response.LOG_ENTRY_TE,
    Command.LOG_ENTRY_SEQ_MULTI_REQ: Response.LOG_ENTRY_TE,
    Command.IDP_LIST_REQ: Response.IDP_LIST_TE,
    Command.IDP_REQ: Response.IDP_TE,
}
"""The response id each allowed request is answered with (STOP_DUMP gets none)."""


def expect(frame: Frame, command: int) -> bytes:
    """The payload of ``frame`` if it is the answer to ``command``.

    Raises:
        PumpRefused: the pump answered COMMAND_ACK with success 0 for this request.
        ProtocolError: any other unexpected message.
    """
    want = RESPONSE_FOR.get(command)
    if frame.msg_id == want:
        return frame.payload
    if frame.msg_id == Response.COMMAND_ACK:
        ack = CommandAck.decode(frame.payload)
        if ack.success == 0:
            raise PumpRefused(
                "pump refused the request", command=command_name(command), answered=ack.msg_id
            )
    raise ProtocolError(
        "unexpected answer", command=command_name(command), got=command_name(frame.msg_id)
    )
