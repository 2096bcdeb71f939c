"""The broker goes down in the middle of a sync and comes back later: every record
reaches the care record exactly once (counts and a checksum at both ends).

The gateway keeps publishing from its outbox (chunks are marked sent only when every
message is acknowledged); the care record holds a persistent QoS 1 session; the broker
keeps its state across the restart (``persistence true``, as deploy/mosquitto ships it).
Default outage: 3 s; ``pytest --long``: 3 minutes."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from datetime import date
from pathlib import Path

import pytest

from drivers._core.timebase import resolve_times
from gateway.config import Config
from gateway.identity import patient_pseudonym
from gateway.ingest.common import messages_for
from gateway.publish.messages import record_messages
from gateway.publish.mqtt import BrokerConfig, Publisher, PublishError
from gateway.record.service import subscribe
from gateway.record.store import CareRecordStore
from gateway.store.sqlite import Store
from simulators.patient import presets
from simulators.patient.scenario import Scenario
from tests.harness.services import Mosquitto

pytestmark = pytest.mark.services
SITE, SECRET = "site-outage", b"outage-test-secret-0123456789"


def _checksum(rows: list[tuple[str, str, str, str]]) -> str:
    return hashlib.sha256("\n".join("|".join(r) for r in sorted(rows)).encode()).hexdigest()


def test_outage_mid_sync_loses_and_doubles_nothing(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    outage_s = 180.0 if request.config.getoption("--long") else 3.0
    # a persistent broker (its own, so it can be stopped and started)
    broker = Mosquitto(tmp_path / "broker")
    broker.extra_conf = f"persistence true\npersistence_location {tmp_path / 'broker'}/\n"
    if os.geteuid() == 0:  # as root Mosquitto drops to "mosquitto", who cannot write tmp
        broker.extra_conf += "user root\n"
    conf_text = None
    broker.start()
    conf_text = broker.conf.read_text()
    assert "persistence true" in conf_text
    # the gateway's backlog: 4 patients x 14 days, ~12,000 records in small messages
    config = Config(site=SITE, gateway_id="gw-1", data_dir=tmp_path)
    db_path = tmp_path / "gateway.sqlite"
    with Store(db_path) as store:
        for n in range(4):
            sc = Scenario(
                presets.preset("well_controlled"),
                days=14,
                seed=30 + n,
                tz="UTC",
                start=date(2026, 2, 2),
            )
            records = resolve_times(
                [r.evolve(device_id=f"{r.device_id}-{n}") for r in sc.records], "UTC"
            )
            patient = store.patient(f"p{n}", patient_pseudonym(SECRET, SITE, f"p{n}"), "UTC")
            store.ingest(
                patient,
                records,
                raw=f"{n}".encode(),
                fmt="test",
                devices={r.device_id: "sim" for r in records},
                messages=lambda new, p=patient: [
                    m
                    for chunk in range(0, len(new), 25)
                    for m in messages_for(config, p, SECRET)(new[chunk : chunk + 25])
                ],
            )
        sent_rows = store.db.execute(
            "SELECT device_id, kind, source_index, payload FROM records"
        ).fetchall()
    gateway_side = [
        (d, k, i, json.dumps(json.loads(p).get("glucose_mgdl"))) for d, k, i, p in sent_rows
    ]
    record_store = CareRecordStore(tmp_path / "record.sqlite")
    sub, _intake = subscribe(
        BrokerConfig("127.0.0.1", broker.port),
        record_store,
        sites=[SITE],
        client_id="care-record-outage",
    )
    broker_cfg = BrokerConfig("127.0.0.1", broker.port, timeout_s=2)
    errors: list[Exception] = []

    def sync() -> None:
        try:
            with Store(db_path) as own, Publisher(broker_cfg, site=SITE, gateway_id="gw-1") as pub:
                pub.drain(own, chunk=20)
        except PublishError as exc:
            errors.append(exc)

    with Store(db_path) as store:
        total = store.outbox_pending()
        worker = threading.Thread(target=sync)
        worker.start()
        while store.outbox_pending() > total * 0.6:  # some sent, most not
            time.sleep(0.01)
        broker.stop()
        worker.join(timeout=30)
        assert errors, "the outage should interrupt the sync"
        pending = store.outbox_pending()
        assert 0 < pending < total
        time.sleep(outage_s)
        broker.start()
        deadline = time.monotonic() + 30
        while True:  # the hub's next sync: retry until the broker answers
            try:
                with Publisher(broker_cfg, site=SITE, gateway_id="gw-1") as pub:
                    pub.drain(store)
                break
            except PublishError:
                assert time.monotonic() < deadline
                time.sleep(0.5)
        assert store.outbox_pending() == 0
    deadline = time.monotonic() + 30
    expected = len(gateway_side)
    while True:
        with record_store.lock:
            got = record_store.db.execute("SELECT count(*) FROM records").fetchone()[0]
        if got >= expected or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    sub.stop()
    broker.stop()
    with record_store.lock:
        rows = record_store.db.execute(
            "SELECT device_id, kind, source_index, payload FROM records"
        ).fetchall()
    care_side = [(d, k, i, json.dumps(json.loads(p).get("glucose_mgdl"))) for d, k, i, p in rows]
    assert len(care_side) == expected  # the UNIQUE key also proves no duplicate rows
    # device ids are pseudonymised on the way out; compare by kind, index and value
    strip = [(k, i, v) for _, k, i, v in gateway_side]
    assert _checksum([("", *r) for r in strip]) == _checksum(
        [("", k, i, v) for _, k, i, v in care_side]
    )
    assert record_store.rejected() == []
    record_store.close()
    sqlite3.connect(db_path).close()


def test_care_record_offline_gets_its_backlog_with_the_shipped_queue_limits(
    tmp_path: Path,
) -> None:
    """The care record is down while a gateway sends 3,000 messages; with Mosquitto's
    default queue (1,000 per client) two thirds would be dropped silently. The shipped
    deploy/mosquitto/glucogate.conf raises it; every message arrives."""
    import re

    shipped = (Path(__file__).resolve().parents[2] / "deploy/mosquitto/glucogate.conf").read_text()
    limits = "".join(
        m.group(0) + "\n" for m in re.finditer(r"^max_queued_(messages|bytes) .*$", shipped, re.M)
    )
    assert "max_queued_messages" in limits
    broker = Mosquitto(tmp_path / "broker", extra_conf=limits).start()
    try:
        cfg = BrokerConfig("127.0.0.1", broker.port)
        record_store = CareRecordStore(tmp_path / "record.sqlite")
        sub, _ = subscribe(cfg, record_store, sites=[SITE], client_id="care-record-offline")
        sub.stop()  # offline; its persistent session keeps the subscription
        pseudonym = patient_pseudonym(SECRET, SITE, "x")
        with Store(tmp_path / "gw.sqlite") as store:
            sc = Scenario(
                presets.preset("well_controlled"), days=12, seed=3, tz="UTC", start=date(2026, 2, 2)
            )
            cgm = [r for r in resolve_times(sc.records, "UTC") if r.device_id == sc.cgm_id]
            store.enqueue(
                record_messages(
                    cgm[:3000],
                    secret=SECRET,
                    site=SITE,
                    pseudonym=pseudonym,
                    gateway_id="gw-1",
                    per_message=1,
                )
            )
            with Publisher(cfg, site=SITE, gateway_id="gw-1") as pub:
                assert pub.drain(store) == 3000
        sub, _ = subscribe(cfg, record_store, sites=[SITE], client_id="care-record-offline")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with record_store.lock:
                n = record_store.db.execute("SELECT count(*) FROM records").fetchone()[0]
            if n >= 3000:
                break
            time.sleep(0.2)
        sub.stop()
        assert record_store.rejected() == []
        assert n == 3000
    finally:
        broker.stop()
