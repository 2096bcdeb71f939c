"""Write a Glooko export ZIP (one CSV per category) from normalized records.

Layout per the formats note (no real export seen; firmware-notes/exports-glooko.md):
``cgm_data_1.csv``, ``bg_data_1.csv``, ``bolus_data_1.csv``, ``basal_data_1.csv``,
``carbs_data_1.csv``, ``alarms_data_1.csv``, each with the metadata line
``Name:<name>,Date Range:<from> - <to>`` then the English header; CRLF; timestamps
``YYYY-MM-DD HH:MM`` (``:SS`` when non-zero); glucose in mg/dl (integers) or mmol/l
(one decimal). The serial of each row is the record's device id serial.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from datetime import datetime

from drivers._core.records import (
    BasalSegment,
    Bolus,
    DeviceEvent,
    Food,
    GlucoseSample,
    Record,
)
from drivers._core.units import mgdl_to_mmoll

HEADERS = {
    "cgm": "Timestamp,CGM Glucose Value ({u}),Serial Number",
    "bg": "Timestamp,Glucose Value ({u}),Manual Reading,Serial Number",
    "bolus": "Timestamp,Insulin Type,Blood Glucose Input ({u}),Carbs Input (g),Carbs Ratio,"
    "Insulin Delivered (U),Initial Delivery (U),Extended Delivery (U),Serial Number",
    "basal": "Timestamp,Insulin Type,Duration (minutes),Percentage (%),Rate,"
    "Insulin Delivered (U),Serial Number",
    "carbs": "Timestamp,Carbs (g),Serial Number",
    "alarms": "Timestamp,Alarm/Event,Serial Number",
}


def _t(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%S" if when.second else "%Y-%m-%d %H:%M")


def _n(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _glucose(mgdl: float | None, units: str) -> str:
    if mgdl is None:
        return ""
    return f"{mgdl_to_mmoll(mgdl):.1f}" if units == "mmol/l" else str(round(mgdl))


def _serial(rec: Record) -> str:
    return rec.device_id.split(":")[-1]


def _row(rec: Record, units: str) -> tuple[str, list[str]] | None:
    t, s = _t(rec.device_time), _serial(rec)
    if isinstance(rec, GlucoseSample) and rec.glucose_mgdl is not None:
        if rec.sample_type == "cgm":
            return "cgm", [t, _glucose(rec.glucose_mgdl, units), s]
        manual = "false" if "bg/meter-linked" in rec.annotations else "true"
        return "bg", [t, _glucose(rec.glucose_mgdl, units), manual, s]
    if isinstance(rec, Bolus):
        calc = rec.calculation
        kind = "Automatic Bolus" if "bolus/automatic" in rec.annotations else "Normal"
        return "bolus", [
            t,
            kind,
            _glucose(calc.bg_mgdl, units) if calc else "",
            _n(calc.carbs_g) if calc else "",
            _n(calc.carb_ratio_g_per_u) if calc else "",
            _n(round(rec.delivered_u + rec.extended_delivered_u, 4)),
            _n(rec.delivered_u),
            _n(rec.extended_delivered_u),
            s,
        ]
    if isinstance(rec, BasalSegment):
        kind = {"temp": "Temp Basal", "suspend": "Suspend"}.get(rec.basal_type, "Scheduled Basal")
        minutes = None if rec.duration_s is None else rec.duration_s / 60
        delivered = None if minutes is None else round(rec.rate_u_per_h * minutes / 60, 4)
        return "basal", [
            t,
            kind,
            _n(minutes),
            _n(rec.percent),
            _n(rec.rate_u_per_h),
            _n(delivered),
            s,
        ]
    if isinstance(rec, Food) and rec.carbs_g:
        return "carbs", [t, _n(rec.carbs_g), s]
    if isinstance(rec, DeviceEvent) and rec.detail:
        return "alarms", [t, rec.detail, s]
    return None


def _quote(cell: str) -> str:
    return f'"{cell}"' if any(c in cell for c in ',"\n') else cell


def write_glooko_files(
    records: Sequence[Record], *, units: str = "mg/dl", name: str = "Demo Patient"
) -> dict[str, bytes]:
    """The export's CSV files by name (what the ZIP holds)."""
    rows: dict[str, list[list[str]]] = {}
    for rec in sorted(records, key=lambda r: r.device_time):
        got = _row(rec, units)
        if got is not None:
            rows.setdefault(got[0], []).append(got[1])
    times = [r.device_time for r in records] or [datetime(2026, 1, 1)]
    meta = f"Name:{name},Date Range:{min(times):%Y-%m-%d} - {max(times):%Y-%m-%d}"
    files = {}
    for cat, body in rows.items():
        lines = [meta, HEADERS[cat].format(u=units)] + [
            ",".join(_quote(c) for c in r) for r in body
        ]
        files[f"{cat}_data_1.csv"] = ("\r\n".join(lines) + "\r\n").encode()
    return files


def write_glooko_zip(
    records: Sequence[Record], *, units: str = "mg/dl", name: str = "Demo Patient"
) -> bytes:
    """The export ZIP's bytes (deflated, one CSV per category)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for fname, data in write_glooko_files(records, units=units, name=name).items():
            zf.writestr(fname, data)
    return buf.getvalue()
