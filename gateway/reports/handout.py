"""The patient handout: one page in plain words, in the care plan's language.

For the patient to take home after a visit (DESIGN.md section 9): how the last two
weeks went, the one or two agreements to work on, what went well, the next visit and
the local resources from the care plan. Words and number formats are in
:mod:`gateway.reports.i18n` (English and Spanish); there is no jargon (no GMI, CV or
percentiles) and no name: only the site pseudonym, small, in the footer, so that staff
can match the page to the record.

Numbers are those of the agreement report for the same period
(:func:`gateway.reports.agreement.report_period`, :func:`gateway.careplan.evaluate.measure`
and :func:`~gateway.careplan.evaluate.evaluate`): time in range from the plan's range
item (70-180 mg/dL by default, 63-140 in pregnancy) as hours a day (share x 24 h), time
under 70 mg/dL as minutes a day (share x 1440 min), and the lows counted as consensus
level 1 events (< 70 mg/dL for >= 15 min, level 2 < 54 included; Battelino 2023,
doi:10.1016/S2213-8587(22)00319-9) by the metric catalogue, as on the AGP report.

What to work on: the unmet plan items in a fixed order of safety, then therapy (very
low, low, meal boluses, time in range, site change, sensor wear, late boluses,
calculator use, very high, high, the rest), at most two. What went well: the met items
in the same order, at most three.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, time
from html import escape
from zoneinfo import ZoneInfo

from gateway.careplan.evaluate import ItemResult, evaluate, measure
from gateway.careplan.plan import Resource
from gateway.reports import ReportRequest, i18n
from gateway.reports.agreement import Period, default_plan, report_period
from gateway.reports.pdfflow import Flow
from gateway.reports.render import finite, html_page, write_pdf

PRIORITY = (
    "tbr_lt54_pct",
    "tbr_lt70_pct",
    "tbr_lt63_pct",
    "missed_meal_bolus_pct",
    "tir_70_180_pct",
    "tir_63_140_pct",
    "site_change_interval_days",
    "cgm_wear_pct",
    "late_bolus_pct",
    "calculator_use_pct",
    "tar_gt250_pct",
    "tar_gt180_pct",
    "tar_gt140_pct",
    "tir_70_140_pct",
    "override_pct",
    "cv_pct",
    "gmi_pct",
    "mean_mgdl",
)
"""Order in which unmet (and met) plan items are chosen for the page."""
MAX_WORK_ON = 2
MAX_WENT_WELL = 3


@dataclass(frozen=True, slots=True)
class HandoutData:
    """What the page says, in the plan's language."""

    lang: str
    patient: str
    period: Period
    tir_range: tuple[int, int]
    tir_pct: float | None
    tir_goal_pct: float | None
    below70_pct: float | None
    lows: int | None
    very_lows: int | None
    work_on: list[ItemResult]
    went_well: list[ItemResult]
    meals: int
    meals_without_bolus: int
    next_visit: str | None
    resources: tuple[Resource, ...]

    @property
    def tir_hours(self) -> float | None:
        return None if self.tir_pct is None else self.tir_pct * 24.0 / 100.0


def _rank(item: ItemResult) -> int:
    return PRIORITY.index(item.metric) if item.metric in PRIORITY else len(PRIORITY)


def _events(request: ReportRequest, period: Period) -> tuple[int | None, int | None]:
    """Level 1 and level 2 low events of the period (the AGP report's catalogue)."""
    from gateway.reports.agp import ReportDataError, build

    try:
        agp = build(replace(request, days=period.n_days))
    except ReportDataError:
        return None, None
    l1, l2 = agp.values.get("hypo_l1_events"), agp.values.get("hypo_l2_events")
    return (None if l1 is None else round(l1)), (None if l2 is None else round(l2))


