"""Write Medtronic CareLink exports the way CareLink does, from normalized records.

* :func:`write_modern` -- 780G-style (or Guardian Connect) export: preamble, sections
  (Pump, Aggregated Auto Insulin Data, Sensor) newest first, each with its header;
  ``eu`` = ``;`` + decimal comma + UTF-8 BOM + CRLF (as observed), ``us`` = ``,`` + ``.``,
  no BOM. A bolus becomes the observed three rows (wizard, programmed, delivered with
  the same Bolus Number).
* :func:`write_classic` -- CareLink Personal 2014-style: ``Data Range`` line, 39
  columns, oldest first, ``Raw-Type``/``Raw-Values``/``Raw-ID`` per row, ``M/D/YY``.
* :func:`write_ipro2` -- iPro2: UTF-16LE with BOM, tab-separated, 11-line preamble.

Names and dates of birth written into the preambles are dummies; tests check that they
never reach a record.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Literal

from drivers._core.records import (
    BasalSegment,
    Bolus,
    DeviceEvent,
    Food,
    GlucoseSample,
    Injection,
    Record,
)
from drivers._core.units import mgdl_to_mmoll
from drivers.exports.carelink.columns import (
    CLASSIC_HEADER,
    GUARDIAN_HEADER,
    IPRO2_HEADER,
    MODERN_HEADER,
)

Locale = Literal["eu", "us"]


def _mdy(t: datetime, with_time: bool = False) -> str:
    text = f"{t.month}/{t.day}/{t:%y}"
    return f"{text} {t:%H:%M:%S}" if with_time else text


def _num(value: float, comma: bool) -> str:
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return text.replace(".", ",") if comma else text


def _bolus_rows(b: Bolus, number: int, fmt: _Fmt) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    t = b.device_time
    calc = b.calculation
    if calc is not None:
        wiz: dict[str, object] = {"Time": t, "BWZ Status": "Delivered"}
        for column, value in (
            ("BWZ Estimate (U)", calc.recommended_total_u),
            ("BWZ Carb Ratio (g/U)", calc.carb_ratio_g_per_u),
            ("BWZ Carb Input (grams)", calc.carbs_g),
            ("BWZ Correction Estimate (U)", calc.recommended_correction_u),
            ("BWZ Food Estimate (U)", calc.recommended_food_u),
            ("BWZ Active Insulin (U)", calc.iob_u),
            ("BWZ Insulin Sensitivity (mg/dL/U)", calc.sensitivity_mgdl_per_u),
        ):
            if value is not None:
                wiz[column] = fmt.num(value)
        for column, mgdl in (
            ("BWZ BG/SG Input (mg/dL)", calc.bg_mgdl),
            ("BWZ Target High BG (mg/dL)", calc.target_high_mgdl),
            ("BWZ Target Low BG (mg/dL)", calc.target_low_mgdl),
        ):
            if mgdl is not None:
                wiz[column] = fmt.glucose(mgdl)
        rows.append(wiz)
    parts = []
    if b.subtype in ("normal", "dual"):
        kind = "Dual (normal part)" if b.subtype == "dual" else "Normal"
        parts.append((kind, b.programmed_u, b.delivered_u, 0))
    if b.subtype in ("extended", "dual"):
        kind = "Dual (square part)" if b.subtype == "dual" else "Square"
        parts.append((kind, b.extended_programmed_u, b.extended_delivered_u, b.extended_duration_s))
    for kind, programmed, delivered, duration in parts:
        base: dict[str, object] = {"Time": t, "Bolus Type": kind, "Bolus Number": str(number)}
        if duration:
            base["Bolus Duration (h:mm:ss)"] = _hms(duration)
        rows.append({**base, "Bolus Volume Selected (U)": fmt.num(programmed)})
        done = {**base, "Bolus Volume Selected (U)": fmt.num(programmed)}
        done["Bolus Volume Delivered (U)"] = fmt.num(delivered)
        rows.append(done)
    return rows


def _hms(seconds: int) -> str:
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class _Fmt:
    def __init__(self, locale: Locale, units: str) -> None:
        self.comma = locale == "eu"
        self.units = units

    def num(self, value: float) -> str:
        return _num(value, self.comma)

    def glucose(self, mgdl: float) -> str:
        if self.units == "mmol/L":
            return _num(round(mgdl_to_mmoll(mgdl), 1), self.comma)
        return str(round(mgdl))


def _modern_rows(rec: Record, fmt: _Fmt, guardian: bool) -> list[dict[str, object]]:
    t = rec.device_time
    alert = "Alarm" if guardian else "Alert"
    if isinstance(rec, GlucoseSample) and rec.glucose_mgdl is not None:
        column = {
            "cgm": "Sensor Glucose (mg/dL)",
            "smbg": "BG Reading (mg/dL)",
            "calibration": "Sensor Calibration BG (mg/dL)",
        }[rec.sample_type]
        row: dict[str, object] = {"Time": t, column: fmt.glucose(rec.glucose_mgdl)}
        if rec.sample_type == "cgm" and not guardian:
            row["ISIG Value"] = fmt.num(20.5)
        return [row]
    if isinstance(rec, BasalSegment):
        if rec.basal_type == "scheduled":
            return [{"Time": t, "Basal Rate (U/h)": fmt.num(rec.rate_u_per_h)}]
        if rec.basal_type == "suspend":
            return [{"Time": t, "Basal Rate (U/h)": "0", "Suspend": "USER_SUSPEND"}]
        if rec.basal_type == "temp":
            pct = rec.percent is not None
            return [
                {
                    "Time": t,
                    "Temp Basal Amount": fmt.num(rec.percent if pct else rec.rate_u_per_h),  # type: ignore[arg-type]
                    "Temp Basal Type": "Percent" if pct else "Rate",
                    "Temp Basal Duration (h:mm:ss)": _hms(rec.duration_s or 0),
                }
            ]
    if isinstance(rec, DeviceEvent):
        simple = {
            "resume": {"Suspend": "NORMAL_PUMPING"},
            "rewind": {"Basal Rate (U/h)": "0", "Rewind": "Rewind"},
            "alarm": {alert: rec.code or ""},
            "prime": {
                "Prime Type": rec.detail or "Cannula Fill",
                "Prime Volume Delivered (U)": fmt.num(rec.prime_u or 0.0),
            },
        }.get(rec.event_type)
        if rec.event_type == "time-change" and rec.time_to is not None:
            return [{"Time": t, "New Device Time": rec.time_to.strftime("%Y/%m/%d %H:%M:%S")}]
        return [{"Time": t, **simple}] if simple else []
    if isinstance(rec, Injection):
        return [{"Time": t, "Event Marker": f"Insulin: {_num(rec.insulin_u, fmt.comma)}"}]
    if isinstance(rec, Food):
        if rec.carbs_g is None:
            return [{"Time": t, "Event Marker": "Meal"}]
        return [{"Time": t, "Event Marker": f"Meal: {_num(rec.carbs_g, fmt.comma)}grams"}]
    return []


def write_modern(
    records: Sequence[Record],
    *,
    locale: Locale = "eu",
    guardian: bool = False,
    model: str = "MiniMed 780G MMT-1886",
    serial: str = "NG1234567H",
    patient: tuple[str, str] = ("Patient", "Test"),
) -> bytes:
    """A modern CareLink export (see module docstring) holding ``records``.

    ``records`` must be in device order (oldest first); each section is written newest
    first by reversing that order, so rows of one second keep the pump's order.

    Glucose is written in mg/dL (the only unit of the real modern samples). Automated
    ``basal/daily-aggregate`` segments go to the auto-insulin section (not for Guardian).
    """
    fmt = _Fmt(locale, "mg/dL")
    sep = ";" if locale == "eu" else ","
    header = GUARDIAN_HEADER if guardian else MODERN_HEADER
    model = "Guardian Connect" if guardian else model
    pump: list[dict[str, object]] = []
    sensor: list[dict[str, object]] = []
    auto: list[dict[str, object]] = []
    for number, rec in enumerate(records, start=1):
        if isinstance(rec, Bolus):
            pump.extend(_bolus_rows(rec, number % 256, fmt))
        elif isinstance(rec, BasalSegment) and rec.basal_type == "automated":
            total = rec.rate_u_per_h * 24.0
            auto.append(
                {
                    "Time": rec.device_time,
                    "Bolus Type": "Normal",
                    "Bolus Volume Selected (U)": fmt.num(total),
                    "Bolus Volume Delivered (U)": fmt.num(total),
                    "Bolus Source": "CLOSED_LOOP_AUTO_INSULIN",
                }
            )
        elif isinstance(rec, GlucoseSample) and rec.sample_type == "cgm":
            sensor.extend(_modern_rows(rec, fmt, guardian))
        else:
            pump.extend(_modern_rows(rec, fmt, guardian))
    out = io.StringIO()
    w = csv.writer(out, delimiter=sep, lineterminator="\r\n" if locale == "eu" else "\n")
    device_cells = ["Device", model] + (
        [] if guardian else ["Hardware Version", "A2.01", "Firmware Version", "8.13.2"]
    )
    w.writerow(
        [
            "Last Name",
            "First Name",
            "Patient ID",
            "System ID",
            "Start Date",
            "End Date",
            *device_cells,
        ]
    )
    w.writerow(
        [*patient, "", "", "02/11/2025 00:00:00", "08/11/2025 00:00:00", "Serial Number", serial]
    )
    w.writerow([] if guardian else ["Patient DOB", "", "", "", "", "", "CGM", "Guardian™ 4 Sensor"])
    w.writerow(["Device data shown may exceed selected date range."])
    index = 0
    sections = [
        ("Pump", "------- ", pump),
        ("Pump", "Aggregated Auto Insulin Data ", auto),
        ("Sensor", "------- ", sensor),
    ]
    for what, tail, rows in sections:
        if guardian and tail.startswith("Aggregated"):
            continue
        w.writerow([])
        w.writerow(["-------", model, what, serial, tail])
        w.writerow(header)
        for row in reversed(rows):  # records arrive oldest first; CareLink writes newest first
            when = row["Time"]
            assert isinstance(when, datetime)
            cells = {
                "Index": _num(index, fmt.comma) + (",00000" if fmt.comma else ""),
                "Date": when.strftime("%Y/%m/%d"),
                "Time": when.strftime("%H:%M:%S"),
            }
            cells.update({k: str(v) for k, v in row.items() if k != "Time"})
            w.writerow([cells.get(h, "") for h in header])
            index += 1
    text = out.getvalue()
    return (("\ufeff" if locale == "eu" and not guardian else "") + text).encode("utf-8")


def _classic_rows(rec: Record) -> list[tuple[str, str, dict[str, str]]]:
    """(Raw-Type, Raw-Values, extra columns) rows of one record, oldest first."""
    if isinstance(rec, GlucoseSample) and rec.glucose_mgdl is not None:
        value = f"{rec.glucose_mgdl:g}"
        raw = {"cgm": "GlucoseSensorData", "smbg": "BGCapturedOnPump", "calibration": "CalBGForPH"}
        return [(raw[rec.sample_type], f"AMOUNT={value}, ACTION_REQUESTOR=pump", {})]
    if isinstance(rec, Bolus):
        rows: list[tuple[str, str, dict[str, str]]] = []
        c = rec.calculation
        if c is not None:
            vals = {
                "BG_INPUT": c.bg_mgdl or 0,
                "BG_UNITS": "mg dl",
                "CARB_INPUT": c.carbs_g,
                "CARB_UNITS": "grams",
                "CARB_RATIO": c.carb_ratio_g_per_u,
                "INSULIN_SENSITIVITY": c.sensitivity_mgdl_per_u,
                "BG_TARGET_LOW": c.target_low_mgdl,
                "BG_TARGET_HIGH": c.target_high_mgdl,
                "BOLUS_ESTIMATE": c.recommended_total_u,
                "CORRECTION_ESTIMATE": c.recommended_correction_u,
                "FOOD_ESTIMATE": c.recommended_food_u,
                "UNABSORBED_INSULIN_TOTAL": c.iob_u,
            }
            text = ", ".join(
                f"{k}={'null' if v is None else (f'{v:g}' if isinstance(v, float) else v)}"
                for k, v in vals.items()
            )
            rows.append(("BolusWizardBolusEstimate", text, {}))
        dual = str(rec.subtype == "dual").lower()
        if rec.subtype in ("normal", "dual"):
            rows.append(
                (
                    "BolusNormal",
                    f"AMOUNT={rec.delivered_u:g}, PROGRAMMED_AMOUNT={rec.programmed_u:g}, "
                    f"IS_DUAL_COMPONENT={dual}",
                    {},
                )
            )
        if rec.subtype in ("extended", "dual"):
            rows.append(
                (
                    "BolusSquare",
                    f"AMOUNT={rec.extended_delivered_u:g}, "
                    f"PROGRAMMED_AMOUNT={rec.extended_programmed_u:g}, "
                    f"DURATION={rec.extended_duration_s * 1000}, IS_DUAL_COMPONENT={dual}",
                    {},
                )
            )
        return rows
    if isinstance(rec, BasalSegment):
        if rec.basal_type == "scheduled":
            return [
                (
                    "BasalProfileStart",
                    f"PATTERN_NAME={rec.schedule_name or 'standard'}, RATE={rec.rate_u_per_h:g}",
                    {},
                )
            ]
        if rec.basal_type == "temp" and rec.percent is not None:
            return [
                (
                    "ChangeTempBasalPercent",
                    f"PERCENT_OF_RATE={rec.percent:g}, DURATION={(rec.duration_s or 0) * 1000}",
                    {},
                )
            ]
        if rec.basal_type == "temp":
            return [
                (
                    "ChangeTempBasal",
                    f"RATE={rec.rate_u_per_h:g}, DURATION={(rec.duration_s or 0) * 1000}",
                    {},
                )
            ]
        if rec.basal_type == "suspend":
            return [("ChangeSuspendState", "STATE=user_suspend, PRESTATE=normal_pumping", {})]
    if isinstance(rec, DeviceEvent):
        if rec.event_type == "resume":
            return [("ChangeSuspendState", "STATE=normal_pumping, PRESTATE=user_suspend", {})]
        if rec.event_type == "rewind":
            return [("Rewind", "", {"Rewind": "Rewind"})]
        if rec.event_type == "prime":
            return [
                (
                    "Prime",
                    f"AMOUNT={rec.prime_u or 0:g}",
                    {
                        "Prime Type": rec.detail or "Manual",
                        "Prime Volume Delivered (U)": f"{rec.prime_u or 0:g}",
                    },
                )
            ]
        if rec.event_type == "alarm":
            return [("AlarmPump", f"RAW_TYPE={rec.code}", {"Alarm": rec.code or ""})]
        if rec.event_type == "time-change" and rec.time_to is not None:
            return [("ChangeTime", "", {"New Device Time": _mdy(rec.time_to, True)})]
    return []


def write_classic(
    records: Iterable[Record], *, device: str = "Paradigm Revel - 723", upload_id: int = 53021863
) -> bytes:
    """A classic CareLink Personal CSV (comma, ``M/D/YY``, LF, no final newline)."""
    recs = sorted(records, key=lambda r: r.device_time)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    first, last = (
        recs[0].device_time if recs else datetime(2014, 1, 1),
        recs[-1].device_time if recs else datetime(2014, 1, 1),
    )
    w.writerow(["Data Range", _mdy(first) + " 00:00:00", "to", _mdy(last, True)])
    w.writerow(CLASSIC_HEADER)
    raw_id, seq, index = 14000000000, 100000, 1
    for rec in recs:
        for raw_type, values, extra in _classic_rows(rec):
            t = rec.device_time
            cells = {
                "Index": str(index),
                "Date": _mdy(t),
                "Time": t.strftime("%H:%M:%S"),
                "Timestamp": _mdy(t, True),
                "Raw-Type": raw_type,
                "Raw-Values": values,
                "Raw-ID": str(raw_id),
                "Raw-Upload ID": str(upload_id),
                "Raw-Seq Num": str(seq),
                "Raw-Device Type": device,
                **extra,
            }
            w.writerow([cells.get(h, "") for h in CLASSIC_HEADER])
            raw_id, seq, index = raw_id + 1, seq - 1, index + 1
    return out.getvalue().rstrip("\n").encode("utf-8")


def write_ipro2(
    records: Iterable[Record], *, serial: str = "3080857", patient_id: str = "999999"
) -> bytes:
    """An iPro2 export: UTF-16LE with BOM, tab-separated, LF, ``DD/MM/YY``, mmol/L."""
    recs = sorted(records, key=lambda r: r.device_time)
    lines = [
        "Medtronic Diabetes iPro Data Export File (v1.0.1) ",
        "PATIENT INFO",
        f"Name\t{patient_id}",
        "Report Range\t08/02/16\tto\t12/02/16",
        "DEVICE INFO",
        f"Glucose Sensor Recorder\tMedtronic iPro2 Recorder\ts/n: {serial}\t",
        "Meter\tN/A\tN/A\t",
        '"Data Exported on "\t19/01/17 10:03',
        "DEVICE DATA",
        f"Number of Records\t{len(recs)}",
        "Data Time Range\t-\tto\t-",
        "\t".join(IPRO2_HEADER),
    ]
    for index, rec in enumerate(recs, start=1):
        t = rec.device_time
        cells = {
            "Index": str(index),
            "Date": t.strftime("%d/%m/%y"),
            "Time": t.strftime("%H:%M:%S"),
            "Timestamp": t.strftime("%d/%m/%y %H:%M:%S"),
        }
        date = t.strftime("DATE=%a %b %d %H:%M:%S UTC %Y;")
        if isinstance(rec, GlucoseSample) and rec.glucose_mgdl is not None:
            mmol = f"{mgdl_to_mmoll(rec.glucose_mgdl):.1f}"
            if rec.sample_type == "cgm":
                cells |= {
                    "Source": "GSR",
                    "Sensor Glucose (mmol/L)": mmol,
                    "Raw-Type": "SGReceivedIPro",
                    "Raw-Values": f"{date}SOURCE=GSR;AMOUNT={rec.glucose_mgdl:.1f};",
                }
            else:
                cal = str(rec.sample_type == "calibration")
                cells |= {
                    "Source": "Log sheet",
                    "Excluded": "False",
                    "BG Reading (mmol/L)": mmol,
                    "Used in Calibration": cal,
                    "Raw-Type": "LogbookDatum",
                    "Raw-Values": f"{date}SOURCE=LOGBOOK;AMOUNT={rec.glucose_mgdl};",
                }
        elif isinstance(rec, Food):
            cells |= {
                "Source": "Log sheet",
                "Excluded": "False",
                "Used in Calibration": "False",
                "Meal": "Meal",
                "Raw-Type": "LogbookDatum",
                "Raw-Values": f"{date}SOURCE=LOGBOOK;IS_MEAL=TRUE;",
            }
        elif isinstance(rec, DeviceEvent) and rec.event_type == "sensor-start":
            cells |= {
                "Source": "GSR",
                "Sensor Event": "iPro2: Sensor Connect",
                "Raw-Type": "SensorEvent",
                "Raw-Values": f"{date}SOURCE=GSR;EVENT_TYPE=SENSOR_IN;",
            }
        else:
            continue
        lines.append("\t".join(cells.get(h, "") for h in IPRO2_HEADER))
    return ("\ufeff" + "\n".join(lines) + "\n").encode("utf-16-le")
