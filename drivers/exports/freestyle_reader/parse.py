"""Find the header of a reader-software TXT and split it into rows with line numbers."""

from __future__ import annotations

from dataclasses import dataclass

from drivers._core.errors import FileFormatError
from drivers.exports.freestyle_reader import columns as col
from drivers.exports.libreview.parse import Row, Units, read_rows, strip_bom


@dataclass(frozen=True, slots=True)
class ReaderTable:
    """A reader TXT split into header facts and data rows (preamble text is dropped)."""

    header_line: int
    units: Units
    language: str
    rows: tuple[Row, ...]


def is_header(fields: tuple[str, ...]) -> bool:
    """Whether a row is the reader TXT header: ``ID``, a time column, 17+ columns."""
    if len(fields) < col.MIN_COLUMNS:
        return False
    first = fields[0].strip().lstrip("\ufeff").lower()
    return first == "id" and fields[1].strip().lower() in col.TIME_HEADERS


def _units(fields: tuple[str, ...]) -> Units | None:
    for cell in fields[3:5]:
        text = cell.lower()
        if "mg/dl" in text:
            return "mg/dL"
        if "mmol/l" in text:
            return "mmol/L"
    return None


def parse_table(text: str, *, file: str) -> ReaderTable:
    """Split a decoded reader TXT into header facts and data rows.

    Raises:
        FileFormatError: No header in the first lines, no unit, or no data rows.
    """
    rows = read_rows(text, delimiter="\t", file=file)
    head = rows[: col.MAX_PREAMBLE_LINES]
    at = next((i for i, r in enumerate(head) if is_header(r.fields)), None)
    if at is None:
        raise FileFormatError(
            "no FreeStyle reader header line found", file=file, line=head[-1].line if head else 1
        )
    header = rows[at]
    units = _units(header.fields)
    if units is None:
        raise FileFormatError(
            "reader header names no glucose unit",
            file=file,
            line=header.line,
            field=header.fields[3],
        )
    language = "es" if header.fields[1].strip().lower() == "hora" else "en"
    data = tuple(r for r in rows[at + 1 :] if any(f.strip() for f in r.fields))
    if not data:
        raise FileFormatError(
            "reader file has a header but no rows", file=file, line=header.line + 1
        )
    if len(data[-1].fields) < len(header.fields) - 2:
        raise FileFormatError(
            f"truncated: last row has {len(data[-1].fields)} of {len(header.fields)} fields",
            file=file,
            line=data[-1].line,
        )
    return ReaderTable(header.line, units, language, data)


def sniff(text: str) -> bool:
    """Whether decoded text is a FreeStyle Libre reader-software TXT export.

    >>> sniff("ID\\tTime\\tRecord Type\\t" + "\\t".join("x" * 16))
    True
    """
    for line in strip_bom(text).splitlines()[: col.MAX_PREAMBLE_LINES]:
        if is_header(tuple(line.split("\t"))):
            return True
    return False
