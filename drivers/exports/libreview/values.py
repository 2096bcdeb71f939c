"""Cell values in Abbott exports: numbers with either decimal mark, local timestamps.

Shared by the LibreView CSV and the FreeStyle Libre reader-software TXT importers.
Pure functions: text in, value (or ``None`` for "not this shape") out.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Final

_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)$")
_STAMP = re.compile(
    r"^(\d{1,4})[-/.](\d{1,2})[-/.](\d{1,4})[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?"
    r"\s*([AaPp])?\.?\s*[Mm]?\.?$"
)

GLUCOSE_PLAUSIBLE_MGDL: Final = (10.0, 1000.0)
"""Glucose outside this range cannot be a reading (0, 2000 mg/dL, mmol/L values in a
mg/dL column ...): such a row is skipped with a reason. Meters read 20-600 mg/dL and
sensors 40-500, so the range only catches corrupt or mislabelled values."""

INSULIN_MAX_U: Final = 250.0
CARBS_MAX_G: Final = 2000.0


def parse_number(text: str) -> float | None:
    """Parse ``"5.2"``, ``"5,2"``, ``"120"``; ``None`` if the cell is not a plain number.

    >>> parse_number("5,2"), parse_number(" 120 "), parse_number("HI")
    (5.2, 120.0, None)
    """
    cell = text.strip()
    if not _NUMBER.match(cell):
        return None
    value = float(cell.replace(",", "."))
    return value if math.isfinite(value) else None  # 309+ digits overflow to inf


def number_key(text: str) -> str:
    """Canonical text of a number cell for dedup keys: decimal point, no spaces."""
    return text.strip().replace(",", ".")


def split_stamp(text: str) -> tuple[int, int, int, int, int, int, str | None] | None:
    """Split a timestamp into its numeric parts, or ``None`` if it has no known shape.

    Returns ``(a, b, c, hour, minute, second, ampm)`` where ``a``/``b``/``c`` are the
    three date fields in file order and ``ampm`` is ``"a"``, ``"p"`` or ``None``.
    """
    m = _STAMP.match(text.strip())
    if m is None:
        return None
    a, b, c, hh, mm, ss, ampm = m.groups()
    return (
        int(a),
        int(b),
        int(c),
        int(hh),
        int(mm),
        int(ss or 0),
        ampm.lower() if ampm else None,
    )


def infer_day_first(stamps: Iterable[str], *, default: bool) -> bool:
    """Decide per file whether ``NN-NN-YYYY`` dates are day-first (EU) or month-first.

    Evidence, in order: a first field above 12 (day-first) or a second field above 12
    (month-first) in any timestamp; an AM/PM marker (LibreView prints 12-hour clocks
    only with US month-first dates); otherwise ``default``.
    """
    saw_ampm = False
    for stamp in stamps:
        parts = split_stamp(stamp)
        if parts is None:
            continue
        a, b, _c, _h, _m, _s, ampm = parts
        if a > 31:  # year first: no evidence either way
            continue
        if a > 12 >= b:
            return True
        if b > 12 >= a:
            return False
        saw_ampm = saw_ampm or ampm is not None
    return False if saw_ampm else default


def parse_stamp(text: str, *, day_first: bool) -> datetime | None:
    """Parse a LibreView/reader timestamp into a naive datetime, ``None`` if impossible.

    Accepts ``MM-DD-YYYY hh:mm AM``, ``DD-MM-YYYY HH:MM``, ``YYYY/MM/DD HH:MM``,
    ``M/D/YY HH:MM`` (spreadsheet re-save), with or without seconds.

    >>> parse_stamp("05-30-2021 04:59 PM", day_first=False)
    datetime.datetime(2021, 5, 30, 16, 59)
    >>> parse_stamp("13-02-2024 12:51", day_first=True)
    datetime.datetime(2024, 2, 13, 12, 51)
    """
    parts = split_stamp(text)
    if parts is None:
        return None
    a, b, c, hour, minute, second, ampm = parts
    if a > 31 or a >= 1000:
        year, month, day = a, b, c
    else:
        day, month = (a, b) if day_first else (b, a)
        year = c + 2000 if c < 100 else c
    if ampm is not None:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ampm == "p" else 0)
    try:
        return datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None
