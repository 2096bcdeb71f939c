"""The AGP report's figures, drawn on matplotlib axes (Agg canvas, no pyplot).

Each ``draw_*`` function draws one section on axes it is given, so the same drawing
serves the HTML page (one figure per section, inline SVG) and the PDF (several sections
on one A4 page). Layout and colours follow the consensus AGP report (Battelino 2019,
doi:10.2337/dci19-0028, Fig. 2; the IDC AGP Report): a stacked time-in-ranges bar with
goals, the modal day with 5-95 % and 25-75 % bands around the median over the shaded
70-180 mg/dL target range, and one small midnight-to-midnight panel per day.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.gridspec import SubplotSpec
from numpy.typing import NDArray

from gateway.reports.render import (
    RANGE_BANDS,
    TARGET_HIGH_MGDL,
    TARGET_LOW_MGDL,
    finite,
    fmt_pct,
)

FloatArray = NDArray[np.float64]

TARGET_FILL = "#d9ead3"
BAND_OUTER = "#a4c2f4"
BAND_INNER = "#3c78d8"
MEDIAN = "#0b2e6b"
Y_MAX_MGDL = 350.0
"""Glucose axis top of the AGP graph, as on the IDC report; values above are clipped."""
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def draw_tir_bar(ax: Axes, values: Mapping[str, object], *, fontsize: float = 9.0) -> None:
    """Stacked bar of the five consensus ranges (very low at the bottom) with each
    range's label, share and goal to the right, evenly spaced so that small shares never
    overlap, and a leader line to their segment."""
    shares = [max(finite(values.get(key)) or 0.0, 0.0) for key, *_ in RANGE_BANDS]
    total = sum(shares) or 1.0
    bottom = 0.0
    mids: list[float] = []
    for (_, _, _, colour, _), share in zip(reversed(RANGE_BANDS), reversed(shares), strict=True):
        h = 100.0 * share / total
        ax.bar(0.0, h, bottom=bottom, width=0.6, color=colour, edgecolor="white", lw=0.8)
        mids.append(bottom + h / 2)
        bottom += h
    mids.reverse()  # top to bottom again, as RANGE_BANDS
    slots = np.linspace(92.0, 8.0, len(RANGE_BANDS))
    for (key, label, rng, colour, goal), mid, y in zip(RANGE_BANDS, mids, slots, strict=True):
        ax.plot([0.32, 0.5, 0.62], [mid, mid, y], color="#888", lw=0.6, clip_on=False)
        ax.text(
            0.66,
            y,
            f"{label} {rng}",
            va="bottom",
            ha="left",
            fontsize=fontsize,
            color="#222",
        )
        ax.text(
            0.66,
            y,
            f"{fmt_pct(values.get(key))}   goal {goal}",
            va="top",
            ha="left",
            fontsize=fontsize,
            fontweight="bold",
            color="#222",
        )
        del colour
    ax.set_xlim(-0.4, 3.2)
    ax.set_ylim(0, 100)
    ax.axis("off")


def draw_agp(
    ax: Axes,
    minutes: FloatArray,
    bands: Mapping[float, FloatArray],
    *,
    fontsize: float = 8.0,
) -> None:
    """The modal day: 5-95 % and 25-75 % bands and the median by local time of day.

    Args:
        ax: axes to draw on.
        minutes: (bins,) local minutes since midnight at which each bin starts.
        bands: percentile (5, 25, 50, 75, 95) -> (bins,) mg/dL, NaN where not enough data.
        fontsize: tick and label size in points.
    """
    width = float(minutes[1] - minutes[0]) if minutes.size > 1 else 60.0
    # bin centres, wrapped at midnight so the curves span 00:00 to 24:00
    x = np.concatenate([[0.0], (minutes + width / 2) / 60.0, [24.0]])

    def curve(p: float) -> FloatArray:
        v = np.asarray(bands[p], dtype=np.float64)
        edge = np.nanmean([v[0], v[-1]]) if np.isfinite([v[0], v[-1]]).any() else np.nan
        out: FloatArray = np.clip(np.concatenate([[edge], v, [edge]]), 0.0, Y_MAX_MGDL)
        return out

    ax.axhspan(TARGET_LOW_MGDL, TARGET_HIGH_MGDL, color=TARGET_FILL, zorder=0)
    for level in (TARGET_LOW_MGDL, TARGET_HIGH_MGDL):
        ax.axhline(level, color="#38761d", lw=1.0, zorder=1)
    for level in (54.0, 250.0):
        ax.axhline(level, color="#999", lw=0.6, ls=(0, (3, 3)), zorder=1)
    p5, p25, p50, p75, p95 = (curve(p) for p in (5.0, 25.0, 50.0, 75.0, 95.0))
    ax.fill_between(x, p5, p95, color=BAND_OUTER, lw=0, zorder=2, label="5–95%")
    ax.fill_between(x, p25, p75, color=BAND_INNER, alpha=0.75, lw=0, zorder=3, label="25–75%")
    ax.plot(x, p50, color=MEDIAN, lw=2.0, zorder=4, label="median")
    ax.set_xlim(0, 24)
    ax.set_ylim(0, Y_MAX_MGDL)
    ax.set_xticks(range(0, 25, 3))
    ax.set_xticklabels([f"{h:02d}:00" for h in range(0, 25, 3)], fontsize=fontsize)
    ax.set_yticks([0, 54, 70, 180, 250, 350])
    ax.tick_params(axis="y", labelsize=fontsize)
    ax.set_ylabel("mg/dL", fontsize=fontsize)
    ax.grid(axis="x", color="#ddd", lw=0.5)
    for p, curve_v in ((95, p95), (75, p75), (50, p50), (25, p25), (5, p5)):
        y = curve_v[-2]
        if np.isfinite(y):
            ax.annotate(
                f"{p}%",
                xy=(24, y),
                xytext=(3, 0),
                textcoords="offset points",
                va="center",
                fontsize=fontsize - 1,
                color=MEDIAN,
                annotation_clip=False,
            )
    ax.legend(loc="upper left", fontsize=fontsize - 1, frameon=False, ncol=3)


def _day_axes(ax: Axes, *, first: bool, label: str, fontsize: float) -> None:
    ax.set_xlim(0, 24)
    ax.set_ylim(0, Y_MAX_MGDL)
    ax.set_xticks([12])
    ax.set_xticklabels(["12:00"], fontsize=fontsize - 1)
    ax.set_yticks([70, 180] if first else [])
    ax.tick_params(axis="y", labelsize=fontsize - 1, length=2, pad=1)
    ax.tick_params(axis="x", length=2, pad=1)
    ax.text(
        0.04,
        0.96,
        label,
        transform=ax.transAxes,
        va="top",
        fontsize=fontsize,
        fontweight="bold",
    )
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def draw_daily(
    fig: Figure,
    spec: SubplotSpec,
    dates: Sequence[date],
    values: FloatArray,
    *,
    fontsize: float = 8.0,
) -> None:
    """One small panel per day, calendar rows of seven starting on Monday.

    Args:
        fig: the figure.
        spec: the part of the figure's grid to fill.
        dates: the local date of each row of ``values`` (consecutive days).
        values: (days, slots per day) mg/dL, NaN without a value.
        fontsize: label size in points.
    """
    if not dates:
        return
    first_monday = dates[0] - timedelta(days=dates[0].weekday())
    weeks = (dates[-1] - first_monday).days // 7 + 1
    grid = spec.subgridspec(
        weeks + 1, 7, hspace=0.25, wspace=0.08, height_ratios=[0.18] + [1] * weeks
    )
    for col, name in enumerate(WEEKDAYS):
        head = fig.add_subplot(grid[0, col])
        head.axis("off")
        head.text(0.5, 0.0, name, ha="center", va="bottom", fontsize=fontsize, fontweight="bold")
    spd = values.shape[1]
    hours = (np.arange(spd) + 0.5) * 24.0 / spd
    for i, day in enumerate(dates):
        offset = (day - first_monday).days
        ax = fig.add_subplot(grid[1 + offset // 7, offset % 7])
        v = values[i]
        ax.axhspan(TARGET_LOW_MGDL, TARGET_HIGH_MGDL, color=TARGET_FILL, lw=0, zorder=0)
        clipped = np.clip(v, 0.0, Y_MAX_MGDL)
        ax.fill_between(
            hours,
            TARGET_HIGH_MGDL,
            clipped,
            where=clipped > TARGET_HIGH_MGDL,
            color="#f6b26b",
            lw=0,
            zorder=1,
            interpolate=True,
        )
        ax.fill_between(
            hours,
            TARGET_LOW_MGDL,
            clipped,
            where=clipped < TARGET_LOW_MGDL,
            color="#cc0000",
            lw=0,
            zorder=1,
            interpolate=True,
        )
        ax.plot(hours, clipped, color="#222", lw=0.7, zorder=2)
        if not np.isfinite(v).any():
            ax.text(
                0.5,
                0.5,
                "no data",
                transform=ax.transAxes,
                ha="center",
                va="center",
                fontsize=fontsize - 1,
                color="#888",
            )
        label = day.strftime("%b ") + str(day.day) if i == 0 or day.day == 1 else str(day.day)
        _day_axes(ax, first=offset % 7 == 0, label=label, fontsize=fontsize)


def draw_gri(ax: Axes, hypo: float | None, hyper: float | None, *, fontsize: float = 8.0) -> None:
    """The GRI grid: hypoglycaemia component against hyperglycaemia component, zones A-E
    as bands of GRI = 3 x hypo + 1.6 x hyper (Klonoff 2023, doi:10.1177/19322968221085273),
    and the patient's point."""
    hx = np.linspace(0, 60, 241)
    hy = np.linspace(0, 30, 121)
    xx, yy = np.meshgrid(hx, hy)
    gri = np.minimum(3.0 * yy + 1.6 * xx, 100.0)
    colours = ["#b6d7a8", "#ffe599", "#f9cb9c", "#ea9999", "#cc4125"]
    ax.contourf(xx, yy, gri, levels=[0, 20, 40, 60, 80, 100.01], colors=colours)
    # each letter in the middle of its band along the bottom edge (hypo = 1.5 %)
    for zone, mid in zip("ABCDE", (10.0, 30.0, 50.0, 70.0, 90.0), strict=True):
        ax.text(
            (mid - 4.5) / 1.6,
            1.5,
            zone,
            fontsize=fontsize + 1,
            fontweight="bold",
            color="#333",
            ha="center",
            va="center",
        )
    if hypo is not None and hyper is not None:
        ax.plot(min(hyper, 60.0), min(hypo, 30.0), "o", ms=7, mfc="black", mec="white", mew=1.2)
    ax.set_xlim(0, 60)
    ax.set_ylim(0, 30)
    ax.set_xlabel("Hyperglycaemia component (%)", fontsize=fontsize)
    ax.set_ylabel("Hypoglycaemia component (%)", fontsize=fontsize)
    ax.tick_params(labelsize=fontsize - 1)


