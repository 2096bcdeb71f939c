"""Dexcom Clarity CSV: the header and what each column holds.

Source: shared/reference/vendor-formats.md section 1 and the four real exports in
shared/fixtures/real/dexcom-clarity/ (firmware-notes/vendor-exports.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers._core.errors import FileFormatError

INDEX = "Index"
TIMESTAMP = "Timestamp (YYYY-MM-DDThh:mm:ss)"
EVENT_TYPE = "Event Type"
EVENT_SUBTYPE = "Event Subtype"
DEVICE_INFO = "Device Info"
SOURCE_DEVICE_ID = "Source Device ID"
INSULIN = "Insulin Value (u)"
CARBS = "Carb Value (grams)"
DURATION = "Duration (hh:mm:ss)"
TRANSMITTER_TIME = "Transmitter Time (Long Integer)"
TRANSMITTER_ID = "Transmitter ID"
GLUCOSE_PREFIX = "Glucose Value ("
RATE_PREFIX = "Glucose Rate of Change ("

REQUIRED = (INDEX, TIMESTAMP, EVENT_TYPE, EVENT_SUBTYPE, SOURCE_DEVICE_ID)

HIGH_LIMIT_MGDL = 400.0
"""Dexcom G4-G7 report readings above 400 mg/dL as "High" (Clarity user guide)."""
LOW_LIMIT_MGDL = 40.0
"""... and below 40 mg/dL as "Low"."""


@dataclass(frozen=True, slots=True)
class Columns:
    """Positions of the columns in this file's header, and the glucose unit."""

    index: dict[str, int]
    units: str  # "mg/dL" or "mmol/L"
    glucose: int
    rate: int | None

    def get(self, row: list[str], name: str) -> str:
        pos = self.index.get(name)
        return row[pos].strip() if pos is not None and pos < len(row) else ""


def is_header(cells: list[str]) -> bool:
    """True for Clarity's header row (English column names)."""
    names = {c.strip() for c in cells}
    return all(r in names for r in REQUIRED) and any(
        c.strip().startswith(GLUCOSE_PREFIX) for c in cells
    )


def parse_header(cells: list[str], *, file: str, line: int) -> Columns:
    """Map column names to positions; the unit comes from the glucose column's name."""
    index = {c.strip(): i for i, c in enumerate(cells)}
    glucose = [i for i, c in enumerate(cells) if c.strip().startswith(GLUCOSE_PREFIX)]
    if not glucose:
        raise FileFormatError("no glucose column in the header", file=file, line=line)
    unit_text = cells[glucose[0]].strip()[len(GLUCOSE_PREFIX) : -1].lower()
    if unit_text == "mg/dl":
        units = "mg/dL"
    elif unit_text == "mmol/l":
        units = "mmol/L"
    else:
        raise FileFormatError(
            f"unknown glucose unit {unit_text!r}", file=file, line=line, field=cells[glucose[0]]
        )
    rate = [i for i, c in enumerate(cells) if c.strip().startswith(RATE_PREFIX)]
    return Columns(index, units, glucose[0], rate[0] if rate else None)
