"""Nightscout entries (``/api/v1/entries``): JSON items and headerless CSV/TSV rows.

JSON items carry ``type`` (``sgv``, ``mbg``, ``cal``), the value (``sgv``/``mbg``,
always mg/dL, a string in 2014 data), ``date`` (epoch ms, fractional from Loop),
``dateString`` and ``direction``. The text formats have no header: each row is
``dateString, date, sgv, direction, device``, JSON-stringified (strings quoted,
numbers bare, missing values empty), joined by ``,`` or a tab; 2014 servers wrote
the date string unquoted as ``07/19/2014 10:44:15 AM`` in local time.

Dexcom G4 reported errors as small glucose values (``5`` = sensor not calibrated, shown
with direction ``NOT COMPUTABLE``; cgm-remote-monitor ``lib/plugins/errorcodes.js``
names codes 1-12 and alarms on any value below 39). Values up to
:data:`ERROR_CODE_MAX` become flagged samples with ``glucose_mgdl=None`` and
``special="not-computable"``. Values from 13 up are readings: the real iAPS file has a
run of 43, 34, 32, 34, 38, 43 mg/dL with ``Flat`` trends, so "below 39 = error" would
turn real lows into errors; 39 and 401 are kept as numbers for the same reason.

The dedup key is Nightscout's own upsert key for entries, ``<type>:<date ms>``: the
same in the JSON and CSV outputs (the CSV has no ``_id``) and in any two overlapping
downloads.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from drivers._core.errors import FileFormatError
from drivers._core.records import GlucoseSample, GlucoseSpecial, make_device_id
from drivers.exports.nightscout import times
from drivers.exports.nightscout.jsondoc import number, text

GLUCOSE_MAX_MGDL = 1000.0
ERROR_CODE_MAX = 12.0
G4_ERRORS: dict[int, str] = {
    1: "sensor-not-active",
    2: "minimal-deviation",
    3: "no-antenna",
    5: "sensor-not-calibrated",
    6: "counts-deviation",
    9: "absolute-deviation",
    10: "power-deviation",
    12: "bad-rf",
}
"""Dexcom G4 special glucose values (cgm-remote-monitor ``lib/plugins/errorcodes.js``)."""
_NO_TREND = frozenset({"", "NONE"})


class EntryError(ValueError):
    """An entry that cannot become a record (skipped with this reason)."""


@dataclass(frozen=True, slots=True)
class Entry:
    """The fields of one entry, from JSON or from a text row."""

    kind: str
    value: Any
    date: Any
    date_string: str
    direction: str
    device: str
    utc_offset_min: Any = None
    trend_rate: Any = None


def from_json(item: Mapping[str, Any]) -> Entry:
    """An entries JSON object as an :class:`Entry`."""
    kind = text(item.get("type")) or ("sgv" if "sgv" in item else "")
    value = item.get("mbg") if kind == "mbg" else item.get("sgv")
    return Entry(
        kind=kind,
        value=value,
        date=item.get("date"),
        date_string=text(item.get("dateString")),
        direction=text(item.get("direction")),
        device=text(item.get("device")),
        utc_offset_min=item.get("utcOffset"),
        trend_rate=item.get("trendRate"),
    )


def rows(body: str, delimiter: str, *, file: str) -> Iterator[tuple[int, list[str]]]:
    """Non-empty rows of a headerless entries CSV/TSV with their 1-based lines."""
    reader = csv.reader(io.StringIO(body, newline=""), delimiter=delimiter, strict=True)
    start = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise FileFormatError(f"broken quoting: {exc}", file=file, line=start) from exc
        if any(c.strip() for c in cells):
            yield start, cells
        start = reader.line_num + 1


def from_row(cells: list[str]) -> Entry:
    """A text row ``dateString, date, sgv, direction, device`` as an :class:`Entry`."""
    if len(cells) < 3:
        raise EntryError(f"{len(cells)} field(s), expected dateString,date,sgv[,direction,device]")
    padded = [*cells, "", ""]
    return Entry(
        kind="sgv",
        value=cells[2].strip(),
        date=cells[1].strip(),
        date_string=cells[0].strip(),
        direction=padded[3].strip(),
        device=padded[4].strip(),
    )


def _stamp(entry: Entry) -> times.Stamp:
    try:
        return _read_stamp(entry)
    except times.TimeError as exc:
        raise EntryError(str(exc)) from None


def _read_stamp(entry: Entry) -> times.Stamp:
    ms = number(entry.date)
    if ms is None:
        if not entry.date_string:
            raise EntryError("no date and no dateString")
        return times.iso_stamp(entry.date_string, number(entry.utc_offset_min))
    utc = times.from_epoch_ms(ms)
    if not entry.date_string:
        return times.stamp(utc, None)
    if entry.date_string[:1].isdigit() and "/" in entry.date_string[:6]:
        local = times.parse_us(entry.date_string)
        return times.stamp(utc, times.offset_between(local, utc), local)
    wall, offset = times.parse_iso(entry.date_string)
    if offset == 0 or offset is None:
        stated = number(entry.utc_offset_min)
        offset = times.offset_from_minutes(stated) if stated else None
        return times.stamp(utc, offset, wall if offset is None else None)
    return times.stamp(utc, offset)


def _glucose(value: float) -> tuple[float | None, GlucoseSpecial | None, str | None]:
    """(mg/dL, special, annotation) for an sgv value; raises for impossible values."""
    if value <= 0 or value > GLUCOSE_MAX_MGDL:
        raise EntryError(f"glucose {value:g} mg/dL is impossible")
    if value <= ERROR_CODE_MAX:
        code = round(value)
        name = G4_ERRORS.get(code, "unknown")
        return None, "not-computable", f"cgm/dexcom-error-{code}-{name}"
    return value, None, None


def to_record(entry: Entry) -> GlucoseSample | None:
    """One entry as a glucose sample; None for types that hold no reading (``cal``)."""
    if entry.kind not in ("sgv", "mbg"):
        return None
    value = number(entry.value)
    if value is None:
        raise EntryError(f"{entry.kind} {str(entry.value)[:20]!r} is not a number")
    stamp = _stamp(entry)
    ms = number(entry.date)
    key_ms = int(ms) if ms is not None else int(stamp.time_utc.timestamp() * 1000)
    device_id = make_device_id("Nightscout", entry.device or "unknown", "unknown")
    notes = list(stamp.notes())
    if entry.kind == "mbg":
        if not 10 <= value <= GLUCOSE_MAX_MGDL:
            raise EntryError(f"mbg {value:g} mg/dL is impossible")
        return GlucoseSample(
            **stamp.fields(),
            device_id=device_id,
            source_index=f"mbg:{key_ms}",
            sample_type="smbg",
            glucose_mgdl=value,
            annotations=tuple(notes),
        )
    mgdl, special, note = _glucose(value)
    if note:
        notes.append(note)
    rate = number(entry.trend_rate)
    return GlucoseSample(
        **stamp.fields(),
        device_id=device_id,
        source_index=f"sgv:{key_ms}",
        sample_type="cgm",
        glucose_mgdl=mgdl,
        special=special,
        trend=None if entry.direction in _NO_TREND else entry.direction,
        trend_rate_mgdl_per_min=rate if rate is not None and abs(rate) < 100 else None,
        annotations=tuple(notes),
    )
