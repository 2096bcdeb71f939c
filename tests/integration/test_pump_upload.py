"""A synthetic patient's t:slim X2 on a pseudo-terminal, uploaded with
``glucogate --config C upload --port PTY --driver tandem-pump --json`` (pyserial, the
real driver path) into a temporary SQLite store and published to the real Mosquitto;
every record the store holds arrives on ``glucogate/v1/<site>/<pseudonym>/records``, as
many as the scenario planted on the pump, and no topic names the patient. A second
upload reads nothing new."""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from drivers._core.records import Bolus, DeviceEvent, GlucoseSample
from gateway.cli import main
from gateway.store.sqlite import Store
from simulators.patient.presets import preset
from simulators.patient.scenario import Scenario
from simulators.pumps.tandem import VirtualPump
from simulators.pumps.tandem.scenario import pump_log, pump_records
from tests.harness.services import Mosquitto
from tests.harness.subscriber import Subscriber

pytestmark = pytest.mark.services
TZ = "Asia/Kolkata"  # UTC+05:30 all year: no DST change can fall in the window
PATIENT = "Jane Doe MRN-4711"


def _published(sub: Subscriber, want: int, timeout_s: float = 20.0) -> list[dict[str, Any]]:
    """Records received on the records topics, waiting until ``want`` arrived."""
    deadline = time.monotonic() + timeout_s
    while True:
        got = [r for m in sub.messages for r in json.loads(m.payload)["records"]]
        if len(got) >= want or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


def test_pump_upload_end_to_end(
    mqtt_broker: Mosquitto, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    start = datetime.now(ZoneInfo(TZ)).date() - timedelta(days=16)
    sc = Scenario(preset("missed_boluses"), days=14, seed=4, tz=TZ, start=start)
    log = pump_log(sc, first_seq=1)
    planted = pump_records(sc)
    config = tmp_path / "glucogate.toml"
    config.write_text(
        "[gateway]\n"
        'site = "clinic-pump"\n'
        f'data_dir = "{tmp_path / "data"}"\n'
        f'timezone = "{TZ}"\n'
        "[mqtt]\n"
        'host = "127.0.0.1"\n'
        f"port = {mqtt_broker.port}\n"
    )
    pump = VirtualPump(log.events, serial=log.serial, profiles=log.profiles, clock=log.wall_clock())
    with pump, Subscriber(mqtt_broker.port, "glucogate/v1/clinic-pump/+/records") as sub:
        args = ["--config", str(config), "upload", "--port", pump.port]
        args += ["--driver", "tandem-pump", "--patient", PATIENT, "--json"]
        assert main(args) == 0
        first = json.loads(capsys.readouterr().out)
        with Store(tmp_path / "data" / "glucogate.sqlite") as store:
            stored = store.count_records()
        published = _published(sub, stored)
        assert main(args) == 0
        second = json.loads(capsys.readouterr().out)
        time.sleep(0.3)  # nothing more may arrive
        topics = {m.topic for m in sub.messages}
        total = len([r for m in sub.messages for r in json.loads(m.payload)["records"]])
    assert pump.violations == []

    # what the pump held: the scenario's pump records, its settings, nothing else
    assert first["format"] == "tandem-pump"
    assert first["added"] == stored == len(published) == total == len(planted) + 1
    assert Counter(r["kind"] for r in published) == Counter(
        [r.kind for r in planted] + ["settings"]
    )
    # the report's clock offset is host UTC minus the pump's wall clock: the zone's
    # offset, give or take the second or two the read takes
    zone_s = datetime.now(ZoneInfo(TZ)).utcoffset() or timedelta()
    assert abs(first["clock_offset_s"] + zone_s.total_seconds()) <= 5
    assert (second["added"], second["counts"]) == (0, {})
    # the patient's local identity never leaves the machine: topics carry the pseudonym
    assert topics == {f"glucogate/v1/clinic-pump/{first['patient']}/records"}
    assert not any(part in t for t in topics for part in ("Jane", "Doe", "MRN", "4711"))
    # the records are the scenario's: boluses at their UTC times, doses, site changes
    boluses = sorted((r for r in published if r["kind"] == "bolus"), key=lambda r: r["time_utc"])
    want = [r for r in planted if isinstance(r, Bolus)]
    assert len(boluses) == len(want) == 36
    for got, w in zip(boluses, want, strict=True):
        assert w.time_utc is not None
        delta = datetime.fromisoformat(got["time_utc"]) - w.time_utc
        assert abs(delta.total_seconds()) <= 5
        assert (got["programmed_u"], got["delivered_u"]) == (w.programmed_u, w.delivered_u)
    sites = [
        r for r in published if r["kind"] == "device-event" and r["event_type"] == "site-change"
    ]
    assert len(sites) == sum(
        1 for r in planted if isinstance(r, DeviceEvent) and r.event_type == "site-change"
    )
    cgm = [r for r in published if r["kind"] == "glucose" and r["sample_type"] == "cgm"]
    assert len(cgm) == sum(
        1 for r in planted if isinstance(r, GlucoseSample) and r.sample_type == "cgm"
    )
    assert all(datetime.fromisoformat(r["time_utc"]).tzinfo is not None for r in cgm)
    assert max(datetime.fromisoformat(r["time_utc"]) for r in cgm) < datetime.now(UTC)
