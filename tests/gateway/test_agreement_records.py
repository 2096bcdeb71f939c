"""CGM against fingersticks from records, and through ``glucogate metrics --json``."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from drivers._core.records import GlucoseSample
from gateway.analyze.agreement import patient_agreement
from gateway.cli import main
from simulators.exports.tandem import write_tconnect
from simulators.patient import presets
from simulators.patient.scenario import Scenario
from tests.gateway.factories import cgm

T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)


def smbg(minutes: float, mgdl: float, kind: str = "smbg") -> GlucoseSample:
    at = T0 + timedelta(minutes=minutes)
    return GlucoseSample(
        device_id="meter:x:1",
        source_index=f"bg:{minutes}",
        device_time=at.replace(tzinfo=None),
        time_utc=at,
        utc_offset_s=0,
        sample_type=kind,
        glucose_mgdl=mgdl,
    )  # type: ignore[arg-type]


def test_known_pairs_give_known_statistics() -> None:
    # CGM every 5 min at 100, 110, ...; fingersticks 1 min after three CGM readings,
    # each 10 % below it: the CGM reads 1/0.9 of the reference -> MARD 11.11 %
    readings = [cgm(i, 100.0 + 10 * i) for i in range(12)]
    refs = [smbg(5 * i + 1, (100.0 + 10 * i) * 0.9) for i in (1, 4, 7)]
    refs.append(smbg(200.0, 150.0))  # nothing within 5 min
    refs.append(smbg(20.0, 130.0, kind="calibration"))  # not an independent reference
    out = patient_agreement([*readings, *refs])
    assert out is not None
    assert (out["references"], out["n_pairs"], out["unpaired"]) == (4, 3, 1)
    assert out["mard_pct"] == pytest.approx(100 / 9)
    assert out["bias_pct"] == pytest.approx(100 / 9)
    assert [p["dt_s"] for p in out["pairs"]] == [-60.0, -60.0, -60.0]
    assert out["clarke_a_pct"] == 100.0  # within 20 %
    # ISO 15197: 110 vs 99 is 11 mg/dL (<= 15 below 100), 140 vs 126 and 170 vs 153 are
    # 11.1 % (<= 15 %): all within
    assert out["iso15197_pct"] == 100.0
    assert patient_agreement(readings) is None


def test_high_low_cgm_readings_are_not_paired() -> None:
    high = replace(cgm(0, None), special="high", reporting_limit_mgdl=400.0)
    out = patient_agreement([high, cgm(3, 200.0), smbg(1, 420.0)])
    assert out is not None and out["n_pairs"] == 0 and out["unpaired"] == 1
    assert out["mard_pct"] is None


def test_metrics_json_has_agreement_for_a_pump_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sc = Scenario(
        presets.preset("new_pump_start"),
        days=14,
        seed=12,
        tz="America/Chicago",
        start=date(2026, 3, 2),
    )
    path = tmp_path / "tconnect.csv"
    written = [r for r in sc.records if r.device_id in (sc.pump_id, sc.cgm_id)]
    path.write_bytes(write_tconnect(written))
    assert main(["metrics", str(path), "--json", "--tz", "America/Chicago"]) == 0
    (patient,) = json.loads(capsys.readouterr().out)["patients"]
    agreement = patient["agreement"]
    # t:connect has one "BG" row kind: fingersticks and CGM calibrations both land there
    n_bg = sum(1 for r in written if getattr(r, "sample_type", "cgm") != "cgm")
    assert agreement["references"] == n_bg > 0
    assert agreement["n_pairs"] + agreement["unpaired"] == n_bg
    assert agreement["n_pairs"] > 0 and 0 < agreement["mard_pct"] < 40
    assert "pairs" not in agreement
