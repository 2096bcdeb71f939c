"""The agreement report for pump educators, checked against a synthetic patient's truth
and against the care-plan, insulin and agreement code computed here on the same records.

The patient is the "missed boluses" preset (a quarter of meals planted without a
bolus, late boluses, overrides, a site change about every 4 days) with 1.5 fingersticks
a day, 28 days from Monday 6 April 2026 in America/Chicago (no DST change inside), so
the report's 14-day period is 20 April - 3 May and the previous period 6-19 April.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from html.parser import HTMLParser
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from drivers._core.records import Bolus, Food, GlucoseSample, Record
from gateway.analyze.agreement import patient_agreement
from gateway.analyze.insulin import patient_insulin
from gateway.careplan.evaluate import evaluate, measure
from gateway.careplan.plan import CarePlan, from_dict
from gateway.cli import main
from gateway.ingest.files import load_file
from gateway.reports import REPORTS, ReportRequest, render_report
from gateway.reports.agreement import build
from simulators.exports.tandem import write_tconnect
from simulators.patient.presets import preset
from simulators.patient.scenario import Scenario

TZ = "America/Chicago"
ZONE = ZoneInfo(TZ)
START = date(2026, 4, 6)
PATIENT = "p-k3mqz7abcd2efgh4"
NAME = "Maria Gonzalez"
EXAMPLE = Path(__file__).parents[3] / "examples" / "careplan.example.json"
REVIEW = Path("/tmp/reports_review")


def _local(d: date) -> datetime:
    return datetime.combine(d, time(), ZONE)


PERIOD = (_local(date(2026, 4, 20)), _local(date(2026, 5, 4)))
PREVIOUS = (_local(date(2026, 4, 6)), _local(date(2026, 4, 20)))
VISIT = date(2026, 5, 7)


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    patient = preset("missed_boluses")
    patient = replace(patient, behaviour=replace(patient.behaviour, fingersticks_per_day=1.5))
    return Scenario(patient, days=28, seed=7, tz=TZ, start=START)


@pytest.fixture(scope="module")
def plan() -> CarePlan:
    doc = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    doc.update(language="en", next_visit=VISIT.isoformat())
    return from_dict(doc)


@pytest.fixture(scope="module")
def request_(scenario: Scenario, plan: CarePlan) -> ReportRequest:
    return ReportRequest(
        records=scenario.records,
        patient=PATIENT,
        tz=TZ,
        devices=("Tandem t:slim X2", "Dexcom G6"),
        source="simulator",
        careplan=plan,
    )


@pytest.fixture(scope="module")
def html(request_: ReportRequest) -> str:
    page = render_report("agreement", request_, "html").decode("utf-8")
    REVIEW.mkdir(exist_ok=True)
    (REVIEW / "agreement.html").write_text(page, encoding="utf-8")
    return page


@pytest.fixture(scope="module")
def pdf(request_: ReportRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("agreement") / "agreement.pdf"
    path.write_bytes(render_report("agreement", request_, "pdf"))
    return path


class _Cells(HTMLParser):
    """``data-metric`` cells (name -> (data-value, text)) and ``data-list`` counts."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: dict[str, tuple[float | None, str]] = {}
        self.lists: dict[str, int] = {}
        self.met: list[str] = []
        self._open: tuple[str, float | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("data-metric"):
            value = a.get("data-value")
            self._open = (str(a["data-metric"]), float(value) if value else None)
        if a.get("data-list"):
            self.lists[str(a["data-list"])] = int(a["data-count"] or 0)
        if "data-met" in a:
            self.met.append(str(a["data-met"]))

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self.cells[self._open[0]] = (self._open[1], data.strip())
            self._open = None


def _cells(html: str) -> _Cells:
    parser = _Cells()
    parser.feed(html)
    return parser


def _between(records: Sequence[Record], start: datetime, end: datetime) -> list[Record]:
    return [r for r in records if r.time_utc is not None and start <= r.time_utc < end]


def _pdftext(pdf: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout


def _pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True)
    return int(re.search(r"^Pages:\s+(\d+)", info.stdout, re.M).group(1))  # type: ignore[union-attr]


def test_every_section_is_on_the_page(html: str) -> None:
    for section in ("careplan", "bolus-patterns", "accuracy"):
        assert f'<section id="{section}"' in html
    for sub in ("missed-boluses", "late-boluses", "overrides", "site-changes", "daily-insulin"):
        assert f'id="{sub}"' in html
    assert f"<code>{PATIENT}</code>" in html
    assert "Mon 20 Apr 2026 – Sun 3 May 2026 (14 days)" in html
    assert "Tandem t:slim X2, Dexcom G6" in html
    assert html.count("<svg ") == 1  # the Clarke grid
    assert "<script" not in html and not re.search(r'(src|href)="(https?:|//)', html)
    assert "No care plan was given" not in html


def test_care_plan_rows_equal_evaluate_on_the_same_records(
    html: str, scenario: Scenario, plan: CarePlan
) -> None:
    current = measure(scenario.records, start=PERIOD[0], end=PERIOD[1], visit=_local(VISIT))
    previous = measure(scenario.records, start=PREVIOUS[0], end=PREVIOUS[1])
    expected = evaluate(plan, current, previous)
    cells = _cells(html)
    assert len(expected) == len(plan.items) == 12
    for item in expected:
        value, _ = cells.cells[f"careplan.{item.id}.measured"]
        if item.measured is None:
            assert value is None, item.id
        else:
            assert value == pytest.approx(item.measured, abs=5e-4), item.id
        prev, text = cells.cells[f"careplan.{item.id}.previous"]
        if item.previous is not None:
            assert prev == pytest.approx(item.previous, abs=5e-4), item.id
            assert "was " in text and (item.trend or "") in text
        assert f'data-item="{item.id}"' in html
        assert item.evidence in html.replace("&#x27;", "'")
    assert cells.met == ["" if i.met is None else str(i.met).lower() for i in expected]
    # the planted behaviour shows: a quarter of meals unbolused breaks "at most 1 in 10",
    # a site change every ~4 days breaks "every 3 days or sooner"
    by_id = {i.id: i for i in expected}
    assert by_id["meal_boluses"].met is False
    assert (by_id["meal_boluses"].measured or 0.0) > 20
    assert by_id["site_change"].met is False
    # the last data (23:5x on 3 May) is just over 3 days before the 7 May visit: not met
    assert by_id["upload_before_visit"].measured == pytest.approx(3.0, abs=0.01)
    assert by_id["upload_before_visit"].met is False
    assert "Pump educator" in html and "Community health worker" in html


def test_missed_and_late_boluses_are_listed_by_day(html: str, scenario: Scenario) -> None:
    recs = [
        r
        for r in scenario.records
        if r.time_utc is not None and PERIOD[0] <= r.time_utc < PERIOD[1]
    ]
    insulin = patient_insulin(recs, start=PERIOD[0], end=PERIOD[1])
    meals = [r for r in recs if isinstance(r, Food)]
    missed = round(insulin["missed_meal_bolus_pct"] * len(meals) / 100.0)  # type: ignore[operator]
    late = round(insulin["late_bolus_pct"] * len(meals) / 100.0)  # type: ignore[operator]
    lists = _cells(html).lists
    assert lists["missed"] == missed > 0 and lists["late"] == late > 0
    assert f"Meals without a bolus: {missed} of {len(meals)}" in html
    # each listed meal is a carb entry with no carb bolus from 30 min before to 90 after
    boluses = [
        b.time_utc
        for b in scenario.records
        if isinstance(b, Bolus) and b.calculation and (b.calculation.carbs_g or 0) > 0
    ]
    unbolused = [
        m
        for m in meals
        if not any(
            m.time_utc - timedelta(minutes=30) <= t <= m.time_utc + timedelta(minutes=90)  # type: ignore[operator]
            for t in boluses
        )
    ]
    assert len(unbolused) == missed
    section = html[html.index('data-list="missed"') : html.index('id="late-boluses"')]
    for m in unbolused:
        at = m.time_utc.astimezone(ZONE)  # type: ignore[union-attr]
        assert f"{at.day} {at.strftime('%b %H:%M')}</td><td>{m.carbs_g:.0f} g" in section


def test_whole_scenario_recovers_the_planted_truth(
    request_: ReportRequest, scenario: Scenario
) -> None:
    truth = scenario.truth
    data = build(replace(request_, days=28))
    assert (data.period.first, data.period.last) == (START, date(2026, 5, 3))
    rate = 100.0 * len(data.missed) / truth.n_meals
    assert rate == pytest.approx(100.0 * truth.missed_meal_boluses / truth.n_meals, abs=3.0)
    assert abs(rate - 100.0 * truth.missed_bolus_rate) <= 15.0  # planted 25 %, +-sampling
    assert len(data.late) == truth.late_boluses
    assert len(data.overrides) == truth.overrides
    # site changes at the planted times; days between them by local calendar date
    planted = [
        np.datetime64(truth.time_utc[s], "s").astype(datetime).replace(tzinfo=ZoneInfo("UTC"))
        for s in truth.site_change_slots
    ]
    assert [s.astimezone(ZoneInfo("UTC")) for s in data.site_changes] == planted
    assert data.site_intervals_days == [
        (b.astimezone(ZONE).date() - a.astimezone(ZONE).date()).days for a, b in pairwise(planted)
    ]
    # insulin by day adds up to what the simulated pump delivered
    assert sum(d.bolus_u for d in data.days) == pytest.approx(truth.bolus_insulin_u, rel=1e-6)
    assert sum(d.basal_u for d in data.days) == pytest.approx(truth.basal_insulin_u, rel=1e-6)
    assert np.mean([d.tdd_u for d in data.days]) == pytest.approx(data.insulin["tdd_u"], abs=1e-3)


def test_meter_agreement_equals_patient_agreement(html: str, scenario: Scenario) -> None:
    recs = _between(scenario.records, *PERIOD)
    expected = patient_agreement(recs)
    assert expected is not None and expected["n_pairs"] >= 15
    cells = _cells(html).cells
    for name in (
        "n_pairs",
        "mard_pct",
        "mad_mgdl",
        "iso15197_pct",
        "within_20_pct",
        "bias_mgdl",
        "ba_loa_low_mgdl",
        "ba_loa_high_mgdl",
        *(f"{g}_{z}_pct" for g in ("clarke", "parkes") for z in "abcde"),
    ):
        value, _ = cells[f"agreement.{name}"]
        assert value == pytest.approx(expected[name], abs=5e-4), name
    assert cells["agreement.iso15197_pass"][1] == ("pass" if expected["iso15197_pass"] else "fail")
    # the Clarke grid has one point per pair
    svg = html[html.index('id="clarke-points"') :]
    svg = svg[: svg.index("</g>\n   </g>")]
    assert svg.count("<use ") == expected["n_pairs"]
    assert "No fingersticks" not in html


def test_without_fingersticks_the_report_says_so(request_: ReportRequest, tmp_path: Path) -> None:
    no_bg = [
        r for r in request_.records if not (isinstance(r, GlucoseSample) and r.sample_type != "cgm")
    ]
    req = replace(request_, records=no_bg)
    page = render_report("agreement", req, "html").decode("utf-8")
    assert 'id="no-fingersticks"' in page and "No fingersticks in this period" in page
    assert 'id="clarke-points"' not in page
    pdf = tmp_path / "nobg.pdf"
    pdf.write_bytes(render_report("agreement", req, "pdf"))
    if shutil.which("pdftotext"):
        assert "No fingersticks in this period" in _pdftext(pdf)


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils not installed")
def test_pdf_has_every_section_on_three_pages(pdf: Path, html: str) -> None:
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert re.search(rb"/MediaBox\s*\[\s*0 0 595\.\d+ 841\.\d+\s*\]", data)
    assert _pages(pdf) == 3
    text = _pdftext(pdf)
    for title in ("CARE PLAN: AGREED AND MEASURED", "BOLUS PATTERNS", "CGM AGAINST THE METER"):
        assert title in text
    lists = _cells(html).lists
    assert re.search(rf"Meals without a bolus: {lists['missed']} of \d+", text)
    assert f"Late boluses (more than 15 min after the meal): {lists['late']}" in text
    assert "Clarke error grid" in text and PATIENT in text and "page 3 of 3" in text
    REVIEW.mkdir(exist_ok=True)
    subprocess.run(
        ["pdftoppm", "-r", "60", "-png", str(pdf), str(REVIEW / "agreement")], check=True
    )
    from matplotlib.image import imread

    for page in sorted(REVIEW.glob("agreement-*.png")):
        ink = (imread(str(page))[..., :3].sum(axis=2) < 2.7).mean()
        assert ink > 0.01, page.name


def test_cli_report_of_a_tconnect_file_with_bg_rows(
    scenario: Scenario, plan: CarePlan, tmp_path: Path
) -> None:
    written = [r for r in scenario.records if r.device_id in (scenario.pump_id, scenario.cgm_id)]
    export = tmp_path / "tconnect.csv"
    export.write_bytes(write_tconnect(written, name=NAME, dob="3/14/1961"))
    careplan = tmp_path / "plan.json"
    careplan.write_text(plan.to_json(), encoding="utf-8")
    outputs = []
    for fmt in ("html", "pdf"):
        out = tmp_path / f"tc.{fmt}"
        args = ["report", str(export), "--kind", "agreement", "--format", fmt, "--tz", TZ]
        args += ["--data-dir", str(tmp_path / "data"), "--careplan", str(careplan)]
        assert main([*args, "--out", str(out)]) == 0
        outputs.append(out)
    page = outputs[0].read_text(encoding="utf-8")
    # t:connect has no carb entries of its own and no site events: the lists say so
    assert "Meals without a bolus: 0 of 0" in page
    assert "No site change recorded in this period." in page
    # its BG rows are the references
    cells = _cells(page).cells
    _, records = load_file(export, TZ)
    expected = patient_agreement(_between(records, *PERIOD))
    assert expected is not None
    assert cells["agreement.n_pairs"][0] == expected["n_pairs"] > 0
    assert cells["agreement.mard_pct"][0] == pytest.approx(expected["mard_pct"], abs=5e-4)
    for text in (page, outputs[1].read_bytes().decode("latin-1")):
        assert "Maria" not in text and "Gonzalez" not in text and "3/14/1961" not in text
    if shutil.which("pdftotext"):
        text = _pdftext(outputs[1])
        assert "Gonzalez" not in text and "1961" not in text
        assert re.search(r"p-[a-z2-7]{16}", text)


def test_registry_and_bad_care_plan(tmp_path: Path) -> None:
    assert {"agp", "agreement", "handout"} <= set(REPORTS)
    assert REPORTS["agreement"].formats == REPORTS["handout"].formats == ("html", "pdf")
    bad = tmp_path / "plan.json"
    bad.write_text('{"schema": "glucogate/careplan/v1"}', encoding="utf-8")
    code = main(
        ["report", str(bad), "--kind", "agreement", "--careplan", str(bad), "--out", "x.html"]
    )
    assert code == 2
