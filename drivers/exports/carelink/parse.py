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

import csv
import io
from dataclasses import dataclass, field
from typing import Literal

from drivers._core.errors import FileFormatError
from drivers.exports.carelink import columns as col
from drivers.exports.libreview.parse import strip_bom

Layout = Literal["modern", "guardian", "classic", "ipro2"]
SectionKind = Literal["pump", "auto", "sensor", "table"]

MAX_PREAMBLE_LINES = 16


class CLRow:
    """One data row: 1-based physical line, section kind, cells by canonical name.

    The row keeps its fields and its section's header; ``cells`` (the header names
    zipped with the fields) is built on first use, since most rows of a long export
    are read by position only (see :mod:`.normalize`).
    """

    __slots__ = ("_cells", "fields", "header", "line", "section")

    def __init__(
        self, line: int, section: SectionKind, fields: tuple[str, ...], header: tuple[str, ...]
    ) -> None:
        self.line = line
        self.section = section
        self.fields = fields
        self.header = header
        self._cells: dict[str, str] | None = None

    @property
    def cells(self) -> dict[str, str]:
        """Cells by canonical column name (a name repeated in the header: the last)."""
        cells = self._cells
        if cells is None:
            cells = self._cells = dict(zip(self.header, self.fields, strict=False))
        return cells

    def get(self, key: str) -> str:
        """The stripped cell, "" when absent."""
        cells = self._cells  # :attr:`cells` without the property call (20 per pump row)
        if cells is None:
            cells = self._cells = dict(zip(self.header, self.fields, strict=False))
        return cells.get(key, "").strip()

    def content(self) -> tuple[str, ...]:
        """The stripped cells in column-name order, without the index: what two rows
        must share to be the same row written twice."""
        return tuple(v.strip() for k, v in sorted(self.cells.items()) if k != col.INDEX)

    def __repr__(self) -> str:
        return f"CLRow(line={self.line}, section={self.section!r})"


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


def _read_rows(text: str, *, delimiter: str, file: str) -> list[tuple[int, tuple[str, ...]]]:
    """:func:`drivers.exports.libreview.parse.read_rows` as ``(line, fields)`` pairs:
    the same reader, the same line numbers and errors, no object per row."""
    text = strip_bom(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    rows: list[tuple[int, tuple[str, ...]]] = []
    start = 1
    try:
        for fields in reader:
            rows.append((start, tuple(fields)))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise FileFormatError(f"unreadable CSV: {exc}", file=file, line=start) from exc
    return rows


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
    rows = _read_rows(text, delimiter=delimiter, file=file)
    sections: list[Section] = []
    current: Section | None = None
    units: col.Units | None = None
    last_row = len(rows) - 1
    for i, (line, fields) in enumerate(rows):
        first = fields[0].strip() if fields else ""
        if not first and not any(f.strip() for f in fields):
            continue
        marker = _marker(fields) if first.startswith("-------") else None
        if marker is not None:
            current = marker
            sections.append(current)
            continue
        if len(fields) > 3 and first.lstrip("\ufeff").lower() == "index":  # a header line
            if current is None or current.header:
                current = Section("table" if layout in ("classic", "ipro2") else "pump", "", "")
                sections.append(current)
            current.header = tuple(col.canonical(f) for f in fields)
            current.header_line = line
            units = units or col.glucose_unit(fields)
            continue
        if current is None or not current.header:
            if line > MAX_PREAMBLE_LINES and not sections:
                break
            continue  # preamble: never read
        if i == last_row and len(fields) < len(current.header) - 1:
            raise FileFormatError(
                f"truncated: last row has {len(fields)} of {len(current.header)} fields",
                file=file,
                line=line,
            )
        current.rows.append(CLRow(line, current.kind, fields, current.header))
    if not any(s.header for s in sections):
        last = rows[-1][0] if rows else 1
        raise FileFormatError(
            "no CareLink header line (Index, Date, ...) found", file=file, line=last
        )
    if not any(s.rows for s in sections):
        header_line = max(s.header_line for s in sections)
        raise FileFormatError(
            "CareLink file has headers but no data rows", file=file, line=header_line + 1
        )
    return CareLinkTable(layout, delimiter, units or "mg/dL", tuple(sections))
