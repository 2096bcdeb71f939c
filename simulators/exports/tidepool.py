"""Write a Tidepool web export (``TidepoolExport.json``) from normalized records.

The export's shape as observed in the two real files (firmware-notes/exports-tidepool.md):
an array of flat objects grouped by type, newest first inside a group; nested objects
flattened to dotted keys (``change.from``, ``bgTarget.low``); remaining nested values
as JSON strings (``payload``, ``nutrition``, ``annotations``); durations in minutes;
``pumpSettings`` split into ``pumpSettings.*`` rows with starts written as
``1970-01-01T06:00:00.000Z``; BG in mg/dL floats. A bolus's calculation is written as
a ``wizard`` item pointing at the bolus id. ``time`` is UTC, ``timezoneOffset`` minutes,
``deviceTime`` the device time (written when ``device_times`` is true, as the 2020
uploader export does).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from drivers._core.records import (
    BasalSegment,
    Bolus,
    DeviceEvent,
    Food,
    GlucoseSample,
    Record,
    ScheduleEntry,
    SettingsSnapshot,
)

_EVENTS = {
    "alarm": "alarm",
    "reservoir-change": "reservoirChange",
    "prime": "prime",
    "time-change": "timeChange",
    "suspend": "status",
    "resume": "status",
}
_TYPE_ORDER = ("basal", "bolus", "cbg", "deviceEvent", "food", "pumpSettings", "smbg", "wizard")


def _iso_z(value: datetime) -> str:
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def _device_id(rec: Record) -> str | None:
    maker, model, serial = [*rec.device_id.split(":"), "", "", ""][:3]
    if maker == "tidepool" and model in ("healthkit", "unknown"):
        return None
    prefix = {"insulet": "InsOmn", "sequel": "twiist"}.get(maker, model)
    sep = "_" if maker == "sequel" else "-"
    return f"{prefix}{sep}{serial}"


def _common(rec: Record, kind: str, device_times: bool) -> dict[str, Any]:
    if rec.time_utc is None:
        raise ValueError(f"record {rec.source_index} has no time_utc; Tidepool needs UTC")
    item: dict[str, Any] = {"id": rec.source_index, "time": _iso_z(rec.time_utc), "type": kind}
    if rec.utc_offset_s is not None:
        item["timezoneOffset"] = rec.utc_offset_s // 60
    if device_times and rec.utc_offset_s is not None:
        item["deviceTime"] = rec.device_time.isoformat()
    dev = _device_id(rec)
    if dev:
        item["deviceId"] = dev
    elif rec.device_id.startswith("tidepool:healthkit:"):
        item["payload"] = json.dumps({"HKMetadataKeySyncVersion": 1})
    item["uploadId"] = "upid_simulated"
    codes = [a[len("tidepool/") :] for a in rec.annotations if a.startswith("tidepool/")]
    if codes:
        item["annotations"] = json.dumps([{"code": c} for c in codes])
    return item


def _minutes(seconds: int | None) -> float | None:
    return None if seconds is None else seconds / 60


def _bolus(rec: Bolus, item: dict[str, Any]) -> None:
    interrupted = "bolus/interrupted" in rec.annotations
    if rec.subtype == "normal":
        item.update(subType="normal", normal=rec.delivered_u)
    elif rec.subtype == "extended":
        item.update(subType="square", extended=rec.extended_delivered_u)
    else:
        item.update(
            subType="dual/square", normal=rec.delivered_u, extended=rec.extended_delivered_u
        )
    if rec.subtype != "normal":
        item["duration"] = _minutes(rec.extended_duration_s)
    if interrupted:
        if rec.subtype != "extended":
            item["expectedNormal"] = rec.programmed_u
        if rec.subtype != "normal":
            item["expectedExtended"] = rec.extended_programmed_u


def _wizard(rec: Bolus, common: dict[str, Any]) -> dict[str, Any] | None:
    calc = rec.calculation
    if calc is None:
        return None
    item = {**common, "type": "wizard", "id": f"wz-{rec.source_index}", "bolus": rec.source_index}
    item.pop("annotations", None)
    pairs = {
        "carbInput": calc.carbs_g,
        "bgInput": calc.bg_mgdl,
        "insulinCarbRatio": calc.carb_ratio_g_per_u,
        "insulinSensitivity": calc.sensitivity_mgdl_per_u,
        "bgTarget.low": calc.target_low_mgdl,
        "bgTarget.high": calc.target_high_mgdl,
        "insulinOnBoard": calc.iob_u,
        "recommended.carb": calc.recommended_food_u,
        "recommended.correction": calc.recommended_correction_u,
        "recommended.net": calc.recommended_total_u,
    }
    item.update({k: v for k, v in pairs.items() if v is not None})
    item["units"] = "mg/dL"
    return item


def _event(rec: DeviceEvent, item: dict[str, Any]) -> None:
    item["subType"] = _EVENTS[rec.event_type]
    if rec.event_type in ("suspend", "resume"):
        item["status"] = "suspended" if rec.event_type == "suspend" else "resumed"
        if rec.detail and rec.detail.startswith("reason="):
            item[f"reason.{item['status']}"] = rec.detail[len("reason=") :]
    elif rec.event_type == "alarm":
        item["alarmType"] = rec.code or "other"
        if rec.detail:
            item["payload"] = json.dumps({"alarmText": rec.detail})
    elif rec.event_type == "prime":
        if rec.prime_u is not None:
            item["volume"] = rec.prime_u
        if rec.detail and rec.detail.startswith("target="):
            item["primeTarget"] = rec.detail[len("target=") :]
    elif rec.event_type == "time-change":
        if rec.time_from is not None:
            item["change.from"] = rec.time_from.isoformat(timespec="seconds")
        if rec.time_to is not None:
            item["change.to"] = rec.time_to.isoformat(timespec="seconds")
        for part in (rec.detail or "").split(", "):
            if part.startswith("agent="):
                item["change.agent"] = part[len("agent=") :]
            elif part.startswith("zone="):
                item["to"] = json.dumps({"timeZoneName": part[len("zone=") :]})


def _start(entry: ScheduleEntry) -> str:
    h, rest = divmod(entry.start_s, 3600)
    return f"1970-01-01T{h:02d}:{rest // 60:02d}:{rest % 60:02d}.000Z"


def _settings(rec: SettingsSnapshot, common: dict[str, Any]) -> list[dict[str, Any]]:
    base = {**common, "activeSchedule": rec.active_schedule, "units.bg": "mg/dL"}
    rows: list[dict[str, Any]] = []
    for name, entries in rec.basal_schedules_u_per_h.items():
        for e in entries:
            rows.append(
                {
                    **base,
                    "type": "pumpSettings.basalSchedules",
                    "scheduleName": name,
                    "basalSchedule.start": _start(e),
                    "basalSchedule.rate": e.value,
                }
            )
    for e in rec.carb_ratios_g_per_u:
        rows.append(
            {
                **base,
                "type": "pumpSettings.carbRatios",
                "carbRatio.start": _start(e),
                "carbRatio.amount": e.value,
            }
        )
    for e in rec.sensitivities_mgdl_per_u:
        rows.append(
            {
                **base,
                "type": "pumpSettings.insulinSensitivities",
                "insulinSensitivity.start": _start(e),
                "insulinSensitivity.amount": e.value,
            }
        )
    highs = {e.start_s: e.value for e in rec.target_high_mgdl}
    for e in rec.target_low_mgdl:
        rows.append(
            {
                **base,
                "type": "pumpSettings.bgTargets",
                "bgTarget.start": _start(e),
                "bgTarget.low": e.value,
                "bgTarget.high": highs.get(e.start_s, e.value),
            }
        )
    return rows


def _items(rec: Record, device_times: bool) -> list[dict[str, Any]]:
    if isinstance(rec, GlucoseSample):
        kind = "cbg" if rec.sample_type == "cgm" else "smbg"
        item = _common(rec, kind, device_times)
        if rec.sample_type == "calibration":
            item.update(type="deviceEvent", subType="calibration")
        value = rec.glucose_mgdl
        if value is None:
            limit = rec.reporting_limit_mgdl or (400.0 if rec.special == "high" else 40.0)
            value = limit + 1 if rec.special == "high" else limit - 1
            ann = [{"code": "bg/out-of-range", "value": rec.special, "threshold": limit}]
            item["annotations"] = json.dumps(ann)
        item.update(value=value, units="mg/dL")
        return [item]
    if isinstance(rec, Bolus):
        item = _common(rec, "bolus", device_times)
        _bolus(rec, item)
        wizard = _wizard(rec, _common(rec, "wizard", device_times))
        return [item] + ([wizard] if wizard else [])
    if isinstance(rec, BasalSegment):
        item = _common(rec, "basal", device_times)
        item["deliveryType"] = rec.basal_type
        if rec.basal_type != "suspend" or rec.rate_u_per_h:
            item["rate"] = rec.rate_u_per_h
        extra = {
            "duration": _minutes(rec.duration_s),
            "scheduleName": rec.schedule_name,
            "percent": rec.percent,
            "suppressed.rate": rec.scheduled_rate_u_per_h,
        }
        item.update({k: v for k, v in extra.items() if v is not None})
        return [item]
    if isinstance(rec, Food):
        item = _common(rec, "food", device_times)
        if rec.carbs_g is not None:
            item["nutrition"] = json.dumps({"carbohydrate": {"net": rec.carbs_g, "units": "grams"}})
        return [item]
    if isinstance(rec, DeviceEvent) and rec.event_type in _EVENTS:
        item = _common(rec, "deviceEvent", device_times)
        _event(rec, item)
        return [item]
    if isinstance(rec, SettingsSnapshot):
        return _settings(rec, _common(rec, "pumpSettings", device_times))
    return []


def write_tidepool(records: Sequence[Record], *, device_times: bool = True) -> bytes:
    """The export's bytes: grouped by type, newest first, 4-space indented."""
    items = [i for rec in records for i in _items(rec, device_times)]
    group = {name: n for n, name in enumerate(_TYPE_ORDER)}
    items.sort(key=lambda i: i["time"], reverse=True)
    items.sort(key=lambda i: group.get(str(i["type"]).split(".")[0], len(group)))
    return json.dumps(items, indent=4).encode()
