"""Tidepool items -> normalized records, one item at a time.

``cbg``/``smbg`` -> :class:`GlucoseSample` (``units`` converted; Tidepool's
``bg/out-of-range`` annotation -> a flagged sample with ``glucose_mgdl=None``);
``bolus`` ``normal``/``square``/``dual/square`` -> :class:`Bolus` (``expected*`` =
programmed, the plain amounts = delivered); ``basal`` ``scheduled``/``temp``/
``suspend``/``automated`` -> :class:`BasalSegment`; ``food`` -> :class:`Food`
(``nutrition.carbohydrate.net``); ``deviceEvent`` ``alarm``, ``reservoirChange``,
``prime``, ``status`` (suspended/resumed), ``timeChange`` (``change.from``/``to``),
``calibration`` -> :class:`DeviceEvent` or a calibration sample. ``wizard`` and
``pumpSettings*`` are gathered by :mod:`.settings`. Tidepool's own annotation codes are
kept as ``tidepool/<code>``. The dedup key is the item's ``id``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drivers._core.records import (
    BasalSegment,
    Bolus,
    DeviceEvent,
    DeviceEventType,
    Food,
    GlucoseSample,
    Record,
)
from drivers.exports.nightscout.jsondoc import number, text
from drivers.exports.tidepool.fields import (
    ItemError,
    amount,
    annotation_codes,
    device_id,
    duration_s,
    get,
    glucose_mgdl,
    naive,
    stamp,
)

GLUCOSE_RANGE_MGDL = (10.0, 1000.0)
BOLUS_MAX_U = 250.0
BASAL_MAX_U_PER_H = 50.0
CARBS_MAX_G = 2000.0
BASAL_TYPES: frozenset[str] = frozenset({"scheduled", "temp", "suspend", "automated"})
EVENTS: dict[str, DeviceEventType] = {
    "alarm": "alarm",
    "reservoirChange": "reservoir-change",
    "prime": "prime",
    "timeChange": "time-change",
}


def base(item: Mapping[str, Any]) -> dict[str, Any]:
    """Fields every record from this item shares (time, device, key, annotations)."""
    ident = text(item.get("id"))
    if not ident:
        raise ItemError("no id")
    fields, notes = stamp(item)
    codes = [text(a.get("code")) for a in annotation_codes(item)]
    notes += tuple(f"tidepool/{c}" for c in codes if c and c != "bg/out-of-range")
    return {**fields, "device_id": device_id(item), "source_index": ident, "annotations": notes}


def _glucose(item: Mapping[str, Any], fields: dict[str, Any]) -> GlucoseSample:
    kind = text(item.get("type"))
    value = number(item.get("value"))
    if value is None:
        raise ItemError(f"{kind} value {str(item.get('value'))[:20]!r} is not a number")
    units = text(item.get("units")) or "mg/dL"
    mgdl = glucose_mgdl(value, units)
    special = None
    limit = None
    for ann in annotation_codes(item):
        if text(ann.get("code")) == "bg/out-of-range" and text(ann.get("value")) in ("low", "high"):
            special = text(ann.get("value"))
            threshold = number(ann.get("threshold"))
            limit = glucose_mgdl(threshold, units) if threshold else None
    if special is None and not GLUCOSE_RANGE_MGDL[0] <= mgdl <= GLUCOSE_RANGE_MGDL[1]:
        raise ItemError(f"{kind} {value:g} {units} is impossible")
    notes = fields.pop("annotations")
    if special:
        notes = (*notes, f"cgm/{special}-out-of-range" if kind == "cbg" else f"bg/{special}")
    sample_type = "cgm" if kind == "cbg" else "smbg"
    if kind == "deviceEvent":
        sample_type = "calibration"
    return GlucoseSample(
        **fields,
        annotations=notes,
        sample_type=sample_type,  # type: ignore[arg-type]
        glucose_mgdl=None if special else mgdl,
        special=special,  # type: ignore[arg-type]
        reporting_limit_mgdl=limit,
    )


def _bolus(item: Mapping[str, Any], fields: dict[str, Any]) -> Bolus:
    sub = text(item.get("subType"))
    notes = list(fields.pop("annotations"))
    normal = amount(item, "normal", BOLUS_MAX_U, "U")
    extended = amount(item, "extended", BOLUS_MAX_U, "U")
    expected_normal = amount(item, "expectedNormal", BOLUS_MAX_U, "U")
    expected_ext = amount(item, "expectedExtended", BOLUS_MAX_U, "U")
    if sub == "normal":
        if normal is None:
            raise ItemError("normal bolus without 'normal'")
        extended = None
    elif sub == "square":
        if extended is None:
            raise ItemError("square bolus without 'extended'")
        normal = None
    elif sub == "dual/square":
        if normal is None or extended is None:
            raise ItemError("dual/square bolus without 'normal' and 'extended'")
    else:
        raise ItemError(f"bolus subType {sub!r} is not known")
    if expected_normal is not None or expected_ext is not None:
        notes.append("bolus/interrupted")
    duration = duration_s(item, "expectedDuration", notes) or duration_s(item, "duration", notes)
    subtype = "normal" if extended is None else ("extended" if normal is None else "dual")
    return Bolus(
        **fields,
        annotations=tuple(notes),
        subtype=subtype,  # type: ignore[arg-type]
        programmed_u=expected_normal if expected_normal is not None else normal or 0.0,
        delivered_u=normal or 0.0,
        extended_programmed_u=expected_ext if expected_ext is not None else extended or 0.0,
        extended_delivered_u=extended or 0.0,
        extended_duration_s=(duration or 0) if extended is not None else 0,
    )


def _basal(item: Mapping[str, Any], fields: dict[str, Any]) -> BasalSegment:
    delivery = text(item.get("deliveryType"))
    if delivery not in BASAL_TYPES:
        raise ItemError(f"basal deliveryType {delivery!r} is not known")
    notes = list(fields.pop("annotations"))
    rate = amount(item, "rate", BASAL_MAX_U_PER_H, "U/h")
    if rate is None:
        if delivery != "suspend":
            raise ItemError(f"{delivery} basal without a rate")
        rate = 0.0
    duration = duration_s(item, "duration", notes)
    if duration is None:
        notes.append("basal/unknown-duration")
    suppressed = amount(item, "suppressed.rate", BASAL_MAX_U_PER_H, "U/h")
    return BasalSegment(
        **fields,
        annotations=tuple(notes),
        basal_type=delivery,  # type: ignore[arg-type]
        rate_u_per_h=rate,
        duration_s=duration,
        scheduled_rate_u_per_h=suppressed,
        percent=number(get(item, "percent")),
        schedule_name=text(item.get("scheduleName")) or None,
    )


def _event(item: Mapping[str, Any], fields: dict[str, Any]) -> Record | None:
    sub = text(item.get("subType"))
    if sub == "calibration":
        return _glucose(item, fields)
    if sub == "status":
        status = text(item.get("status"))
        if status not in ("suspended", "resumed"):
            raise ItemError(f"status {status!r} is not suspended/resumed")
        reason = text(get(item, f"reason.{status}"))
        return DeviceEvent(
            **fields,
            event_type="suspend" if status == "suspended" else "resume",
            detail=f"reason={reason}" if reason else None,
        )
    if sub not in EVENTS:
        return None
    detail: str | None = None
    prime = None
    time_from = time_to = None
    code = None
    if sub == "alarm":
        code = text(item.get("alarmType")) or None
        original = text(get(item, "payload.originalAlarmType")) or text(
            get(item, "payload.alarmText")
        )
        detail = original[:80] or None
    elif sub == "prime":
        prime = amount(item, "volume", 100.0, "U")
        target = text(item.get("primeTarget"))
        detail = f"target={target}" if target else None
    elif sub == "timeChange":
        time_from = naive(text(get(item, "change.from")))
        time_to = naive(text(get(item, "change.to")))
        agent = text(get(item, "change.agent"))
        zone = text(get(item, "to.timeZoneName"))
        detail = (
            ", ".join(
                p for p in (f"agent={agent}" if agent else "", f"zone={zone}" if zone else "") if p
            )
            or None
        )
    return DeviceEvent(
        **fields,
        event_type=EVENTS[sub],
        code=code,
        prime_u=prime,
        time_from=time_from,
        time_to=time_to,
        detail=detail,
    )


def _food(item: Mapping[str, Any], fields: dict[str, Any]) -> Food:
    carbs = amount(item, "nutrition.carbohydrate.net", CARBS_MAX_G, "g")
    if carbs is None:
        carbs = amount(item, "nutrition.carbohydrate.total", CARBS_MAX_G, "g")
    return Food(**fields, carbs_g=carbs)


def to_record(item: Mapping[str, Any]) -> Record | None:
    """One item as a record; None for types with no record kind (listed by the caller).

    Raises:
        ItemError: Impossible value, unreadable time, unknown subtype.
    """
    kind = text(item.get("type"))
    if kind not in ("cbg", "smbg", "bolus", "basal", "deviceEvent", "food"):
        return None
    if kind == "deviceEvent" and text(item.get("subType")) not in (
        *EVENTS,
        "status",
        "calibration",
    ):
        return None
    fields = base(item)
    if kind in ("cbg", "smbg"):
        return _glucose(item, fields)
    if kind == "bolus":
        return _bolus(item, fields)
    if kind == "basal":
        return _basal(item, fields)
    if kind == "food":
        return _food(item, fields)
    return _event(item, fields)
