"""``glucogate report --patient``: a report of everything the store holds for a patient,
from every source (here a Clarity CGM export and a t:connect pump export)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from gateway.cli import main
from simulators.exports.dexcom_clarity import write_clarity
from simulators.exports.tandem import write_tconnect
from simulators.patient import presets
from simulators.patient.scenario import Scenario

TZ = "America/Chicago"


def test_report_by_patient_combines_the_stored_sources(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sc = Scenario(presets.preset("missed_boluses"), days=14, seed=3, tz=TZ, start=date(2026, 4, 6))
    cgm = tmp_path / "clarity.csv"
    cgm.write_bytes(write_clarity([r for r in sc.records if r.device_id == sc.cgm_id]))
    pump = tmp_path / "tconnect.csv"
    pump.write_bytes(write_tconnect([r for r in sc.records if r.device_id == sc.pump_id]))
    common = ["--data-dir", str(tmp_path / "data"), "--site", "site-r", "--tz", TZ]
    for path in (cgm, pump):
        assert main(["import", str(path), "--patient", "MRN-77", *common]) == 0
    capsys.readouterr()
    out = tmp_path / "agreement.html"
    assert (
        main(["report", "--kind", "agreement", "--patient", "MRN-77", "--out", str(out), *common])
        == 0
    )
    said = capsys.readouterr().out
    html = out.read_text()
    # CGM from one file and boluses from the other, in one report
    assert 'data-metric="tir_70_180_pct"' in html or "Time in range" in html
    # (t:connect has no carb entries, so meals without a bolus cannot be seen: 0 of 0)
    tdd = html.split('data-metric="insulin.tdd_u"', 1)[1].split('data-value="', 1)[1]
    assert float(tdd.split('"', 1)[0]) > 10.0  # units a day, from the pump file
    assert "MRN-77" not in html and "MRN-77" not in said
    # a patient the store does not know is refused, naming nothing personal
    assert main(["report", "--patient", "nobody", "--out", str(tmp_path / "x.html"), *common]) != 0
