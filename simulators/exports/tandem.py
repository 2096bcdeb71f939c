"""Write a Tandem t:connect "Therapy Timeline Data Export" CSV from normalized records.

Layout of the 2021 export (firmware-notes/exports-tandem.md): a 5-line preamble
(vendor, title, patient name, DOB, report date), then blank-line-separated sections --
readings (``EGV`` for CGM, ``BG`` for fingersticks), IOB (one row per bolus that has
one), basal (only when ``basal`` records are given: pumps without Control-IQ), bolus --
every value quoted, empty values bare, data rows ending with a trailing comma, and the
bolus rows one field longer than their header (an unnamed field after
``IsQuickBolus``), all as the portal writes them. LF line endings, local naive times.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from drivers._core.records import BasalSegment, Bolus, BolusCalculation, GlucoseSample, Record

PREAMBLE = (
    "Tandem Diabetes Care Inc.",
    "t:connect Therapy Timeline Data Export",
    "Patient Name, {name}",
    "Patient DOB, {dob}",
    "Report Generated On, {generated}",
)
READINGS_HEADER = "DeviceType,SerialNumber,Description,EventDateTime,Readings (CGM / BGM)"
IOB_HEADER = "Type,EventID,EventDateTime,IOB"
BASAL_HEADER = "Type,EventDateTime,BasalRate"
BOLUS_HEADER = (
    "Type,Description,BG,IOB,BolusRequestID,BolusCompletionID,CompletionDateTime,"
    "InsulinDelivered,FoodDelivered,CorrectionDelivered,CompletionStatusID,"
    "CompletionStatusDesc,BolusIsComplete,BolexCompletionID,BolexSize,BolexStartDateTime,"
    "BolexCompletionDateTime,BolexInsulinDelivered,BolexIOB,BolexCompletionStatusID,"
    "BolexCompletionStatusDesc,ExtendedBolusIsComplete,EventDateTime,RequestDateTime,"
    "BolusType,BolusRequestOptions,StandardPercent,Duration,CarbSize,UserOverride,TargetBG,"
    "CorrectionFactor,FoodBolusSize,CorrectionBolusSize,ActualTotalBolusRequested,"
    "IsQuickBolus,EventHistoryReportEventDesc,EventHistoryReportDetails,NoteID,IndexID,Note"
)


def _q(value: str | float | int | None) -> str:
    if value is None or value == "":
        return ""
    return f'"{value}"'


def _t(when: datetime) -> str:
    return when.isoformat(timespec="seconds")


def _u(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def _g(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _bolus_row(rec: Bolus, serial_id: int) -> str:
    calc = rec.calculation
    total = rec.programmed_u + rec.extended_programmed_u
    extended = rec.subtype != "normal"
    percent = 100.0 if not extended or total == 0 else 100 * rec.programmed_u / total
    desc = "Extended" if extended else "Standard"
    details = ""
    if calc is not None and calc.carb_ratio_g_per_u is not None:
        details = (
            f"CF 1:{_g(calc.sensitivity_mgdl_per_u)} - Carb Ratio 1:{_g(calc.carb_ratio_g_per_u)}"
            f" - Target BG {_g(calc.target_low_mgdl)}"
        )
    request = rec.source_index.split(":", 1)[1] if rec.source_index.startswith("bolus:") else ""
    request_id = f"{int(request)}.000" if request.isdigit() else f"{serial_id}.000"
    override = None if calc is None or calc.user_changed is None else int(calc.user_changed)
    correction = None if calc is None else _net_correction(calc)
    fields = [
        _q("Bolus"),
        _q(desc),
        _q(_g(calc.bg_mgdl) if calc else None),
        _q(_u(calc.iob_u) if calc else None),
        _q(request_id),
        _q(request_id),
        _q(_t(rec.device_time)),
        _q(_u(rec.delivered_u)),
        _q(_u(calc.recommended_food_u) if calc else None),
        _q(_u(correction)),
        _q(3),
        _q("Completed"),
        _q(1),
        "",
        _q(_u(rec.extended_programmed_u) if extended else None),
        "",
        "",
        _q(_u(rec.extended_delivered_u) if extended else None),
        "",
        "",
        _q("Completed" if extended else None),
        _q(1 if extended else None),
        _q(_t(rec.device_time)),
        _q(_t(rec.device_time)),
        _q("Carb"),
        _q(desc),
        _q(f"{percent:.2f}"),
        _q(round(rec.extended_duration_s / 60)),
        _q(_g(calc.carbs_g) if calc and calc.carbs_g is not None else None),
        _q(override),
        _q(_g(calc.target_low_mgdl) if calc else None),
        _q(f"{calc.sensitivity_mgdl_per_u:.2f}" if calc and calc.sensitivity_mgdl_per_u else None),
        _q(_u(calc.recommended_food_u) if calc else None),
        _q(_u(correction)),
        _q(_u(total)),
        _q(0),
        _q(0),
        _q("Food Bolus"),
        _q(details),
        _q(0),
        _q(serial_id),
        _q(""),
    ]
    return ",".join(fields) + ","


def write_tconnect(
    records: Sequence[Record],
    *,
    serial: str = "11111111",
    name: str = "Sample Name",
    dob: str = "1/1/1990",
    generated: str = "4/24/2021 7:50:04 PM",
) -> bytes:
    """The export's bytes; records are written oldest first within each section."""
    recs = sorted(records, key=lambda r: r.device_time)
    out = [p.format(name=name, dob=dob, generated=generated) for p in PREAMBLE]
    out += ["", READINGS_HEADER]
    for rec in recs:
        if isinstance(rec, GlucoseSample):
            value = rec.special.capitalize() if rec.special else _g(rec.glucose_mgdl)
            kind = "EGV" if rec.sample_type == "cgm" else "BG"
            device = "t:slim X2 Insulin Pump"
            out.append(
                ",".join([_q(device), _q(serial), _q(kind), _q(_t(rec.device_time)), _q(value)])
                + ","
            )
    boluses = [r for r in recs if isinstance(r, Bolus)]
    out += ["", IOB_HEADER]
    for b in boluses:
        if b.calculation is not None and b.calculation.iob_u is not None:
            out.append(
                ",".join([_q("IOB"), _q(81), _q(_t(b.device_time)), _q(_u(b.calculation.iob_u))])
            )
    basal = [r for r in recs if isinstance(r, BasalSegment)]
    if basal:
        out += ["", BASAL_HEADER]
        out += [
            ",".join([_q("Basal"), _q(_t(r.device_time)), _q(_u(r.rate_u_per_h))]) + ","
            for r in basal
        ]
    out += ["", BOLUS_HEADER]
    out += [_bolus_row(b, 1_000_000 + n) for n, b in enumerate(boluses)]
    return ("\n".join(out) + "\n").encode()


def _net_correction(calc: BolusCalculation) -> float | None:
    """The correction as t:connect exports it: net of insulin on board.

    ``CorrectionBolusSize`` already has IOB taken off (the real row in
    shared/fixtures/real: BG 168, target 110, CF 30 gives 1.93 U gross, IOB 1.71,
    ``CorrectionBolusSize`` 0.22 and "Pump calculated Bolus = 0.2 units"): max(gross -
    IOB, 0) for a positive correction, the (negative) gross when BG is below target.
    """
    gross = calc.recommended_correction_u
    if gross is None:
        return None
    if gross > 0:
        return round(max(gross - (calc.iob_u or 0.0), 0.0), 2)
    return round(gross, 2)
