"""CareLink cell values: numbers in either decimal mark, timestamps, durations, glucose.

Every helper raises :class:`RowSkipped` with a reason (never personal data) when a
cell cannot be used, so the normalizer can report the row's line and move on.
"""

from __future__ import annotations

from datetime import datetime

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
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
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
