"""Split a LibreView CSV into preamble facts, header and data rows with line numbers.

The text is already decoded (BOM stripped or not: a leading ``\\ufeff`` is ignored).
The header is found by content, never by line number: the first line whose first cell
is a known device-column name (any supported language) or whose fifth cell carries a
glucose unit. Everything before it is preamble; only the title, the generation date and
the unit are kept from it -- never names or dates of birth (PRIVACY).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Literal

from drivers._core.errors import FileFormatError
from drivers.exports.libreview import columns as col

Units = Literal["mg/dL", "mmol/L"]

MAX_PREAMBLE_LINES = 10


@dataclass(frozen=True, slots=True)
class Row:
    """One CSV record: its 1-based first physical line and its fields."""

    line: int
    fields: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LibreTable:
    """A LibreView CSV split into its parts.

    Attributes:
        download: ``"patient"`` (1 preamble line), ``"clinic"`` (2 lines) or ``"unknown"``.
        generated_on: The preamble's "Generated on" cell (a date, no identity), or "".
        header_line: 1-based line of the header.
        units: Glucose unit of the Historic/Scan/Strip columns.
        rows: Data rows after the header, blank lines dropped.
    """

    download: str
    generated_on: str
    header_line: int
    units: Units
    rows: tuple[Row, ...]


DOUBLE_BOM = "\u00ef\u00bb\u00bf"
"""A UTF-8 BOM decoded as Latin-1 text: what a spreadsheet round-trip leaves behind."""


def strip_bom(text: str) -> str:
    """Drop a leading BOM, also a double-encoded one (``ï»¿``, possibly repeated)."""
    while True:
        if text.startswith("\ufeff"):
            text = text[1:]
        elif text.startswith(DOUBLE_BOM):
            text = text[len(DOUBLE_BOM) :]
        else:
            return text


def read_rows(text: str, *, delimiter: str, file: str) -> list[Row]:
    """Read delimited text into rows, keeping the physical line each record starts on.

    Quoted fields may span lines (LibreView notes), so the line number comes from the
    reader's own count, not from splitting the text.

    Raises:
        FileFormatError: The csv module rejects the text (NUL byte, field too large).
    """
    text = strip_bom(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    rows: list[Row] = []
    start = 1
    try:
        for fields in reader:
            rows.append(Row(start, tuple(fields)))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise FileFormatError(f"unreadable CSV: {exc}", file=file, line=start) from exc
    return rows


def _cell(fields: tuple[str, ...], index: int) -> str:
    return fields[index].strip() if index < len(fields) else ""


def units_of(fields: tuple[str, ...]) -> Units | None:
    """The glucose unit named in a header's Historic/Scan column, if any."""
    for index in (col.HISTORIC_GLUCOSE, col.SCAN_GLUCOSE, col.STRIP_GLUCOSE):
        text = _cell(fields, index).lower()
        if "mg/dl" in text:
            return "mg/dL"
        if "mmol/l" in text:
            return "mmol/L"
    return None


def is_header(fields: tuple[str, ...]) -> bool:
    """Whether a row is a LibreView header (by its first cell, or 19 cells with a unit)."""
    first = _cell(fields, col.DEVICE).lstrip("\ufeff").strip('"').lower()
    if first in col.DEVICE_HEADERS and len(fields) >= col.NOTES:
        return True
    return len(fields) >= col.N_COLUMNS - 1 and units_of(fields) is not None


def parse_table(text: str, *, file: str) -> LibreTable:
    """Split a decoded LibreView CSV into preamble facts, header and rows.

    Args:
        text: The whole file, decoded.
        file: Name used in error messages.

    Raises:
        FileFormatError: No header within the first lines, no unit in it, or no rows.
    """
    rows = read_rows(text, delimiter=",", file=file)
    header_at = next(
        (i for i, row in enumerate(rows[:MAX_PREAMBLE_LINES]) if is_header(row.fields)), None
    )
    if header_at is None:
        last = rows[min(len(rows), MAX_PREAMBLE_LINES) - 1].line if rows else 1
        raise FileFormatError("no LibreView header line found", file=file, line=last)
    header = rows[header_at]
    units = units_of(header.fields)
    if units is None:
        raise FileFormatError(
            "LibreView header names no glucose unit",
            file=file,
            line=header.line,
            field="Historic Glucose",
        )
    download, generated_on = "unknown", ""
    if header_at > 0:
        title = _cell(rows[0].fields, 0).lstrip("\ufeff").lower()
        download = col.PREAMBLE_TITLES.get(title, "unknown")
        generated_on = _cell(rows[0].fields, 2)
    data = tuple(r for r in rows[header_at + 1 :] if any(f.strip() for f in r.fields))
    if not data:
        raise FileFormatError(
            "LibreView file has a header but no data rows", file=file, line=header.line + 1
        )
    expected = min(len(header.fields), col.N_COLUMNS)
    if len(data[-1].fields) < expected - 1:
        raise FileFormatError(
            f"truncated: last row has {len(data[-1].fields)} of {expected} fields",
            file=file,
            line=data[-1].line,
        )
    return LibreTable(download, generated_on, header.line, units, data)


def sniff(text: str) -> bool:
    """Whether decoded text looks like a LibreView CSV (header within the first lines).

    >>> sniff("Glucose Data,Generated on,x,Generated by,y\\nDevice,Serial Number,Device Timestamp")
    True
    """
    head = "\n".join(strip_bom(text).splitlines()[:MAX_PREAMBLE_LINES])
    for line in head.splitlines():
        cells = [c.strip().strip('"').lower() for c in line.split(",")]
        if len(cells) >= 3 and cells[0] in col.DEVICE_HEADERS and cells[2] in col.TIMESTAMP_HEADERS:
            return True
    return False
