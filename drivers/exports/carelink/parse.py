"""Split a CareLink export into layout, sections, headers and rows with line numbers.

Four layouts, told apart by their first lines (:func:`detect_layout`):

* ``modern`` -- 600-series/770G/780G pump exports (EU ``;`` + decimal comma, or US
  ``,``): a preamble starting ``Last Name``, then sections, each opened by a marker
  line ``-------;<model>;<Pump|Sensor>;<serial>;<------- | Aggregated Auto Insulin
  Data>`` and its own ``Index;Date;Time;...`` header;
* ``guardian`` -- Guardian Connect: the same shape with a 48-column header;
* ``classic`` -- CareLink Personal 2008-2018: ``Data Range`` line, one 39-column header
  with ``Raw-Type``/``Raw-Values``/``Raw-ID`` ...;
* ``ipro2`` -- iPro2 professional CGM: UTF-16LE (decoded before this point),
  tab-separated, an 11-line preamble and a 17-column header.

Only the marker lines and headers are read from the preamble: names, dates of birth and
patient ids in the first lines are never looked at (PRIVACY).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from drivers._core.errors import FileFormatError
from drivers.exports.carelink import columns as col
from drivers.exports.libreview.parse import read_rows, strip_bom

Layout = Literal["modern", "guardian", "classic", "ipro2"]
SectionKind = Literal["pump", "auto", "sensor", "table"]

MAX_PREAMBLE_LINES = 16


@dataclass(frozen=True, slots=True)
class CLRow:
    """One data row: 1-based physical line, section kind, cells by canonical name."""

    line: int
    section: SectionKind
    cells: dict[str, str]

    def get(self, key: str) -> str:
        """The stripped cell, "" when absent."""
        return self.cells.get(key, "").strip()


@dataclass(slots=True)
class Section:
    """One section: its kind, the device named by its marker, header line and rows."""

    kind: SectionKind
    model: str
    serial: str
    header_line: int = 0
    header: tuple[str, ...] = ()
    rows: list[CLRow] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CareLinkTable:
    """A CareLink file split into its parts (no preamble identity kept)."""

    layout: Layout
    delimiter: str
    units: col.Units
    sections: tuple[Section, ...]


def _first_line(text: str) -> str:
    return strip_bom(text).split("\n", 1)[0].strip("\r")


def detect_layout(text: str) -> Layout | None:
    """Which CareLink layout decoded text is, or ``None``.

    >>> detect_layout("Data Range,3/13/14 00:00:00,to,3/15/14 22:36:32\\nIndex,Date")
    'classic'
    """
    first = _first_line(text)
    low = first.lower()
    if low.startswith("medtronic diabetes ipro"):
        return "ipro2"
    if low.startswith("data range"):
        return "classic"
    if low.startswith("last name") and ("patient id" in low or "first name" in low):
        return "guardian" if "guardian connect" in low else "modern"
    return None


def _sniff_delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (";", "\t", ",")}
    return max(counts, key=lambda d: counts[d])


def _marker(fields: tuple[str, ...]) -> Section | None:
    if not fields or not fields[0].strip().startswith("-------"):
        return None
    cells = [f.strip() for f in fields] + ["", "", "", ""]
    model, what, serial, tail = cells[1], cells[2].lower(), cells[3], cells[4].lower()
    kind: SectionKind = "sensor" if what == "sensor" else "pump"
    if tail == col.AUTO_INSULIN_MARKER:
        kind = "auto"
    return Section(kind, model, serial)


def _is_header(fields: tuple[str, ...]) -> bool:
    return len(fields) > 3 and fields[0].strip().lstrip("\ufeff").lower() == "index"


def parse_table(text: str, *, file: str) -> CareLinkTable:
    """Split a decoded CareLink export into sections of rows keyed by canonical column.

    Raises:
        FileFormatError: Not a CareLink layout, no header, or no data rows.
    """
    layout = detect_layout(text)
    if layout is None:
        raise FileFormatError(
            "not a Medtronic CareLink export (first line unknown)", file=file, line=1
        )
    delimiter = "\t" if layout == "ipro2" else _sniff_delimiter(_first_line(text))
    if layout == "classic":
        delimiter = ","
    rows = read_rows(text, delimiter=delimiter, file=file)
    sections: list[Section] = []
    current: Section | None = None
    units: col.Units | None = None
    for row in rows:
        fields = row.fields
        if not any(f.strip() for f in fields):
            continue
        marker = _marker(fields)
        if marker is not None:
            current = marker
            sections.append(current)
            continue
        if _is_header(fields):
            if current is None or current.header:
                current = Section("table" if layout in ("classic", "ipro2") else "pump", "", "")
                sections.append(current)
            current.header = tuple(col.canonical(f) for f in fields)
            current.header_line = row.line
            units = units or col.glucose_unit(fields)
            continue
        if current is None or not current.header:
            if row.line > MAX_PREAMBLE_LINES and not sections:
                break
            continue  # preamble: never read
        if row is rows[-1] and len(fields) < len(current.header) - 1:
            raise FileFormatError(
                f"truncated: last row has {len(fields)} of {len(current.header)} fields",
                file=file,
                line=row.line,
            )
        cells = dict(zip(current.header, fields, strict=False))
        current.rows.append(CLRow(row.line, current.kind, cells))
    if not any(s.header for s in sections):
        last = rows[-1].line if rows else 1
        raise FileFormatError(
            "no CareLink header line (Index, Date, ...) found", file=file, line=last
        )
    if not any(s.rows for s in sections):
        header_line = max(s.header_line for s in sections)
        raise FileFormatError(
            "CareLink file has headers but no data rows", file=file, line=header_line + 1
        )
    return CareLinkTable(layout, delimiter, units or "mg/dL", tuple(sections))
