"""The consensus AGP report of one patient, as a self-contained HTML page or an A4 PDF.

Sections, as on the IDC / ADA standardized one-page report (Battelino T, et al. Diabetes
Care 2019;42(8):1593-1603, doi:10.2337/dci19-0028, Fig. 2) and the vendor portals that
print it (Tidepool, Dexcom Clarity, LibreView):

1. header: the patient's site pseudonym (never a name), the period (local dates and
   days), % time CGM active, the devices;
2. glucose statistics and targets (mean, GMI, CV, SD) and the time-in-ranges bar with the
   consensus goals;
3. the AGP: 5/25/50/75/95 % percentiles by local time of day (15-minute bins with the
   cyclic 1-4-1 smoothing of the licensed IDC AGP, :func:`analytics.agp.agp`) over the
   shaded 70-180 mg/dL target range;
4. daily glucose profiles: the last 14 days, one panel each, calendar rows from Monday;
5. events and risk: consensus hypo- and hyperglycaemia events (Battelino 2023,
   doi:10.1016/S2213-8587(22)00319-9) and the Glycemia Risk Index with its zone
   (Klonoff 2023, doi:10.1177/19322968221085273).

The period is the last ``days`` local calendar days that end on the day of the last CGM
reading (fewer when the data start later). Every number comes from the metric catalogue
(:func:`analytics.catalogue.metrics`) over the readings of that period, gridded once; %
time CGM active is the catalogue's ``data_sufficiency_pct`` over the period's length.
High/Low readings count at the sensor's reporting limit (:mod:`gateway.analyze.summary`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from html import escape
from zoneinfo import ZoneInfo

import numpy as np
from matplotlib.figure import Figure
from numpy.typing import NDArray

from analytics.agp import agp, daily_profiles
from analytics.catalogue import metrics
from analytics.grid import to_grid
from analytics.risk import gri_zone_label
from gateway.analyze.summary import cgm_series
from gateway.reports import ReportRequest, plots
from gateway.reports.render import (
    A4_IN,
    RANGE_BANDS,
    definition_list,
    figure_svg,
    finite,
    fmt_number,
    fmt_pct,
    html_page,
    metric_cell,
    new_figure,
    write_pdf,
)

FloatArray = NDArray[np.float64]

AGP_BIN_S = 900
"""AGP bin width: 15 minutes (96 bins), smoothed 1-4-1 across neighbours."""
DAILY_PANELS = 14
"""Daily profiles shown: the last 14 days of the period, as on the IDC report."""

STAT_ROWS: tuple[tuple[str, str, int, str, str], ...] = (
    ("data_sufficiency_pct", "Time CGM active", 1, "%", "≥70% of 14 days"),
    ("mean_mgdl", "Mean glucose", 0, "mg/dL", ""),
    ("gmi_pct", "Glucose management indicator (GMI)", 1, "%", "<7% (most adults)"),
    ("cv_pct", "Glucose variability (CV)", 1, "%", "≤36%"),
    ("sd_mgdl", "Standard deviation (SD)", 0, "mg/dL", ""),
)
"""Statistics table: catalogue name, label, decimals shown, unit, target."""

EVENT_ROWS: tuple[tuple[str, str], ...] = (
    ("hypo_l2", "Level 2 hypoglycaemia: <54 mg/dL for ≥15 min"),
    ("hypo_l1", "Level 1 hypoglycaemia: <70 mg/dL for ≥15 min (level 2 included)"),
    ("hypo_extended", "Extended hypoglycaemia: <70 mg/dL for >120 min"),
    ("hyper_l1", "Level 1 hyperglycaemia: >180 mg/dL for ≥15 min (level 2 included)"),
    ("hyper_l2", "Level 2 hyperglycaemia: >250 mg/dL for ≥15 min"),
)
"""Events table: catalogue event kind (``<kind>_events``, ``_per_week``,
``_mean_duration_min``) and its definition."""


class ReportDataError(ValueError):
    """The records cannot make this report (no CGM readings)."""


@dataclass(frozen=True, slots=True)
class AgpData:
    """Everything the AGP report shows, computed once for both formats.

    Attributes:
        patient: site pseudonym.
        devices: device descriptions.
        source: where the data came from.
        first_date, last_date: the period's local calendar dates (inclusive).
        period_days: the period's length in days (DST days count 23 or 25 hours).
        values: catalogue name -> value over the period (None when not computable).
        gri_zone: GRI zone letter A-E, or None.
        agp_minutes: (bins,) local minutes since midnight of each AGP bin.
        agp_bands: percentile -> (bins,) mg/dL.
        daily_dates: local date of each daily panel.
        daily_values: (panels, slots per day) mg/dL, NaN without a value.
    """

    patient: str
    devices: tuple[str, ...]
    source: str
    first_date: date
    last_date: date
    period_days: float
    values: dict[str, float | None]
    gri_zone: str | None
    agp_minutes: FloatArray
    agp_bands: dict[float, FloatArray]
    daily_dates: list[date]
    daily_values: FloatArray

    @property
    def n_days(self) -> int:
        """Calendar days in the period."""
        return (self.last_date - self.first_date).days + 1

    @property
    def representative(self) -> bool:
        """The consensus rule for a representative period: at least 14 calendar days
        with CGM active at least 70 % of the time (Battelino 2019)."""
        active = self.values.get("data_sufficiency_pct")
        return self.n_days >= 14 and active is not None and active >= 70.0

    @property
    def period_text(self) -> str:
        """``Mon 2 Mar 2026 – Sun 15 Mar 2026``."""
        return f"{_date(self.first_date)} – {_date(self.last_date)}"


def _with_unit(text: str, unit: str) -> str:
    if text == "—":
        return text
    return f"{text}%" if unit == "%" else f"{text} {unit}"


def _date(d: date) -> str:
    return f"{plots.WEEKDAYS[d.weekday()]} {d.day} {d.strftime('%b %Y')}"


def _local_midnight_s(d: date, zone: ZoneInfo) -> float:
    return datetime.combine(d, time(), zone).astimezone(UTC).timestamp()


def build(request: ReportRequest) -> AgpData:
    """Compute the report's numbers and curves from the records.

    Raises:
        ReportDataError: no CGM reading in the records.
    """
    series = cgm_series(request.records)
    if series.mgdl.size == 0:
        raise ReportDataError("no CGM readings: an AGP report needs CGM data")
    local_day = np.floor((series.time_s + series.offset_s) / 86400.0).astype(np.int64)
    last_day = int(local_day.max())
    start_day = max(last_day - max(request.days, 1) + 1, int(local_day.min()))
    inside = local_day >= start_day
    epoch = date(1970, 1, 1)
    first_date = epoch + timedelta(days=start_day)
    last_date = epoch + timedelta(days=last_day)
    zone = ZoneInfo(request.tz)
    period_s = _local_midnight_s(last_date + timedelta(days=1), zone) - _local_midnight_s(
        first_date, zone
    )
    offsets = series.offset_s[inside]
    grid = to_grid(
        np.zeros(int(inside.sum()), dtype=np.int64),
        series.time_s[inside],
        series.mgdl[inside],
        n_patients=1,
        utc_offset_s=np.asarray([float(np.median(offsets))]),
        reading_offset_s=offsets,
    )
    catalogue = metrics(grid, period_days=period_s / 86400.0)
    values = {name: finite(column[0]) for name, column in catalogue.items() if name != "gri_zone"}
    zone_letter = gri_zone_label(float(catalogue["gri_zone"][0]))
    profile = agp(grid, bin_s=AGP_BIN_S, smooth=True)
    bands = {p: profile.band(p)[0] for p in profile.percentiles}
    days = daily_profiles(grid)
    by_date = {
        epoch + timedelta(days=int(d)): days.values[0, i]
        for i, d in enumerate(days.date[0])
        if days.in_period[0, i]
    }
    spd = days.values.shape[2]
    shown_first = max(first_date, last_date - timedelta(days=DAILY_PANELS - 1))
    shown = [shown_first + timedelta(days=k) for k in range((last_date - shown_first).days + 1)]
    empty = np.full(spd, np.nan)
    daily = np.stack([by_date.get(d, empty) for d in shown])
    return AgpData(
        patient=request.patient,
        devices=request.devices,
        source=request.source,
        first_date=first_date,
        last_date=last_date,
        period_days=period_s / 86400.0,
        values=values,
        gri_zone=zone_letter,
        agp_minutes=profile.bin_start_min,
        agp_bands=bands,
        daily_dates=shown,
        daily_values=daily,
    )


def render(request: ReportRequest, fmt: str) -> bytes:
    """The report as ``fmt``: "html" (UTF-8, self-contained) or "pdf" (A4, two pages)."""
    data = build(request)
    if fmt == "html":
        return render_html(data).encode("utf-8")
    if fmt == "pdf":
        return render_pdf(data)
    raise ValueError(f"the AGP report writes html or pdf, not {fmt!r}")


# --------------------------------------------------------------------------- HTML


def _warning(data: AgpData) -> str:
    if data.representative:
        return ""
    return (
        '<p class="warn">Less than 14 days, or CGM active less than 70% of the time: '
        "the consensus does not consider this period representative; interpret with "
        "caution.</p>"
    )


def _header(data: AgpData) -> str:
    items = {
        "Patient": f"<code>{escape(data.patient)}</code>",
        "Period": f"{escape(data.period_text)} ({data.n_days} days)",
        "Time CGM active": escape(fmt_number(data.values.get("data_sufficiency_pct"), 1) + "%"),
        "Devices": escape(", ".join(data.devices) or "—"),
    }
    return (
        "<h1>AGP report: continuous glucose monitoring</h1>"
        + definition_list(items)
        + _warning(data)
    )


def _stats_table(data: AgpData) -> str:
    rows = "".join(
        f"<tr><td>{escape(label)}</td>"
        + metric_cell(
            name, data.values.get(name), _with_unit(fmt_number(data.values.get(name), dec), unit)
        )
        + f'<td class="goal">{escape(target)}</td></tr>'
        for name, label, dec, unit, target in STAT_ROWS
    )
    return (
        "<table><tr><th>Glucose statistics</th><th class=num>Value</th><th>Target</th></tr>"
        f"{rows}</table>"
    )


def _ranges_table(data: AgpData) -> str:
    rows = "".join(
        f"<tr><td><span class=sw style='background:{colour}'></span>{escape(label)}</td>"
        f"<td>{escape(rng)}</td>"
        + metric_cell(key, data.values.get(key), fmt_pct(data.values.get(key)))
        + f'<td class="goal">{escape(goal)}</td></tr>'
        for key, label, rng, colour, goal in RANGE_BANDS
    )
    return (
        "<table><tr><th>Range</th><th>mg/dL</th><th class=num>Time</th><th>Goal</th></tr>"
        f"{rows}</table>"
    )


def _events_table(data: AgpData) -> str:
    v = data.values
    rows = "".join(
        f"<tr><td>{escape(label)}</td>"
        + metric_cell(
            f"{kind}_events", v.get(f"{kind}_events"), fmt_number(v.get(f"{kind}_events"))
        )
        + metric_cell(
            f"{kind}_per_week", v.get(f"{kind}_per_week"), fmt_number(v.get(f"{kind}_per_week"), 1)
        )
        + metric_cell(
            f"{kind}_mean_duration_min",
            v.get(f"{kind}_mean_duration_min"),
            fmt_number(v.get(f"{kind}_mean_duration_min")),
        )
        + "</tr>"
        for kind, label in EVENT_ROWS
    )
    return (
        "<table><tr><th>Event (consensus definition)</th><th class=num>Events</th>"
        "<th class=num>Per week</th><th class=num>Mean min</th></tr>"
        f"{rows}</table>"
    )


def _gri_table(data: AgpData) -> str:
    v = data.values
    zone = data.gri_zone or "—"
    return (
        "<table><tr><th>Glycemia Risk Index</th><th class=num>Value</th></tr>"
        "<tr><td>GRI (0 best – 100 worst)</td>"
        + metric_cell("gri", v.get("gri"), fmt_number(v.get("gri"), 1))
        + "</tr><tr><td>Zone (A best – E worst)</td>"
        + f'<td class="num" data-metric="gri_zone">{escape(zone)}</td></tr>'
        + "<tr><td>Hypoglycaemia component</td>"
        + metric_cell("gri_hypo", v.get("gri_hypo"), fmt_number(v.get("gri_hypo"), 1))
        + "</tr><tr><td>Hyperglycaemia component</td>"
        + metric_cell("gri_hyper", v.get("gri_hyper"), fmt_number(v.get("gri_hyper"), 1))
        + "</tr></table>"
    )


def _tir_figure(data: AgpData) -> Figure:
    fig = new_figure(4.2, 3.0)
    ax = fig.add_axes((0.02, 0.03, 0.96, 0.94))
    plots.draw_tir_bar(ax, data.values, fontsize=9)
    return fig


def _agp_figure(data: AgpData, width: float = 8.0, height: float = 3.4) -> Figure:
    fig = new_figure(width, height)
    ax = fig.add_axes((0.08, 0.12, 0.86, 0.84))
    plots.draw_agp(ax, data.agp_minutes, data.agp_bands, fontsize=8)
    return fig


def _daily_figure(data: AgpData) -> Figure:
    weeks = (
        (data.daily_dates[-1] - data.daily_dates[0]).days + data.daily_dates[0].weekday()
    ) // 7 + 1
    fig = new_figure(8.0, 0.35 + 1.25 * weeks)
    spec = fig.add_gridspec(1, 1, left=0.05, right=0.99, top=0.98, bottom=0.06)[0, 0]
    plots.draw_daily(fig, spec, data.daily_dates, data.daily_values, fontsize=8)
    return fig


def _gri_figure(data: AgpData) -> Figure:
    fig = new_figure(3.8, 2.6)
    ax = fig.add_axes((0.15, 0.17, 0.8, 0.78))
    plots.draw_gri(ax, data.values.get("gri_hypo"), data.values.get("gri_hyper"), fontsize=8)
    return fig


def render_html(data: AgpData) -> str:
    """The report as one self-contained HTML page."""
    tir = figure_svg(_tir_figure(data), salt="tir", title="Time in ranges")
    agp_svg = figure_svg(_agp_figure(data), salt="agp", title="Ambulatory glucose profile")
    daily = figure_svg(_daily_figure(data), salt="daily", title="Daily glucose profiles")
    gri = figure_svg(_gri_figure(data), salt="gri", title="Glycemia Risk Index grid")
    sections = [
        '<section id="statistics"><h2>Glucose statistics and targets</h2>'
        f"{_stats_table(data)}</section>",
        '<section id="time-in-ranges"><h2>Time in ranges</h2>'
        f'<div class="two"><figure class="small">{tir}</figure>'
        f"<div>{_ranges_table(data)}</div></div></section>",
        '<section id="agp"><h2>Ambulatory glucose profile (AGP)</h2>'
        f"<figure>{agp_svg}<figcaption>Glucose by local time of day over all "
        f"{data.n_days} days: median, 25–75% and 5–95% of values in each 15-minute bin "
        "(smoothed); shaded: target range 70–180 mg/dL.</figcaption></figure></section>",
        '<section id="daily" class="pagebreak"><h2>Daily glucose profiles</h2>'
        f"<figure>{daily}<figcaption>Each panel is one local day, midnight to midnight; "
        "the day of the month in the corner.</figcaption></figure></section>",
        '<section id="events"><h2>Events and glycemia risk</h2>'
        f'{_events_table(data)}<div class="two"><div>{_gri_table(data)}</div>'
        f"<figure>{gri}</figure></div></section>",
    ]
    footer = (
        f"Source: {escape(data.source or '—')}. Time in ranges, statistics and events by "
        "the International Consensus on Time in Range (Battelino 2019, "
        "doi:10.2337/dci19-0028) and the 2023 consensus on CGM metrics "
        "(doi:10.1016/S2213-8587(22)00319-9); GRI: Klonoff 2023 "
        "(doi:10.1177/19322968221085273). High/Low readings count at the sensor's "
        "reporting limit. Generated by glucogate."
    )
    return html_page(
        title=f"AGP report {data.patient}",
        header=_header(data),
        sections=sections,
        footer=footer,
    )


# --------------------------------------------------------------------------- PDF


def _text_rows(
    fig: Figure,
    x: float,
    y: float,
    rows: Sequence[Sequence[str]],
    widths: Sequence[float],
    *,
    size: float = 8.5,
    step: float = 0.019,
    bold_first: bool = True,
) -> float:
    """Rows of text cells from (x, y) downwards in figure coordinates; returns the y
    below the last row. A column whose width is negative is right-aligned at its end."""
    for r, row in enumerate(rows):
        cx = x
        for cell, w in zip(row, widths, strict=True):
            right = w < 0
            fig.text(
                cx + abs(w) if right else cx,
                y,
                cell,
                ha="right" if right else "left",
                va="top",
                fontsize=size,
                fontweight="bold" if (r == 0 and bold_first) else "normal",
            )
            cx += abs(w) + 0.01
        y -= step
    return y


def render_pdf(data: AgpData) -> bytes:
    """The report as a two-page A4 PDF: statistics, ranges and the AGP on page 1;
    daily profiles, events and the GRI on page 2."""
    v = data.values
    page1 = new_figure(*A4_IN)
    page1.text(
        0.06,
        0.965,
        "AGP report: continuous glucose monitoring",
        fontsize=15,
        fontweight="bold",
        va="top",
    )
    head = [
        ("Patient", data.patient),
        ("Period", f"{data.period_text} ({data.n_days} days)"),
        ("Time CGM active", fmt_number(v.get("data_sufficiency_pct"), 1) + "%"),
        ("Devices", ", ".join(data.devices) or "—"),
    ]
    y = _text_rows(page1, 0.06, 0.935, head, (0.16, 0.7), size=9, bold_first=False)
    if not data.representative:
        page1.text(
            0.06,
            y,
            "Less than 14 days or CGM active < 70%: not representative; interpret with caution.",
            fontsize=8.5,
            color="#a61c00",
            va="top",
        )
        y -= 0.02
    y -= 0.01
    page1.text(
        0.06, y, "GLUCOSE STATISTICS AND TARGETS", fontsize=10.5, fontweight="bold", va="top"
    )
    y -= 0.028
    stats = [("Statistic", "Value", "Target")] + [
        (label, _with_unit(fmt_number(v.get(name), dec), unit), target)
        for name, label, dec, unit, target in STAT_ROWS
    ]
    _text_rows(page1, 0.06, y, stats, (0.25, -0.09, 0.14), size=8.5)
    bar = page1.add_axes((0.56, y - 0.24, 0.42, 0.235))
    plots.draw_tir_bar(bar, v, fontsize=8)
    page1.text(0.56, y + 0.028, "TIME IN RANGES", fontsize=10.5, fontweight="bold", va="top")
    y -= 0.26
    page1.text(
        0.06, y, "AMBULATORY GLUCOSE PROFILE (AGP)", fontsize=10.5, fontweight="bold", va="top"
    )
    ax = page1.add_axes((0.1, y - 0.43, 0.82, 0.4))
    plots.draw_agp(ax, data.agp_minutes, data.agp_bands, fontsize=8)
    page1.text(
        0.06,
        y - 0.46,
        f"Median, 25–75% and 5–95% of glucose by local time of day "
        f"over {data.n_days} days (15-minute bins, smoothed); shaded: 70–180 mg/dL.",
        fontsize=7.5,
        color="#555",
        va="top",
    )
    _footer(page1, data, 1)

    page2 = new_figure(*A4_IN)
    page2.text(0.06, 0.965, "DAILY GLUCOSE PROFILES", fontsize=10.5, fontweight="bold", va="top")
    weeks = (
        (data.daily_dates[-1] - data.daily_dates[0]).days + data.daily_dates[0].weekday()
    ) // 7 + 1
    height = 0.03 + 0.13 * weeks
    spec = page2.add_gridspec(1, 1, left=0.08, right=0.97, top=0.945, bottom=0.945 - height)[0, 0]
    plots.draw_daily(page2, spec, data.daily_dates, data.daily_values, fontsize=7.5)
    y = 0.945 - height - 0.04
    page2.text(0.06, y, "EVENTS", fontsize=10.5, fontweight="bold", va="top")
    y -= 0.028
    events = [("Event (consensus definition)", "Events", "Per week", "Mean min")] + [
        (
            label,
            fmt_number(v.get(f"{k}_events")),
            fmt_number(v.get(f"{k}_per_week"), 1),
            fmt_number(v.get(f"{k}_mean_duration_min")),
        )
        for k, label in EVENT_ROWS
    ]
    y = _text_rows(page2, 0.06, y, events, (0.56, -0.08, -0.1, -0.1), size=8.5)
    y -= 0.02
    page2.text(0.06, y, "GLYCEMIA RISK INDEX", fontsize=10.5, fontweight="bold", va="top")
    gri_rows = [
        ("GRI", fmt_number(v.get("gri"), 1)),
        ("Zone (A best – E worst)", data.gri_zone or "—"),
        ("Hypoglycaemia component", fmt_number(v.get("gri_hypo"), 1)),
        ("Hyperglycaemia component", fmt_number(v.get("gri_hyper"), 1)),
    ]
    _text_rows(page2, 0.06, y - 0.03, gri_rows, (0.25, -0.08), size=8.5, bold_first=False)
    gax = page2.add_axes((0.52, y - 0.25, 0.42, 0.23))
    plots.draw_gri(gax, v.get("gri_hypo"), v.get("gri_hyper"), fontsize=7.5)
    _footer(page2, data, 2)
    return write_pdf((page1, page2), title=f"AGP report {data.patient}", subject="CGM AGP report")


def _footer(fig: Figure, data: AgpData, page: int) -> None:
    fig.text(
        0.06,
        0.02,
        f"{data.patient} · {data.period_text} · source: {data.source or '—'} · targets: "
        "Battelino 2019, doi:10.2337/dci19-0028 · glucogate",
        fontsize=6.5,
        color="#666",
    )
    fig.text(0.94, 0.02, f"page {page} of 2", fontsize=6.5, color="#666", ha="right")
