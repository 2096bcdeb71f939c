"""MQTT benchmark: records/s from the store's outbox into Mosquitto with QoS 1.

Data: synthetic patients (``simulators.patient``, preset ``well_controlled``, 14 days
each: 5-min CGM plus the pump's boluses, basal, food and device events, ~4,400 records a
patient) imported into a fresh SQLite store with their outbox messages (records in
batches of 500 per message, as the gateway sends them), with the broker unreachable:
the backlog a gateway builds up during an outage. Then, in one run on this machine,
against a private Mosquitto on loopback (``tests/harness/services.py``):

(a) **glucogate**: ``Publisher.drain`` of the whole backlog: read from the outbox in
    order, publish with QoS 1, wait for every PUBACK, mark sent (one transaction per
    100 messages);
(b) **peer**: the same payloads published with QoS 1 by a bare paho-mqtt client, waiting
    for every PUBACK, nothing read or written on disk: the floor for this broker and
    this client library.

Goals (issue 10): >= 5,000 records/s into Mosquitto with QoS 1; a 24-hour backlog
drained in <= 10 s. The 24-hour backlog is sized here as a busy clinic kiosk's day:
30 visits, each uploading 14 days of CGM and pump data (about 130,000 records), i.e.
far more than a home hub (one patient: ~300 CGM records a day) would hold.
Run: ``.venv/bin/python bench/mqtt_bench.py`` (needs mosquitto: ``make test`` installs it).
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from drivers._core.timebase import resolve_times
from gateway.config import Config
from gateway.identity import patient_pseudonym
from gateway.ingest.common import messages_for
from gateway.publish.messages import record_messages
from gateway.publish.mqtt import BrokerConfig, Publisher
from gateway.store.sqlite import Store
from simulators.patient.presets import well_controlled
from simulators.patient.scenario import Scenario

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the broker harness of tests/
from tests.harness.services import Mosquitto

TZ = "America/Chicago"
VISITS = 30
DAYS = 14


def build_backlog(db: Path) -> tuple[int, int]:
    """The outbox after VISITS uploads with no broker; returns (records, messages)."""
    config = Config(site="bench-site", gateway_id="bench-kiosk", data_dir=db.parent)
    secret = b"bench-secret-0123456789abcdef"
    n_records = 0
    with Store(db) as store:
        for visit in range(VISITS):
            sc = Scenario(well_controlled(), days=DAYS, seed=visit, tz=TZ, start=date(2026, 3, 2))
            # each visit is another patient with devices of their own
            own = [r.evolve(device_id=f"{r.device_id}-{visit}") for r in sc.records]
            records = resolve_times(own, TZ)
            patient = store.patient(
                f"visit-{visit}", patient_pseudonym(secret, config.site, f"visit-{visit}"), TZ
            )
            result = store.ingest(
                patient,
                records,
                raw=f"visit {visit}".encode(),
                fmt="bench",
                devices={r.device_id: "bench" for r in records},
                messages=messages_for(config, patient, secret),
            )
            n_records += result.added
        return n_records, store.outbox_pending()


def single_record_backlog(db: Path, n: int) -> int:
    """An outbox of ``n`` messages of one record each (a hub publishing every reading
    as it comes: the worst case for per-message overhead)."""
    secret = b"bench-secret-0123456789abcdef"
    sc = Scenario(well_controlled(), days=DAYS, seed=99, tz=TZ, start=date(2026, 3, 2))
    records = [r for r in resolve_times(sc.records, TZ) if r.device_id == sc.cgm_id][:n]
    with Store(db) as store:
        pseudonym = patient_pseudonym(secret, "bench-site", "hub")
        store.enqueue(
            record_messages(
                records,
                secret=secret,
                site="bench-site",
                pseudonym=pseudonym,
                gateway_id="bench-hub",
                per_message=1,
            )
        )
        return len(records)


def drain(db: Path, port: int, expected: int) -> float:
    with (
        Store(db) as store,
        Publisher(BrokerConfig("127.0.0.1", port), site="bench-site", gateway_id="bench") as pub,
    ):
        t0 = time.perf_counter()
        sent = pub.drain(store)
        elapsed = time.perf_counter() - t0
        assert sent == expected and store.outbox_pending() == 0
    return elapsed


def peer_publish(port: int, payloads: list[tuple[str, str]]) -> float:
    """Bare paho: publish every payload with QoS 1 and wait for all PUBACKs."""
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="bench-peer")
    client.max_inflight_messages_set(100)
    client.connect("127.0.0.1", port)
    client.loop_start()
    t0 = time.perf_counter()
    infos = [client.publish(topic, payload, qos=1) for topic, payload in payloads]
    for info in infos:
        info.wait_for_publish(timeout=30)
    elapsed = time.perf_counter() - t0
    client.disconnect()
    client.loop_stop()
    return elapsed


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        db = work / "kiosk.sqlite"
        t0 = time.perf_counter()
        n_records, n_messages = build_backlog(db)
        build_s = time.perf_counter() - t0
        with Store(db) as store:
            payloads = [(m.topic, m.payload) for m in store.unsent(limit=n_messages)]
        size = sum(len(p) for _, p in payloads)
        single_db = work / "hub.sqlite"
        n_single = single_record_backlog(single_db, 3000)
        with Store(single_db) as store:
            single_payloads = [(m.topic, m.payload) for m in store.unsent(limit=n_single)]
        broker = Mosquitto(work / "mosquitto").start()  # stock settings
        try:
            ours = drain(db, broker.port, n_messages)
            theirs = peer_publish(broker.port, payloads)
            ours_1 = drain(single_db, broker.port, n_single)
            theirs_1 = peer_publish(broker.port, single_payloads)
        finally:
            broker.stop()
    print(
        f"MQTT benchmark: {VISITS} uploads x {DAYS} days = {n_records:,} records in"
        f" {n_messages:,} messages ({size / 1e6:.1f} MB JSON), QoS 1, Mosquitto on loopback;"
        f" backlog built in {build_s:.1f} s"
    )
    print(f"{'':<44}{'seconds':>9}{'records/s':>12}{'ratio':>8}")
    print(
        f"{'glucogate: outbox drain (read, publish, ack, mark)':<44}{ours:>9.2f}"
        f"{n_records / ours:>12,.0f}{ours / theirs:>7.1f}x"
    )
    print(
        f"{'peer: bare paho-mqtt, same payloads':<44}{theirs:>9.2f}"
        f"{n_records / theirs:>12,.0f}{1.0:>7.1f}x"
    )
    print(
        f"{'glucogate, one record per message (' + format(n_single, ',') + ')':<44}"
        f"{ours_1:>9.2f}{n_single / ours_1:>12,.0f}{ours_1 / theirs_1:>7.1f}x"
    )
    print(
        f"{'peer: bare paho-mqtt, same payloads':<44}{theirs_1:>9.2f}"
        f"{n_single / theirs_1:>12,.0f}{1.0:>7.1f}x"
    )
    ok_rate = min(n_records / ours, n_single / ours_1) >= 5000
    ok_drain = ours <= 10.0
    print(
        f"goal >= 5,000 records/s: {'met' if ok_rate else 'MISSED'};"
        f" 24-hour backlog (a busy kiosk's day) drained in <= 10 s:"
        f" {'met' if ok_drain else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