def build(request: ReportRequest) -> HandoutData:
    """The handout's numbers and choices (module docstring)."""
    zone = ZoneInfo(request.tz)
    plan = request.careplan or default_plan(request.patient)
    lang = i18n.language(plan.language)
    period = report_period(request.records, request.tz, request.days)
    visit = datetime.combine(plan.next_visit, time(), zone) if plan.next_visit is not None else None
    current = measure(request.records, start=period.start, end=period.end, visit=visit)
    previous = measure(request.records, start=period.previous_start, end=period.start)
    items = evaluate(plan, current, previous)
    tir_item = next((it for it in items if it.metric.startswith("tir_")), None)
    tir_range = (70, 180)
    if tir_item is not None:
        m = re.match(r"tir_(\d+)_(\d+)_pct", tir_item.metric)
        if m:
            tir_range = (int(m.group(1)), int(m.group(2)))
    tir = tir_item.measured if tir_item is not None else current.get("tir_70_180_pct")
    shown = [it for it in items if it.metric != "upload_days_before_visit"]
    work = sorted((it for it in shown if it.met is False), key=_rank)[:MAX_WORK_ON]
    well = sorted((it for it in shown if it.met is True), key=_rank)[:MAX_WENT_WELL]
    lows, very_lows = _events(request, period) if current.get("cgm_readings") else (None, None)
    return HandoutData(
        lang=lang,
        patient=request.patient,
        period=period,
        tir_range=tir_range,
        tir_pct=finite(tir),
        tir_goal_pct=tir_item.value if tir_item is not None else None,
        below70_pct=finite(current.get("tbr_lt70_pct")),
        lows=lows,
        very_lows=very_lows,
        work_on=work,
        went_well=well,
        meals=round(current.get("meals") or 0),
        meals_without_bolus=round(current.get("meals_without_bolus") or 0),
        next_visit=i18n.long_date(plan.next_visit, lang) if plan.next_visit else None,
        resources=plan.resources,
    )


def render(request: ReportRequest, fmt: str) -> bytes:
    """The handout as ``fmt``: "html" (UTF-8, self-contained) or "pdf" (one A4 page)."""
    data = build(request)
    if fmt == "html":
        return render_html(data).encode("utf-8")
    if fmt == "pdf":
        return render_pdf(data)
    raise ValueError(f"the handout writes html or pdf, not {fmt!r}")


# ---------------------------------------------------------------------------- words


def how_it_went(data: HandoutData) -> list[str]:
    """The sentences of "how the last 2 weeks went"."""
    lang = data.lang
    if data.tir_hours is None:
        return [i18n.text(lang, "no_cgm")]
    low, high = data.tir_range
    out = [i18n.text(lang, "tir", low=low, high=high, hours=i18n.number(data.tir_hours, 1, lang))]
    if data.tir_goal_pct is not None:
        goal = i18n.number(data.tir_goal_pct * 24.0 / 100.0, 1, lang)
        out[-1] += " " + i18n.text(lang, "tir_goal", goal_hours=goal)
    if data.lows is not None:
        if data.lows == 0:
            out.append(i18n.text(lang, "lows_none"))
        else:
            key = "lows_one" if data.lows == 1 else "lows_many"
            sentence = i18n.text(lang, key, n=data.lows)
            if data.below70_pct is not None:
                minutes = i18n.number(data.below70_pct * 1440.0 / 100.0, 0, lang)
                sentence += " " + i18n.text(lang, "lows_time", minutes=minutes)
            out.append(sentence)
            if data.very_lows:
                out.append(i18n.text(lang, "very_lows", n=data.very_lows))
    return out


def went_well(data: HandoutData) -> list[str]:
    words = i18n.WENT_WELL[data.lang]
    return [words[it.metric] for it in data.went_well if it.metric in words] or [
        i18n.text(data.lang, "well_none")
    ]


def work_on(data: HandoutData) -> list[str]:
    words = i18n.WORK_ON[data.lang]
    out = [
        words[it.metric].format(missed=data.meals_without_bolus, meals=data.meals)
        for it in data.work_on
        if it.metric in words
    ]
    if any(it.metric in ("tbr_lt70_pct", "tbr_lt63_pct", "tbr_lt54_pct") for it in data.work_on):
        out.append(i18n.text(data.lang, "lows_tip"))
    return out or [i18n.text(data.lang, "work_none")]


def visit_lines(data: HandoutData) -> list[str]:
    if data.next_visit is None:
        return [i18n.text(data.lang, "visit_none")]
    return [data.next_visit, i18n.text(data.lang, "visit_bring")]