CLARKE_MAX_MGDL = 400.0
"""Axis limit of the Clarke error-grid plot (Clarke 1987, Fig. 1); larger values are
drawn on the edge so that every pair stays visible."""
ZONE_COLOURS = ("#38761d", "#3d85c6", "#e69138", "#cc0000", "#741b47")
"""Point colour of zones A-E."""
_CLARKE_LINES: tuple[tuple[tuple[float, float], tuple[float, float]], ...] = (
    ((0.0, 175.0 / 3.0), (70.0, 70.0)),
    ((175.0 / 3.0, 400.0 / 1.2), (70.0, 400.0)),
    ((70.0, 70.0), (84.0, 400.0)),
    ((0.0, 70.0), (180.0, 180.0)),
    ((70.0, 290.0), (180.0, 400.0)),
    ((70.0, 70.0), (0.0, 56.0)),
    ((70.0, 400.0), (56.0, 320.0)),
    ((180.0, 180.0), (0.0, 70.0)),
    ((180.0, 400.0), (70.0, 70.0)),
    ((240.0, 240.0), (70.0, 180.0)),
    ((240.0, 400.0), (180.0, 180.0)),
    ((130.0, 180.0), (0.0, 70.0)),
)
"""Zone boundaries as (x0, x1), (y0, y1) segments in mg/dL: reference on x, CGM on y."""
_CLARKE_LABELS = (
    (30, 15, "A"),
    (345, 330, "A"),
    (370, 260, "B"),
    (280, 370, "B"),
    (160, 370, "C"),
    (160, 15, "C"),
    (30, 140, "D"),
    (370, 120, "D"),
    (30, 370, "E"),
    (370, 15, "E"),
)


