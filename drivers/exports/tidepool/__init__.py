"""Tidepool export JSON (``TidepoolExport.json`` from the web app, or API output).

A JSON array of data items, grouped by type and newest first: ``cbg``, ``smbg``,
``bolus`` (normal, square, dual/square), ``basal`` (scheduled, temp, suspend,
automated), ``wizard`` (merged into its bolus's calculation), ``deviceEvent`` (alarm,
reservoirChange, prime, status, timeChange with from/to), ``pumpSettings`` (whole or
split into ``pumpSettings.*`` rows) -> settings snapshots, ``food``. Types without a
record kind (``dosingDecision``, ``pumpSettingsOverride``, ``upload``, ``cgmSettings``
...) are listed once per type in ``skipped``.

Tidepool states UTC (``time``) and the offset (``timezoneOffset``): records carry
``time_utc``, ``utc_offset_s`` and ``time_reason="source-utc"`` (the time base keeps
them); ``device_time`` is ``deviceTime`` when the export has it. Layout, quirks and
sources: ``firmware-notes/exports-tidepool.md``.

Entry points: :func:`sniff` and :func:`parse` (decoded text -> :class:`Parsed`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from drivers._core.errors import FileFormatError
from drivers._core.records import Bolus, GlucoseSample, Record
from drivers.exports.detect import Parsed, Skipped
from drivers.exports.nightscout.finish import Done, count, finish, not_imported
from drivers.exports.nightscout.jsondoc import load_items, text
from drivers.exports.tidepool import settings
from drivers.exports.tidepool.fields import ItemError
from drivers.exports.tidepool.normalize import to_record

FORMAT = "tidepool-export-json"
_TYPES = ('"cbg"', '"smbg"', '"basal"', '"bolus"', '"deviceEvent"', '"pumpSettings', '"wizard"')


def sniff(text: str) -> bool:
    """Whether decoded text is a Tidepool export (JSON items with ``type``, ``time``
    and ``uploadId``)."""
    head = text[:20000].lstrip("\ufeff \t\r\n")
    return (
        head[:1] in ("[", "{")
        and '"uploadId"' in head
        and '"time"' in head
        and any(t in head for t in _TYPES)
    )


def parse(text_: str, name: str) -> Parsed:
    """Read a Tidepool export into records (oldest first) and skipped items.

    Args:
        text_: The decoded file.
        name: File name for errors.

    Raises:
        FileFormatError: Invalid or truncated JSON (line named), or JSON that holds no
            Tidepool items.
    """
    items = load_items(text_.lstrip("\ufeff"), file=name)
    if items and not any(isinstance(i.value, Mapping) and "type" in i.value for i in items):
        raise FileFormatError("JSON holds no Tidepool data items", file=name, line=items[0].line)
    done: list[Done] = []
    skipped: list[Skipped] = []
    other: dict[str, tuple[int, int]] = {}
    drafts: dict[str, Any] = {}
    wizards: list[tuple[str, Mapping[str, Any]]] = []
    wizard_lines: dict[str, int] = {}
    for item in items:
        label = f"item {item.index}"
        value = item.value
        if not isinstance(value, Mapping):
            skipped.append(Skipped(item.line, f"{label}: not an object"))
            continue
        kind = text(value.get("type"))
        try:
            if kind == "wizard":
                wizards.append((label, value))
                wizard_lines[label] = item.line
                continue
            if kind.startswith("pumpSettings"):
                if not text(value.get("id")):
                    raise ItemError("no id")
                settings.add_row(drafts, value, item.line)
                continue
            rec = to_record(value)
        except ItemError as exc:
            skipped.append(Skipped(item.line, f"{label}: {exc}"))
            continue
        if rec is None:
            sub = text(value.get("subType")) or text(value.get("deliveryType"))
            count(other, f"{kind}/{sub}" if sub else kind or "(none)", item.line)
            continue
        done.append(Done(item.line, label, rec))
    done += _settings(drafts, skipped)
    done = _with_wizards(done, wizards, wizard_lines, skipped)
    records, dups = finish(done)
    skipped = sorted(skipped + dups + not_imported(other, "type"), key=lambda s: s.line)
    return Parsed(
        format=FORMAT,
        device=_device(records),
        units_in_file=_units(items),  # type: ignore[arg-type]
        records=records,
        skipped=skipped,
    )


def _settings(drafts: dict[str, Any], skipped: list[Skipped]) -> list[Done]:
    out: list[Done] = []
    for ident, draft in drafts.items():
        try:
            for line, snap in settings.snapshots({ident: draft}):
                out.append(Done(line, f"pumpSettings {ident[:12]}", snap))
        except ItemError as exc:
            skipped.append(Skipped(draft.line, f"pumpSettings: {exc}"))
    return out


def _with_wizards(
    done: list[Done],
    wizards: list[tuple[str, Mapping[str, Any]]],
    lines: dict[str, int],
    skipped: list[Skipped],
) -> list[Done]:
    if not wizards:
        return done
    boluses = {d.record.source_index: d.record for d in done if isinstance(d.record, Bolus)}
    merged, missing = settings.merge_wizards(boluses, wizards)
    for label in missing:
        skipped.append(Skipped(lines[label], f"{label}: wizard whose bolus is not in the file"))
    return [
        Done(d.line, d.label, merged[d.record.source_index]) if isinstance(d.record, Bolus) else d
        for d in done
    ]


def _units(items: list[Any]) -> str:
    units = [
        text(i.value.get("units"))
        for i in items
        if isinstance(i.value, Mapping) and text(i.value.get("type")) in ("cbg", "smbg")
    ]
    return "mmol/L" if units and all(u.lower().startswith("mmol") for u in units) else "mg/dL"


def _device(records: list[Record]) -> str:
    pumps = Counter(
        ":".join(r.device_id.split(":")[:2])
        for r in records
        if not isinstance(r, GlucoseSample) and not r.device_id.startswith("tidepool:")
    )
    top = pumps.most_common(1)[0][0] if pumps else "unknown"
    return f"Tidepool ({top})"


__all__ = ["FORMAT", "parse", "sniff"]