def resource_lines(data: HandoutData) -> list[tuple[str, list[str]]]:
    """(title, detail lines) per resource: "Name (kind)", phone, address."""
    kinds = i18n.RESOURCE_KINDS[data.lang]
    out = []
    for r in data.resources:
        details = []
        if r.phone:
            details.append(f"{i18n.text(data.lang, 'phone')}: {r.phone}")
        if r.address:
            details.append(f"{i18n.text(data.lang, 'address')}: {r.address}")
        out.append((f"{r.name} ({kinds.get(r.kind, kinds['other'])})", details))
    return out


def _period(data: HandoutData) -> str:
    lang = data.lang
    return i18n.text(
        lang,
        "period",
        first=i18n.short_date(data.period.first, lang),
        last=i18n.short_date(data.period.last, lang, year=True),
    )


# --------------------------------------------------------------------------- HTML

HANDOUT_CSS = (
    "<style>body{font-size:17px;line-height:1.5;max-width:40em}"
    " h2{text-transform:none;letter-spacing:0;font-size:1.2em}"
    " ul{margin:.2em 0 .4em 1.2em;padding:0} li{margin:.2em 0}"
    " @media print{body{font-size:12.5px}}</style>"
)


def _ul(lines: list[str]) -> str:
    return "<ul>" + "".join(f"<li>{escape(x)}</li>" for x in lines) + "</ul>"


def render_html(data: HandoutData) -> str:
    """The handout as one self-contained HTML page in the plan's language."""
    lang = data.lang
    t = i18n.text
    resources = "".join(
        f"<li><strong>{escape(title)}</strong>"
        + "".join(f"<br>{escape(d)}" for d in details)
        + "</li>"
        for title, details in resource_lines(data)
    )
    if not resources:
        resources = f"<li>{escape(t(lang, 'resources_none'))}</li>"
    sections = [
        f'<section id="how"><h2>{escape(t(lang, "how_heading"))}</h2>'
        f"{_ul(how_it_went(data))}</section>",
        f'<section id="work-on"><h2>{escape(t(lang, "work_heading"))}</h2>'
        f"{_ul(work_on(data))}</section>",
        f'<section id="went-well"><h2>{escape(t(lang, "well_heading"))}</h2>'
        f"{_ul(went_well(data))}</section>",
        f'<section id="next-visit"><h2>{escape(t(lang, "visit_heading"))}</h2>'
        f"{_ul(visit_lines(data))}</section>",
        f'<section id="resources"><h2>{escape(t(lang, "resources_heading"))}</h2>'
        f"<ul>{resources}</ul></section>",
    ]
    header = f"<h1>{escape(t(lang, 'title'))}</h1><p>{escape(_period(data))}</p>"
    footer = f"<p>{escape(t(lang, 'footer'))}</p><code>{escape(data.patient)}</code>"
    page = html_page(title=t(lang, "title"), header=header, sections=sections, footer=footer)
    page = page.replace('<html lang="en">', f'<html lang="{lang}">', 1)
    return page.replace("</head>", HANDOUT_CSS + "</head>", 1)


# --------------------------------------------------------------------------- PDF


def render_pdf(data: HandoutData) -> bytes:
    """The handout as one A4 page (larger type than the clinical reports)."""
    lang = data.lang
    t = i18n.text
    label = "página {i} de {n}" if lang == "es" else "page {i} of {n}"
    flow = Flow(data.patient, page_label=label)
    flow.title(t(lang, "title"))
    flow.paragraph(_period(data), size=12)
    size = 11.5
    blocks = [
        ("how_heading", how_it_went(data)),
        ("work_heading", work_on(data)),
        ("well_heading", went_well(data)),
        ("visit_heading", visit_lines(data)),
    ]
    for key, lines in blocks:
        flow.heading(t(lang, key), size=13, upper=False, keep=0.04)
        for line in lines:
            flow.paragraph("•  " + line, size=size)
    flow.heading(t(lang, "resources_heading"), size=13, upper=False, keep=0.04)
    entries = resource_lines(data)
    if not entries:
        flow.paragraph(t(lang, "resources_none"), size=size)
    for title, details in entries:
        flow.paragraph("•  " + title, size=size)
        for d in details:
            flow.paragraph(d, size=size - 1, indent=0.03, colour="#333")
    flow.y -= 0.02
    flow.paragraph(t(lang, "footer"), size=size - 1, colour="#333")
    pages = flow.finish()
    return write_pdf(pages, title=t(lang, "title"), subject="patient handout")
