"""The home hub's scheduler with real parts: a virtual Dexcom G6 receiver on a pty (the
real driver over pyserial), the simulated bleak backend carrying the demo CGM (288
readings, simulators/ble/demo.py), a real SQLite store and, where it publishes, the real
Mosquitto broker. Time is a fake clock whose ``sleep`` only moves it, so hours of
schedule run in a fraction of a second and the schedule is observed exactly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Generator, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from drivers.cgm.dexcom_receiver import messages as m
from gateway.config import Config, HubConfig, HubDevice
from gateway.hub.loop import Hub, backoff_delay
from gateway.store.sqlite import Store
from simulators.ble.backend import Air
from simulators.ble.demo import CGM_ADDRESS, populate_demo
from simulators.cgm.dexcom_receiver import G6, Fault, ReceiverDatabase, VirtualReceiver
from simulators.cgm_trace import cgm_trace
from tests.harness.services import Mosquitto
from tests.harness.subscriber import Subscriber

REPO = Path(__file__).resolve().parents[3]
T0 = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
ABSENT_BLE = "AA:BB:CC:DD:EE:FF"
DEMO_CGM_READINGS = 288


class FakeClock:
    """``now()`` and ``sleep()`` for the hub; sleeping moves time, and the hub is stopped
    once the clock passes ``until``."""

    def __init__(self, hub_ref: list[Hub], until: datetime) -> None:
        self.t = T0
        self.until = until
        self.hub_ref = hub_ref
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += timedelta(seconds=seconds)
        if self.t > self.until:
            self.hub_ref[0].stop()


@pytest.fixture
def receiver() -> Iterator[VirtualReceiver]:
    yield from _receiver()


def _receiver(faults: tuple[Fault, ...] = ()) -> Generator[VirtualReceiver, None, None]:
    trace = cgm_trace(days=1, seed=3, tz="UTC", start=datetime(2024, 5, 30).date())
    db = ReceiverDatabase(G6, serial="SM00000077")
    db.add_samples([r for r in trace.records if r.sample_type == "cgm"])
    with VirtualReceiver(db, faults=faults) as rx:
        yield rx


def _backend() -> type:
    air = Air()
    populate_demo(air)
    return air.client_backend()


def _config(tmp_path: Path, *devices: HubDevice, mqtt_port: int | None = None) -> Config:
    from gateway.publish.mqtt import BrokerConfig

    return Config(
        site="home-test",
        gateway_id="hub-1",
        data_dir=tmp_path / "data",
        mqtt=BrokerConfig("127.0.0.1", mqtt_port) if mqtt_port else None,
        hub=HubConfig(devices=devices, ble_scan_s=0.05),
    )


def _states(hub: Hub) -> dict[str, tuple[str, int]]:
    return {s.device.name: (s.state, s.added) for s in hub.states}


def test_second_pass_reads_nothing_new(receiver: VirtualReceiver, tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        HubDevice("receiver", port=receiver.port, driver="dexcom-receiver"),
        HubDevice("cgm", ble=CGM_ADDRESS, kind="cgm"),
    )
    with Store(config.store_path) as store:
        hub = Hub(config, store, ble_backend=_backend())
        hub.run_once()
        first = _states(hub)
        stored = store.count_records()
        hub.run_once()
        second = _states(hub)
        assert store.count_records() == stored
    n_receiver = len(receiver.db.records[m.RecordType.EGV_DATA])
    assert first["cgm"] == ("ok", DEMO_CGM_READINGS)
    assert first["receiver"][0] == "ok" and first["receiver"][1] >= n_receiver
    assert second == {"receiver": ("no-new-reading", 0), "cgm": ("no-new-reading", 0)}
    assert not receiver.violations


def test_backoff_schedule_does_not_delay_the_other_device(tmp_path: Path) -> None:
    # Three damaged answers to READ_DATABASE_PAGES exhaust the driver's own retries
    # (1 + 2), so occurrences 1-6 make two whole sync attempts fail; the third succeeds.
    faults = (Fault("bad-crc", command=m.Command.READ_DATABASE_PAGES, nth=1, times=6),)
    rx = next(gen := _receiver(faults))
    config = _config(
        tmp_path,
        HubDevice("receiver", port=rx.port, driver="dexcom-receiver"),
        HubDevice("cgm", ble=CGM_ADDRESS, kind="cgm"),
    )
    ref: list[Hub] = []
    clock = FakeClock(ref, until=T0 + timedelta(seconds=700))
    try:
        with Store(config.store_path) as store:
            hub = Hub(
                config,
                store,
                now=clock.now,
                sleep=clock.sleep,
                uniform=lambda: 0.5,  # jitter factor exactly 1
                ble_backend=_backend(),
            )
            ref.append(hub)
            hub.run()
            audit = [a for _, a, _ in store.audit_log()]
    finally:
        gen.close()
    rx_state, cgm_state = hub.states
    offsets = [(t - T0).total_seconds() for t in rx_state.attempts]
    # fail at 0, retry after 15 s, fail, retry after 30 s, succeed; then every 300 s
    assert offsets == [0, 15, 45, 345, 645]
    assert [(t - T0).total_seconds() for t in cgm_state.attempts] == [0, 300, 600]
    assert (rx_state.state, rx_state.failures) == ("no-new-reading", 0)
    assert audit.count("ingest") == 3 + 3  # receiver: 3 successes; cgm: 3 passes
    assert all(s <= 300 for s in clock.sleeps)  # nothing waited in real time either


def test_backoff_numbers() -> None:
    # defaults: base 15 s, cap 300 s, jitter +-20 %
    delays = [backoff_delay(n, base_s=15, cap_s=300, jitter=0.2, u=0.5) for n in range(1, 9)]
    assert delays == [15, 30, 60, 120, 240, 300, 300, 300]
    assert backoff_delay(3, base_s=15, cap_s=300, jitter=0.2, u=0.0) == pytest.approx(48)
    assert backoff_delay(9, base_s=15, cap_s=300, jitter=0.2, u=1.0) == pytest.approx(360)


@pytest.mark.services
def test_absent_device_is_unavailable_while_the_other_syncs(
    mqtt_broker: Mosquitto, tmp_path: Path
) -> None:
    config = _config(
        tmp_path,
        HubDevice("receiver", port=str(tmp_path / "ttyACM-unplugged"), driver="dexcom-receiver"),
        HubDevice("meter", ble=ABSENT_BLE, kind="meter"),
        HubDevice("cgm", ble=CGM_ADDRESS, kind="cgm"),
        mqtt_port=mqtt_broker.port,
    )
    with (
        Subscriber(mqtt_broker.port, "glucogate/v1/home-test/#") as sub,
        Store(config.store_path) as store,
    ):
        hub = Hub(config, store, ble_backend=_backend())
        hub.run_once()
        hub.run_once()
        hub.close()
        status_msgs = [
            json.loads(x.payload)
            for x in sub.wait_for(3, topic_suffix="/status")
            if json.loads(x.payload).get("devices")
        ]
        records = [
            r
            for x in sub.wait_for(1, topic_suffix="/records")
            for r in json.loads(x.payload)["records"]
        ]
        assert store.outbox_pending() == 0
    first = {d["name"]: d for d in status_msgs[0]["devices"]}
    assert {k: d["state"] for k, d in first.items()} == {
        "receiver": "unavailable",
        "meter": "unavailable",
        "cgm": "ok",
    }
    # the second pass reads nothing new: a different state from "unavailable"
    last = {d["name"]: d["state"] for d in status_msgs[-1]["devices"]}
    assert last == {"receiver": "unavailable", "meter": "unavailable", "cgm": "no-new-reading"}
    assert first["receiver"]["error"] is None and first["receiver"]["failures"] == 1
    assert len([r for r in records if r["kind"] == "glucose"]) == DEMO_CGM_READINGS
    assert status_msgs[0]["outbox"]["state"] == "ok"
    text = json.dumps(status_msgs)
    assert "SM00000077" not in text and ABSENT_BLE not in text and CGM_ADDRESS not in text


def test_stale_sync_is_reported_once_and_cleared(receiver: VirtualReceiver, tmp_path: Path) -> None:
    link = tmp_path / "glucogate-dexcom"  # the udev symlink; the receiver is unplugged
    config = _config(tmp_path, HubDevice("receiver", port=str(link), driver="dexcom-receiver"))
    ref: list[Hub] = []
    clock = FakeClock(ref, until=T0 + timedelta(hours=7))
    with Store(config.store_path) as store:
        hub = Hub(config, store, now=clock.now, sleep=clock.sleep, uniform=lambda: 0.5)
        ref.append(hub)
        hub.run()
        state = hub.states[0]
        stale_entries = [d for _, a, d in store.audit_log() if a == "sync-stale"]
        assert state.stale and state.state == "unavailable"
        assert stale_entries == [{"device": "receiver", "hours": 6.0}]  # once, at 6 h
        doc = hub.status_document()["devices"][0]
        assert (doc["stale"], doc["state"]) == (True, "unavailable")

        # plugged in: the next attempt syncs, the alarm clears, one "resumed" entry
        os.symlink(receiver.port, link)
        hub.run_once()
        assert (state.stale, state.state) == (False, "ok")
        assert [a for _, a, _ in store.audit_log()].count("sync-resumed") == 1

        # the last success survives a restart: a new hub 6 h later is stale at once
        later = FakeClock(ref, until=T0)
        later.t = clock.t + timedelta(hours=6, minutes=1)
        ref[0] = Hub(config, store, now=later.now, sleep=later.sleep)
        os.unlink(link)
        ref[0].run_once()
        assert ref[0].states[0].stale
        assert [a for _, a, _ in store.audit_log()].count("sync-stale") == 2


def test_outbox_over_limit_is_reported_and_the_hub_keeps_going(tmp_path: Path) -> None:
    config = _config(tmp_path, HubDevice("cgm", ble=CGM_ADDRESS, kind="cgm"))  # no broker
    config = replace(config, hub=replace(config.hub, outbox_cap_mb=0.01))  # 10 kB
    with Store(config.store_path) as store:
        hub = Hub(config, store, ble_backend=_backend())
        hub.run_once()
        unsent = [msg.seq for msg in store.unsent()]
        outbox = hub.status_document()["outbox"]
        assert outbox["state"] == "over-limit" and outbox["unsent_bytes"] > 10_000
        assert outbox["pending"] == len(unsent) > 0
        hub.run_once()  # still syncing, nothing unsent dropped
        assert hub.states[0].state == "no-new-reading"
        assert [msg.seq for msg in store.unsent()] == unsent
        sizes = store.db.execute("SELECT length(data) FROM raw_captures").fetchall()
        assert all(size == 0 for (size,) in sizes)  # the captures went instead


def test_sync_once_cli_and_sigterm(tmp_path: Path) -> None:
    conf = tmp_path / "hub.toml"
    conf.write_text(
        f'[gateway]\nsite = "home-test"\nid = "hub-1"\ndata_dir = "{tmp_path / "data"}"\n'
        "[hub]\ninterval_s = 300\nble_scan_s = 0.05\n"
        'ble_backend = "simulators.ble.backend:SimulatedClientBackend"\n'
        f'[[hub.devices]]\nname = "cgm"\nble = "{CGM_ADDRESS}"\nkind = "cgm"\n'
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "gateway.cli", "--config", str(conf), "sync"]
    once = subprocess.run([*cmd, "--once", "--json"], capture_output=True, text=True, env=env)
    assert once.returncode == 0, once.stderr
    assert json.loads(once.stdout)["devices"][0]["state"] == "ok"

    verbose = [*cmd[:-1], "-v", "sync"]
    proc = subprocess.Popen(verbose, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stderr is not None
        lines: list[str] = []
        while not any("event=sync" in line for line in lines):  # one pass done
            lines.append(proc.stderr.readline())
            assert lines[-1], "sync exited before its first pass"
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)  # asleep until the next interval: wakes and stops
        assert proc.wait(timeout=10) == 0
        assert time.monotonic() - started < 5
        lines += proc.stderr.read().splitlines()
    finally:
        if proc.poll() is None:
            proc.kill()
    sync_line = next(line for line in lines if "event=sync" in line)
    assert "device=cgm state=no-new-reading added=0" in sync_line
    assert any("event=stop" in line for line in lines)
    assert CGM_ADDRESS not in "".join(lines)


def test_hub_section_is_checked(tmp_path: Path) -> None:
    from gateway.config import ConfigError, load_config

    conf = tmp_path / "hub.toml"
    conf.write_text(
        '[[hub.devices]]\nname = "Kitchen Pi"\nble = "C0:FF:EE:00:18:1F"\nkind = "cgm"\n'
    )
    with pytest.raises(ConfigError, match="Kitchen Pi"):
        load_config(conf, env={})
    conf.write_text('[[hub.devices]]\nname = "rx"\nport = "/dev/x"\ndriver = "medtronic"\n')
    with pytest.raises(ConfigError, match="driver must be one of"):
        load_config(conf, env={})
    conf.write_text(
        '[hub]\ninterval_s = 60\n[[hub.devices]]\nname = "rx"\nport = "/dev/x"\n'
        'driver = "tandem-pump"\n'
    )
    config = load_config(conf, env={"GLUCOGATE_HUB_OUTBOX_CAP_MB": "50"})
    assert config.hub.devices == (HubDevice("rx", port="/dev/x", driver="tandem-pump"),)
    assert (config.hub.interval_s, config.hub.outbox_cap_mb) == (60.0, 50.0)
    assert (config.hub.backoff_base_s, config.hub.backoff_cap_s) == (15.0, 300.0)