def draw_clarke(
    ax: Axes,
    ref_mgdl: Sequence[float],
    cgm_mgdl: Sequence[float],
    zones: Sequence[int],
    *,
    fontsize: float = 8.0,
) -> None:
    """The Clarke error grid (Clarke WL et al. Diabetes Care 1987;10:622-628,
    doi:10.2337/diacare.10.5.622, Fig. 1) with one point per (reference, CGM) pair,
    coloured by its zone (0-4 = A-E, from :func:`analytics.agreement.clarke_zones`).

    The points are one marker line with the SVG id ``clarke-points`` (one ``<use>`` per
    pair), so a reader of the HTML can count them. Values above 400 mg/dL sit on the
    edge.
    """
    ax.plot([0, CLARKE_MAX_MGDL], [0, CLARKE_MAX_MGDL], ":", color="#999", lw=0.7)
    for xs, ys in _CLARKE_LINES:
        ax.plot(xs, ys, "-", color="#444", lw=0.9)
    for x, y, label in _CLARKE_LABELS:
        ax.text(x, y, label, fontsize=fontsize + 2, fontweight="bold", color="#666")
    top = CLARKE_MAX_MGDL - 1.0
    ref = np.clip(np.asarray(ref_mgdl, dtype=np.float64), 0.0, top)
    cgm = np.clip(np.asarray(cgm_mgdl, dtype=np.float64), 0.0, top)
    zone = np.asarray(zones, dtype=np.int64)
    colours = [ZONE_COLOURS[z] if 0 <= z < len(ZONE_COLOURS) else "#000" for z in zone]
    if ref.size:
        points = ax.scatter(ref, cgm, s=14, c=colours, edgecolors="white", linewidths=0.4)
        points.set_gid("clarke-points")
        points.set_zorder(3)
    ax.set_xlim(0, CLARKE_MAX_MGDL)
    ax.set_ylim(0, CLARKE_MAX_MGDL)
    ax.set_aspect("equal")
    ax.set_xticks(range(0, 401, 100))
    ax.set_yticks(range(0, 401, 100))
    ax.set_xlabel("Meter (reference) glucose, mg/dL", fontsize=fontsize)
    ax.set_ylabel("CGM glucose, mg/dL", fontsize=fontsize)
    ax.tick_params(labelsize=fontsize - 1)
