"""Nightscout treatments (``/api/v1/treatments``) -> boluses, basal, food, device events.

Each item has ``eventType`` and ``created_at`` (ISO, UTC); amounts in ``insulin`` (U),
``carbs`` (g), ``rate``/``absolute`` (U/h), ``percent``, ``duration`` (minutes,
fractional from Loop). Mapping (careportal event types plus the closed-loop apps'):

* ``Bolus``, ``SMB``, ``Meal Bolus``, ``Correction Bolus``, ``Snack Bolus`` -> normal
  :class:`Bolus` (SMB annotated ``bolus/smb`` and ``bolus/automatic``); carbs on a meal
  bolus also give a :class:`Food`; ``Combo Bolus`` -> dual bolus from
  ``enteredinsulin`` x ``splitNow``/``splitExt`` %; iAPS's ``duration`` on a normal
  bolus is its delivery time, not an extension, and is ignored;
* ``Carb Correction`` (and carbs on ``Meal Bolus``/``Snack Bolus``/``Note``) -> Food;
* ``Temp Basal`` (``Temp Basal Start``) -> temp :class:`BasalSegment` with ``absolute``
  (or ``rate``) U/h; a rate above :data:`BASAL_MAX_U_PER_H` is skipped (AndroidAPS
  writes a percent in ``rate``); a percent-only temp basal is skipped (no rate);
* ``Site Change``, ``Insulin Change`` (reservoir), ``Sensor Start``/``Change``/``Stop``,
  ``Pump Battery Change`` -> :class:`DeviceEvent`;
* ``BG Check`` -> smbg sample (``glucose`` in ``units``, mmol converted);
* ``Exercise`` -> :class:`Activity`;
* anything else (``Temporary Target``, ``Note``, ``Profile Switch``, ``Announcement``
  ...) has no record kind and is listed once per event type in ``skipped``.

Dedup key: the item's ``_id`` (stable across downloads of one site), else
``<eventType>:<created_at>``; the Food of a meal bolus gets ``<key>:carbs``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drivers._core.records import (
    Activity,
    BasalSegment,
    Bolus,
    DeviceEvent,
    DeviceEventType,
    Food,
    GlucoseSample,
    Record,
    make_device_id,
)
from drivers._core.units import mmoll_to_mgdl
from drivers.exports.nightscout import times
from drivers.exports.nightscout.jsondoc import number, text

BOLUS_MAX_U = 250.0
BASAL_MAX_U_PER_H = 50.0
CARBS_MAX_G = 2000.0
DURATION_MAX_MIN = 7 * 24 * 60
BOLUS_TYPES = frozenset({"Bolus", "SMB", "Meal Bolus", "Correction Bolus", "Snack Bolus"})
CARB_TYPES = frozenset({"Carb Correction", "Meal Bolus", "Snack Bolus", "Note"})
EVENTS: dict[str, DeviceEventType] = {
    "Site Change": "site-change",
    "Insulin Change": "reservoir-change",
    "Sensor Start": "sensor-start",
    "Sensor Change": "sensor-start",
    "Sensor Stop": "sensor-stop",
    "Pump Battery Change": "battery",
}
TEMP_BASAL = frozenset({"Temp Basal", "Temp Basal Start"})


class TreatmentError(ValueError):
    """A treatment that cannot become a record (skipped with this reason)."""


def _amount(item: Mapping[str, Any], key: str, limit: float, unit: str) -> float | None:
    value = item.get(key)
    if value is None or value == "":
        return None
    amount = number(value)
    if amount is None:
        raise TreatmentError(f"{key} {str(value)[:20]!r} is not a number")
    if not 0 <= amount <= limit:
        raise TreatmentError(f"{key} {amount:g} {unit} is impossible")
    return amount


def _duration_s(item: Mapping[str, Any]) -> int | None:
    minutes = _amount(item, "duration", DURATION_MAX_MIN, "min")
    return None if minutes is None else round(minutes * 60)


def _stamp(item: Mapping[str, Any]) -> times.Stamp:
    offset = number(item.get("utcOffset"))
    try:
        created = text(item.get("created_at")) or text(item.get("timestamp"))
        if created:
            return times.iso_stamp(created, offset)
        ms = number(item.get("mills")) or number(item.get("date"))
        if ms is None:
            raise TreatmentError("no created_at")
        stated = times.offset_from_minutes(offset) if offset else None
        return times.stamp(times.from_epoch_ms(ms), stated)
    except times.TimeError as exc:
        raise TreatmentError(str(exc)) from None


def _key(item: Mapping[str, Any], event: str) -> str:
    ident = text(item.get("_id"))
    return ident or f"{event}:{text(item.get('created_at'))}"


def _bolus(item: Mapping[str, Any], event: str, base: dict[str, Any]) -> Bolus | None:
    if event == "Combo Bolus":
        total = _amount(item, "enteredinsulin", BOLUS_MAX_U, "U")
        if total is None:
            total = _amount(item, "insulin", BOLUS_MAX_U, "U")
        if total is None:
            return None
        now = (number(item.get("splitNow")) or 0.0) / 100
        ext = (number(item.get("splitExt")) or 0.0) / 100
        if now + ext <= 0 or now < 0 or ext < 0:
            now, ext = 1.0, 0.0
        duration = _duration_s(item) or 0
        return Bolus(
            **base,
            subtype="dual" if ext > 0 and now > 0 else ("extended" if ext > 0 else "normal"),
            programmed_u=total * now,
            delivered_u=total * now,
            extended_programmed_u=total * ext,
            extended_delivered_u=total * ext,
            extended_duration_s=duration if ext > 0 else 0,
        )
    insulin = _amount(item, "insulin", BOLUS_MAX_U, "U")
    if not insulin:
        return None  # a careportal meal entry with carbs only
    notes = list(base.pop("annotations"))
    if event == "SMB" or item.get("isSMB") is True:
        notes += ["bolus/smb", "bolus/automatic"]
    elif item.get("automatic") is True:
        notes.append("bolus/automatic")
    programmed = _amount(item, "programmed", BOLUS_MAX_U, "U")
    return Bolus(
        **base,
        annotations=tuple(notes),
        subtype="normal",
        programmed_u=programmed if programmed is not None else insulin,
        delivered_u=insulin,
    )


def _temp_basal(item: Mapping[str, Any], base: dict[str, Any]) -> BasalSegment:
    rate = _amount(item, "absolute", BASAL_MAX_U_PER_H, "U/h")
    if rate is None:
        try:
            rate = _amount(item, "rate", BASAL_MAX_U_PER_H, "U/h")
        except TreatmentError:
            raise TreatmentError(
                f"rate {item.get('rate')!r} is not a U/h rate (AndroidAPS writes a percent here)"
            ) from None
    percent = number(item.get("percent"))
    if rate is None:
        raise TreatmentError("temp basal without an absolute rate")
    return BasalSegment(
        **base,
        basal_type="temp",
        rate_u_per_h=rate,
        duration_s=_duration_s(item),
        percent=percent,
    )


def to_records(item: Mapping[str, Any]) -> list[Record] | None:
    """The records one treatment gives; None when its event type has no record kind.

    Raises:
        TreatmentError: Impossible amount or unreadable time (the item is skipped).
    """
    event = text(item.get("eventType"))
    stamp = _stamp(item)
    who = text(item.get("enteredBy")) or text(item.get("device")) or "unknown"
    key = _key(item, event)
    base: dict[str, Any] = {
        **stamp.fields(),
        "device_id": make_device_id("Nightscout", who, "unknown"),
        "source_index": key,
        "annotations": stamp.notes(),
    }
    out: list[Record] = []
    if event in BOLUS_TYPES or event == "Combo Bolus":
        bolus = _bolus(item, event, dict(base))
        if bolus is not None:
            out.append(bolus)
    elif event in TEMP_BASAL:
        out.append(_temp_basal(item, dict(base)))
    elif event in EVENTS:
        notes = text(item.get("notes"))
        out.append(DeviceEvent(**base, event_type=EVENTS[event], detail=notes[:200] or None))
    elif event == "BG Check":
        out.append(_bg_check(item, base))
    elif event == "Exercise":
        out.append(Activity(**base, activity_type="exercise", duration_s=_duration_s(item)))
    if event in CARB_TYPES:
        carbs = _amount(item, "carbs", CARBS_MAX_G, "g")
        if carbs:
            food_key = f"{key}:carbs" if out else key
            out.append(Food(**{**base, "source_index": food_key}, carbs_g=carbs))
    if not out:
        if event in BOLUS_TYPES or event in ("Combo Bolus", "Carb Correction"):
            raise TreatmentError(f"{event} without insulin or carbs")
        return None
    return out


def _bg_check(item: Mapping[str, Any], base: dict[str, Any]) -> GlucoseSample:
    value = number(item.get("glucose"))
    if value is None:
        raise TreatmentError("BG Check without a glucose value")
    units = text(item.get("units")).lower()
    mgdl = mmoll_to_mgdl(value) if units.startswith("mmol") else value
    if not 10 <= mgdl <= 1000:
        raise TreatmentError(f"glucose {value:g} {units or 'mg/dl'} is impossible")
    return GlucoseSample(**base, sample_type="smbg", glucose_mgdl=mgdl)
