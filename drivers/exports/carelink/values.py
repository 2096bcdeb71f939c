"""CareLink cell values: numbers in either decimal mark, timestamps, durations, glucose.

Every helper raises :class:`RowSkipped` with a reason (never personal data) when a
cell cannot be used, so the normalizer can report the row's line and move on.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, time, timedelta

from drivers._core.units import mmoll_to_mgdl
from drivers.exports.carelink import columns as col
from drivers.exports.carelink.parse import CLRow
from drivers.exports.libreview.normalize import RowSkipped
from drivers.exports.libreview.values import (
    GLUCOSE_PLAUSIBLE_MGDL,
    INSULIN_MAX_U,
    parse_number,
    parse_stamp,
)

__all__ = [
    "RowSkipped",
    "RowTimes",
    "duration_s",
    "glucose",
    "insulin",
    "number",
    "row_time",
    "to_mgdl",
]


def number(text: str, *, what: str, low: float = 0.0, high: float = 1e9) -> float | None:
    """A numeric cell (``0,6`` or ``0.6``); ``None`` when empty.

    Raises:
        RowSkipped: The cell is not a number or lies outside ``[low, high]``.
    """
    cell = text.strip()
    if not cell or cell.lower() == "null":
        return None
    value = parse_number(cell)
    if value is None:
        raise RowSkipped(f"{what} is not a number")
    if not low <= value <= high:
        raise RowSkipped(f"impossible {what} {cell}")
    return value


def insulin(text: str, *, what: str) -> float | None:
    """An insulin amount in units, 0-250 U."""
    return number(text, what=what, high=INSULIN_MAX_U)


def to_mgdl(value: float, units: str) -> float:
    """A glucose value in the file's unit, in mg/dL (2 decimals)."""
    return round(mmoll_to_mgdl(value) if units == "mmol/L" else value, 2)


def glucose(text: str, *, units: str, what: str) -> float | None:
    """A glucose cell in mg/dL, range-checked; ``None`` when empty.

    Raises:
        RowSkipped: Not a number or outside the plausible range (0, 2000 mg/dL ...).
    """
    value = number(text, what=what, low=-1e9)
    if value is None:
        return None
    mgdl = to_mgdl(value, units)
    low, high = GLUCOSE_PLAUSIBLE_MGDL
    if not low <= mgdl <= high:
        raise RowSkipped(f"impossible {what} {text.strip()} {units}")
    return mgdl


def duration_s(text: str) -> int | None:
    """``h:mm:ss`` (or ``hh:mm:ss``) as seconds; ``None`` when empty or malformed."""
    parts = text.strip().split(":")
    if len(parts) != 3 or not all(p.isascii() and p.isdigit() and len(p) < 10 for p in parts):
        return None
    h, m, s = (int(p) for p in parts)
    return h * 3600 + m * 60 + s


def row_time(row: CLRow, *, day_first: bool) -> datetime:
    """The row's device time from ``Date`` + ``Time`` (or ``Timestamp``).

    Raises:
        RowSkipped: No parsable timestamp.
    """
    date, time = row.get(col.DATE), row.get(col.TIME)
    text = f"{date} {time}" if date and time else row.get(col.TIMESTAMP)
    when = parse_stamp(text, day_first=day_first)
    if when is None:
        raise RowSkipped("unparsable timestamp")
    return when


_DATE_ONLY = re.compile(r"^(\d{1,4})[-/.](\d{1,2})[-/.](\d{1,4})$")
_TIME_ONLY = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
_NO_SHAPE = object()
"""Cache value for a Date or Time cell of another shape (``parse_stamp`` decides)."""


class RowTimes:
    """:func:`row_time` for the rows of one file, with each distinct Date and Time cell
    parsed once (a 90-day export has 26 000 rows but some 90 dates and 288 times).

    A Date cell ``N-N-N`` (``-``, ``/`` or ``.``) and a Time cell ``H:MM[:SS]`` are
    exactly what :func:`~drivers.exports.libreview.values.parse_stamp` reads from
    ``"<date> <time>"`` (same groups, no AM/PM), so their parts are combined here;
    any other shape goes to ``parse_stamp`` whole, as in :func:`row_time`.
    """

    def __init__(self, *, day_first: bool) -> None:
        self.day_first = day_first
        self._dates: dict[str, object] = {}
        self._times: dict[str, object] = {}

    def _date(self, text: str) -> object:
        m = _DATE_ONLY.match(text)
        if m is None:
            return _NO_SHAPE
        a, b, c = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if a > 31 or a >= 1000:  # parse_stamp's rules
            year, month, day = a, b, c
        else:
            day, month = (a, b) if self.day_first else (b, a)
            year = c + 2000 if c < 100 else c
        try:
            return datetime(year, month, day)  # midnight: plus the time cell's timedelta
        except ValueError:
            return None

    @staticmethod
    def _time(text: str) -> object:
        m = _TIME_ONLY.match(text)
        if m is None:
            return _NO_SHAPE
        try:
            clock = time(int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))
        except ValueError:
            return None
        # as a timedelta: midnight + it is datetime.combine(day, clock), one C add
        return timedelta(hours=clock.hour, minutes=clock.minute, seconds=clock.second)

    def reader(self, header: tuple[str, ...]) -> Callable[[CLRow], datetime]:
        """``row_time(row, day_first=...)`` for rows under ``header``.

        Raises (from the returned function):
            RowSkipped: No parsable timestamp.
        """
        names = (col.DATE, col.TIME, col.TIMESTAMP)
        if any(header.count(name) > 1 for name in names):  # cells: the last one wins

            def by_name(row: CLRow) -> datetime:
                return row_time(row, day_first=self.day_first)

            return by_name
        date_at, time_at = (header.index(n) if n in header else None for n in names[:2])
        dates, times, day_first = self._dates, self._times, self.day_first

        def by_position(row: CLRow) -> datetime:
            fields = row.fields
            n = len(fields)
            day = fields[date_at].strip() if date_at is not None and date_at < n else ""
            clock = fields[time_at].strip() if time_at is not None and time_at < n else ""
            if not (day and clock):
                return row_time(row, day_first=day_first)
            d = dates.get(day)
            if d is None and day not in dates:
                d = dates[day] = self._date(day)
            t = times.get(clock)
            if t is None and clock not in times:
                t = times[clock] = self._time(clock)
            if d is _NO_SHAPE or t is _NO_SHAPE:
                when = parse_stamp(f"{day} {clock}", day_first=day_first)
            elif d is None or t is None:  # a date or time out of range
                when = None
            else:
                when = d + t  # type: ignore[operator]  # datetime + timedelta here
            if when is None:
                raise RowSkipped("unparsable timestamp")
            return when

        return by_position
