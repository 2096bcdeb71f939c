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
# issue 4: the whole catalogue, with these names
CATALOGUE = {
    "tir_70_140_pct",
    "mage_mgdl",
    "modd_mgdl",
    "conga1_mgdl",
    "lbgi",
    "hbgi",
    "adrr",
    "gri",
    "gri_zone",
    "j_index",
    "m_value",
    "mag_mgdl_per_h",
    "hypo_l1_events",
    "hypo_l2_events",
    "hyper_l1_events",
    "hyper_l2_events",
    "days_with_data",
    "ea1c_pct",
    "median_mgdl",
    "data_sufficiency_pct",
}


def test_metrics_json_contract_on_a_real_file(
    real_fixtures: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = real_fixtures / "dexcom-clarity/clarity_g6_receiver_mmol_not_stored_bom.csv"
    assert main(["metrics", str(path), "--json", "--tz", "Europe/London"]) == 0
    out = json.loads(capsys.readouterr().out)
    (patient,) = out["patients"]
    assert set(patient) >= CONTRACT | CATALOGUE
    assert patient["n_readings"] == 299
    assert patient["gri_zone"] in {"A", "B", "C", "D", "E"}
    windows = patient["windows"]
    assert set(windows) == {"last_14d", "last_30d", "last_90d", "change_14d"}
    # the file holds about a day: every window sees all of it, the 14 days before none
    assert windows["last_14d"]["n_readings"] == 299
    assert windows["last_14d"]["mean_mgdl"] == patient["mean_mgdl"]
    assert windows["last_90d"]["data_sufficiency_pct"] < windows["last_14d"]["data_sufficiency_pct"]
    assert windows["change_14d"]["mean_mgdl"] is None  # no baseline data
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
    # three patients by three paths: exports, a receiver on a pty, BLE devices via the hub
    patients = {m["topic"].split("/")[3] for m in messages}
    assert len(patients) == 3
    assert "uploaded again              0 new" in out
    assert out.count(" ok, ") >= 2  # a BLE CGM sensor and the pump, read by the hub
    kinds = {
        r["kind"]
        for m in messages
        if m["topic"].endswith("/records")
        for r in m["payload"]["records"]
    }
    assert {"glucose", "bolus", "basal"} <= kinds
    assert (tmp_path / "agp-report.html").read_text().count("<svg") >= 3
