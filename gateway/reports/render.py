"""Shared pieces of every printable report: the HTML page shell and its print CSS, number
formatting, matplotlib figures as inline SVG, and PDF writing.

Figures are drawn on :class:`matplotlib.figure.Figure` objects attached to the Agg canvas
(never pyplot, never a display), so rendering is thread-safe and works on a headless
kiosk or server. HTML pages are one self-contained file: CSS inline, figures inline SVG
with their text kept as text. PDFs are written with matplotlib's ``PdfPages``; no
HTML-to-PDF engine is involved.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from html import escape
from typing import Any

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

A4_IN = (8.27, 11.69)
"""A4 portrait in inches (210 x 297 mm)."""

RANGE_BANDS: tuple[tuple[str, str, str, str, str], ...] = (
    ("tar_gt250_pct", "Very high", ">250 mg/dL", "#f4a460", "<5%"),
    ("tar_181_250_pct", "High", "181–250 mg/dL", "#ffd966", "<25% (incl. very high)"),
    ("tir_70_180_pct", "Target", "70–180 mg/dL", "#6aa84f", ">70%"),
    ("tbr_54_69_pct", "Low", "54–69 mg/dL", "#e06666", "<4% (incl. very low)"),
    ("tbr_lt54_pct", "Very low", "<54 mg/dL", "#990000", "<1%"),
)
"""The consensus ranges, top to bottom: catalogue name, label, range, colour, goal for
most adults with type 1 or type 2 diabetes (Battelino 2019, doi:10.2337/dci19-0028)."""

TARGET_LOW_MGDL, TARGET_HIGH_MGDL = 70.0, 180.0
"""The consensus target range, mg/dL."""

DASH = "—"


def finite(value: Any) -> float | None:
    """``value`` as a float, or None when it is missing or not finite."""
    if value is None:
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def fmt_number(value: Any, decimals: int = 0) -> str:
    """A number with ``decimals`` decimals, rounded as ``format`` rounds the binary
    value; a dash when missing.

    >>> fmt_number(153.6), fmt_number(6.95, 1), fmt_number(float("nan"))
    ('154', '7.0', '—')
    """
    v = finite(value)
    return DASH if v is None else f"{v:.{decimals}f}"


def fmt_pct(value: Any) -> str:
    """A time-in-range share as the AGP prints it: whole percent, ``<1%`` for a share
    above zero that would round to 0, a dash when missing.

    >>> fmt_pct(71.6), fmt_pct(0.2), fmt_pct(0.0), fmt_pct(None)
    ('72%', '<1%', '0%', '—')
    """
    v = finite(value)
    if v is None:
        return DASH
    if 0.0 < v < 0.5:
        return "<1%"
    return f"{v:.0f}%"


def metric_cell(name: str, value: Any, text: str, cls: str = "num") -> str:
    """A table cell that shows ``text`` and carries the catalogue name and the value (3
    decimals) as data attributes, so a reader or a test can take the number back."""
    v = finite(value)
    data = "" if v is None else f' data-value="{v:.3f}"'
    return f'<td class="{cls}" data-metric="{escape(name)}"{data}>{escape(text)}</td>'


def new_figure(width_in: float, height_in: float) -> Figure:
    """A figure on the Agg canvas (no pyplot, no display)."""
    fig = Figure(figsize=(width_in, height_in), layout=None)
    FigureCanvasAgg(fig)
    return fig


_SVG_HEAD = re.compile(r"^.*?(?=<svg)", re.S)


def figure_svg(fig: Figure, *, salt: str, title: str) -> str:
    """The figure as an inline ``<svg>`` element: text kept as text, ids made unique by
    ``salt`` (several figures share one page), an accessible title."""
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": salt}):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    svg = _SVG_HEAD.sub("", buf.getvalue(), count=1)
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{escape(title)}" ', 1)
    return svg


def write_pdf(pages: Iterable[Figure], *, title: str, subject: str) -> bytes:
    """The pages as one PDF (``PdfPages``); metadata holds the title, never a name."""
    buf = io.BytesIO()
    with PdfPages(
        buf,
        metadata={
            "Title": title,
            "Subject": subject,
            "Creator": "glucogate",
            "CreationDate": datetime.now(UTC),
        },
    ) as pdf:
        for fig in pages:
            pdf.savefig(fig)
    return buf.getvalue()


CSS = """
*{box-sizing:border-box}
body{font-family:"DejaVu Sans",system-ui,sans-serif;color:#222;margin:0 auto;
 max-width:60em;padding:1.2em;font-size:14px;line-height:1.35}
h1{font-size:1.45em;margin:0 0 .2em} h2{font-size:1.1em;margin:1.1em 0 .4em;
 border-bottom:2px solid #444;padding-bottom:.15em;text-transform:uppercase;letter-spacing:.04em}
header dl{display:grid;grid-template-columns:max-content 1fr max-content 1fr;
 gap:.15em 1em;margin:.4em 0}
header dt{font-weight:bold} header dd{margin:0}
table{border-collapse:collapse;margin:.3em 0;width:100%}
td,th{padding:.25em .6em;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
th{background:#f2f2f2}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.goal{color:#555}
.two{display:grid;grid-template-columns:1fr 1fr;gap:1.2em;align-items:start}
.sw{display:inline-block;width:.9em;height:.9em;margin-right:.4em;vertical-align:middle;
 border:1px solid #888}
figure{margin:.3em 0} figure svg{width:100%;height:auto}
figure.small svg{max-width:26em}
figcaption,.note{font-size:.85em;color:#555}
.warn{background:#fff3cd;border:1px solid #e0c060;padding:.4em .6em}
section{break-inside:avoid;page-break-inside:avoid}
footer{margin-top:1.5em;font-size:.8em;color:#555;border-top:1px solid #ccc;padding-top:.4em}
@page{size:A4;margin:12mm}
@media print{body{max-width:none;padding:0;font-size:11px}
 .pagebreak{break-before:page;page-break-before:always}}
"""


def html_page(*, title: str, header: str, sections: Iterable[str], footer: str) -> str:
    """The page shell: one self-contained HTML document, print-friendly (A4 or Letter)."""
    body = "\n".join(sections)
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{CSS}</style></head><body>\n"
        f"<header>{header}</header>\n{body}\n<footer>{footer}</footer>\n</body></html>\n"
    )


def definition_list(items: Mapping[str, str]) -> str:
    """``<dl>`` of label -> already escaped HTML value."""
    return "<dl>" + "".join(f"<dt>{escape(k)}</dt><dd>{v}</dd>" for k, v in items.items()) + "</dl>"
