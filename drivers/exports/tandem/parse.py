"""Tandem CSV text -> preamble facts and sections of rows with their physical lines.

The t:connect export is a 5-line preamble (vendor, title, patient name, date of birth,
report date; Tandem Source has 6 metadata lines), then sections separated by blank
lines, each with its own header. Values are quoted, empty values bare, and data rows
end with a trailing comma (one more field than the header). The patient's name and
date of birth in the preamble are never read into anything, nor echoed in errors.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field

from drivers._core.errors import FileFormatError
from drivers.exports.tandem import columns as col

MAX_PREAMBLE_LINES = 12


@dataclass(slots=True)
class Section:
    """A header and the rows under it (``(line, cells)``, trailing empty cell dropped)."""

    header: col.Header
    line: int
    rows: list[tuple[int, list[str]]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Table:
    """The whole file: its flavour and sections, plus lines of unknown sections."""

    source: bool
    sections: list[Section]
    unknown: list[int]


def _records(text: str, file: str) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    start = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise FileFormatError(f"broken CSV quoting: {exc}", file=file, line=start) from exc
        yield start, cells
        start = reader.line_num + 1


def read_table(text: str, *, file: str) -> Table:
    """Split the file into sections by blank lines and recognise each by its header.

    Raises:
        FileFormatError: Broken quoting, or no known section header at all.
    """
    sections: list[Section] = []
    unknown: list[int] = []
    current: Section | None = None
    in_block = False
    head_lines: list[str] = []
    for line, cells in _records(text.lstrip("\ufeff"), file):
        if not any(c.strip() for c in cells):
            current, in_block = None, False
            continue
        if len(head_lines) < 3 and line <= MAX_PREAMBLE_LINES:
            head_lines.append(",".join(c.strip() for c in cells[:1]))
        if current is not None:
            if cells and cells[-1] == "" and len(cells) > len(current.header.index):
                cells = cells[:-1]
            current.rows.append((line, cells))
            continue
        header = col.classify(cells)
        if header is not None:
            current = Section(header, line)
            sections.append(current)
        elif not in_block and sections:
            unknown.append(line)
        in_block = True
    if not sections:
        raise FileFormatError(
            "no Tandem section header (DeviceType,...,EventDateTime / Type,...,BolusRequestID)",
            file=file,
            line=1,
        )
    source = not any(col.TCONNECT_TITLE in h for h in head_lines)
    return Table(source, sections, unknown)
