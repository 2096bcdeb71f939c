"""CGM Measurement (0x2AA7): one or more records per notification.

Record layout (CGMS 1.0.1 section 3.1; protocols.md 3.2), all little-endian:
``Size | Flags | Glucose SFLOAT mg/dL | Time Offset uint16 min | annunciation octets
(flags 0x20, 0x40, 0x80, in that order) | Trend SFLOAT (flag 0x01) | Quality SFLOAT
(flag 0x02) | E2E-CRC``. ``Size`` counts every octet of the record including itself
and the CRC. Nordic's parser rule: Size equal to the flag-implied length means no CRC,
two more means a CRC over the preceding octets; anything else is malformed. The CRC is
checked only when CGM Feature bit 12 says the server supports E2E-CRC (Silicon Labs'
example sends 0xFFFF there).
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers._core.errors import DecodeError
from drivers.ble.e2e_crc import append_crc, split_crc
from drivers.ble.reader import Reader, u16
from drivers.ble.sfloat import MedFloat, decode_sfloat, encode_sfloat, pack_sfloat

FLAG_TREND = 0x01
FLAG_QUALITY = 0x02
_OCTET_FLAGS = (0x20, 0x40, 0x80)  # annunciation octets for bits 0-7, 8-15, 16-23


@dataclass(frozen=True, slots=True)
class CgmMeasurement:
    """One CGM Measurement record, as sent."""

    time_offset_min: int
    glucose: MedFloat
    annunciation: int = 0
    trend: MedFloat | None = None
    quality: MedFloat | None = None


def _expected_size(flags: int) -> int:
    size = 6 + 2 * bool(flags & FLAG_TREND) + 2 * bool(flags & FLAG_QUALITY)
    return size + sum(1 for f in _OCTET_FLAGS if flags & f)


def decode_record(record: bytes, *, e2e: bool) -> CgmMeasurement:
    """Decode one record (``record[0]`` is its Size octet and equals ``len(record)``)."""
    if len(record) < 2:
        raise DecodeError("CGM Measurement record shorter than 2 octets", frame=record.hex())
    flags = record[1]
    expected = _expected_size(flags)
    if len(record) == expected + 2:
        record = split_crc(record, what="CGM Measurement", check=e2e)
    elif len(record) != expected:
        raise DecodeError(
            f"CGM Measurement size {len(record)} does not fit flags 0x{flags:02X}",
            frame=record.hex(),
        )
    elif e2e:
        raise DecodeError("CGM Measurement: E2E-CRC missing", frame=record.hex())
    reader = Reader(record[2:], "CGM Measurement")
    glucose = reader.sfloat("glucose")
    offset = reader.u16("time offset")
    annunciation = 0
    for shift, flag in enumerate(_OCTET_FLAGS):
        if flags & flag:
            annunciation |= reader.u8("annunciation") << (8 * shift)
    trend = reader.sfloat("trend") if flags & FLAG_TREND else None
    quality = reader.sfloat("quality") if flags & FLAG_QUALITY else None
    reader.end()
    return CgmMeasurement(offset, glucose, annunciation, trend, quality)


def decode_measurements(value: bytes, *, e2e: bool) -> list[CgmMeasurement]:
    """All records in one notification, walking by each record's Size octet."""
    out, pos = [], 0
    if not value:
        raise DecodeError("empty CGM Measurement notification")
    while pos < len(value):
        size = value[pos]
        if size < 6 or pos + size > len(value):
            raise DecodeError(
                f"CGM Measurement record size {size} at offset {pos}", frame=value.hex()
            )
        out.append(decode_record(value[pos : pos + size], e2e=e2e))
        pos += size
    return out


def encode_measurement(m: CgmMeasurement, *, e2e: bool) -> bytes:
    """One record as a server sends it (the simulator's writer)."""
    flags = 0
    body = u16(pack_sfloat(m.glucose)) + u16(m.time_offset_min)
    for shift, flag in enumerate(_OCTET_FLAGS):
        octet = (m.annunciation >> (8 * shift)) & 0xFF
        if octet:
            flags |= flag
            body += bytes((octet,))
    if m.trend is not None:
        flags |= FLAG_TREND
        body += u16(pack_sfloat(m.trend))
    if m.quality is not None:
        flags |= FLAG_QUALITY
        body += u16(pack_sfloat(m.quality))
    size = 2 + len(body) + (2 if e2e else 0)
    record = bytes((size, flags)) + body
    return append_crc(record) if e2e else record


def sfloat(value: float) -> MedFloat:
    """A number as the MedFloat an SFLOAT encoder would send (for building records)."""
    return decode_sfloat(encode_sfloat(value))
