"""Date Time (0x2A08), Time Zone (0x2A0E) and DST Offset (0x2A0D) characteristics.

Layouts from the GATT Specification Supplement (see shared/reference/protocols.md
section 3.6): Date Time is ``year uint16 | month | day | hours | minutes | seconds``
with 0 meaning "not known" for year, month and day; Time Zone is a sint8 count of
15-minute steps (-48..+56, -128 unknown); DST Offset is a uint8 count of 15-minute steps
from the set {0, 2, 4, 8} (255 unknown). Local time = UTC + zone + DST.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from drivers._core.errors import DecodeError
from drivers.ble.reader import Reader, u16

DATE_TIME_LEN = 7
TZ_UNKNOWN = -128
DST_UNKNOWN = 255
_DST_STEPS = frozenset({0, 2, 4, 8})


def read_date_time(reader: Reader, field: str = "date time") -> datetime | None:
    """Read 7 octets of Date Time; None when year, month or day is 0 ("not known").

    >>> read_date_time(Reader(bytes.fromhex("E807030F081E00"), "x"))
    datetime.datetime(2024, 3, 15, 8, 30)
    """
    year = reader.u16(field)
    month, day, hour, minute, second = reader.take(5, field)
    if year == 0 or month == 0 or day == 0:
        return None
    try:
        return datetime(year, month, day, hour, minute, second)
    except ValueError as exc:
        raise DecodeError(f"{reader.what}: invalid {field}: {exc}", field=field) from exc


def encode_date_time(value: datetime | None) -> bytes:
    """Encode a naive date-time (None -> all zeros, "not known")."""
    if value is None:
        return bytes(DATE_TIME_LEN)
    return u16(value.year) + bytes((value.month, value.day, value.hour, value.minute, value.second))


def read_time_zone(reader: Reader) -> int | None:
    """Time Zone as minutes east of UTC (None when unknown)."""
    raw = reader.sint(1, "time zone")
    if raw == TZ_UNKNOWN:
        return None
    if not -48 <= raw <= 56:
        raise DecodeError(f"{reader.what}: time zone {raw} outside -48..56", field="time zone")
    return raw * 15


def encode_time_zone(minutes: int | None) -> bytes:
    """Encode minutes east of UTC as 15-minute steps (None -> -128, unknown)."""
    steps = TZ_UNKNOWN if minutes is None else minutes // 15
    return steps.to_bytes(1, "little", signed=True)


def read_dst_offset(reader: Reader) -> int | None:
    """DST Offset as minutes (0, 30, 60, 120), None when unknown."""
    raw = reader.u8("DST offset")
    if raw == DST_UNKNOWN:
        return None
    if raw not in _DST_STEPS:
        raise DecodeError(f"{reader.what}: DST offset {raw} is reserved", field="DST offset")
    return raw * 15


def encode_dst_offset(minutes: int | None) -> bytes:
    """Encode DST minutes (None -> 255, unknown)."""
    return bytes((DST_UNKNOWN if minutes is None else minutes // 15,))


@dataclass(frozen=True, slots=True)
class ZonedLocalTime:
    """A local date-time with its zone and DST offsets (CGM Session Start Time, IDS
    Reference Time). ``local`` None = the device's clock was never set."""

    local: datetime | None
    tz_minutes: int | None
    dst_minutes: int | None

    @property
    def utc_offset_s(self) -> int | None:
        """Seconds to add to UTC for local time; None if the zone is unknown."""
        if self.tz_minutes is None:
            return None
        return (self.tz_minutes + (self.dst_minutes or 0)) * 60

    def to_utc(self, local: datetime) -> datetime | None:
        """UTC instant of a local time on this clock (None if the zone is unknown)."""
        offset = self.utc_offset_s
        if offset is None:
            return None
        return (local - timedelta(seconds=offset)).replace(tzinfo=UTC)


def read_zoned(reader: Reader) -> ZonedLocalTime:
    """Date Time + Time Zone + DST Offset (9 octets)."""
    local = read_date_time(reader)
    return ZonedLocalTime(local, read_time_zone(reader), read_dst_offset(reader))


def encode_zoned(value: ZonedLocalTime) -> bytes:
    """Inverse of :func:`read_zoned`."""
    return (
        encode_date_time(value.local)
        + encode_time_zone(value.tz_minutes)
        + encode_dst_offset(value.dst_minutes)
    )
