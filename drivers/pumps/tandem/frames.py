"""Tandem t:slim X2 USB framing and checksum (both directions, pure).

One frame on the wire::

    offset 0     1 byte  sync, always 0x55
    offset 1     1 byte  message id (request id host -> pump, response id pump -> host)
    offset 2     1 byte  payload length N (0..255)
    offset 3     N bytes payload (little-endian fields, layout per message id)
    offset 3+N   u32 BE  timestamp: seconds since 2008-01-01 on the pump's local clock
                         (0 in host -> pump frames; the pump's clock in its answers)
    offset 7+N   u16 BE  checksum: sum of bytes 1 .. 6+N (id to last timestamp byte),
                         modulo 65536 (the sync byte is not summed)

Total length N + 9. Sources: tidepool-org/uploader ``lib/drivers/tandem/tandemDriver.js``
(``buildPacket``, ``extractPacket``, ``weakChecksum``; the public version before commit
34e707f made the driver private) and ``lib/struct.js`` (format letters ``I``/``S`` are
big-endian); ``shared/reference/protocols.md`` §4 part 2 §2.2 with worked vectors.

Receiving (the uploader's ``tandemPacketHandler``): drop bytes until a 0x55 is at the
head; a frame whose checksum fails is discarded whole (N + 9 bytes), not byte by byte.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from drivers._core.errors import ChecksumError, ProtocolError

SYNC = 0x55
HEADER_LEN = 3
TRAILER_LEN = 6
MIN_FRAME_LEN = HEADER_LEN + TRAILER_LEN
MAX_PAYLOAD_LEN = 0xFF
MAX_FRAME_LEN = MIN_FRAME_LEN + MAX_PAYLOAD_LEN

_TRAILER = struct.Struct(">IH")


def checksum(data: bytes) -> int:
    """The 16-bit byte sum Tandem uses (``weakChecksum``): ``sum(data) & 0xFFFF``."""
    return sum(data) & 0xFFFF


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded frame: message id, payload and the trailer timestamp (2008 epoch)."""

    msg_id: int
    payload: bytes = b""
    timestamp: int = 0


def build_frame(msg_id: int, payload: bytes = b"", timestamp: int = 0) -> bytes:
    """Encode one frame (either direction) with its trailer and checksum.

    Args:
        msg_id: The message id (one byte).
        payload: At most 255 bytes.
        timestamp: Trailer time, seconds since 2008-01-01 (0 from the host).

    Raises:
        ProtocolError: id not a byte, payload longer than 255 bytes, or a timestamp
            outside u32.
    """
    if not 0 <= msg_id <= 0xFF:
        raise ProtocolError("message id must be one byte", msg_id=msg_id)
    if len(payload) > MAX_PAYLOAD_LEN:
        raise ProtocolError("payload longer than 255 bytes", length=len(payload))
    if not 0 <= timestamp <= 0xFFFFFFFF:
        raise ProtocolError("trailer timestamp outside u32", timestamp=timestamp)
    body = bytes((msg_id, len(payload))) + payload + struct.pack(">I", timestamp)
    return bytes((SYNC,)) + body + struct.pack(">H", checksum(body))


def frame_length(header: bytes) -> int:
    """Total frame length announced by the first 3 bytes (sync, id, length).

    Raises:
        ProtocolError: fewer than 3 bytes, or the first byte is not the sync byte.
    """
    if len(header) < HEADER_LEN:
        raise ProtocolError("frame header truncated", received=len(header))
    if header[0] != SYNC:
        raise ProtocolError("frame does not start with sync 0x55", first_byte=header[0])
    return header[2] + MIN_FRAME_LEN


def parse_frame(data: bytes) -> Frame:
    """Decode exactly one frame; ``data`` must be the whole frame and nothing more.

    Raises:
        ProtocolError: bad sync byte, or a length not matching ``len(data)``.
        ChecksumError: the checksum does not match (``wire`` and ``calculated``).
    """
    length = frame_length(data)
    if len(data) != length:
        raise ProtocolError("frame length mismatch", announced=length, received=len(data))
    timestamp, wire = _TRAILER.unpack_from(data, length - TRAILER_LEN)
    calculated = checksum(data[1 : length - 2])
    if wire != calculated:
        raise ChecksumError("frame checksum mismatch", wire=wire, calculated=calculated)
    return Frame(data[1], bytes(data[HEADER_LEN : length - TRAILER_LEN]), int(timestamp))


def split_frames(stream: bytes) -> tuple[list[Frame], bytes, int]:
    """Decode every complete frame at the start of ``stream``, as the pump's and the
    uploader's receivers do: bytes before a sync byte are dropped, a frame failing its
    checksum is dropped whole and counted.

    Returns:
        The good frames, the unconsumed tail (an incomplete frame) and the number of
        frames dropped for a bad checksum.
    """
    frames: list[Frame] = []
    bad = 0
    pos = 0
    while True:
        start = stream.find(bytes((SYNC,)), pos)
        if start < 0:
            return frames, b"", bad
        if len(stream) - start < MIN_FRAME_LEN:
            return frames, stream[start:], bad
        length = stream[start + 2] + MIN_FRAME_LEN
        if len(stream) - start < length:
            return frames, stream[start:], bad
        try:
            frames.append(parse_frame(stream[start : start + length]))
        except ChecksumError:
            bad += 1
        pos = start + length
