"""The AGP report end to end: a synthetic patient's Clarity export -> ``glucogate report``
-> HTML and PDF, checked against the metric catalogue computed here on the same readings.

The patient ("frequent lows" preset, Europe/Berlin, 17 days over the March 2026 DST
change) is written to a Dexcom Clarity CSV with a real-looking name in it, so the tests
also show that the name never reaches the report.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
from datetime import date, datetime, time, timedelta
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from analytics.catalogue import metrics
from analytics.grid import to_grid
from analytics.risk import gri_zone_label
from drivers._core.records import GlucoseSample
from gateway.cli import build_parser, main
from gateway.ingest.files import load_file
from gateway.reports import REPORTS, ReportRequest, render_report
from gateway.reports.agp import ReportDataError, build
from gateway.reports.render import fmt_number, fmt_pct
from simulators.exports.dexcom_clarity import write_clarity
from simulators.patient.presets import preset
from simulators.patient.scenario import Scenario

TZ = "Europe/Berlin"
START = date(2026, 3, 18)  # Berlin springs forward on 29 March 2026
FIRST, LAST = "Alice", "Zimmermann"


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sc = Scenario(preset("frequent_lows"), days=17, seed=11, tz=TZ, start=START)
    cgm = [r for r in sc.records if r.device_id == sc.cgm_id]
    path = tmp_path_factory.mktemp("agp") / "clarity.csv"
    path.write_bytes(write_clarity(cgm, first_name=FIRST, last_name=LAST))
    return path


def _report(export: Path, out: Path, fmt: str, *extra: str) -> Path:
    code = main(
        [
            "report",
            str(export),
            "--kind",
            "agp",
            "--format",
            fmt,
            "--tz",
            TZ,
            "--data-dir",
            str(out.parent / "data"),
            "--out",
            str(out),
            *extra,
        ]
    )
    assert code == 0
    return out


@pytest.fixture(scope="module")
def html(export: Path) -> str:
    return _report(export, export.parent / "agp.html", "html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def pdf(export: Path) -> Path:
    return _report(export, export.parent / "agp.pdf", "pdf")


class _Cells(HTMLParser):
    """``data-metric`` cells: name -> (data-value or None, shown text)."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: dict[str, tuple[float | None, str]] = {}
        self._open: tuple[str, float | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "td" and a.get("data-metric"):
            value = a.get("data-value")
            self._open = (str(a["data-metric"]), float(value) if value else None)

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            name, value = self._open
            self.cells[name] = (value, data.strip())
            self._open = None


def _expected(export: Path) -> tuple[dict[str, float], date, date]:
    """The catalogue over the last 14 local calendar days, computed here: readings by
    their local date in the patient's zone, High/Low at the sensor's limit."""
    zone = ZoneInfo(TZ)
    _, records = load_file(export, TZ)
    rows = []
    for r in records:
        if isinstance(r, GlucoseSample) and r.sample_type == "cgm" and r.time_utc:
            value = r.glucose_mgdl if r.glucose_mgdl is not None else r.reporting_limit_mgdl
            if value is not None:
                local = r.time_utc.astimezone(zone)
                offset = local.utcoffset()
                assert offset is not None
                rows.append((r.time_utc.timestamp(), value, offset.total_seconds(), local.date()))
    last = max(row[3] for row in rows)
    first = last - timedelta(days=13)
    kept = [row for row in rows if row[3] >= first]
    t = np.array([row[0] for row in kept])
    grid = to_grid(
        np.zeros(t.size, dtype=np.int64),
        t,
        np.array([row[1] for row in kept]),
        reading_offset_s=np.array([row[2] for row in kept]),
    )
    values = {k: float(v[0]) for k, v in metrics(grid).items()}
    start_s = datetime.combine(first, time(), zone).timestamp()
    end_s = datetime.combine(last + timedelta(days=1), time(), zone).timestamp()
    slots = np.unique(np.rint(t / 300.0)).size
    values["data_sufficiency_pct"] = 100.0 * slots / ((end_s - start_s) / 300.0)
    return values, first, last


def test_every_section_is_in_the_self_contained_page(html: str) -> None:
    for section in ("statistics", "time-in-ranges", "agp", "daily", "events"):
        assert f'<section id="{section}"' in html
    for title in (
        "Glucose statistics and targets",
        "Time in ranges",
        "Ambulatory glucose profile (AGP)",
        "Daily glucose profiles",
        "Events and glycemia risk",
    ):
        assert title in html
    assert html.count("<svg ") == 4  # ranges bar, AGP, daily profiles, GRI grid
    # one file: no scripts, no external images, fonts or style sheets
    assert "<script" not in html
    assert not re.search(r'(src|href)="(https?:|//|file:)', html)
    assert "@page{size:A4" in html


def test_table_numbers_equal_the_catalogue_on_the_same_readings(html: str, export: Path) -> None:
    expected, first, last = _expected(export)
    parser = _Cells()
    parser.feed(html)
    cells = parser.cells
    shown = {
        "mean_mgdl": fmt_number(expected["mean_mgdl"], 0) + " mg/dL",
        "gmi_pct": fmt_number(expected["gmi_pct"], 1) + "%",
        "cv_pct": fmt_number(expected["cv_pct"], 1) + "%",
        "sd_mgdl": fmt_number(expected["sd_mgdl"], 0) + " mg/dL",
        "data_sufficiency_pct": fmt_number(expected["data_sufficiency_pct"], 1) + "%",
        "gri": fmt_number(expected["gri"], 1),
        "gri_hypo": fmt_number(expected["gri_hypo"], 1),
        "gri_hyper": fmt_number(expected["gri_hyper"], 1),
        "hypo_l1_events": fmt_number(expected["hypo_l1_events"]),
        "hypo_l2_events": fmt_number(expected["hypo_l2_events"]),
        "hyper_l1_events": fmt_number(expected["hyper_l1_events"]),
        **{
            k: fmt_pct(expected[k])
            for k in (
                "tir_70_180_pct",
                "tbr_lt54_pct",
                "tbr_54_69_pct",
                "tar_181_250_pct",
                "tar_gt250_pct",
            )
        },
    }
    for name, text in shown.items():
        value, cell = cells[name]
        assert cell == text, name
        assert value == pytest.approx(expected[name], abs=0.06), name
    assert cells["gri_zone"][1] == gri_zone_label(expected["gri_zone"])
    # the preset plants frequent lows: the events table is not empty
    assert expected["hypo_l1_events"] > 0
    # period: the last 14 local calendar days; the simulated 17 x 24 h end at 01:00 local
    # on 4 April (the clock sprang forward on 29 March), which is the period's last day
    assert (first, last) == (date(2026, 3, 22), date(2026, 4, 4))
    assert "Sun 22 Mar 2026 – Sat 4 Apr 2026 (14 days)" in html


def test_the_name_in_the_export_never_reaches_the_report(html: str, pdf: Path) -> None:
    assert re.search(r"<code>p-[a-z2-7]{16}</code>", html)
    for text in (html, pdf.read_bytes().decode("latin-1")):
        assert FIRST not in text and LAST not in text
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True
        ).stdout
        assert FIRST not in text and LAST not in text
        assert re.search(r"p-[a-z2-7]{16}", text)


