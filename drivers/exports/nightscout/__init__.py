"""Nightscout API output: entries (JSON, CSV, TSV), treatments (JSON), profiles (JSON).

What a Nightscout site serves at ``/api/v1/entries.json`` (``.csv``, ``.tsv``,
``.txt``), ``/api/v1/treatments.json`` and ``/api/v1/profile.json``, saved to a file.
One entry point reads all of them; the kind is told from the content:

* ``nightscout-entries-json`` -- array of ``{type: "sgv"|"mbg"|..., sgv, date, dateString,
  direction, ...}``, newest first; 2014 data has ``sgv`` as a string and Dexcom G4
  error codes as values (kept as flagged samples, never as glucose);
* ``nightscout-entries-csv`` / ``nightscout-entries-tsv`` -- no header, rows
  ``"dateString",date,sgv,"direction","device"``; CRLF, no final newline;
* ``nightscout-treatments-json`` -- ``eventType`` items (boluses, SMBs, temp basals,
  carbs, site/insulin/sensor changes ...);
* ``nightscout-profile-json`` -- profile documents -> settings snapshots.

Nightscout states UTC: records carry ``time_utc`` and ``time_reason="source-utc"`` (the
gateway's time base keeps them), ``utc_offset_s`` when the file states the offset,
and ``device_time`` = the local time as given (see :mod:`.times`). Details and sources:
``firmware-notes/exports-nightscout.md``.

Entry points: :func:`sniff` and :func:`parse` (decoded text -> :class:`Parsed`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from typing import Any

from drivers._core.errors import FileFormatError
from drivers._core.records import Record
from drivers.exports.detect import Parsed, Skipped
from drivers.exports.nightscout import entries, profile, treatments
from drivers.exports.nightscout.finish import Done, count, finish, not_imported
from drivers.exports.nightscout.jsondoc import Item, load_items, text

FORMAT_ENTRIES_JSON = "nightscout-entries-json"
FORMAT_ENTRIES_CSV = "nightscout-entries-csv"
FORMAT_ENTRIES_TSV = "nightscout-entries-tsv"
FORMAT_TREATMENTS = "nightscout-treatments-json"
FORMAT_PROFILE = "nightscout-profile-json"
FORMATS = (
    FORMAT_ENTRIES_JSON,
    FORMAT_ENTRIES_CSV,
    FORMAT_ENTRIES_TSV,
    FORMAT_TREATMENTS,
    FORMAT_PROFILE,
)

_TEXT_ROW = re.compile(
    r'^"?(\d{4}-\d{2}-\d{2}T[^",\t]*|\d{1,2}/\d{1,2}/\d{4} [^",\t]*)"?([,\t])\d{9,14}(\.\d+)?[,\t]'
)
_ENTRY_KEYS = ('"sgv"', '"mbg"')
_TREATMENT_KEYS = ('"eventType"',)
_PROFILE_KEYS = ('"defaultProfile"', '"store"')


def _json_kind(head: str) -> str | None:
    if all(k in head for k in _PROFILE_KEYS):
        return "profile"
    if all(k in head for k in _TREATMENT_KEYS) and '"created_at"' in head:
        return "treatments"
    if any(k in head for k in _ENTRY_KEYS) and '"date' in head:
        return "entries"
    return None


def sniff(text: str) -> bool:
    """Whether decoded text is Nightscout entries/treatments/profile output."""
    head = text[:20000].lstrip("\ufeff \t\r\n")
    if head[:1] in ("[", "{"):
        return _json_kind(head) is not None
    first = head.split("\n", 1)[0]
    return _TEXT_ROW.match(first) is not None


def parse(text: str, name: str) -> Parsed:
    """Read one Nightscout file into records (oldest first) and skipped items.

    Args:
        text: The decoded file.
        name: File name for errors.

    Raises:
        FileFormatError: Invalid or truncated JSON, a text file whose first row is not
            ``dateString,date,sgv,...``, a JSON document that is not an array of
            Nightscout items.
    """
    body = text.lstrip("\ufeff")
    stripped = body.lstrip(" \t\r\n")
    if stripped[:1] in ("[", "{"):
        return _parse_json(load_items(body, file=name), name)
    return _parse_text(body, name)


def _classify(value: Any) -> str | None:
    if not isinstance(value, Mapping):
        return None
    if "store" in value and ("defaultProfile" in value or "startDate" in value):
        return "profile"
    if "eventType" in value:
        return "treatments"
    if "sgv" in value or "mbg" in value or ("type" in value and "date" in value):
        return "entries"
    return None


def _parse_json(items: list[Item], name: str) -> Parsed:
    kinds = Counter(k for k in (_classify(i.value) for i in items) if k is not None)
    if items and not kinds:
        raise FileFormatError(
            "JSON holds no Nightscout entries, treatments or profiles",
            file=name,
            line=items[0].line,
        )
    kind = kinds.most_common(1)[0][0] if kinds else "entries"
    done: list[Done] = []
    skipped: list[Skipped] = []
    other: dict[str, tuple[int, int]] = {}
    units = "mg/dL"
    for item in items:
        label = f"item {item.index}"
        value = item.value
        if _classify(value) != kind or not isinstance(value, Mapping):
            skipped.append(Skipped(item.line, f"{label}: not a Nightscout {kind} item"))
            continue
        try:
            for rec in _one(kind, value, other, item.line):
                done.append(Done(item.line, label, rec))
        except (entries.EntryError, treatments.TreatmentError, profile.ProfileError) as exc:
            skipped.append(Skipped(item.line, f"{label}: {exc}"))
        if kind == "profile" and text(value.get("units")).lower().startswith("mmol"):
            units = "mmol/L"
    records, dups = finish(done)
    skipped += dups + not_imported(other, "eventType" if kind == "treatments" else "type")
    skipped.sort(key=lambda s: s.line)
    fmt = {"entries": FORMAT_ENTRIES_JSON, "treatments": FORMAT_TREATMENTS}.get(
        kind, FORMAT_PROFILE
    )
    return Parsed(
        format=fmt,
        device=_device(records),
        units_in_file=units,  # type: ignore[arg-type]
        records=records,
        skipped=skipped,
    )


def _one(
    kind: str, value: Mapping[str, Any], other: dict[str, tuple[int, int]], line: int
) -> list[Record]:
    if kind == "profile":
        return [profile.to_snapshot(value)]
    if kind == "treatments":
        got = treatments.to_records(value)
        if got is None:
            count(other, text(value.get("eventType")) or "(none)", line)
            return []
        return got
    rec = entries.to_record(entries.from_json(value))
    if rec is None:
        count(other, text(value.get("type")) or "(none)", line)
        return []
    return [rec]


def _parse_text(body: str, name: str) -> Parsed:
    lines = body.splitlines()
    first_no = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first_no is None:
        raise FileFormatError("empty file: no Nightscout entries", file=name, line=1)
    m = _TEXT_ROW.match(lines[first_no])
    if m is None:
        raise FileFormatError(
            "not Nightscout entries text: the first row is not dateString,date,sgv,...",
            file=name,
            line=first_no + 1,
        )
    delimiter = m.group(2)
    done: list[Done] = []
    skipped: list[Skipped] = []
    for line, cells in entries.rows(body, delimiter, file=name):
        label = f"line {line}"
        try:
            rec = entries.to_record(entries.from_row(cells))
        except entries.EntryError as exc:
            skipped.append(Skipped(line, f"{label}: {exc}"))
            continue
        if rec is not None:
            done.append(Done(line, label, rec))
    records, dups = finish(done)
    skipped = sorted(skipped + dups, key=lambda s: s.line)
    return Parsed(
        format=FORMAT_ENTRIES_TSV if delimiter == "\t" else FORMAT_ENTRIES_CSV,
        device=_device(records),
        units_in_file="mg/dL",
        records=records,
        skipped=skipped,
        delimiter=delimiter,
    )


def _device(records: list[Record]) -> str:
    """``Nightscout (<uploader>)`` from the most common device id's model part."""
    models = Counter(r.device_id.split(":")[1] for r in records if r.device_id.count(":") >= 2)
    top = models.most_common(1)[0][0] if models else "unknown"
    return f"Nightscout ({top})"


__all__ = ["FORMATS", "parse", "sniff"]
