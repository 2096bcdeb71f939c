"""Dexcom receiver packet framing and CRC-16 (both directions, pure).

One frame on the wire (all integers little-endian)::

    offset 0   1 byte   SOF, always 0x01
    offset 1   u16      total frame length, SOF to CRC inclusive (= 6 + payload)
    offset 3   1 byte   command id (host -> receiver) or response code (receiver -> host)
    offset 4   N bytes  payload
    offset 4+N u16      CRC-16/XMODEM of bytes 0 .. 3+N

Sources: openaps/dexcom_reader ``dexcom_reader/packetwriter.py`` and ``readdata.py``
(``readpacket``); tidepool-org/uploader ``lib/drivers/dexcom/dexcomDriver.js``
(``buildPacket``, ``extractPacket``). The CRC is CRC-16/XMODEM (poly 0x1021, init 0,
no reflection, no final XOR): the table in openaps/dexcom_reader ``crc16.py`` and
tidepool-org/uploader ``lib/crc.js`` (``calcCRC_D``) is that CRC's table. The standard
library's :func:`binascii.crc_hqx` with initial value 0 computes exactly this CRC.

Length limits: openaps/dexcom_reader refuses to *write* packets outside 6..1590 bytes,
but a receiver answers a 4-page READ_DATABASE_PAGES with a 2118-byte frame (seen in the
G4 capture bewest/decoding-dexcom ``alexandre-normand/hex-lines.txt``), so a received
frame may be up to :data:`MAX_FRAME_LEN`.
"""

from __future__ import annotations

import binascii
import struct
from dataclasses import dataclass

from drivers._core.errors import ChecksumError, ProtocolError

SOF = 0x01
HEADER_LEN = 4
CRC_LEN = 2
MIN_FRAME_LEN = HEADER_LEN + CRC_LEN
MAX_REQUEST_LEN = 1590
"""Largest packet a host writes (openaps/dexcom_reader ``packetwriter.py`` ``MAX_LEN``)."""
MAX_PAGES_PER_READ = 4
"""Pages per READ_DATABASE_PAGES request; Dexcom's own software asks for up to 4."""
MAX_FRAME_LEN = MIN_FRAME_LEN + MAX_PAGES_PER_READ * 528
"""Largest frame we accept: a 4-page answer, 2118 bytes."""

_HEADER = struct.Struct("<BHB")
_CRC = struct.Struct("<H")


def crc16(data: bytes) -> int:
    """CRC-16/XMODEM of ``data`` (0x31C3 for ``b"123456789"``)."""
    return binascii.crc_hqx(data, 0)


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded frame: the command id or response code and its payload."""

    code: int
    payload: bytes = b""


def build_frame(code: int, payload: bytes = b"") -> bytes:
    """Encode one frame (either direction) with its length and CRC.

    Raises:
        ProtocolError: ``code`` is not a byte or the frame would exceed
            :data:`MAX_FRAME_LEN`.
    """
    length = MIN_FRAME_LEN + len(payload)
    if not 0 <= code <= 0xFF:
        raise ProtocolError("command/response code must be one byte", code=code)
    if length > MAX_FRAME_LEN:
        raise ProtocolError("frame too long", length=length, limit=MAX_FRAME_LEN)
    body = _HEADER.pack(SOF, length, code) + payload
    return body + _CRC.pack(crc16(body))


def frame_length(header: bytes) -> int:
    """The total length announced by a frame's first 4 bytes.

    Raises:
        ProtocolError: the first byte is not SOF, or the length is outside
            :data:`MIN_FRAME_LEN` .. :data:`MAX_FRAME_LEN`.
    """
    if len(header) < HEADER_LEN:
        raise ProtocolError("frame header truncated", received=len(header))
    sof, length, _code = _HEADER.unpack_from(header)
    if sof != SOF:
        raise ProtocolError("frame does not start with SOF 0x01", first_byte=sof)
    if not MIN_FRAME_LEN <= length <= MAX_FRAME_LEN:
        raise ProtocolError("frame length out of range", length=length)
    return int(length)


def parse_frame(data: bytes) -> Frame:
    """Decode exactly one frame; ``data`` must be the whole frame and nothing more.

    Raises:
        ProtocolError: bad SOF, length out of range or not matching ``len(data)``.
        ChecksumError: the CRC does not match (``wire`` and ``calculated`` attributes).
    """
    length = frame_length(data)
    if len(data) != length:
        raise ProtocolError("frame length mismatch", announced=length, received=len(data))
    (wire,) = _CRC.unpack_from(data, length - CRC_LEN)
    calculated = crc16(data[: length - CRC_LEN])
    if wire != calculated:
        raise ChecksumError("frame CRC mismatch", wire=wire, calculated=calculated)
    return Frame(code=data[3], payload=bytes(data[HEADER_LEN : length - CRC_LEN]))


def split_frames(stream: bytes) -> tuple[list[Frame], bytes]:
    """Decode every complete frame at the start of ``stream``.

    Bytes before a SOF are skipped (resynchronisation, as tidepool's packet handler
    does). Returns the frames and the unconsumed tail (an incomplete frame).

    Raises:
        ProtocolError: a frame with an impossible length or a bad CRC.
    """
    frames: list[Frame] = []
    pos = 0
    while True:
        start = stream.find(bytes([SOF]), pos)
        if start < 0:
            return frames, b""
        if len(stream) - start < HEADER_LEN:
            return frames, stream[start:]
        length = frame_length(stream[start : start + HEADER_LEN])
        if len(stream) - start < length:
            return frames, stream[start:]
        frames.append(parse_frame(stream[start : start + length]))
        pos = start + length
