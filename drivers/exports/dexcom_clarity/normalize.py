"""Clarity rows -> normalized records, in device order, with stable dedup keys.

Dedup keys survive two overlapping exports of the same account (Index renumbers per
export, and mg/dL and mmol/L exports of one period do not round-trip to the same
value, so no key uses either): EGV ``egv:<transmitter id>:<transmitter time>:<timestamp>``
(the pair alone repeats in a real receiver export whose transmitter time restarts with
each sensor session, and the timestamp alone repeats in the DST fall-back hour);
calibration ``calibration:<transmitter id>:<timestamp>``; insulin and carbs
``<type>:<timestamp>:<subtype>:<amount>`` (a real export has two Long-Acting entries,
3 U and 29 U, in the same minute); exercise and health ``<type>:<timestamp>:<subtype>``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from operator import itemgetter
from typing import Any

from drivers._core.records import (
    Activity,
    Food,
    GlucoseSample,
    Injection,
    InsulinType,
    Record,
    make_device_id,
)
from drivers._core.units import mmoll_to_mgdl
from drivers.exports.dexcom_clarity import columns as col
from drivers.exports.dexcom_clarity.parse import Row

GLUCOSE_MIN_MGDL = 10.0
GLUCOSE_MAX_MGDL = 1000.0
INSULIN_MAX_U = 250.0
CARBS_MAX_G = 1000.0
_INSULIN_TYPES: dict[str, InsulinType] = {"fast-acting": "rapid", "long-acting": "long"}


class RowError(Exception):
    """A row's value is impossible or unreadable; the row is skipped with this reason."""


def model_of(device_info: str) -> str:
    """``Dexcom G6 Mobile App`` -> ``G6``; ``Dexcom Receiver with G6`` -> ``G6``."""
    for word in device_info.replace("-", " ").split():
        if len(word) == 2 and word[0] in "GgJ" and word[1].isdigit():
            return word.upper()
    return "clarity"


def _number(text: str, field: str) -> float:
    try:
        return float(text.replace(",", "."))
    except ValueError:
        raise RowError(f"{field} {text!r} is not a number") from None


def _glucose(row: Row, units: str) -> tuple[float | None, str | None]:
    word = row.glucose.lower()
    if word in ("high", "low"):
        return None, word
    value = _number(row.glucose, "glucose")
    mgdl = mmoll_to_mgdl(value) if units == "mmol/L" else value
    if not GLUCOSE_MIN_MGDL <= mgdl <= GLUCOSE_MAX_MGDL:
        raise RowError(f"glucose {row.glucose} {units} is impossible")
    return mgdl, None


def _duration_s(text: str) -> int | None:
    if not text:
        return None
    parts = text.split(":")
    if len(parts) != 3 or not all(p.isascii() and p.isdigit() and len(p) < 10 for p in parts):
        raise RowError(f"duration {text!r} is not hh:mm:ss")
    h, m, s = (int(p) for p in parts)
    return h * 3600 + m * 60 + s


@lru_cache(maxsize=64)
def _device_id(model: str, source_device: str) -> str:
    """The device id of a row (one or two distinct per file; built once each)."""
    return make_device_id("Dexcom", model, source_device or "unknown")


