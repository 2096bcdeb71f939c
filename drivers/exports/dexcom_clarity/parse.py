"""Dexcom Clarity CSV text -> typed rows with their physical line numbers.

Handles quoted and unquoted exports, LF and CRLF, no final newline, metadata rows
with an empty timestamp, and the 13-field rows of the Android/iOS exports under a
14-field header (the trailing Transmitter ID is simply absent). Names and dates of
birth in the metadata rows are never read into anything.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from drivers._core.errors import FileFormatError
from drivers.exports.dexcom_clarity import columns as col

HEADER_SEARCH_LINES = 50
METADATA_TYPES = frozenset({"FirstName", "LastName", "DateOfBirth", "Device", "Alert", "Sensor"})


@dataclass(frozen=True, slots=True)
class Row:
    """One data row (it has a timestamp), with the cells the normalizer needs."""

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


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """CSV records with the physical line each one starts on (1-based)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=",", strict=False)
    start = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise FileFormatError(f"broken CSV quoting: {exc}", line=start) from exc
        yield start, cells
        start = reader.line_num + 1


def read_rows(text: str, *, file: str) -> tuple[Header, list[Row | RowProblem]]:
    """Find the header by content, then read every row after it."""
    header: col.Columns | None = None
    device_info = ""
    source_device = ""
    rows: list[Row | RowProblem] = []
    try:
        for line, cells in _records(text):
            if header is None:
                if col.is_header(cells):
                    header = col.parse_header(cells, file=file, line=line)
                elif line > HEADER_SEARCH_LINES:
                    break
                continue
            if not any(c.strip() for c in cells):
                continue
            stamp = header.get(cells, col.TIMESTAMP)
            event = header.get(cells, col.EVENT_TYPE)
            if not stamp:
                if event == "Device" and not device_info:
                    device_info = header.get(cells, col.DEVICE_INFO)
                    source_device = header.get(cells, col.SOURCE_DEVICE_ID)
                elif event not in METADATA_TYPES:
                    rows.append(RowProblem(line, f"row without a timestamp ({event or 'empty'})"))
                continue
            try:
                timestamp = parse_timestamp(stamp)
            except ValueError:
                rows.append(RowProblem(line, f"Timestamp {stamp!r} is not YYYY-MM-DDThh:mm:ss"))
                continue
            rows.append(
                Row(
                    line=line,
                    timestamp=timestamp,
                    event_type=event,
                    subtype=header.get(cells, col.EVENT_SUBTYPE),
                    source_device=header.get(cells, col.SOURCE_DEVICE_ID),
                    glucose=cells[header.glucose].strip() if header.glucose < len(cells) else "",
                    rate=(
                        cells[header.rate].strip()
                        if header.rate is not None and header.rate < len(cells)
                        else ""
                    ),
                    insulin=header.get(cells, col.INSULIN),
                    carbs=header.get(cells, col.CARBS),
                    duration=header.get(cells, col.DURATION),
                    transmitter_time=header.get(cells, col.TRANSMITTER_TIME),
                    transmitter_id=header.get(cells, col.TRANSMITTER_ID),
                )
            )
    except FileFormatError as exc:
        raise FileFormatError(exc.message, file=file, line=exc.context.get("line")) from exc
    if header is None:
        raise FileFormatError(
            "no Dexcom Clarity header found (Index, Timestamp, Event Type, ...)", file=file, line=1
        )
    return Header(header, device_info, source_device), rows
