"""Privacy: a patient's name and record number never appear in MQTT topics or payloads,
in logs, or in file names -- only the site-scoped pseudonym does (DESIGN.md section 8).

A Clarity export carrying a distinctive name and serial is imported through the CLI
with a record number as the local patient identity, publishing to a real Mosquitto
with a subscriber on every topic; then everything that left the store is searched."""

from __future__ import annotations

import json
import logging
import re
from datetime import date
from pathlib import Path

import pytest

from gateway.cli import main
from simulators.exports.dexcom_clarity import write_clarity
from simulators.patient import presets
from simulators.patient.scenario import Scenario
from tests.harness.services import Mosquitto
from tests.harness.subscriber import Subscriber

pytestmark = pytest.mark.services

FIRST, LAST = "Zebulon", "Quixotesque"
MRN = "MRN-4471-XQ"
SECRETS = (FIRST, LAST, MRN, "4471")


def _leaks(text: str) -> list[str]:
    return [s for s in SECRETS if re.search(re.escape(s), text, re.IGNORECASE)]


def test_name_and_record_number_stay_local(
    mqtt_broker: Mosquitto,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sc = Scenario(
        presets.preset("well_controlled"),
        days=3,
        seed=8,
        tz="America/Chicago",
        start=date(2026, 3, 2),
    )
    cgm = [r for r in sc.records if r.device_id == sc.cgm_id]
    export = tmp_path / "incoming" / "export.csv"  # the name the clinic saved it under
    export.parent.mkdir()
    export.write_bytes(write_clarity(cgm, first_name=FIRST, last_name=LAST))
    assert FIRST.encode() in export.read_bytes()  # the input really carries the name
    data = tmp_path / "data"
    caplog.set_level(logging.DEBUG)
    with Subscriber(mqtt_broker.port, "glucogate/v1/#") as sub:
        rc = main(
            [
                "-v",
                "import",
                str(export),
                "--json",
                "--site",
                "site-priv",
                "--data-dir",
                str(data),
                "--mqtt",
                f"127.0.0.1:{mqtt_broker.port}",
                "--patient",
                MRN,
                "--tz",
                "America/Chicago",
            ]
        )
        assert rc == 0
        got = sub.wait_for(2)  # records and the retained summary at least
    out = capsys.readouterr()
    report = json.loads(out.out)
    assert report["added"] > 0 and report["published"] > 0
    assert re.fullmatch(r"p-[a-z2-7]{16}", report["patient"])  # the pseudonym, not the MRN
    messages = [(m.topic, m.payload.decode()) for m in got]
    assert messages, "nothing was published"
    for topic, payload in messages:
        assert _leaks(topic) == [], topic
        assert _leaks(payload) == [], f"{topic}: {_leaks(payload)}"
        assert re.search(r"/p-[a-z2-7]{16}/", topic) or "/gateway/" in topic
    assert _leaks(caplog.text) == [], caplog.text[-500:]
    assert _leaks(out.err) == [], out.err[-500:]
    assert _leaks(out.out) == [], out.out[-500:]
    names = [str(p.relative_to(tmp_path)) for p in data.rglob("*")]
    assert names and all(_leaks(n) == [] for n in names), names
