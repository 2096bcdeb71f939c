"""Dexcom Clarity CSV text -> typed rows with their physical line numbers.

Handles quoted and unquoted exports, LF and CRLF, no final newline, metadata rows
with an empty timestamp, and the 13-field rows of the Android/iOS exports under a
14-field header (the trailing Transmitter ID is simply absent). Names and dates of
birth in the metadata rows are never read into anything.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import NamedTuple, cast

from drivers._core.errors import FileFormatError
from drivers.exports.dexcom_clarity import columns as col

HEADER_SEARCH_LINES = 50
METADATA_TYPES = frozenset({"FirstName", "LastName", "DateOfBirth", "Device", "Alert", "Sensor"})


class Row(NamedTuple):
    """One data row (it has a timestamp), with the cells the normalizer needs.

    A named tuple rather than a frozen dataclass: a 90-day export has 26 000 rows and
    a tuple is built in one step."""

    line: int
    timestamp: datetime
    event_type: str
    subtype: str
    source_device: str
    glucose: str
    rate: str
    insulin: str
    carbs: str
    duration: str
    transmitter_time: str
    transmitter_id: str


@dataclass(frozen=True, slots=True)
class RowProblem:
    """A data row that cannot be read, and why."""

    line: int
    reason: str


@dataclass(frozen=True, slots=True)
class Header:
    columns: col.Columns
    device_info: str
    source_device: str


def parse_timestamp(text: str) -> datetime:
    """``2019-10-14T16:42:37`` (or with a space instead of ``T``), naive local time."""
    text = text.strip()
    if len(text) != 19 or text[10] not in "T ":
        raise ValueError(text)
    value = datetime.fromisoformat(text)
    if value.tzinfo is not None:
        raise ValueError(text)
    return value


_DATA_FIELDS = (
    col.EVENT_SUBTYPE,
    col.SOURCE_DEVICE_ID,
    None,  # glucose: by position (its name carries the unit)
    None,  # rate of change: likewise
    col.INSULIN,
    col.CARBS,
    col.DURATION,
    col.TRANSMITTER_TIME,
    col.TRANSMITTER_ID,
)
"""The cells of :class:`Row` after line, timestamp and event type, in field order."""


def _cell_getter(header: col.Columns) -> tuple[int, Callable[[list[str]], tuple[str, ...]]]:
    """How to read a data row's cells in one step: pad the row to ``width`` cells with
    ``""`` (a missing trailing cell reads as ``""``, as :meth:`.Columns.get` has it),
    the last of them always padding; the getter then returns timestamp, event type and
    the :data:`_DATA_FIELDS`, a column the header lacks read from the last cell."""
    positions: list[int | None] = [
        header.index.get(col.TIMESTAMP),
        header.index.get(col.EVENT_TYPE),
    ]
    for name in _DATA_FIELDS:
        positions.append(header.index.get(name) if name is not None else None)
    positions[4] = header.glucose
    positions[5] = header.rate
    width = max(p for p in positions if p is not None) + 1
    getter = itemgetter(*(-1 if p is None else p for p in positions))
    return width, cast(Callable[[list[str]], tuple[str, ...]], getter)


def read_rows(text: str, *, file: str) -> tuple[Header, list[Row | RowProblem]]:
    """Find the header by content, then read every row after it."""
    header: col.Columns | None = None
    device_info = ""
    source_device = ""
    rows: list[Row | RowProblem] = []
    width = 0
    cells_of: Callable[[list[str]], tuple[str, ...]] | None = None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=",", strict=False)
    next_line = 1  # the physical line the next CSV record starts on
    fromisoformat = datetime.fromisoformat
    try:
        try:
            for cells in reader:
                line = next_line
                next_line = reader.line_num + 1
                if header is None:
                    if col.is_header(cells):
                        header = col.parse_header(cells, file=file, line=line)
                        width, cells_of = _cell_getter(header)
                    elif line > HEADER_SEARCH_LINES:
                        break
                    continue
                if not (cells and cells[0].strip()) and not any(c.strip() for c in cells):
                    continue
                if len(cells) < width:
                    cells += [""] * (width - len(cells))
                cells.append("")
                assert cells_of is not None
                stamp, event, *data = map(str.strip, cells_of(cells))
                if not stamp:
                    if event == "Device" and not device_info:
                        device_info = header.get(cells, col.DEVICE_INFO)
                        source_device = header.get(cells, col.SOURCE_DEVICE_ID)
                    elif event not in METADATA_TYPES:
                        rows.append(
                            RowProblem(line, f"row without a timestamp ({event or 'empty'})")
                        )
                    continue
                try:  # parse_timestamp(), inlined
                    if len(stamp) != 19 or stamp[10] not in "T ":
                        raise ValueError(stamp)
                    timestamp = fromisoformat(stamp)
                    if timestamp.tzinfo is not None:
                        raise ValueError(stamp)
                except ValueError:
                    rows.append(RowProblem(line, f"Timestamp {stamp!r} is not YYYY-MM-DDThh:mm:ss"))
                    continue
                rows.append(Row(line, timestamp, event, *data))
        except csv.Error as exc:
            raise FileFormatError(f"broken CSV quoting: {exc}", line=next_line) from exc
    except FileFormatError as exc:
        raise FileFormatError(exc.message, file=file, line=exc.context.get("line")) from exc
    if header is None:
        raise FileFormatError(
            "no Dexcom Clarity header found (Index, Timestamp, Event Type, ...)", file=file, line=1
        )
    return Header(header, device_info, source_device), rows
