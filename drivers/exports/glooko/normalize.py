"""Glooko CSV rows -> records, one category (file) at a time.

* cgm -> CGM samples; bg -> smbg samples (``Manual Reading`` = no: ``bg/meter-linked``);
* bolus -> :class:`Bolus`: ``Initial Delivery`` is the normal part, ``Extended
  Delivery`` the extended part (dual when both), ``Insulin Delivered`` the total; the
  BG, carbs and carb ratio inputs become a :class:`BolusCalculation`;
* basal -> :class:`BasalSegment` (``Duration (minutes)``; ``Rate`` in U/h, or the
  delivered insulin over the duration when the rate column is absent, as in Swedish
  exports; ``Insulin Type`` containing "temp" -> temp, rate 0 + "suspend" -> suspend);
* carbs -> :class:`Food`; alarms -> :class:`DeviceEvent` (site/cartridge/reservoir
  changes and primes by their words, anything else an alarm);
* insulin (daily totals) and other files have no record kind (not imported).

Timestamps are naive local time: ``YYYY-MM-DD HH:MM[:SS]`` or ``YYYY/MM/DD``; day-first
with dots or dashes (``DD.MM.YYYY``); ``MM/DD/YYYY`` month-first [Inferred]. Dedup keys
are ``<category>:<time>:<value>`` (no Glooko export carries a row id).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from drivers._core.records import (
    BasalSegment,
    Bolus,
    BolusCalculation,
    DeviceEvent,
    DeviceEventType,
    Food,
    GlucoseSample,
    Record,
    make_device_id,
)
from drivers._core.units import mmoll_to_mgdl
from drivers.exports.glooko.columns import Header

GLUCOSE_RANGE_MGDL = (10.0, 1000.0)
BOLUS_MAX_U = 250.0
BASAL_MAX_U_PER_H = 50.0
CARBS_MAX_G = 2000.0
_ISO = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?$")
_DMY = re.compile(r"^(\d{1,2})([./-])(\d{1,2})[./-](\d{4})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?$")
_EVENT_WORDS: tuple[tuple[str, DeviceEventType], ...] = (
    ("site", "site-change"),
    ("cartridge", "reservoir-change"),
    ("reservoir", "reservoir-change"),
    ("prime", "prime"),
    ("fill", "prime"),
    ("battery", "battery"),
    ("suspend", "suspend"),
    ("resume", "resume"),
)


class RowError(ValueError):
    """A row that cannot become a record (skipped with this reason)."""


def parse_time(text: str) -> datetime:
    """A Glooko timestamp as naive local time (see module docstring)."""
    cell = text.strip()
    try:
        if m := _ISO.match(cell):
            y, mo, d, hh, mi, ss = m.groups()
            return datetime(int(y), int(mo), int(d), int(hh), int(mi), int(ss or 0))
        if m := _DMY.match(cell):
            a, sep, b, y, hh, mi, ss = m.groups()
            day, month = (b, a) if sep == "/" else (a, b)
            return datetime(int(y), int(month), int(day), int(hh), int(mi), int(ss or 0))
    except ValueError:
        raise RowError(f"Timestamp {cell[:30]!r} is not a real date") from None
    raise RowError(f"Timestamp {cell[:30]!r} is not YYYY-MM-DD HH:MM")


def number(text: str, what: str, low: float, high: float) -> float | None:
    """A number with ``.`` or ``,`` decimals within [low, high]; None when empty."""
    cell = text.strip()
    if not cell:
        return None
    try:
        value = float(cell.replace(",", "."))
    except ValueError:
        raise RowError(f"{what} {cell[:20]!r} is not a number") from None
    if not low <= value <= high:
        raise RowError(f"{what} {value:g} is impossible")
    return value


def _glucose(text: str, units: str, what: str) -> float | None:
    value = number(text, what, -1e9, 1e9)
    if value is None:
        return None
    mgdl = mmoll_to_mgdl(value) if units == "mmol/L" else value
    if not GLUCOSE_RANGE_MGDL[0] <= mgdl <= GLUCOSE_RANGE_MGDL[1]:
        raise RowError(f"{what} {text.strip()} {units} is impossible")
    return mgdl


def to_record(header: Header, cells: list[str]) -> Record | None:
    """One data row as a record; None for categories with no record kind."""
    get = header.get
    cat = header.category
    if cat in ("insulin", "other"):
        return None
    when = parse_time(get(cells, "time"))
    serial = get(cells, "serial") or "unknown"
    role = {"cgm": "cgm", "bg": "meter"}.get(cat, "pump")
    base: dict[str, Any] = {
        "device_time": when,
        "device_id": make_device_id("Glooko", role, serial),
    }
    stamp = when.isoformat()
    if cat in ("cgm", "bg"):
        raw = get(cells, cat)
        mgdl = _glucose(raw, header.units, "glucose")
        if mgdl is None:
            raise RowError("no glucose value")
        manual = get(cells, "manual").lower()
        return GlucoseSample(
            **base,
            source_index=f"{cat}:{stamp}:{raw.replace(',', '.')}",
            sample_type="cgm" if cat == "cgm" else "smbg",
            glucose_mgdl=mgdl,
            annotations=("bg/meter-linked",) if manual in ("false", "no", "nein", "nej") else (),
        )
    if cat == "bolus":
        return _bolus(header, cells, base, stamp)
    if cat == "basal":
        return _basal(header, cells, base, stamp)
    if cat == "carbs":
        carbs = number(get(cells, "carbs"), "carbs", 0.0, CARBS_MAX_G)
        if not carbs:
            raise RowError("no carbs")
        return Food(**base, source_index=f"carbs:{stamp}:{carbs:g}", carbs_g=carbs)
    text = get(cells, "alarm")
    if not text:
        raise RowError("no Alarm/Event text")
    low = text.lower()
    event: DeviceEventType = next((e for w, e in _EVENT_WORDS if w in low), "alarm")
    return DeviceEvent(
        **base,
        source_index=f"alarm:{stamp}:{low[:40]}",
        event_type=event,
        detail=text[:80],
    )


def _bolus(header: Header, cells: list[str], base: dict[str, Any], stamp: str) -> Bolus:
    get = header.get
    total = number(get(cells, "delivered"), "Insulin Delivered", 0.0, BOLUS_MAX_U)
    initial = number(get(cells, "initial"), "Initial Delivery", 0.0, BOLUS_MAX_U)
    extended = number(get(cells, "extended"), "Extended Delivery", 0.0, BOLUS_MAX_U) or 0.0
    if total is None and initial is None:
        raise RowError("bolus without Insulin Delivered")
    now = initial if initial is not None else (total or 0.0) - extended
    carbs = number(get(cells, "carbs_input"), "Carbs Input", 0.0, CARBS_MAX_G)
    ratio = number(get(cells, "carb_ratio"), "Carbs Ratio", 0.0, 1000.0)
    bg = (
        _glucose(get(cells, "bg_input"), header.units, "Blood Glucose Input")
        if get(cells, "bg_input") not in ("", "0")
        else None
    )
    calc = None
    if carbs or ratio or bg:
        calc = BolusCalculation(carbs_g=carbs, bg_mgdl=bg, carb_ratio_g_per_u=ratio or None)
    itype = get(cells, "insulin_type")
    return Bolus(
        **base,
        source_index=f"bolus:{stamp}:{(total if total is not None else now + extended):g}",
        subtype="dual" if extended and now else ("extended" if extended else "normal"),
        programmed_u=now,
        delivered_u=now,
        extended_programmed_u=extended,
        extended_delivered_u=extended,
        calculation=calc,
        annotations=("bolus/automatic",) if "auto" in itype.lower() else (),
    )


def _basal(header: Header, cells: list[str], base: dict[str, Any], stamp: str) -> BasalSegment:
    get = header.get
    minutes = number(get(cells, "duration"), "Duration", 0.0, 7 * 24 * 60)
    rate = number(get(cells, "rate"), "Rate", 0.0, BASAL_MAX_U_PER_H)
    delivered = number(get(cells, "delivered"), "Insulin Delivered", 0.0, 24 * BASAL_MAX_U_PER_H)
    notes: list[str] = []
    if rate is None:
        if delivered is None or not minutes:
            raise RowError("basal row without Rate (and no delivered insulin over a duration)")
        rate = delivered / (minutes / 60)
        notes.append("basal/rate-from-delivered")
        if rate > BASAL_MAX_U_PER_H:
            raise RowError(f"basal rate {rate:.2f} U/h is impossible")
    itype = get(cells, "insulin_type").lower()
    kind = "temp" if "temp" in itype else "scheduled"
    if rate == 0 and ("suspend" in itype or kind == "scheduled"):
        kind = "suspend"
    if minutes is None:
        notes.append("basal/unknown-duration")
    return BasalSegment(
        **base,
        source_index=f"basal:{stamp}:{rate:g}",
        basal_type=kind,  # type: ignore[arg-type]
        rate_u_per_h=rate,
        duration_s=None if minutes is None else round(minutes * 60),
        percent=number(get(cells, "percent"), "Percentage", 0.0, 1000.0),
        annotations=tuple(notes),
    )
