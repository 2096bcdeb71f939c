"""Write a Dexcom Clarity CSV export the way the portal does, from normalized records.

Layout (firmware-notes/vendor-exports.md, section "Dexcom Clarity"): the 14-column
header; metadata rows (FirstName, LastName, Device, the seven Alert settings) with an
empty timestamp; then data rows. Options follow the variants seen in real exports:
every field quoted or none, UTF-8 BOM or not, CRLF or LF, and the Android/iOS apps'
13-field rows for everything but EGVs. Glucose in mg/dL (integers) or mmol/L (one
decimal). EGVs carry a transmitter time counting seconds from the sensor session's
start; a gap of more than 3 hours starts a new session (new G7 transmitter id).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from drivers._core.records import Activity, Food, GlucoseSample, Injection, Record
from drivers._core.units import mgdl_to_mmoll

HEADER_TEMPLATE = (
    "Index",
    "Timestamp (YYYY-MM-DDThh:mm:ss)",
    "Event Type",
    "Event Subtype",
    "Patient Info",
    "Device Info",
    "Source Device ID",
    "Glucose Value ({u})",
    "Insulin Value (u)",
    "Carb Value (grams)",
    "Duration (hh:mm:ss)",
    "Glucose Rate of Change ({u}/min)",
    "Transmitter Time (Long Integer)",
    "Transmitter ID",
)
ALERTS_MGDL = (
    ("Fall", "", "3", ""),
    ("High", "270", "", ""),
    ("Low", "70", "", ""),
    ("Signal Loss", "", "", "00:20:00"),
    ("Rise", "", "3", ""),
    ("Urgent Low", "55", "", ""),
    ("Urgent Low Soon", "55", "", ""),
)
SESSION_BREAK_S = 3 * 3600


def _glucose(value_mgdl: float, units: str) -> str:
    if units == "mmol/L":
        return f"{mgdl_to_mmoll(value_mgdl):.1f}"
    return str(round(value_mgdl))


def _hms(seconds: int | None) -> str:
    if seconds is None:
        return ""
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def write_clarity(
    records: Sequence[Record],
    *,
    units: str = "mg/dL",
    quoted: bool = True,
    bom: bool = True,
    crlf: bool = False,
    ragged: bool = True,
    device_info: str = "Dexcom G6 Mobile App",
    source_device_id: str = "android G6",
    transmitter_id: str = "8AM1EY",
    first_name: str = "Demo",
    last_name: str = "Patient",
) -> bytes:
    """The export's bytes. Records are written in time order (device_time)."""
    header = [h.format(u=units) for h in HEADER_TEMPLATE]
    rows: list[list[str]] = [header]
    meta = [["FirstName", "", first_name], ["LastName", "", last_name]]
    for event, _, info in meta:
        rows.append(["", "", event, "", info, "", "", "", "", "", "", "", ""])
    rows.append(["", "", "Device", "", "", device_info, source_device_id, "", "", "", "", "", ""])
    for subtype, glucose, rate, duration in ALERTS_MGDL:
        g = _glucose(float(glucose), units) if glucose else ""
        r = f"{mgdl_to_mmoll(float(rate)):.1f}" if units == "mmol/L" and rate else rate
        rows.append(
            ["", "", "Alert", subtype, "", "", source_device_id, g, "", "", duration, r, ""]
        )
    # Transmitter time counts real elapsed seconds: from time_utc when the records have
    # it (so the repeated DST hour keeps counting up), else from device time.
    session_start: datetime | None = None
    previous: datetime | None = None
    session = 0
    for rec in sorted(records, key=lambda r: (r.device_time, r.time_utc or r.device_time)):
        t = rec.device_time
        stamp = t.strftime("%Y-%m-%dT%H:%M:%S")
        base = ["", stamp]
        if isinstance(rec, GlucoseSample) and rec.sample_type == "cgm":
            clock = rec.time_utc.replace(tzinfo=None) if rec.time_utc is not None else t
            if previous is None or (clock - previous).total_seconds() > SESSION_BREAK_S:
                session_start, session = clock, session + 1
            previous = clock
            tx_time = 7573 + int((clock - (session_start or clock)).total_seconds())
            if rec.special in ("high", "low"):
                value, subtype = rec.special.capitalize(), rec.special.capitalize()
            elif rec.glucose_mgdl is not None:
                value, subtype = _glucose(rec.glucose_mgdl, units), ""
            else:
                continue
            tx = transmitter_id if session == 1 else f"{transmitter_id}{session:02d}"[-12:]
            rows.append(
                [
                    *base,
                    "EGV",
                    subtype,
                    "",
                    "",
                    source_device_id,
                    value,
                    "",
                    "",
                    "",
                    "",
                    str(tx_time),
                    tx,
                ]
            )
            continue
        if isinstance(rec, GlucoseSample) and rec.sample_type == "calibration":
            if rec.glucose_mgdl is None:
                continue
            row = [
                *base,
                "Calibration",
                "",
                "",
                "",
                source_device_id,
                _glucose(rec.glucose_mgdl, units),
                "",
                "",
                "",
                "",
                "",
                transmitter_id,
            ]
        elif isinstance(rec, Injection):
            kind = "Long-Acting" if rec.insulin_type == "long" else "Fast-Acting"
            row = [
                *base,
                "Insulin",
                kind,
                "",
                "",
                source_device_id,
                "",
                f"{rec.insulin_u:.2f}",
                "",
                "",
                "",
                "",
            ]
        elif isinstance(rec, Food) and rec.carbs_g is not None:
            row = [
                *base,
                "Carbs",
                "",
                "",
                "",
                source_device_id,
                "",
                "",
                f"{rec.carbs_g:.0f}",
                "",
                "",
                "",
            ]
        elif isinstance(rec, Activity) and rec.activity_type == "exercise":
            row = [
                *base,
                "Exercise",
                (rec.intensity or "").capitalize(),
                "",
                "",
                source_device_id,
                "",
                "",
                "",
                _hms(rec.duration_s),
                "",
                "",
            ]
        elif isinstance(rec, Activity) and rec.activity_type.startswith("health/"):
            row = [
                *base,
                "Health",
                rec.activity_type[7:].capitalize(),
                "",
                "",
                source_device_id,
                "",
                "",
                "",
                "",
                "",
                "",
            ]
        else:
            continue
        rows.append(row if ragged else row + [""] * (14 - len(row)))
    for number, row in enumerate(rows[1:], start=1):
        row[0] = str(number)
        if not ragged and len(row) < 14:
            row.extend([""] * (14 - len(row)))
    newline = "\r\n" if crlf else "\n"
    if quoted:
        lines = [",".join(f'"{cell}"' for cell in row) for row in rows]
    else:
        lines = [",".join(row) for row in rows]
    text = newline.join(lines) + newline
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")
