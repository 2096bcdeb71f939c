"""Nightscout times: epoch milliseconds, ISO strings with an offset, 2014 US strings.

Nightscout (and Tidepool) state the UTC instant of every item, unlike vendor CSVs.
The rule used by both importers (firmware-notes/exports-nightscout.md, "Time"):

* ``time_utc`` is the stated instant and ``time_reason`` is
  :data:`drivers._core.timebase.SOURCE_UTC`, so the gateway's time base keeps it;
* ``utc_offset_s`` is filled only when the file states the local offset (an ISO
  string with a non-``Z`` offset, a non-zero ``utcOffset`` field, a legacy local
  ``dateString`` beside the epoch); otherwise it stays ``None`` with the annotation
  ``time/utc-offset-unknown`` (iAPS writes ``Z`` and ``utcOffset: 0`` for a Moscow user);
* ``device_time`` is the local time as given: UTC + offset when the offset is known,
  else the wall-clock time written in the file (UTC for a ``Z`` string);
* every such record is annotated ``time/source-utc``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from drivers._core.timebase import SOURCE_UTC

STATED = "time/source-utc"
OFFSET_UNKNOWN = "time/utc-offset-unknown"
MAX_OFFSET_S = 14 * 3600
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)

_ISO = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?"
    r"\s*(Z|[+-]\d{2}(?::?\d{2})?)?$"
)
_US = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4}) (\d{1,2}):(\d{2}):(\d{2})(?: ?([AaPp])[Mm])?$")


class TimeError(ValueError):
    """A timestamp that cannot be read (the item is skipped with this reason)."""


@dataclass(frozen=True, slots=True)
class Stamp:
    """Record time fields, ready to pass to a record constructor with ``**stamp.fields()``."""

    device_time: datetime
    time_utc: datetime
    utc_offset_s: int | None

    def fields(self) -> dict[str, Any]:
        """``device_time``, ``time_utc``, ``utc_offset_s``, ``time_reason``."""
        return {
            "device_time": self.device_time,
            "time_utc": self.time_utc,
            "utc_offset_s": self.utc_offset_s,
            "time_reason": SOURCE_UTC,
        }

    def notes(self) -> tuple[str, ...]:
        """``time/source-utc`` and, without a stated offset, ``time/utc-offset-unknown``."""
        return (STATED,) if self.utc_offset_s is not None else (STATED, OFFSET_UNKNOWN)


def parse_iso(value: str) -> tuple[datetime, int | None]:
    """``2014-07-19T10:49:15.000-07:00`` -> (naive wall time, offset in s or None).

    ``Z`` gives offset 0 (UTC stated, local offset not); no suffix gives None.

    >>> parse_iso("2014-07-19T10:49:15.000-07:00")
    (datetime.datetime(2014, 7, 19, 10, 49, 15), -25200)
    """
    m = _ISO.match(value.strip())
    if m is None:
        raise TimeError(f"timestamp {value[:40]!r} is not ISO 8601")
    y, mo, d, hh, mi, ss, frac, zone = m.groups()
    try:
        wall = datetime(int(y), int(mo), int(d), int(hh), int(mi), int(ss or 0))
    except ValueError:
        raise TimeError(f"timestamp {value[:40]!r} is not a real date") from None
    if frac:
        wall += timedelta(microseconds=int(frac[:6].ljust(6, "0")))
    if zone is None:
        return wall, None
    if zone == "Z":
        return wall, 0
    digits = zone[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + (int(digits[2:4]) if len(digits) >= 4 else 0)
    offset = (-1 if zone[0] == "-" else 1) * minutes * 60
    if abs(offset) > MAX_OFFSET_S:
        raise TimeError(f"timestamp {value[:40]!r} has an impossible UTC offset")
    return wall, offset


def parse_us(value: str) -> datetime:
    """The 2014 ``entries.txt`` date string ``07/19/2014 10:44:15 AM`` (naive local)."""
    m = _US.match(value.strip())
    if m is None:
        raise TimeError(f"date string {value[:40]!r} is not MM/DD/YYYY hh:mm:ss AM")
    mo, d, y, hh, mi, ss, ampm = m.groups()
    hour = int(hh)
    if ampm:
        if not 1 <= hour <= 12:
            raise TimeError(f"date string {value[:40]!r} has hour {hour} with AM/PM")
        hour = hour % 12 + (12 if ampm.lower() == "p" else 0)
    try:
        return datetime(int(y), int(mo), int(d), hour, int(mi), int(ss))
    except ValueError:
        raise TimeError(f"date string {value[:40]!r} is not a real date") from None


def from_epoch_ms(ms: float) -> datetime:
    """Epoch milliseconds (Loop writes fractional ones) -> aware UTC, whole microseconds."""
    try:
        value = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=round(ms * 1000))
    except (OverflowError, ValueError):
        raise TimeError(f"epoch {ms!r} ms is out of range") from None
    return _plausible(value)


def _plausible(value: datetime) -> datetime:
    if not EARLIEST <= value < LATEST:
        raise TimeError(f"time {value.isoformat()} is outside 1990-2100")
    return value


def stamp(utc: datetime, offset_s: int | None, written: datetime | None = None) -> Stamp:
    """Build the time fields from a UTC instant and the offset the file states.

    Args:
        utc: The stated instant (aware).
        offset_s: Local minus UTC in seconds when the file states it, else None.
        written: The naive wall time as written in the file (used as ``device_time``
            when the offset is unknown); defaults to the UTC wall time.
    """
    utc = _plausible(utc.astimezone(UTC))
    if offset_s is not None:
        local = utc.replace(tzinfo=None) + timedelta(seconds=offset_s)
        return Stamp(local, utc, offset_s)
    naive = written if written is not None else utc.replace(tzinfo=None)
    return Stamp(naive, utc, None)


def iso_stamp(
    value: str, utc_offset_min: float | None = None, *, zero_states: bool = False
) -> Stamp:
    """Time fields from one ISO string (treatments' ``created_at``, Tidepool ``time``).

    ``utc_offset_min`` (Nightscout ``utcOffset``, Tidepool ``timezoneOffset``) states the
    local offset when the string itself is ``Z``; a zero counts as stated only with
    ``zero_states`` (Tidepool computes it; iAPS writes 0 whatever the zone).
    """
    wall, offset = parse_iso(value)
    if offset is None:
        raise TimeError(f"timestamp {value[:40]!r} has no UTC offset")
    utc = (wall - timedelta(seconds=offset)).replace(tzinfo=UTC)
    stated = offset if offset != 0 else None
    if stated is None and utc_offset_min is not None and (utc_offset_min != 0 or zero_states):
        stated = offset_from_minutes(utc_offset_min)
    return stamp(utc, stated, wall)


def offset_from_minutes(minutes: float) -> int:
    """A ``utcOffset``/``timezoneOffset`` in minutes as seconds, range-checked."""
    seconds = round(minutes * 60)
    if abs(seconds) > MAX_OFFSET_S:
        raise TimeError(f"UTC offset {minutes!r} min is impossible")
    return seconds


def offset_between(local: datetime, utc: datetime) -> int | None:
    """Local wall time minus UTC, when it is a whole quarter hour within +-14 h."""
    seconds = round((local - utc.replace(tzinfo=None)).total_seconds())
    if abs(seconds) <= MAX_OFFSET_S and seconds % 900 == 0:
        return seconds
    return None