def _page_count(pdf: Path) -> int:
    if shutil.which("pdfinfo"):
        info = subprocess.run(
            ["pdfinfo", str(pdf)], check=True, capture_output=True, text=True
        ).stdout
        return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))  # type: ignore[union-attr]
    return len(re.findall(rb"/Type\s*/Page(?!s)", pdf.read_bytes()))


def test_pdf_is_two_a4_pages_with_every_section(pdf: Path, export: Path) -> None:
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert _page_count(pdf) == 2
    assert re.search(rb"/MediaBox\s*\[\s*0 0 595\.\d+ 841\.\d+\s*\]", data)
    if not shutil.which("pdftotext"):
        return
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    for title in (
        "GLUCOSE STATISTICS AND TARGETS",
        "TIME IN RANGES",
        "AMBULATORY GLUCOSE PROFILE (AGP)",
        "DAILY GLUCOSE PROFILES",
        "EVENTS",
        "GLYCEMIA RISK INDEX",
    ):
        assert title in text
    expected, _, _ = _expected(export)
    assert re.search(rf"Mean glucose\s+{fmt_number(expected['mean_mgdl'])} mg/dL", text), (
        "mean glucose row"
    )
    assert re.search(rf"GRI\s+{re.escape(fmt_number(expected['gri'], 1))}", text)


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils not installed")
def test_pdf_pages_render_with_ink_on_them(pdf: Path, tmp_path: Path) -> None:
    from matplotlib.image import imread

    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) == 2
    for page in pages:
        rgb = imread(str(page))[..., :3]
        ink = (rgb.sum(axis=2) < 2.7).mean()  # not white
        assert ink > 0.05, page.name  # plots drawn, not an empty page


def test_period_defaults_to_14_days_and_follows_days(export: Path) -> None:
    _, records = load_file(export, TZ)
    full = build(ReportRequest(records=records, patient="p-test", tz=TZ))
    assert full.n_days == 14 and len(full.daily_dates) == 14
    assert full.daily_dates[0] == date(2026, 3, 22) and full.representative
    # 14 calendar days with one 23-hour day
    assert full.period_days == pytest.approx(14 - 1 / 24)
    week = build(ReportRequest(records=records, patient="p-test", tz=TZ, days=7))
    assert (week.first_date, week.last_date) == (date(2026, 3, 29), date(2026, 4, 4))
    assert len(week.daily_dates) == 7 and not week.representative
    # the AGP has 96 bins of 15 minutes with the five IDC percentiles, ordered
    bands = np.stack([full.agp_bands[p] for p in (5.0, 25.0, 50.0, 75.0, 95.0)])
    assert bands.shape == (5, 96) and np.all(np.diff(bands, axis=0) >= 0)


def test_short_period_is_flagged(export: Path, tmp_path: Path) -> None:
    out = _report(export, tmp_path / "week.html", "html", "--days", "7")
    page = out.read_text(encoding="utf-8")
    assert "(7 days)" in page and 'class="warn"' in page


def test_registry_is_the_cli_choice_list() -> None:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    kind = next(a for a in sub.choices["report"]._actions if a.dest == "kind")
    assert set(kind.choices or ()) == set(REPORTS) == {"agp", "agreement", "handout"}
    with pytest.raises(ValueError, match="writes html, pdf"):
        render_report("agp", ReportRequest(records=(), patient="p-x"), "docx")
    with pytest.raises(ReportDataError, match="no CGM readings"):
        render_report("agp", ReportRequest(records=(), patient="p-x"), "html")
