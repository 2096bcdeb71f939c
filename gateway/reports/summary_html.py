"""A one-page HTML glucose summary: the consensus ranges bar and the core metrics.

The full AGP report (percentile plot, daily profiles, PDF) belongs to the reports
issue; this page is what the kiosk and ``glucogate demo`` print today. It shows the
patient's pseudonym only. Colours and range bands follow the consensus AGP layout
(Battelino et al., Diabetes Care 2019;42:1593, doi:10.2337/dci19-0028).
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

_BANDS = (
    ("tar_gt250_pct", "Very high", ">250 mg/dL", "#f4a460", "<5%"),
    ("tar_181_250_pct", "High", "181–250 mg/dL", "#ffd966", "<25% (with very high)"),
    ("tir_70_180_pct", "In range", "70–180 mg/dL", "#6aa84f", ">70%"),
    ("tbr_54_69_pct", "Low", "54–69 mg/dL", "#e06666", "<4% (with very low)"),
    ("tbr_lt54_pct", "Very low", "<54 mg/dL", "#990000", "<1%"),
)
_ROWS = (
    ("n_readings", "CGM readings", "", "{:.0f}"),
    ("wear_pct", "Time CGM active", "%", "{:.1f}"),
    ("mean_mgdl", "Mean glucose", "mg/dL", "{:.0f}"),
    ("gmi_pct", "Glucose management indicator (GMI)", "%", "{:.1f}"),
    ("sd_mgdl", "Standard deviation", "mg/dL", "{:.0f}"),
    ("cv_pct", "Coefficient of variation (target ≤36%)", "%", "{:.1f}"),
)


def _fmt(value: Any, pattern: str) -> str:
    if value is None:
        return "—"
    if isinstance(value, (int, float)):
        return pattern.format(value)
    return escape(str(value))


def render_summary(metrics: Mapping[str, Any], *, patient: str, period: str, source: str) -> str:
    """Render the summary page; ``patient`` must be a pseudonym, never a name."""
    bar = "".join(
        f'<div style="flex:{max(float(metrics.get(k) or 0), 0.0):.3f};background:{colour}"'
        f' title="{escape(label)} {float(metrics.get(k) or 0):.1f}%"></div>'
        for k, label, _, colour, _ in _BANDS
    )
    legend = "".join(
        f"<tr><td><span class=sw style='background:{colour}'></span>{escape(label)}</td>"
        f"<td>{escape(rng)}</td><td class=num>{_fmt(metrics.get(k), '{:.1f}')}%</td>"
        f"<td>{escape(goal)}</td></tr>"
        for k, label, rng, colour, goal in _BANDS
    )
    rows = "".join(
        f"<tr><td>{escape(label)}</td><td class=num>{_fmt(metrics.get(k), pattern)}"
        f" {escape(unit)}</td></tr>"
        for k, label, unit, pattern in _ROWS
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Glucose summary {escape(patient)}</title>
<style>
body{{font-family:system-ui,sans-serif;margin:2em;max-width:52em;color:#222}}
h1{{font-size:1.4em}} table{{border-collapse:collapse;margin:1em 0}}
td,th{{padding:.25em .8em;border-bottom:1px solid #ddd;text-align:left}}
.num{{text-align:right;font-variant-numeric:tabular-nums}}
.bar{{display:flex;flex-direction:column-reverse;width:3em;height:16em;border:1px solid #999}}
.sw{{display:inline-block;width:.9em;height:.9em;margin-right:.4em;vertical-align:middle}}
.ranges{{display:flex;gap:2em;align-items:flex-start}}
</style></head><body>
<h1>Glucose summary</h1>
<p>Patient <code>{escape(patient)}</code> · {escape(period)} · source: {escape(source)}</p>
<h2>Time in ranges</h2>
<div class=ranges><div class=bar style="flex-direction:column">{bar}</div>
<table><tr><th>Range</th><th>mg/dL</th><th>Time</th><th>Goal (consensus)</th></tr>
{legend}</table></div>
<h2>Glucose statistics</h2>
<table>{rows}</table>
<p><small>High/Low sensor readings are counted at the sensor's reporting limit, as the
vendor portals do. Targets: International Consensus on Time in Range, 2019.</small></p>
</body></html>
"""
