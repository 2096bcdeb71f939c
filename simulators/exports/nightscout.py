"""Write Nightscout API output (entries JSON/CSV/TSV, treatments, profiles) from records.

Shapes as cgm-remote-monitor serves them (firmware-notes/exports-nightscout.md):
entries newest first with ``_id``, ``type``, ``sgv``, ``date`` (epoch ms), ``dateString``
(ISO with the offset, or ``Z``), ``direction``, ``device``, ``utcOffset``; the text
outputs have no header, fields ``dateString,date,sgv,direction,device`` JSON-quoted,
rows joined by CRLF without a final newline. Records need ``time_utc``; the offset
written is ``utc_offset_s`` (``Z`` and ``utcOffset: 0`` when unknown, as iAPS does).
Flagged samples are written the way a Dexcom G4 uploader did: the error code from the
``cgm/dexcom-error-<code>-...`` annotation (else 5, "sensor not calibrated").
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from drivers._core.records import (
    BasalSegment,
    Bolus,
    DeviceEvent,
    Food,
    GlucoseSample,
    Record,
    SettingsSnapshot,
)
from drivers._core.units import mgdl_to_mmoll

_EVENT_NAMES = {
    "site-change": "Site Change",
    "reservoir-change": "Insulin Change",
    "sensor-start": "Sensor Start",
    "sensor-stop": "Sensor Stop",
    "battery": "Pump Battery Change",
}


def _utc(rec: Record) -> datetime:
    if rec.time_utc is None:
        raise ValueError(f"record {rec.source_index} has no time_utc; Nightscout needs UTC")
    return rec.time_utc.astimezone(UTC)


def _ms(rec: Record) -> int:
    return round((_utc(rec) - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds() * 1000)


def _iso(rec: Record, *, millis: bool = True) -> str:
    utc = _utc(rec)
    offset = rec.utc_offset_s
    if offset is None or offset == 0:
        text = utc.replace(tzinfo=None).isoformat(timespec="milliseconds")
        return text + "Z" if millis else text[:19] + "Z"
    local = utc.replace(tzinfo=None) + timedelta(seconds=offset)
    sign = "-" if offset < 0 else "+"
    hh, mm = divmod(abs(offset) // 60, 60)
    return f"{local.isoformat(timespec='milliseconds')}{sign}{hh:02d}:{mm:02d}"


def _sgv(rec: GlucoseSample) -> float:
    if rec.glucose_mgdl is not None:
        return rec.glucose_mgdl
    for note in rec.annotations:
        if note.startswith("cgm/dexcom-error-"):
            return int(note.split("-")[2])
    return 5


def _device(rec: Record) -> str:
    model = rec.device_id.split(":")[1] if rec.device_id.count(":") >= 2 else ""
    return "" if model == "unknown" else model


def _newest_first(records: Sequence[Record]) -> list[Record]:
    return sorted(records, key=_utc, reverse=True)


def _num(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def write_entries_json(records: Sequence[Record], *, legacy_strings: bool = False) -> bytes:
    """``/api/v1/entries.json`` (pretty-printed like the iAPS sample); ``legacy_strings``
    writes ``sgv`` as a string, as 2014 servers did."""
    out: list[dict[str, Any]] = []
    for rec in _newest_first([r for r in records if isinstance(r, GlucoseSample)]):
        assert isinstance(rec, GlucoseSample)
        kind = "mbg" if rec.sample_type == "smbg" else "sgv"
        value = _num(_sgv(rec))
        item: dict[str, Any] = {
            "_id": f"{_ms(rec):x}",
            "type": kind,
            kind: str(value) if legacy_strings else value,
            "date": _ms(rec),
            "dateString": _iso(rec),
            "utcOffset": (rec.utc_offset_s or 0) // 60,
        }
        if kind == "sgv" and rec.trend:
            item["direction"] = rec.trend
        if _device(rec):
            item["device"] = _device(rec)
        out.append(item)
    return json.dumps(out, indent=2).encode()


def write_entries_text(records: Sequence[Record], *, delimiter: str = ",") -> bytes:
    """``/api/v1/entries.csv`` (or ``.tsv`` with a tab): no header, CRLF, no final newline."""
    lines = []
    for rec in _newest_first([r for r in records if isinstance(r, GlucoseSample)]):
        assert isinstance(rec, GlucoseSample)
        fields = [
            json.dumps(_iso(rec)),
            str(_ms(rec)),
            str(_num(_sgv(rec))),
            json.dumps(rec.trend) if rec.trend else "",
            json.dumps(_device(rec)) if _device(rec) else "",
        ]
        lines.append(delimiter.join(fields))
    return "\r\n".join(lines).encode()


def _treatment(rec: Record) -> dict[str, Any] | None:
    item: dict[str, Any] = {"_id": rec.source_index, "created_at": _iso(rec)}
    item["utcOffset"] = (rec.utc_offset_s or 0) // 60
    who = _device(rec)
    if who:
        item["enteredBy"] = who
    if isinstance(rec, Bolus):
        smb = "bolus/smb" in rec.annotations
        item.update(eventType="SMB" if smb else "Bolus", insulin=_num(rec.delivered_u))
        if rec.programmed_u != rec.delivered_u:
            item["programmed"] = _num(rec.programmed_u)
        return item
    if isinstance(rec, BasalSegment):
        item.update(
            eventType="Temp Basal", absolute=_num(rec.rate_u_per_h), rate=_num(rec.rate_u_per_h)
        )
        if rec.duration_s is not None:
            item["duration"] = _num(rec.duration_s / 60)
        if rec.percent is not None:
            item["percent"] = _num(rec.percent)
        return item
    if isinstance(rec, Food) and rec.carbs_g:
        item.update(eventType="Carb Correction", carbs=_num(rec.carbs_g))
        return item
    if isinstance(rec, DeviceEvent) and rec.event_type in _EVENT_NAMES:
        item["eventType"] = _EVENT_NAMES[rec.event_type]
        if rec.detail:
            item["notes"] = rec.detail
        return item
    return None


def write_treatments_json(records: Sequence[Record]) -> bytes:
    """``/api/v1/treatments.json``: boluses (SMB when annotated), temp basals, carbs,
    site/insulin/sensor/battery events; newest first."""
    items = [t for t in (_treatment(r) for r in _newest_first(records)) if t is not None]
    return json.dumps(items, indent=2).encode()


def _entries(entries: Sequence[Any], glucose: bool, mmol: bool) -> list[dict[str, Any]]:
    out = []
    for e in entries:
        value = e.value
        if glucose and mmol:
            value = round(mgdl_to_mmoll(value), 6)
        out.append(
            {
                "time": f"{e.start_s // 3600:02d}:{e.start_s % 3600 // 60:02d}",
                "timeAsSeconds": e.start_s,
                "value": _num(value),
            }
        )
    return out


def write_profile_json(snapshots: Sequence[SettingsSnapshot], *, units: str = "mmol") -> bytes:
    """``/api/v1/profile.json``: one document per snapshot, newest first; glucose
    settings in ``units`` (``mmol`` or ``mg/dl``)."""
    mmol = units.startswith("mmol")
    docs = []
    for snap in sorted(snapshots, key=_utc, reverse=True):
        zone = next((a[3:] for a in snap.annotations if a.startswith("tz/")), "UTC")
        names = snap.basal_schedules_u_per_h or {snap.active_schedule or "default": ()}
        store = {}
        for name, basal in names.items():
            store[name] = {
                "units": units,
                "timezone": zone,
                "dia": _num((snap.insulin_action_s or 0) / 3600),
                "basal": _entries(basal, False, False),
                "carbratio": _entries(snap.carb_ratios_g_per_u, False, False),
                "sens": _entries(snap.sensitivities_mgdl_per_u, True, mmol),
                "target_low": _entries(snap.target_low_mgdl, True, mmol),
                "target_high": _entries(snap.target_high_mgdl, True, mmol),
            }
        doc: dict[str, Any] = {
            "_id": snap.source_index,
            "defaultProfile": snap.active_schedule or next(iter(names)),
            "startDate": _iso(snap),
            "mills": _ms(snap),
            "units": units,
            "store": store,
        }
        if _device(snap):
            doc["enteredBy"] = _device(snap)
        docs.append(doc)
    return json.dumps(docs, indent=2).encode()
