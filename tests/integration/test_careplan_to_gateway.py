"""End to end: the care team edits a patient's care plan at the care record; the plan
travels retained through the real Mosquitto to the patient's site; the gateway keeps
it, and its next reports for that patient follow it (DESIGN.md section 9)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from gateway.careplan.plan import new_plan
from gateway.cli import main
from gateway.identity import load_or_create_secret, patient_pseudonym
from gateway.publish.mqtt import BrokerConfig
from gateway.record.careplans import edit_careplan, publish_careplan
from gateway.record.store import CareRecordStore
from gateway.store.sqlite import Store
from simulators.exports.dexcom_clarity import write_clarity
from simulators.exports.tandem import write_tconnect
from simulators.patient import presets
from simulators.patient.scenario import Scenario
from tests.harness.services import Mosquitto

pytestmark = pytest.mark.services
TZ, SITE = "America/Chicago", "site-e2e"
T0 = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)


def test_a_plan_edit_reaches_the_gateway_and_its_next_reports(
    mqtt_broker: Mosquitto, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "gateway"
    common = ["--data-dir", str(data), "--site", SITE, "--tz", TZ]
    broker = ["--mqtt", f"127.0.0.1:{mqtt_broker.port}"]
    sc = Scenario(presets.preset("missed_boluses"), days=14, seed=5, tz=TZ, start=date(2026, 3, 16))
    for name, blob in (
        ("clarity.csv", write_clarity([r for r in sc.records if r.device_id == sc.cgm_id])),
        ("tconnect.csv", write_tconnect([r for r in sc.records if r.device_id == sc.pump_id])),
    ):
        (tmp_path / name).write_bytes(blob)
        assert main(["import", str(tmp_path / name), "--patient", "MRN-5", *common]) == 0
    pseudonym = patient_pseudonym(load_or_create_secret(data / "site.key"), SITE, "MRN-5")

    # the care record: version 1 published, then an educator's edit (Spanish, TIR 60 %)
    record = CareRecordStore(tmp_path / "record.sqlite")
    cfg = BrokerConfig("127.0.0.1", mqtt_broker.port)
    v1 = new_plan(site=SITE, patient=pseudonym, changed_by="educator", changed_at=T0)
    record.save_careplan(v1)
    publish_careplan(cfg, v1, client_id="test-record")
    targets = tuple(replace(t, value=60.0) if t.id == "tir" else t for t in v1.targets)
    edit_careplan(
        record,
        cfg,
        SITE,
        pseudonym,
        changed_by="educator",
        changed_at=T0 + timedelta(days=1),
        language="es",
        targets=targets,
    )
    record.close()

    # the gateway fetches the site's plans: only the current version is kept
    capsys.readouterr()
    assert main(["careplans", "--pull", *broker, *common[:4]]) == 0
    assert capsys.readouterr().out.startswith("1 new care plan")
    with Store(data / "glucogate.sqlite") as store:
        held = store.careplan_doc(pseudonym)
    assert held is not None and '"version":2' in held
    assert main(["careplans", "--pull", *broker, *common[:4]]) == 0  # nothing new
    assert capsys.readouterr().out.startswith("0 new care plan")

    # its next reports for the patient follow the edited plan
    handout = tmp_path / "handout.html"
    agreement = tmp_path / "agreement.html"
    assert (
        main(["report", "--patient", "MRN-5", "--kind", "handout", "--out", str(handout), *common])
        == 0
    )
    assert (
        main(
            [
                "report",
                "--patient",
                "MRN-5",
                "--kind",
                "agreement",
                "--out",
                str(agreement),
                *common,
            ]
        )
        == 0
    )
    assert 'lang="es"' in handout.read_text()
    assert "&gt; 60 %" in agreement.read_text() or "> 60 %" in agreement.read_text()
    assert "MRN-5" not in handout.read_text() + agreement.read_text()
