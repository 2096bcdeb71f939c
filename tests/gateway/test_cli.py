"""The CLI contracts: ``metrics --json`` names, exit codes, and ``demo``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.cli import main

CONTRACT = {
    "id",
    "n_readings",
    "tir_70_180_pct",
    "tbr_lt54_pct",
    "tbr_54_69_pct",
    "tar_181_250_pct",
    "tar_gt250_pct",
    "mean_mgdl",
    "sd_mgdl",
    "cv_pct",
    "gmi_pct",
    "wear_pct",
}


def test_metrics_json_contract_on_a_real_file(
    real_fixtures: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = real_fixtures / "dexcom-clarity/clarity_g6_receiver_mmol_not_stored_bom.csv"
    assert main(["metrics", str(path), "--json", "--tz", "Europe/London"]) == 0
    out = json.loads(capsys.readouterr().out)
    (patient,) = out["patients"]
    assert set(patient) >= CONTRACT
    assert patient["n_readings"] == 299
    bands = ("tbr_lt54_pct", "tbr_54_69_pct", "tir_70_180_pct", "tar_181_250_pct", "tar_gt250_pct")
    assert sum(patient[k] for k in bands) == pytest.approx(100.0, abs=0.01)


def test_unknown_format_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("just some notes\n")
    assert main(["metrics", str(path), "--json"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err


def test_demo_runs_on_embedded_defaults(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--out", str(tmp_path), "--days", "3"]) == 0
    out = capsys.readouterr().out
    assert "imported again              0 new" in out
    assert (tmp_path / "summary.html").read_text().count("Time in ranges") == 1
    messages = [
        json.loads(line) for line in (tmp_path / "mqtt-messages.jsonl").read_text().splitlines()
    ]
    topics = {m["topic"].rsplit("/", 1)[1] for m in messages}
    assert topics == {"records", "summary"}
    assert "Demo" not in (tmp_path / "mqtt-messages.jsonl").read_text()
