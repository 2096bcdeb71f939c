"""The patient handout: one page, plain words, in the care plan's language.

The same synthetic "missed boluses" patient as the agreement report's tests (28 days
from 6 April 2026, America/Chicago; the handout covers 20 April - 3 May), with the
example care plan (Spanish, three local resources) and its English twin. The numbers
it quotes are checked against :mod:`gateway.careplan` computed here on the same records.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import replace
from datetime import date, datetime, time
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from gateway.careplan.evaluate import measure
from gateway.careplan.plan import CarePlan, from_dict
from gateway.cli import main
from gateway.reports import ReportRequest, render_report
from gateway.reports.agp import build as agp_build
from simulators.exports.tandem import write_tconnect
from simulators.patient.presets import preset
from simulators.patient.scenario import Scenario

TZ = "America/Chicago"
ZONE = ZoneInfo(TZ)
PATIENT = "p-k3mqz7abcd2efgh4"
EXAMPLE = Path(__file__).parents[3] / "examples" / "careplan.example.json"
REVIEW = Path("/tmp/reports_review")
PERIOD = (
    datetime.combine(date(2026, 4, 20), time(), ZONE),
    datetime.combine(date(2026, 5, 4), time(), ZONE),
)


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    patient = preset("missed_boluses")
    patient = replace(patient, behaviour=replace(patient.behaviour, fingersticks_per_day=1.5))
    return Scenario(patient, days=28, seed=7, tz=TZ, start=date(2026, 4, 6))


def _plan(language: str) -> CarePlan:
    doc = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    doc.update(language=language, next_visit="2026-05-07")
    return from_dict(doc)


def _request(scenario: Scenario, language: str) -> ReportRequest:
    return ReportRequest(records=scenario.records, patient=PATIENT, tz=TZ, careplan=_plan(language))


@pytest.fixture(scope="module")
def pages(scenario: Scenario) -> dict[str, str]:
    out = {}
    for lang in ("en", "es"):
        out[lang] = render_report("handout", _request(scenario, lang), "html").decode("utf-8")
    return out


@pytest.fixture(scope="module")
def pdfs(scenario: Scenario, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("handout")
    out = {}
    for lang in ("en", "es"):
        path = folder / f"handout_{lang}.pdf"
        path.write_bytes(render_report("handout", _request(scenario, lang), "pdf"))
        out[lang] = path
    return out


class _Text(HTMLParser):
    """The visible text of a page (no style sheet)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._skip = tag in ("style", "title")

    def handle_endtag(self, tag: str) -> None:
        self._skip = False

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def _visible(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return re.sub(r"\s+", " ", " ".join(parser.parts))


@pytest.fixture(scope="module")
def current(scenario: Scenario) -> dict[str, float | None]:
    visit = datetime.combine(date(2026, 5, 7), time(), ZONE)
    return measure(scenario.records, start=PERIOD[0], end=PERIOD[1], visit=visit)


def test_spanish_handout_is_in_spanish_with_decimal_commas(
    pages: dict[str, str], current: dict[str, float | None]
) -> None:
    page = pages["es"]
    text = _visible(page)
    assert '<html lang="es">' in page
    for heading in (
        "Su resumen de diabetes",
        "Cómo le fue en las últimas 2 semanas",
        "Lo que vamos a mejorar",
        "Lo que salió bien",
        "Su próxima cita",
        "Ayuda cerca de usted",
    ):
        assert f">{heading}<" in page, heading
    assert "Del 20 de abril al 3 de mayo de 2026" in text
    assert "jueves 7 de mayo de 2026" in text
    # time in range as hours a day, with a decimal comma: share x 24 h
    hours = current["tir_70_180_pct"] * 24 / 100  # type: ignore[operator]
    assert f"unas {hours:.1f} horas al día".replace(".", ",") in text
    assert "La meta es más de 16,8 horas al día." in text  # > 70 % of 24 h
    assert not re.search(r"\d\.\d", text), "a decimal point in the Spanish page"
    # the first thing to work on is the meal boluses, with the period's counts
    meals, missed = round(current["meals"] or 0), round(current["meals_without_bolus"] or 0)
    work = text[text.index("Lo que vamos a mejorar") : text.index("Lo que salió bien")]
    assert work.index("Ponerse insulina en cada comida") < work.index("rango meta")
    assert f"{missed} de {meals} comidas no tuvieron insulina" in work
    for english in ("Your", "What to work on", "Phone", "meals", "Food"):
        assert english not in text, english


def test_english_handout_is_in_english(
    pages: dict[str, str], current: dict[str, float | None], scenario: Scenario
) -> None:
    text = _visible(pages["en"])
    for heading in ("Your diabetes check-in", "How the last 2 weeks went", "What to work on"):
        assert heading in text
    hours = current["tir_70_180_pct"] * 24 / 100  # type: ignore[operator]
    assert f"about {hours:.1f} hours a day" in text
    assert "From 20 April to 3 May 2026" in text and "Thursday 7 May 2026" in text
    # lows: consensus level 1 events of the AGP report over the same 14 days
    agp = agp_build(ReportRequest(records=scenario.records, patient=PATIENT, tz=TZ))
    lows = round(agp.values["hypo_l1_events"] or 0)
    assert lows > 0 and f"You had {lows} lows" in text
    minutes = round(current["tbr_lt70_pct"] * 1440 / 100)  # type: ignore[operator]
    assert f"about {minutes} minutes a day under 70" in text
    for spanish in ("azúcar", "Su próxima cita", "Teléfono"):
        assert spanish not in text


def test_resources_and_no_jargon(pages: dict[str, str]) -> None:
    plan = _plan("es")
    for lang, page in pages.items():
        text = _visible(page)
        for r in plan.resources:
            assert r.name in text
            assert r.phone in text
            if r.address:
                assert r.address in text
        for jargon in ("GMI", "CV", "MARD", "glycemi", "glucémi", "hypoglyc", "percentil"):
            assert jargon not in text, (lang, jargon)
    assert "(Comida)" in _visible(pages["es"]) and "(Farmacia)" in _visible(pages["es"])
    assert "(Food)" in _visible(pages["en"]) and "(Rides)" in _visible(pages["en"])


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils not installed")
def test_pdfs_are_one_a4_page(pdfs: dict[str, Path]) -> None:
    from matplotlib.image import imread

    REVIEW.mkdir(exist_ok=True)
    for lang, pdf in pdfs.items():
        data = pdf.read_bytes()
        assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
        info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True)
        assert re.search(r"^Pages:\s+1$", info.stdout, re.M), lang
        assert re.search(rb"/MediaBox\s*\[\s*0 0 595\.\d+ 841\.\d+\s*\]", data)
        text = subprocess.run(
            ["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True
        ).stdout
        if lang == "es":
            assert "Cómo le fue en las últimas 2 semanas" in text
            assert re.search(r"unas \d+,\d horas al día", text)
            assert "página 1 de 1" in text
        else:
            assert "How the last 2 weeks went" in text
            assert re.search(r"about \d+\.\d hours a day", text)
        assert "County food pantry" in text and "555-010-7788" in text
        subprocess.run(
            ["pdftoppm", "-r", "60", "-png", str(pdf), str(REVIEW / f"handout_{lang}")],
            check=True,
        )
        png = next(REVIEW.glob(f"handout_{lang}*.png"))
        ink = (imread(str(png))[..., :3].sum(axis=2) < 2.7).mean()
        assert ink > 0.01


def test_cli_handout_never_shows_the_name_in_the_file(scenario: Scenario, tmp_path: Path) -> None:
    written = [r for r in scenario.records if r.device_id in (scenario.pump_id, scenario.cgm_id)]
    export = tmp_path / "tconnect.csv"
    export.write_bytes(write_tconnect(written, name="Maria Gonzalez", dob="3/14/1961"))
    plan = tmp_path / "plan.json"
    plan.write_text(_plan("es").to_json(), encoding="utf-8")
    for fmt in ("html", "pdf"):
        out = tmp_path / f"handout.{fmt}"
        args = ["report", str(export), "--kind", "handout", "--format", fmt, "--tz", TZ]
        args += ["--data-dir", str(tmp_path / "d"), "--careplan", str(plan), "--out", str(out)]
        assert main(args) == 0
        raw = out.read_bytes().decode("utf-8" if fmt == "html" else "latin-1")
        assert "Maria" not in raw and "Gonzalez" not in raw and "3/14/1961" not in raw
        if fmt == "pdf" and shutil.which("pdftotext"):
            text = subprocess.run(
                ["pdftotext", str(out), "-"], check=True, capture_output=True, text=True
            ).stdout
            assert "Gonzalez" not in text and "Su resumen de diabetes" in text
    # without a care plan: English, the consensus range, no resources listed
    out = tmp_path / "plain.html"
    args = ["report", str(export), "--kind", "handout", "--tz", TZ, "--out", str(out)]
    assert main([*args, "--data-dir", str(tmp_path / "d")]) == 0
    text = _visible(out.read_text(encoding="utf-8"))
    assert "How the last 2 weeks went" in text and "(70–180 mg/dL)" in text
    assert "Ask your care team about help near you." in text
