"""Current Time Service (0x1805): the Current Time characteristic (0x2A2B).

Layout (GATT Specification Supplement, "Exact Time 256"; the same fields as Nordic's
``ble_cts_c`` collector): ``Date Time (7) | Day of Week uint8 (1 = Monday, 0 unknown) |
Fractions256 uint8 | Adjust Reason uint8`` = 10 octets. The value is the device's local
wall clock as the user sees it, with no zone (Local Time Information 0x2A0F would carry
one; meters rarely have it). A meter's clock is set by hand and drifts, so the collector
reads it once per upload and pairs it with the host's clock (``ClockPair``): the time
base then corrects every reading (DESIGN.md section 3).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from drivers._core.errors import DecodeError
from drivers.ble.date_time import encode_date_time, read_date_time
from drivers.ble.reader import Reader
from drivers.ble.uuids import uuid16

CURRENT_TIME_SERVICE = uuid16(0x1805)
CURRENT_TIME = uuid16(0x2A2B)
CURRENT_TIME_LEN = 10
ADJUST_MANUAL = 0x01
"""Adjust Reason bit 0: the time was set by hand (bits 1-3: reference update, time
zone change, DST change)."""


@dataclass(frozen=True, slots=True)
class CurrentTime:
    """A Current Time value: local wall time (None if the date is not known)."""

    local: datetime | None
    day_of_week: int
    fractions256: int
    adjust_reason: int

    @property
    def exact(self) -> datetime | None:
        """``local`` with the 1/256 s fraction as microseconds."""
        if self.local is None:
            return None
        return self.local.replace(microsecond=self.fractions256 * 1_000_000 // 256)


def decode_current_time(value: bytes) -> CurrentTime:
    """10 octets of Current Time.

    >>> decode_current_time(bytes.fromhex("E807030F081E0005 80 01")).exact
    datetime.datetime(2024, 3, 15, 8, 30, 0, 500000)
    """
    if len(value) != CURRENT_TIME_LEN:
        raise DecodeError(f"Current Time is {len(value)} octets, not 10", frame=value.hex())
    r = Reader(value, "Current Time")
    local = read_date_time(r, "current time")
    day, fractions, reason = r.u8("day of week"), r.u8("fractions256"), r.u8("adjust reason")
    if day > 7:
        raise DecodeError(f"Current Time: day of week {day} outside 0..7", field="day of week")
    return CurrentTime(local, day, fractions, reason)


def encode_current_time(local: datetime, adjust_reason: int = 0) -> bytes:
    """Inverse of :func:`decode_current_time` (the server's side)."""
    fractions = local.microsecond * 256 // 1_000_000
    return encode_date_time(local) + bytes((local.isoweekday(), fractions, adjust_reason))
