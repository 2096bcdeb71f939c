"""The agreement report for pump educators, as a self-contained HTML page or A4 PDF.

What the pump-start agreement and the vendor clinic reports (Tidepool Basics, t:connect
"Therapy Timeline", CareLink "Adherence") put in front of a certified pump educator:

1. header: site pseudonym (never a name), the period in local dates, the devices;
2. the care plan, item by item (:func:`gateway.careplan.evaluate.evaluate`): agreed,
   measured, met or not, trend against the previous period of the same length with
   the previous value, the evidence (days, counts) and the role that follows up;
3. bolus patterns with the days they happened: meals without a bolus and late
   boluses by local date and time with their carbs, calculator overrides and
   underrides, site changes with the days between them, calculator use, and the
   daily insulin (TDD, basal and bolus units, basal share) -- the rules of
   :mod:`analytics.insulin` (meal = carb entry; a meal bolus from 30 min before to 90
   min after; late = more than 15 min after the meal; override = programmed more than
   0.05 U above the recommendation);
4. CGM against the meter (:func:`gateway.analyze.agreement.patient_agreement` on the
   period's records): pairs, MARD, ISO 15197:2013 share and pass, 20/20, Bland-Altman
   bias and 95 % limits, Clarke and Parkes zone shares and the Clarke error grid; a
   note when there was no fingerstick.

Period: the last ``days`` local calendar days in the request's time zone ending on the
day of the last CGM reading (of the last record without CGM), shorter when the data
start later; the previous period is the same number of days before it. The visit for
"upload before the visit" is the plan's ``next_visit`` at local midnight.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from html import escape
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from analytics.agreement import clarke_zones
from analytics.insulin import OVERRIDE_TOLERANCE_U, match_meals
from drivers._core.records import BasalSegment, Bolus, DeviceEvent, GlucoseSample, Record
from gateway.analyze.agreement import patient_agreement
from gateway.analyze.insulin import insulin_data, patient_insulin
from gateway.careplan.evaluate import ItemResult, Measured, evaluate, measure
from gateway.careplan.plan import DEFAULT_AGREEMENTS, PRESETS, CarePlan
from gateway.reports import ReportRequest, plots
from gateway.reports.pdfflow import Flow
from gateway.reports.render import (
    DASH,
    definition_list,
    figure_svg,
    finite,
    fmt_number,
    html_page,
    metric_cell,
    new_figure,
    write_pdf,
)


class ReportDataError(ValueError):
    """The records cannot make this report (no record with a time)."""


@dataclass(frozen=True, slots=True)
class Period:
    """The report period in local calendar dates and as aware UTC instants."""

    first: date
    last: date
    start: datetime
    end: datetime
    previous_start: datetime

    @property
    def n_days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def text(self) -> str:
        return f"{_date(self.first)} – {_date(self.last)}"


def _date(d: date) -> str:
    return f"{plots.WEEKDAYS[d.weekday()]} {d.day} {d.strftime('%b %Y')}"


def _midnight(d: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(d, time(), zone).astimezone(UTC)


def report_period(records: Sequence[Record], tz: str, days: int) -> Period:
    """The period (module docstring) of ``records`` in zone ``tz``.

    Raises:
        ReportDataError: no record has a UTC time.
    """
    zone = ZoneInfo(tz)
    times = [r.time_utc for r in records if r.time_utc is not None]
    if not times:
        raise ReportDataError("no records with a time: nothing to report")
    cgm = [
        r.time_utc
        for r in records
        if isinstance(r, GlucoseSample) and r.sample_type == "cgm" and r.time_utc is not None
    ]
    last = max(cgm or times).astimezone(zone).date()
    first = max(last - timedelta(days=max(days, 1) - 1), min(times).astimezone(zone).date())
    n = (last - first).days + 1
    return Period(
        first=first,
        last=last,
        start=_midnight(first, zone),
        end=_midnight(last + timedelta(days=1), zone),
        previous_start=_midnight(first - timedelta(days=n), zone),
    )


def default_plan(patient: str) -> CarePlan:
    """The plan used without one: consensus general targets, site default agreements."""
    return CarePlan(
        site="",
        patient=patient,
        version=0,
        changed_by="",
        changed_at=datetime(1970, 1, 1, tzinfo=UTC),
        targets=PRESETS["general"],
        agreements=DEFAULT_AGREEMENTS,
    )


def in_period(records: Sequence[Record], start: datetime, end: datetime) -> list[Record]:
    """Records with a time in [start, end), and basal segments running into it (the
    filter of :func:`gateway.careplan.evaluate.measure`)."""
    s, e = start.timestamp(), end.timestamp()
    out = []
    for r in records:
        if r.time_utc is None:
            continue
        t = r.time_utc.timestamp()
        if s <= t < e or (
            isinstance(r, BasalSegment) and r.duration_s is not None and t < s < t + r.duration_s
        ):
            out.append(r)
    return out


@dataclass(frozen=True, slots=True)
class MealRow:
    """A meal without a bolus or with a late one (local time)."""

    at: datetime
    carbs_g: float
    late_min: float | None = None


@dataclass(frozen=True, slots=True)
class OverrideRow:
    """A calculator bolus whose programmed dose differs from the recommendation."""

    at: datetime
    recommended_u: float
    programmed_u: float
    delivered_u: float

    @property
    def direction(self) -> str:
        return "override (more)" if self.programmed_u > self.recommended_u else "underride (less)"


@dataclass(frozen=True, slots=True)
class DayRow:
    """One local day of insulin."""

    day: date
    basal_u: float
    bolus_u: float
    boluses: int
    calculator_boluses: int

    @property
    def tdd_u(self) -> float:
        return self.basal_u + self.bolus_u

    @property
    def basal_pct(self) -> float | None:
        return 100.0 * self.basal_u / self.tdd_u if self.tdd_u > 0 else None


@dataclass(frozen=True, slots=True)
class AgreementData:
    """Everything the report shows, computed once for both formats."""

    patient: str
    devices: tuple[str, ...]
    source: str
    tz: str
    period: Period
    plan_given: bool
    items: list[ItemResult]
    current: Measured
    insulin: dict[str, float | None]
    missed: list[MealRow]
    late: list[MealRow]
    overrides: list[OverrideRow]
    site_changes: list[datetime]
    days: list[DayRow]
    accuracy: dict[str, Any] | None
    clarke: list[int] = field(default_factory=list)

    @property
    def site_intervals_days(self) -> list[int]:
        """Local calendar days between consecutive site changes (the care plan's rule)."""
        d = [s.date().toordinal() for s in self.site_changes]
        return [b - a for a, b in pairwise(d)]


def _site_events(records: Sequence[Record]) -> list[DeviceEvent]:
    events = [r for r in records if isinstance(r, DeviceEvent) and r.time_utc is not None]
    sites = [e for e in events if e.event_type == "site-change"] or [
        e for e in events if e.event_type == "prime" and (e.detail or "").startswith("cannula")
    ]
    return sorted(sites, key=lambda e: e.time_utc or datetime.min.replace(tzinfo=UTC))


def _local(t_s: float, zone: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(t_s, tz=zone)


def _daily(records: Sequence[Record], period: Period, zone: ZoneInfo) -> list[DayRow]:
    """Basal delivered (segments clipped to each local day) and boluses by local day."""
    boluses = [r for r in records if isinstance(r, Bolus) and r.time_utc is not None]
    basal = [
        r
        for r in records
        if isinstance(r, BasalSegment) and r.time_utc is not None and r.duration_s
    ]
    b_start = np.array([b.time_utc.timestamp() for b in basal if b.time_utc], dtype=float)
    b_end = b_start + np.array([b.duration_s or 0 for b in basal], dtype=float)
    b_rate = np.array([b.rate_u_per_h for b in basal], dtype=float)
    bol_t = np.array([b.time_utc.timestamp() for b in boluses if b.time_utc], dtype=float)
    bol_u = np.array([b.delivered_u + b.extended_delivered_u for b in boluses], dtype=float)
    bol_calc = np.array(
        [
            b.calculation is not None and b.calculation.recommended_total_u is not None
            for b in boluses
        ],
        dtype=bool,
    )
    rows = []
    for k in range(period.n_days):
        day = period.first + timedelta(days=k)
        lo, hi = (
            _midnight(day, zone).timestamp(),
            _midnight(day + timedelta(days=1), zone).timestamp(),
        )
        hours = np.clip(np.minimum(b_end, hi) - np.maximum(b_start, lo), 0.0, None) / 3600.0
        inside = (bol_t >= lo) & (bol_t < hi)
        rows.append(
            DayRow(
                day=day,
                basal_u=float((b_rate * hours).sum()),
                bolus_u=float(bol_u[inside].sum()),
                boluses=int(inside.sum()),
                calculator_boluses=int((inside & bol_calc).sum()),
            )
        )
    return rows


def build(request: ReportRequest) -> AgreementData:
    """Compute the report's numbers from the records (module docstring).

    Raises:
        ReportDataError: no record with a time.
    """
    zone = ZoneInfo(request.tz)
    period = report_period(request.records, request.tz, request.days)
    plan = request.careplan or default_plan(request.patient)
    visit = datetime.combine(plan.next_visit, time(), zone) if plan.next_visit is not None else None
    current = measure(request.records, start=period.start, end=period.end, visit=visit)
    previous = measure(request.records, start=period.previous_start, end=period.start)
    items = evaluate(plan, current, previous)

    recs = in_period(request.records, period.start, period.end)
    insulin = patient_insulin(recs, start=period.start, end=period.end)
    data = insulin_data(recs, start=period.start, end=period.end)
    chosen, late = match_meals(data)
    missed_rows = [
        MealRow(_local(float(t), zone), float(g))
        for t, g, c in zip(data.meal_s, data.meal_carbs_g, chosen, strict=True)
        if c < 0
    ]
    late_rows = [
        MealRow(_local(float(t), zone), float(g), (float(data.bolus_s[c]) - float(t)) / 60.0)
        for t, g, c, is_late in zip(data.meal_s, data.meal_carbs_g, chosen, late, strict=True)
        if is_late
    ]
    rec_u = data.bolus_recommended_u
    diff = data.bolus_programmed_u - np.nan_to_num(rec_u)
    changed = np.isfinite(rec_u) & (np.abs(diff) > OVERRIDE_TOLERANCE_U)
    override_rows = [
        OverrideRow(
            _local(float(data.bolus_s[i]), zone),
            float(rec_u[i]),
            float(data.bolus_programmed_u[i]),
            float(data.bolus_delivered_u[i]),
        )
        for i in np.flatnonzero(changed)
    ]
    sites = [e.time_utc.astimezone(zone) for e in _site_events(recs) if e.time_utc is not None]
    accuracy = patient_agreement(recs)
    zones: list[int] = []
    if accuracy is not None and accuracy["pairs"]:
        ref = [p["ref_mgdl"] for p in accuracy["pairs"]]
        cgm = [p["cgm_mgdl"] for p in accuracy["pairs"]]
        zones = [int(z) for z in clarke_zones(ref, cgm)]
    return AgreementData(
        patient=request.patient,
        devices=request.devices,
        source=request.source,
        tz=request.tz,
        period=period,
        plan_given=request.careplan is not None,
        items=items,
        current=current,
        insulin=insulin,
        missed=sorted(missed_rows, key=lambda m: m.at),
        late=sorted(late_rows, key=lambda m: m.at),
        overrides=sorted(override_rows, key=lambda o: o.at),
        site_changes=sites,
        days=_daily(recs, period, zone),
        accuracy=accuracy,
        clarke=zones,
    )


def render(request: ReportRequest, fmt: str) -> bytes:
    """The report as ``fmt``: "html" (UTF-8, self-contained) or "pdf" (A4)."""
    data = build(request)
    if fmt == "html":
        return render_html(data).encode("utf-8")
    if fmt == "pdf":
        return render_pdf(data)
    raise ValueError(f"the agreement report writes html or pdf, not {fmt!r}")


# ------------------------------------------------------------------------ shared text

ROLE_NAMES = {
    "clinician": "Clinician",
    "pharmacist": "Pharmacist",
    "educator": "Diabetes educator",
    "pump_educator": "Pump educator",
    "chw": "Community health worker",
}


def _value(value: float | None, unit: str) -> str:
    v = finite(value)
    if v is None:
        return DASH
    decimals = 1 if unit in ("days", "%") or abs(v) < 10 else 0
    text = fmt_number(v, decimals)
    return f"{text}%" if unit.startswith("%") else f"{text} {unit}"


def _met(item: ItemResult) -> str:
    return {True: "met", False: "NOT MET", None: "no data"}[item.met]


def _trend(item: ItemResult) -> str:
    if item.trend is None:
        return DASH if item.previous is None else f"(was {_value(item.previous, item.unit)})"
    return f"{item.trend} (was {_value(item.previous, item.unit)})"


def _when(at: datetime) -> str:
    return f"{plots.WEEKDAYS[at.weekday()]} {at.day} {at.strftime('%b %H:%M')}"


def _pct(value: Any, decimals: int = 1) -> str:
    v = finite(value)
    return DASH if v is None else f"{fmt_number(v, decimals)}%"


def _mgdl(value: Any, decimals: int = 1) -> str:
    v = finite(value)
    return DASH if v is None else f"{v:+.{decimals}f} mg/dL"


ACCURACY_ROWS: tuple[tuple[str, str, str], ...] = (
    ("n_pairs", "Pairs (meter reading with a CGM reading within ±5 min)", "n"),
    ("mard_pct", "MARD (mean absolute relative difference)", "%"),
    ("mad_mgdl", "Mean absolute difference", "mg/dL"),
    ("iso15197_pct", "Within ISO 15197:2013 (±15 mg/dL below 100, else ±15%)", "%"),
    ("within_20_pct", "Within 20/20 (±20 mg/dL below 70, else ±20%)", "%"),
    ("bias_mgdl", "Bland–Altman bias (CGM − meter)", "±mg/dL"),
    ("ba_loa_low_mgdl", "Bland–Altman lower 95% limit of agreement", "±mg/dL"),
    ("ba_loa_high_mgdl", "Bland–Altman upper 95% limit of agreement", "±mg/dL"),
)


def _accuracy_text(name: str, unit: str, value: Any) -> str:
    if unit == "n":
        return fmt_number(value)
    if unit == "%":
        return _pct(value)
    if unit == "±mg/dL":
        return _mgdl(value)
    return _value(value, unit)


def _iso_pass(acc: dict[str, Any]) -> str:
    passed = acc.get("iso15197_pass")
    if passed is None:
        return DASH
    return "pass" if passed else "fail"


def _zone_rows(acc: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (z, _pct(acc.get(f"clarke_{z.lower()}_pct")), _pct(acc.get(f"parkes_{z.lower()}_pct")))
        for z in "ABCDE"
    ]


INSULIN_ROWS: tuple[tuple[str, str, str], ...] = (
    ("tdd_u", "Total daily dose (mean)", "U"),
    ("basal_u_per_day", "Basal per day", "U"),
    ("bolus_u_per_day", "Bolus per day", "U"),
    ("basal_pct", "Basal share of the total", "%"),
    ("boluses_per_day", "Boluses per day", ""),
    ("calculator_use_pct", "Boluses with the calculator", "%"),
    ("override_pct", "Calculator boluses raised (override)", "%"),
    ("underride_pct", "Calculator boluses lowered (underride)", "%"),
    ("missed_meal_bolus_pct", "Meals without a bolus", "%"),
    ("late_bolus_pct", "Meals bolused more than 15 min late", "%"),
    ("suspended_h_per_day", "Suspended per day", "h"),
)


def _insulin_text(value: Any, unit: str) -> str:
    v = finite(value)
    if v is None:
        return DASH
    if unit == "%":
        return f"{fmt_number(v, 1)}%"
    return f"{fmt_number(v, 1)} {unit}".rstrip()


def _no_plan_note(data: AgreementData) -> str:
    if data.plan_given:
        return ""
    return (
        "No care plan was given: the consensus general targets and the site's default "
        "pump agreements are shown."
    )


def _site_text(data: AgreementData) -> list[tuple[str, str]]:
    rows = []
    gaps = [None, *data.site_intervals_days][: len(data.site_changes)]
    for at, gap in zip(data.site_changes, gaps, strict=True):
        rows.append((_when(at), DASH if gap is None else f"{gap} d"))
    return rows


# --------------------------------------------------------------------------- HTML


def _header(data: AgreementData) -> str:
    items = {
        "Patient": f"<code>{escape(data.patient)}</code>",
        "Period": f"{escape(data.period.text)} ({data.period.n_days} days)",
        "Devices": escape(", ".join(data.devices) or DASH),
        "Time zone": escape(data.tz),
    }
    note = _no_plan_note(data)
    return (
        "<h1>Agreement report: pump therapy and care plan</h1>"
        + definition_list(items)
        + (f'<p class="note">{escape(note)}</p>' if note else "")
    )


def _plan_table(data: AgreementData) -> str:
    rows = []
    for it in data.items:
        cls = "met" if it.met else ("notmet" if it.met is False else "nodata")
        rows.append(
            f'<tr class="{cls}" data-item="{escape(it.id)}"><td>{escape(it.label)}</td>'
            f"<td>{escape(it.agreed)}</td>"
            + metric_cell(f"careplan.{it.id}.measured", it.measured, _value(it.measured, it.unit))
            + f'<td data-met="{"" if it.met is None else str(it.met).lower()}">'
            + f"{escape(_met(it))}</td>"
            + metric_cell(f"careplan.{it.id}.previous", it.previous, _trend(it), cls="")
            + f"<td>{escape(it.evidence)}</td>"
            + f"<td>{escape(ROLE_NAMES.get(it.owner, it.owner))}</td></tr>"
        )
    return (
        "<table><tr><th>Item</th><th>Agreed</th><th class=num>Measured</th><th>Met</th>"
        "<th>Trend (previous period)</th><th>Evidence</th><th>Follow-up</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def _list_table(head: Sequence[str], rows: Sequence[Sequence[str]], empty: str, cls: str) -> str:
    if not rows:
        return f'<p class="note" data-list="{cls}" data-count="0">{escape(empty)}</p>'
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    head_html = "".join(f"<th>{escape(h)}</th>" for h in head)
    return f'<table data-list="{cls}" data-count="{len(rows)}"><tr>{head_html}</tr>{body}</table>'


def _missed_rows(data: AgreementData) -> list[tuple[str, str]]:
    return [(_when(m.at), f"{m.carbs_g:.0f} g") for m in data.missed]


def _late_rows(data: AgreementData) -> list[tuple[str, str, str]]:
    return [(_when(m.at), f"{m.carbs_g:.0f} g", f"{m.late_min or 0:.0f} min") for m in data.late]


def _override_rows(data: AgreementData) -> list[tuple[str, str, str, str]]:
    return [
        (_when(o.at), f"{o.recommended_u:.2f} U", f"{o.programmed_u:.2f} U", o.direction)
        for o in data.overrides
    ]


def _day_rows(data: AgreementData) -> list[tuple[str, ...]]:
    return [
        (
            _date(d.day),
            f"{d.tdd_u:.1f}",
            f"{d.basal_u:.1f}",
            f"{d.bolus_u:.1f}",
            _pct(d.basal_pct, 0),
            str(d.boluses),
            f"{d.calculator_boluses}/{d.boluses}",
        )
        for d in data.days
    ]


DAY_HEAD = ("Day", "TDD U", "Basal U", "Bolus U", "Basal", "Boluses", "Calculator")


def _insulin_table(data: AgreementData) -> str:
    rows = "".join(
        f"<tr><td>{escape(label)}</td>"
        + metric_cell(
            f"insulin.{name}", data.insulin.get(name), _insulin_text(data.insulin.get(name), unit)
        )
        + "</tr>"
        for name, label, unit in INSULIN_ROWS
    )
    return f"<table><tr><th>Over the period</th><th class=num>Value</th></tr>{rows}</table>"


def _bolus_section(data: AgreementData) -> str:
    c = data.current
    meals = int(c.get("meals") or 0)
    return (
        '<section id="bolus-patterns"><h2>Bolus patterns</h2>'
        f"{_insulin_table(data)}"
        f'<h3 id="missed-boluses">Meals without a bolus: {len(data.missed)} of {meals}</h3>'
        + _list_table(
            ("When (local)", "Carbs"), _missed_rows(data), "None in this period.", "missed"
        )
        + f'<h3 id="late-boluses">Late boluses (more than 15 min after the meal): '
        f"{len(data.late)}</h3>"
        + _list_table(
            ("Meal (local)", "Carbs", "Bolus after"),
            _late_rows(data),
            "None in this period.",
            "late",
        )
        + f'<h3 id="overrides">Calculator overrides and underrides: {len(data.overrides)}</h3>'
        + _list_table(
            ("When (local)", "Recommended", "Programmed", "Change"),
            _override_rows(data),
            "None in this period.",
            "overrides",
        )
        + f'<h3 id="site-changes">Infusion site changes: {len(data.site_changes)}</h3>'
        + _list_table(
            ("When (local)", "Days since the last"),
            _site_text(data),
            "No site change recorded in this period.",
            "sites",
        )
        + '<h3 id="daily-insulin">Insulin by day (calculator use per day)</h3>'
        + _list_table(DAY_HEAD, _day_rows(data), "No pump data in this period.", "days")
        + "</section>"
    )


def _clarke_figure(data: AgreementData) -> Any:
    fig = new_figure(4.2, 4.2)
    ax = fig.add_axes((0.15, 0.12, 0.8, 0.83))
    pairs = data.accuracy["pairs"] if data.accuracy else []
    plots.draw_clarke(
        ax, [p["ref_mgdl"] for p in pairs], [p["cgm_mgdl"] for p in pairs], data.clarke
    )
    return fig


def _accuracy_section(data: AgreementData) -> str:
    acc = data.accuracy
    head = '<section id="accuracy"><h2>CGM against the meter</h2>'
    if acc is None:
        return (
            head + '<p class="warn" id="no-fingersticks">No fingersticks in this period: '
            "CGM agreement with the meter cannot be shown.</p></section>"
        )
    rows = "".join(
        f"<tr><td>{escape(label)}</td>"
        + metric_cell(f"agreement.{name}", acc.get(name), _accuracy_text(name, unit, acc.get(name)))
        + "</tr>"
        for name, label, unit in ACCURACY_ROWS
    )
    rows += (
        "<tr><td>ISO 15197 criteria (≥95% within and Parkes A+B ≥99%)</td>"
        f'<td class="num" data-metric="agreement.iso15197_pass">{_iso_pass(acc)}</td></tr>'
    )
    zones = "".join(
        f"<tr><td>{z}</td>"
        + metric_cell(f"agreement.clarke_{z.lower()}_pct", acc.get(f"clarke_{z.lower()}_pct"), c)
        + metric_cell(f"agreement.parkes_{z.lower()}_pct", acc.get(f"parkes_{z.lower()}_pct"), p)
        + "</tr>"
        for z, c, p in _zone_rows(acc)
    )
    svg = figure_svg(_clarke_figure(data), salt="clarke", title="Clarke error grid")
    return (
        head + f'<p class="note">{acc["references"]} meter readings, {acc["unpaired"]} without a '
        "CGM reading within 5 minutes. Calibrations entered into the CGM are left out. Both "
        "methods carry error: this is agreement, not accuracy.</p>"
        + f'<div class="two"><div><table><tr><th>Agreement</th><th class=num>Value</th></tr>'
        f"{rows}</table><table><tr><th>Zone</th><th class=num>Clarke</th>"
        f"<th class=num>Parkes (type 1)</th></tr>{zones}</table></div>"
        f'<figure class="small" id="clarke-grid">{svg}<figcaption>Clarke error grid: each point '
        "is one meter reading (x) and its CGM reading (y). A: clinically accurate; B: "
        "benign; C: overcorrection; D: failure to detect; E: erroneous treatment."
        "</figcaption></figure></div></section>"
    )


CSS_EXTRA = (
    "<style>tr.notmet td{background:#fde9e7} tr.met td[data-met]{color:#38761d}"
    " tr.notmet td[data-met]{color:#a61c00;font-weight:bold} h3{font-size:1em;margin:.8em 0 .2em}"
    "</style>"
)


def render_html(data: AgreementData) -> str:
    """The report as one self-contained HTML page."""
    sections = [
        '<section id="careplan"><h2>Care plan: agreed and measured</h2>'
        f"{_plan_table(data)}<p class=note>Trend against the previous {data.period.n_days} "
        "days; “same” when the change is under one step (1 point, 0.1 GMI, 5 mg/dL, a quarter "
        "day of site interval, 1 day of upload).</p></section>",
        _bolus_section(data),
        _accuracy_section(data),
    ]
    footer = (
        f"Source: {escape(data.source or DASH)}. Bolus rules: analytics.insulin (meal = carb "
        "entry; bolus from 30 min before to 90 min after; late > 15 min). Agreement: ISO "
        "15197:2013; Clarke 1987 (doi:10.2337/diacare.10.5.622); Parkes/Pfützner 2013; "
        "Bland–Altman 1986 (doi:10.1016/S0140-6736(86)90837-8). Generated by glucogate."
    )
    page = html_page(
        title=f"Agreement report {data.patient}",
        header=_header(data),
        sections=sections,
        footer=footer,
    )
    return page.replace("</head>", CSS_EXTRA + "</head>", 1)


# --------------------------------------------------------------------------- PDF


def render_pdf(data: AgreementData) -> bytes:
    """The report as an A4 PDF: the care plan on page 1, bolus patterns after it, the
    meter agreement with the Clarke grid last (pages as the lists need)."""
    flow = Flow(f"{data.patient} · {data.period.text} · source: {data.source or DASH} · glucogate")
    flow.title("Agreement report: pump therapy and care plan")
    flow.table(
        ("", ""),
        [
            ("Patient", data.patient),
            ("Period", f"{data.period.text} ({data.period.n_days} days)"),
            ("Devices", ", ".join(data.devices) or DASH),
        ],
        (0.12, 0.7),
        size=9,
    )
    note = _no_plan_note(data)
    if note:
        flow.paragraph(note, colour="#a61c00")
    flow.heading("Care plan: agreed and measured")
    flow.table(
        ("Item", "Agreed", "Measured", "Met", "Trend (previous)", "Follow-up"),
        [
            (
                it.label,
                it.agreed,
                _value(it.measured, it.unit),
                _met(it),
                _trend(it),
                ROLE_NAMES.get(it.owner, it.owner),
            )
            for it in data.items
        ],
        (0.3, 0.1, -0.08, 0.07, 0.14, 0.13),
        notes=[it.evidence for it in data.items],
    )
    flow.heading("Bolus patterns")
    flow.table(
        ("Over the period", "Value"),
        [(label, _insulin_text(data.insulin.get(n), u)) for n, label, u in INSULIN_ROWS],
        (0.4, -0.1),
    )
    meals = int(data.current.get("meals") or 0)
    flow.subheading(f"Meals without a bolus: {len(data.missed)} of {meals}")
    _pdf_list(flow, ("When (local)", "Carbs"), _missed_rows(data), (0.2, -0.06))
    flow.subheading(f"Late boluses (more than 15 min after the meal): {len(data.late)}")
    _pdf_list(flow, ("Meal (local)", "Carbs", "Bolus after"), _late_rows(data), (0.2, -0.06, -0.1))
    flow.subheading(f"Calculator overrides and underrides: {len(data.overrides)}")
    _pdf_list(
        flow,
        ("When (local)", "Recommended", "Programmed", "Change"),
        _override_rows(data),
        (0.2, -0.1, -0.1, 0.2),
    )
    flow.subheading(f"Infusion site changes: {len(data.site_changes)}")
    _pdf_list(flow, ("When (local)", "Days since the last"), _site_text(data), (0.2, -0.14))
    flow.subheading("Insulin by day")
    _pdf_list(flow, DAY_HEAD, _day_rows(data), (0.2, -0.07, -0.07, -0.07, -0.06, -0.07, -0.09))

    flow.new_page()
    flow.heading("CGM against the meter")
    acc = data.accuracy
    if acc is None:
        flow.paragraph(
            "No fingersticks in this period: CGM agreement with the meter cannot be shown.",
            size=9,
            colour="#a61c00",
        )
    else:
        flow.paragraph(
            f"{acc['references']} meter readings, {acc['unpaired']} without a CGM reading "
            "within 5 minutes; calibrations left out. Both methods carry error: this is "
            "agreement, not accuracy."
        )
        rows = [
            (label, _accuracy_text(name, unit, acc.get(name)))
            for name, label, unit in ACCURACY_ROWS
        ]
        rows.append(("ISO 15197 criteria (≥95% within and Parkes A+B ≥99%)", _iso_pass(acc)))
        flow.table(("Agreement", "Value"), rows, (0.55, -0.14), size=8)
        flow.table(
            ("Zone", "Clarke", "Parkes (type 1)"), _zone_rows(acc), (0.1, -0.1, -0.16), size=8
        )
        pairs = acc["pairs"]

        def draw(ax: Any) -> None:
            plots.draw_clarke(
                ax, [p["ref_mgdl"] for p in pairs], [p["cgm_mgdl"] for p in pairs], data.clarke
            )

        flow.subheading("Clarke error grid")
        flow.figure(0.4, draw, width=0.56)
    return write_pdf(flow.finish(), title=f"Agreement report {data.patient}", subject="agreement")


def _pdf_list(
    flow: Flow, head: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float]
) -> None:
    if not rows:
        flow.paragraph("None in this period.", colour="#666")
        return
    flow.table(head, rows, widths)