def to_record(row: Row, units: str, model: str) -> Record | None:
    """One data row as a record; None for rows that hold no data (unknown types raise)."""
    device_id = _device_id(model, row.source_device)
    stamp = row.timestamp.isoformat()
    kind = row.event_type
    if kind == "EGV" or kind == "Calibration":
        mgdl, special = _glucose(row, units)
        rate = _number(row.rate, "rate of change") if row.rate else None
        if rate is not None and units == "mmol/L":
            rate = mmoll_to_mgdl(rate)
        if kind == "Calibration":
            if mgdl is None:
                raise RowError("calibration without a number")
            return GlucoseSample(
                device_id=device_id,
                device_time=row.timestamp,
                source_index=f"calibration:{row.transmitter_id}:{stamp}",
                sample_type="calibration",
                glucose_mgdl=mgdl,
            )
        key = f"egv:{row.transmitter_id}:{row.transmitter_time}:{stamp}"
        return GlucoseSample(
            device_id=device_id,
            device_time=row.timestamp,
            source_index=key,
            sample_type="cgm",
            glucose_mgdl=mgdl,
            special=special,  # type: ignore[arg-type]
            reporting_limit_mgdl=(
                col.HIGH_LIMIT_MGDL
                if special == "high"
                else col.LOW_LIMIT_MGDL
                if special == "low"
                else None
            ),
            trend_rate_mgdl_per_min=rate,
            annotations=(f"cgm/{special}-out-of-range",) if special else (),
        )
    base: dict[str, Any] = {"device_id": device_id, "device_time": row.timestamp}
    if kind == "Insulin":
        units_u = _number(row.insulin, "insulin")
        if not 0 < units_u <= INSULIN_MAX_U:
            raise RowError(f"insulin {row.insulin} U is impossible")
        return Injection(
            **base,
            source_index=f"insulin:{stamp}:{row.subtype.lower()}:{units_u:g}",
            insulin_u=units_u,
            insulin_type=_INSULIN_TYPES.get(row.subtype.lower(), "unknown"),
        )
    if kind == "Carbs":
        grams = _number(row.carbs, "carbs")
        if not 0 < grams <= CARBS_MAX_G:
            raise RowError(f"carbs {row.carbs} g is impossible")
        return Food(**base, source_index=f"carbs:{stamp}:{grams:g}", carbs_g=grams)
    if kind == "Exercise":
        return Activity(
            **base,
            source_index=f"exercise:{stamp}:{row.subtype.lower()}",
            activity_type="exercise",
            duration_s=_duration_s(row.duration),
            intensity=row.subtype.lower() or None,
        )
    if kind == "Health":
        return Activity(
            **base,
            source_index=f"health:{stamp}:{row.subtype.lower()}",
            activity_type=f"health/{row.subtype.lower() or 'unspecified'}",
        )
    raise RowError(f"unknown Event Type {kind!r}")


SESSION_GAP_S = 3600 + 120
"""Two EGVs of one transmitter belong to the same sensor session when their anchors
(timestamp minus transmitter time) differ by at most an hour and two minutes: a DST
change moves the anchor by exactly an hour, clock drift by seconds, while a restarted
session moves it by the length of the session before."""


def _anchor(row: Row) -> datetime | None:
    """Timestamp minus transmitter time (the session's start), or None when the
    transmitter time is absent or no plausible seconds counter: not ASCII digits, more
    than 12 digits, or an anchor before year 1 (found by fuzzing: such values raised
    ``ValueError``/``OverflowError``). Those rows are merged in by timestamp."""
    text = row.transmitter_time
    if not (text.isascii() and text.isdigit()) or len(text) > 12:
        return None
    try:
        return row.timestamp - timedelta(seconds=int(text))
    except OverflowError:
        return None


def _egv_sessions(
    rows: list[tuple[datetime, tuple[Row, Record]]],
) -> list[list[tuple[Row, Record]]]:
    by_tx: dict[str, list[tuple[datetime, tuple[Row, Record]]]] = {}
    for anchor, item in rows:  # each anchor computed once, by device_order
        by_tx.setdefault(item[0].transmitter_id, []).append((anchor, item))
    sessions: list[list[tuple[Row, Record]]] = []
    gap_limit = timedelta(seconds=SESSION_GAP_S)
    for anchored in by_tx.values():
        anchored.sort(key=itemgetter(0))
        previous = anchored[0][0]
        current: list[tuple[Row, Record]] = []
        for anchor, item in anchored:
            if anchor - previous > gap_limit:
                sessions.append(current)
                current = []
            current.append(item)
            previous = anchor
        sessions.append(current)
    for session in sessions:
        session.sort(key=lambda i: int(i[0].transmitter_time))
    sessions.sort(key=lambda s: min(i[0].timestamp for i in s))
    return sessions


def device_order(items: Sequence[tuple[Row, Record]]) -> list[Record]:
    """Records in the order the sensor produced them.

    EGVs are grouped into sensor sessions (per transmitter, by anchor) and ordered by
    transmitter time inside a session -- the true order inside a repeated DST hour,
    which Clarity interleaves -- and sessions by their first timestamp. Rows without
    a transmitter time (calibrations, insulin, carbs ...) are merged in by timestamp.
    """
    timed: list[tuple[datetime, tuple[Row, Record]]] = []
    others: list[tuple[Row, Record]] = []
    for item in items:
        row = item[0]
        anchor = _anchor(row) if row.event_type == "EGV" else None
        if anchor is not None:
            timed.append((anchor, item))
        else:
            others.append(item)
    others.sort(key=lambda i: i[0].timestamp)
    egvs = [item for session in (_egv_sessions(timed) if timed else []) for item in session]
    out: list[Record] = []
    j = 0
    for row, rec in egvs:
        while j < len(others) and others[j][0].timestamp <= row.timestamp:
            out.append(others[j][1])
            j += 1
        out.append(rec)
    out.extend(rec for _, rec in others[j:])
    return out
