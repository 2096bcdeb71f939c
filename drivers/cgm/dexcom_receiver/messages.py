"""Dexcom receiver commands, response codes and payload codecs (pure).

Command ids, response codes and record types: openaps/dexcom_reader
``dexcom_reader/constants.py``; tidepool-org/uploader
``lib/drivers/dexcom/dexcomDriver.js`` (``CMDS``, ``RECORD_TYPES`` incl. 18). Payload
formats: openaps/dexcom_reader ``readdata.py`` and the G4 capture in
bewest/decoding-dexcom ``alexandre-normand/hex-lines.txt``.

**Read-only rule.** :data:`READ_ONLY_COMMANDS` is the allow-list; :func:`build_request`
is the only way this driver builds a host-to-receiver frame and refuses every other
id, so no command that writes, erases, resets or sets the clock can leave the driver.
Both directions' codecs live here so the virtual receiver speaks the same bytes.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from enum import IntEnum

from drivers._core.errors import DecodeError, DriverError, ProtocolError
from drivers.cgm.dexcom_receiver.frames import Frame, build_frame


class Command(IntEnum):
    """Host-to-receiver command ids (byte 3 of a request frame)."""

    PING = 10
    READ_FIRMWARE_HEADER = 11
    READ_DATABASE_PARTITION_INFO = 15
    READ_DATABASE_PAGE_RANGE = 16
    READ_DATABASE_PAGES = 17
    READ_DATABASE_PAGE_HEADER = 18
    READ_TRANSMITTER_ID = 25
    WRITE_TRANSMITTER_ID = 26
    READ_LANGUAGE = 27
    WRITE_LANGUAGE = 28
    READ_DISPLAY_TIME_OFFSET = 29
    WRITE_DISPLAY_TIME_OFFSET = 30
    READ_RTC = 31
    RESET_RECEIVER = 32
    READ_BATTERY_LEVEL = 33
    READ_SYSTEM_TIME = 34
    READ_SYSTEM_TIME_OFFSET = 35
    WRITE_SYSTEM_TIME = 36
    READ_GLUCOSE_UNIT = 37
    WRITE_GLUCOSE_UNIT = 38
    READ_BLINDED_MODE = 39
    WRITE_BLINDED_MODE = 40
    READ_CLOCK_MODE = 41
    WRITE_CLOCK_MODE = 42
    READ_DEVICE_MODE = 43
    ERASE_DATABASE = 45
    SHUTDOWN_RECEIVER = 46
    WRITE_PC_PARAMETERS = 47
    READ_BATTERY_STATE = 48
    READ_HARDWARE_BOARD_ID = 49
    READ_FIRMWARE_SETTINGS = 54
    READ_ENABLE_SETUP_WIZARD_FLAG = 55
    READ_SETUP_WIZARD_STATE = 57
    READ_CHARGER_CURRENT_SETTING = 59
    WRITE_CHARGER_CURRENT_SETTING = 60


class ResponseCode(IntEnum):
    """Receiver-to-host response codes (byte 3 of a response frame)."""

    NULL = 0
    ACK = 1
    NAK = 2
    INVALID_COMMAND = 3
    INVALID_PARAM = 4
    INCOMPLETE_PACKET_RECEIVED = 5
    RECEIVER_ERROR = 6
    INVALID_MODE = 7


class RecordType(IntEnum):
    """Database partitions (the record-type byte of page requests and headers)."""

    MANUFACTURING_DATA = 0
    FIRMWARE_PARAMETER_DATA = 1
    PC_SOFTWARE_PARAMETER = 2
    SENSOR_DATA = 3
    EGV_DATA = 4
    CAL_SET = 5
    DEVIATION = 6
    INSERTION_TIME = 7
    RECEIVER_LOG_DATA = 8
    RECEIVER_ERROR_DATA = 9
    METER_DATA = 10
    USER_EVENT_DATA = 11
    USER_SETTING_DATA = 12
    BACKFILLED_EGV_DATA = 18


READ_ONLY_COMMANDS: frozenset[int] = frozenset(
    {
        Command.PING,
        Command.READ_FIRMWARE_HEADER,
        Command.READ_DATABASE_PARTITION_INFO,
        Command.READ_DATABASE_PAGE_RANGE,
        Command.READ_DATABASE_PAGES,
        Command.READ_DATABASE_PAGE_HEADER,
        Command.READ_TRANSMITTER_ID,
        Command.READ_LANGUAGE,
        Command.READ_DISPLAY_TIME_OFFSET,
        Command.READ_RTC,
        Command.READ_BATTERY_LEVEL,
        Command.READ_SYSTEM_TIME,
        Command.READ_SYSTEM_TIME_OFFSET,
        Command.READ_GLUCOSE_UNIT,
        Command.READ_BLINDED_MODE,
        Command.READ_CLOCK_MODE,
        Command.READ_BATTERY_STATE,
        Command.READ_FIRMWARE_SETTINGS,
        Command.READ_CHARGER_CURRENT_SETTING,
    }
)
"""The allow-list: the only command ids this driver can send (protocols.md 2 §3.2).
Read commands whose answer nobody has decoded (device mode, board id, setup wizard)
are left out, as is every write, erase, reset and unassigned id."""

EMPTY_PARTITION = 0xFFFFFFFF
"""First and last page of an empty partition (tidepool ``downloadDataPages``)."""


class CommandNotAllowed(DriverError):
    """A command outside :data:`READ_ONLY_COMMANDS` was about to be sent (a bug)."""


class ResponseError(ProtocolError):
    """The receiver answered with something other than ACK (``code`` names it)."""


def build_request(command: int, payload: bytes = b"") -> bytes:
    """The one place a request frame is built; refuses ids off the allow-list.

    Raises:
        CommandNotAllowed: ``command`` is not in :data:`READ_ONLY_COMMANDS`.
    """
    if command not in READ_ONLY_COMMANDS:
        raise CommandNotAllowed(
            "refusing to send a command off the read-only allow-list", command=command
        )
    return build_frame(command, payload)


_PAGES = struct.Struct("<BIB")


def page_range_payload(record_type: int) -> bytes:
    """READ_DATABASE_PAGE_RANGE payload: u8 record type."""
    return bytes([record_type])


def pages_payload(record_type: int, first_page: int, count: int) -> bytes:
    """READ_DATABASE_PAGES payload: u8 record type, u32 first page, u8 page count."""
    return _PAGES.pack(record_type, first_page, count)


def page_header_payload(record_type: int, page: int) -> bytes:
    """READ_DATABASE_PAGE_HEADER payload: u8 record type, u32 page (G4 capture)."""
    return struct.pack("<BI", record_type, page)


def decode_pages_request(payload: bytes) -> tuple[int, int, int]:
    """(record type, first page, count) of a READ_DATABASE_PAGES payload."""
    _need(payload, _PAGES.size, "READ_DATABASE_PAGES request")
    record_type, first, count = _PAGES.unpack(payload)
    return int(record_type), int(first), int(count)


def ack_payload(frame: Frame, command: int) -> bytes:
    """The payload of an ACK answer to ``command``.

    Raises:
        ResponseError: any other response code; NAK and RECEIVER_ERROR are retryable.
    """
    if frame.code == ResponseCode.ACK:
        return frame.payload
    try:
        name = ResponseCode(frame.code).name
    except ValueError:
        name = f"unknown code {frame.code}"
    retry = frame.code in (ResponseCode.NAK, ResponseCode.RECEIVER_ERROR)
    raise ResponseError(
        f"receiver answered {name}",
        retryable=retry,
        command=_command_name(command),
        response=frame.code,
    )


def _command_name(command: int) -> str:
    try:
        return Command(command).name
    except ValueError:
        return str(command)


def _need(payload: bytes, size: int, what: str) -> None:
    if len(payload) != size:
        raise DecodeError(f"{what}: expected {size} byte(s)", received=len(payload))


def encode_u32(value: int) -> bytes:
    """Little-endian u32 (system time, RTC, battery level)."""
    return struct.pack("<I", value)


def decode_u32(payload: bytes) -> int:
    """Inverse of :func:`encode_u32`."""
    _need(payload, 4, "u32 answer")
    return int(struct.unpack("<I", payload)[0])


def encode_i32(value: int) -> bytes:
    """Little-endian signed i32 (display and system time offsets)."""
    return struct.pack("<i", value)


def decode_i32(payload: bytes) -> int:
    """Inverse of :func:`encode_i32`."""
    _need(payload, 4, "i32 answer")
    return int(struct.unpack("<i", payload)[0])


@dataclass(frozen=True, slots=True)
class PageRange:
    """Inclusive range of pages a partition holds."""

    first: int
    last: int


def encode_page_range(pages: PageRange | None) -> bytes:
    """Page-range answer; ``None`` (empty partition) is 0xFFFFFFFF twice."""
    if pages is None:
        return struct.pack("<II", EMPTY_PARTITION, EMPTY_PARTITION)
    return struct.pack("<II", pages.first, pages.last)


def decode_page_range(payload: bytes) -> PageRange | None:
    """Inverse of :func:`encode_page_range`; ``None`` for an empty partition.

    Raises:
        DecodeError: wrong size, or first > last.
    """
    _need(payload, 8, "page range")
    first, last = struct.unpack("<II", payload)
    if first == EMPTY_PARTITION and last == EMPTY_PARTITION:
        return None
    if first > last:
        raise DecodeError("page range first > last", first=first, last=last)
    return PageRange(int(first), int(last))


_TAG = re.compile(r"<\s*([A-Za-z_][\w.-]*)")
_ATTR = re.compile(r"([A-Za-z_][\w.-]*)\s*=\s*(?:'([^']*)'|\"([^\"]*)\")")


def encode_xml_element(tag: str, attrs: dict[str, str]) -> bytes:
    """One self-closing element, single-quoted as the G4 firmware header is."""
    parts = "".join(f" {k}='{v}'" for k, v in attrs.items())
    return f"<{tag}{parts}/>".encode("ascii")


def decode_xml_attrs(payload: bytes) -> tuple[str, dict[str, str]]:
    """(first tag, attributes of the first element) of an ASCII XML answer.

    A tolerant regex reader like tidepool's ``parseXML``: no entity expansion, no DTD.

    Raises:
        DecodeError: not ASCII, or no element.
    """
    try:
        text = payload.rstrip(b"\x00").decode("ascii")
    except UnicodeDecodeError as exc:
        raise DecodeError("XML answer is not ASCII", position=exc.start) from exc
    tag = _TAG.search(text)
    if tag is None:
        raise DecodeError("XML answer has no element", text=text[:40])
    end = text.find(">", tag.end())
    head = text[tag.end() : end if end >= 0 else len(text)]
    return tag.group(1), {
        m.group(1): m.group(2) if m.group(2) is not None else m.group(3)
        for m in _ATTR.finditer(head)
    }


@dataclass(frozen=True, slots=True)
class Partition:
    """One ``<Partition>`` of READ_DATABASE_PARTITION_INFO."""

    id: int
    name: str
    revision: int
    record_length: int


def encode_partition_info(partitions: list[Partition]) -> bytes:
    """The partition-info XML in the G4's own shape (bewest/decoding-dexcom capture)."""
    body = "".join(
        f"<Partition Name='{p.name}' Id='{p.id}' RecordRevision='{p.revision}' "
        f"RecordLength='{p.record_length}'/>"
        for p in partitions
    )
    head = "<PartitionInfo SchemaVersion='1' PageHeaderVersion='1' PageDataLength='500'>"
    return (head + body + "</PartitionInfo>").encode("ascii")


def decode_partition_info(payload: bytes) -> dict[int, Partition]:
    """Partitions by id. Raises DecodeError on non-ASCII or non-numeric fields."""
    try:
        text = payload.decode("ascii")
    except UnicodeDecodeError as exc:
        raise DecodeError("partition info is not ASCII", position=exc.start) from exc
    out: dict[int, Partition] = {}
    for chunk in text.split("<Partition ")[1:]:
        attrs = {m.group(1): m.group(2) or m.group(3) or "" for m in _ATTR.finditer(chunk)}
        try:
            part = Partition(
                int(attrs["Id"]),
                attrs.get("Name", ""),
                int(attrs["RecordRevision"]),
                int(attrs["RecordLength"]),
            )
        except (KeyError, ValueError) as exc:
            raise DecodeError("partition info element incomplete", element=chunk[:60]) from exc
        out[part.id] = part
    return out
