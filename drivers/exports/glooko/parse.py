"""One Glooko CSV -> header and rows with their physical lines.

Line 1 is metadata (``Name:<first last>,Date Range:<from> - <to>``, or ``Medical
Record Number: ...``), line 2 the header; the header is found by content within the
first :data:`HEADER_SEARCH_LINES` lines, so a missing or doubled metadata line does not
matter. The metadata line holds the patient's name: it is never read into anything.
The delimiter is sniffed from the header line (``,``; tab in some tools' copies).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from drivers._core.errors import FileFormatError
from drivers.exports.glooko.columns import Header, classify
from drivers.transports.files import sniff_delimiter

HEADER_SEARCH_LINES = 5


def _records(text: str, delimiter: str, file: str) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
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


def find_header(text: str) -> tuple[int, Header, str] | None:
    """(line, header, delimiter) of a Glooko CSV, or None."""
    for number, line in enumerate(text.splitlines()[:HEADER_SEARCH_LINES], start=1):
        delimiter = sniff_delimiter(line)
        try:
            cells = next(csv.reader([line], delimiter=delimiter))
        except (csv.Error, StopIteration):
            continue
        header = classify(cells)
        if header is not None:
            return number, header, delimiter
    return None


def read_csv(text: str, *, file: str) -> tuple[Header, str, list[tuple[int, list[str]]]]:
    """The header, delimiter and non-empty data rows of one Glooko CSV.

    Raises:
        FileFormatError: No Glooko header in the first lines, or broken quoting.
    """
    body = text.lstrip("\ufeff")
    found = find_header(body)
    if found is None:
        raise FileFormatError(
            "no Glooko header (Timestamp, ...) in the first lines", file=file, line=1
        )
    header_line, header, delimiter = found
    rows = [
        (line, cells)
        for line, cells in _records(body, delimiter, file)
        if line > header_line and any(c.strip() for c in cells)
    ]
    return header, delimiter, rows
