"""Clinic brokers bridged to a county broker, all three from the shipped configuration
(deploy/mosquitto: glucogate.conf, acl.conf, bridge-clinic.conf; paths, ports and names
rewritten to a temporary directory), as real Mosquitto processes on loopback.

Gateways publish at their clinic's broker; the care record subscribes at the county's.
The clinic->county link runs over TLS through a small TCP relay in this test, so the
link can be cut (both sockets closed, new connections refused) while every broker
and client stays up. Default cut: 3 s; ``pytest --long``: 3 minutes (and the shipped
reconnect back-off instead of a 1 s retry).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import queue
import re
import shutil
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from drivers._core.timebase import resolve_times
from gateway.identity import patient_pseudonym
from gateway.publish.messages import record_messages, status_payload
from gateway.publish.mqtt import BrokerConfig, Publisher
from gateway.publish.subscribe import Subscription
from gateway.record.service import Intake, subscribe
from gateway.record.store import CareRecordStore
from gateway.store.sqlite import Store
from simulators.patient import presets
from simulators.patient.scenario import Scenario
from tests.harness.services import _wait_tcp, find_binary, free_port
from tests.security.test_broker_acl import _certs

pytestmark = pytest.mark.services

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto"
SITES = ("site-a", "site-b")
PASSWORDS = {"care-record": "cr-secret", "site-a": "a-secret", "site-b": "b-secret"}
SECRET = b"bridge-test-site-secret-0123456789"


# --- the deployment: one county broker, two clinic brokers bridged to it ------------


class Relay:
    """A TCP relay 127.0.0.1:port -> 127.0.0.1:target that can cut every connection.

    While cut, new connections are accepted and closed at once (a link that is down)."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.port = free_port()
        self.up = threading.Event()
        self.up.set()
        self._socks: list[socket.socket] = []
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            if not self.up.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._socks += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self.up.clear()
        with self._lock:
            socks, self._socks = self._socks, []
        for s in socks:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def restore(self) -> None:
        self.up.set()

    def close(self) -> None:
        self.cut()
        self._server.close()


@dataclass
class Broker:
    """A Mosquitto started from the shipped glucogate.conf + acl.conf (+ a bridge)."""

    name: str
    dir: Path
    certs: Path
    users: dict[str, str]
    bridge: str = ""
    plain: int = field(default_factory=free_port)
    tls: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    hung: bool = False

    def write_config(self) -> None:
        passwd = self.dir / "passwd"
        passwd.unlink(missing_ok=True)
        passwd.touch()
        tool = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
        for user, password in self.users.items():
            subprocess.run([tool, "-b", str(passwd), user, password], check=True)
        shutil.copy(DEPLOY / "acl.conf", self.dir / "acl.conf")
        conf = (DEPLOY / "glucogate.conf").read_text()
        replacements = {
            r"password_file .*": f"password_file {passwd}",
            r"acl_file .*": f"acl_file {self.dir / 'acl.conf'}",
            r"persistence_location .*": f"persistence_location {self.dir}/",
            r"listener 8883": f"listener {self.tls} 127.0.0.1",
            r"certfile .*": f"certfile {self.certs / 'test-server.crt'}",
            r"keyfile .*": f"keyfile {self.certs / 'test-server.key'}",
            r"listener 1883 127.0.0.1": f"listener {self.plain} 127.0.0.1",
        }
        for pattern, value in replacements.items():
            conf, n = re.subn(pattern, value, conf)
            assert n == 1, f"deploy/mosquitto/glucogate.conf lost its {pattern!r} line"
        if os.geteuid() == 0:  # as root Mosquitto drops to "mosquitto", who cannot read tmp
            conf += "\nuser root\n"
        (self.dir / "mosquitto.conf").write_text(conf + "\n" + self.bridge)

    def start(self) -> Broker:
        binary = find_binary("mosquitto")
        if binary is None:
            pytest.fail("mosquitto not installed (make test installs it)")
        log = self.dir / "mosquitto.log"
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [binary, "-c", str(self.dir / "mosquitto.conf")],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        _wait_tcp(self.plain, self.proc, log)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:  # see test_clinic_broker_restarted_while_cut
                self.proc.kill()
                self.proc.wait()
                self.hung = True
        self.proc = None

    def config(self, user: str, timeout_s: float = 10.0) -> BrokerConfig:
        return BrokerConfig(
            "127.0.0.1", self.plain, username=user, password=PASSWORDS[user], timeout_s=timeout_s
        )


def bridge_conf(site: str, port: int, ca: Path, *, fast_retry: bool) -> str:
    """deploy/mosquitto/bridge-clinic.conf for ``site``, bridging to 127.0.0.1:port."""
    conf = (DEPLOY / "bridge-clinic.conf").read_text()
    replacements = {
        r"^address .*$": f"address 127.0.0.1:{port}",
        r"^bridge_cafile .*$": f"bridge_cafile {ca}",
        r"CHANGE-ME": PASSWORDS[site],
        r"clinic-north": site,
    }
    if fast_retry:  # the shipped back-off can wait up to 30 s after a cut
        replacements[r"^restart_timeout .*$"] = "restart_timeout 1"
    for pattern, value in replacements.items():
        conf, n = re.subn(pattern, value, conf, flags=re.M)
        assert n >= 1, f"deploy/mosquitto/bridge-clinic.conf lost its {pattern!r} line"
    return conf


@dataclass
class Deployment:
    county: Broker
    clinics: dict[str, Broker]
    relays: dict[str, Relay]

    def stop(self) -> None:
        for b in (*self.clinics.values(), self.county):
            b.stop()
        for r in self.relays.values():
            r.close()


@pytest.fixture(scope="module")
def deployment(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Deployment]:
    if shutil.which("openssl") is None:
        pytest.fail("openssl is needed to make the test certificates")
    root = tmp_path_factory.mktemp("bridge")
    certs = root / "certs"
    certs.mkdir()
    _certs(certs, "test")  # one CA; every broker's server certificate is for 127.0.0.1
    county_dir = root / "county"
    county_dir.mkdir()
    # the county knows the care record and each clinic (its bridge's credentials)
    county = Broker("county", county_dir, certs, dict(PASSWORDS))
    county.write_config()
    county.start()
    relays, clinics = {}, {}
    for site in SITES:
        relay = Relay(county.tls)
        d = root / site
        d.mkdir()
        # a clinic's broker knows its own gateways' user (its site) and the care-record
        # user (only so this test can look at everything that reached the clinic)
        clinic = Broker(
            site,
            d,
            certs,
            {site: PASSWORDS[site], "care-record": PASSWORDS["care-record"]},
            bridge=bridge_conf(
                site,
                relay.port,
                certs / "test-ca.crt",
                fast_retry=not request.config.getoption("--long"),
            ),
        )
        clinic.write_config()
        clinic.start()
        relays[site], clinics[site] = relay, clinic
    dep = Deployment(county, clinics, relays)
    for site in SITES:
        wait_bridge(dep, site)
    yield dep
    dep.stop()


class Client:
    """A paho client that records what it receives."""

    def __init__(self, broker: Broker, user: str, client_id: str = "") -> None:
        self.inbox: queue.Queue[tuple[str, bytes, bool]] = queue.Queue()
        connack: queue.Queue[int] = queue.Queue()
        self.c = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=client_id)
        self.c.username_pw_set(user, PASSWORDS[user])
        self.c.on_connect = lambda c, u, f, rc, p: connack.put(rc.value)
        self.c.on_message = lambda c, u, m: self.inbox.put((m.topic, bytes(m.payload), m.retain))
        self.c.connect("127.0.0.1", broker.plain)
        self.c.loop_start()
        assert connack.get(timeout=10) == 0, f"{user} refused"

    def subscribe(self, topic: str) -> None:
        self.c.subscribe(topic, qos=1)
        time.sleep(0.3)

    def publish(self, topic: str, payload: bytes = b"{}", retain: bool = False) -> None:
        self.c.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)

    def received(self, wait_s: float = 1.0) -> list[tuple[str, bytes, bool]]:
        time.sleep(wait_s)
        got = []
        while not self.inbox.empty():
            got.append(self.inbox.get())
        return sorted(got)

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


def wait_bridge(dep: Deployment, site: str, timeout_s: float = 40.0) -> None:
    """Block until messages cross the clinic's bridge: a gateway status probe published
    at the clinic (every 0.2 s) is seen at the county. (The bridge's $SYS notification
    is not readable under the shipped ACL.)"""
    topic = f"glucogate/v1/{site}/gateway/probe/status"
    watcher = Client(dep.county, "care-record")
    prober = Client(dep.clinics[site], site)
    try:
        watcher.subscribe(topic)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            prober.publish(topic, status_payload("probe", "online").encode())
            try:
                watcher.inbox.get(timeout=0.2)
                return
            except queue.Empty:
                continue
        raise AssertionError(f"bridge of {site} did not connect within {timeout_s} s")
    finally:
        watcher.close()
        prober.close()


# --- gateways and the care record ---------------------------------------------------


def gateway_outbox(path: Path, site: str, seed: int, days: int) -> tuple[int, list[str]]:
    """A gateway store with one synthetic patient's records queued in small messages;
    returns the number of messages and every record as the care record will store it."""
    sc = Scenario(
        presets.preset("well_controlled"), days=days, seed=seed, tz="UTC", start=date(2026, 2, 2)
    )
    records = resolve_times(sc.records, "UTC")
    with Store(path) as store:
        n = store.enqueue(
            record_messages(
                records,
                secret=SECRET,
                site=site,
                pseudonym=patient_pseudonym(SECRET, site, f"patient-{seed}"),
                gateway_id="gw-1",
                per_message=5,
            )
        )
        sent = [
            json.dumps(r, separators=(",", ":"))
            for m in store.unsent(limit=n)
            for r in json.loads(m.payload)["records"]
        ]
    return n, sent


def checksum(rows: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(rows)).encode()).hexdigest()


@dataclass
class CareRecord:
    """The care record's intake at the county, counting every records delivery."""

    store: CareRecordStore
    sub: Subscription
    intake: Intake
    deliveries: Counter[str] = field(default_factory=Counter)

    @classmethod
    def start(cls, county: Broker, path: Path, client_id: str) -> CareRecord:
        store = CareRecordStore(path)
        sub, intake = subscribe(
            county.config("care-record"), store, sites=["+"], client_id=client_id
        )
        me = cls(store, sub, intake)
        handle: Callable[[str, bytes, bool], None] = sub.handler

        def counting(topic: str, payload: bytes, retained: bool) -> None:
            if topic.endswith("/records"):
                for r in json.loads(payload)["records"]:
                    me.deliveries[json.dumps(r, separators=(",", ":"))] += 1
            handle(topic, payload, retained)

        sub.handler = counting  # before any record is published
        return me

    def rows(self, site: str) -> list[str]:
        with self.store.lock:
            return [
                r[0]
                for r in self.store.db.execute(
                    "SELECT payload FROM records WHERE site = ?", (site,)
                ).fetchall()
            ]

    def wait_for(self, counts: dict[str, int], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if all(len(self.rows(s)) >= n for s, n in counts.items()):
                return
            time.sleep(0.2)

    def rejected(self) -> list[tuple[str, str]]:
        """Rejected messages, leaving out care plans: the intake subscribes to
        glucogate/v1/<site>/# and files the retained care plans of earlier tests under
        rejected ("unknown topic kind 'careplan'")."""
        return [r for r in self.store.rejected() if not r[0].endswith("/careplan")]

    def close(self) -> None:
        self.sub.stop()
        self.store.close()


def drain(clinic: Broker, site: str, db: Path) -> int:
    with Store(db) as store, Publisher(clinic.config(site), site=site, gateway_id="gw-1") as pub:
        return pub.drain(store, chunk=20)


# --- the tests ------------------------------------------------------------------------


def test_gateway_at_clinic_reaches_care_record_at_county_once(
    deployment: Deployment, tmp_path: Path
) -> None:
    care = CareRecord.start(deployment.county, tmp_path / "record.sqlite", "care-record-t1")
    sent: dict[str, list[str]] = {}
    messages: dict[str, int] = {}
    for n, site in enumerate(SITES):
        messages[site], sent[site] = gateway_outbox(tmp_path / f"{site}.sqlite", site, 10 + n, 7)
    t0 = time.monotonic()
    for site in SITES:  # both clinics at once
        assert drain(deployment.clinics[site], site, tmp_path / f"{site}.sqlite") == messages[site]
    care.wait_for({s: len(sent[s]) for s in SITES}, timeout_s=30)
    elapsed = time.monotonic() - t0
    for site in SITES:
        rows = care.rows(site)
        assert len(rows) == len(sent[site]) > 1000
        assert checksum(rows) == checksum(sent[site])
    assert care.rejected() == []
    total = sum(len(v) for v in sent.values())
    print(
        f"\n{sum(messages.values())} messages / {total} records through two bridges in"
        f" {elapsed:.1f} s; deliveries {sum(care.deliveries.values())}"
    )
    care.close()


def test_bridge_cut_while_gateway_publishes_every_record_once(
    deployment: Deployment, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    cut_s = 180.0 if request.config.getoption("--long") else 3.0
    site = "site-a"
    clinic = deployment.clinics[site]
    care = CareRecord.start(deployment.county, tmp_path / "record.sqlite", "care-record-t2")
    db = tmp_path / "gw.sqlite"
    n_messages, sent = gateway_outbox(db, site, 20, 14)
    done = threading.Event()
    published: list[int] = []

    def sync() -> None:
        published.append(drain(clinic, site, db))
        done.set()

    # what has crossed the link, counted at the county as it arrives (the care record
    # itself lags behind: it validates and stores every batch)
    meter = Client(deployment.county, "care-record", "link-meter")
    meter.subscribe(f"glucogate/v1/{site}/+/records")
    worker = threading.Thread(target=sync)
    worker.start()
    while meter.inbox.qsize() < n_messages * 0.2:  # the bridge is carrying records
        time.sleep(0.005)
    deployment.relays[site].cut()
    at_cut = meter.inbox.qsize()
    time.sleep(1.0)  # what the county had already received reaches the meter
    during = meter.inbox.qsize()
    worker.join(timeout=60)  # the clinic broker is up: the gateway finishes its drain
    assert done.is_set() and published == [n_messages]
    time.sleep(cut_s)
    assert meter.inbox.qsize() == during < n_messages  # nothing crosses a cut link
    deployment.relays[site].restore()
    care.wait_for({site: len(sent)}, timeout_s=60)
    rows = care.rows(site)
    assert len(rows) == len(sent)  # the UNIQUE key: no duplicate rows
    assert checksum(rows) == checksum(sent)
    assert set(care.deliveries) == set(sent)
    assert meter.inbox.qsize() >= n_messages
    duplicates = sum(c - 1 for c in care.deliveries.values())
    assert care.rejected() == []
    print(
        f"\ncut after {at_cut}/{n_messages} messages had crossed ({during} 1 s later);"
        f" {meter.inbox.qsize()} messages crossed in all; {len(sent)} records,"
        f" {duplicates} extra deliveries absorbed by the unique key"
    )
    meter.close()
    care.close()


def test_care_plan_reaches_its_clinic_only(deployment: Deployment) -> None:
    a, b = deployment.clinics["site-a"], deployment.clinics["site-b"]
    pa = patient_pseudonym(SECRET, "site-a", "plan-patient")
    pb = patient_pseudonym(SECRET, "site-b", "plan-patient")
    gw_a = Client(a, "site-a", "gw-a-live")
    gw_a.subscribe("glucogate/v1/site-a/+/careplan")
    everything_b = Client(b, "care-record", "look-b")  # all that reaches clinic B
    everything_b.subscribe("glucogate/v1/#")
    everything_b.received(0.5)  # drop retained status messages of earlier tests
    record = Client(deployment.county, "care-record", "care-record-plans")
    plan_a = json.dumps({"schema": "glucogate/careplan/v1", "patient": pa}).encode()
    plan_b = json.dumps({"schema": "glucogate/careplan/v1", "patient": pb}).encode()
    record.publish(f"glucogate/v1/site-a/{pa}/careplan", plan_a, retain=True)
    record.publish(f"glucogate/v1/site-b/{pb}/careplan", plan_b, retain=True)
    # live, to a gateway at clinic A that was subscribed
    assert [(t, p) for t, p, _ in gw_a.received(2.0)] == [
        (f"glucogate/v1/site-a/{pa}/careplan", plan_a)
    ]
    # retained at clinic A: a gateway that connects later still gets it
    late = Client(a, "site-a", "gw-a-late")
    late.subscribe("glucogate/v1/site-a/+/careplan")
    assert late.received(1.0) == [(f"glucogate/v1/site-a/{pa}/careplan", plan_a, True)]
    # clinic B's broker gets B's plan and never A's
    assert [t for t, _, _ in everything_b.received(1.0)] == [f"glucogate/v1/site-b/{pb}/careplan"]
    # and the plan does not loop back to the county from the clinic
    county_view = Client(deployment.county, "care-record", "care-record-loop")
    county_view.subscribe("glucogate/v1/+/+/careplan")
    county_view.received(0.5)  # the retained copies
    record.publish(f"glucogate/v1/site-a/{pa}/careplan", plan_a + b" ", retain=True)
    assert len(county_view.received(2.0)) == 1
    for c in (gw_a, late, everything_b, record, county_view):
        c.close()


def test_a_clinics_bridge_credentials_reach_only_its_own_site_at_the_county(
    deployment: Deployment,
) -> None:
    county = deployment.county
    pa = patient_pseudonym(SECRET, "site-a", "acl-patient")
    pb = patient_pseudonym(SECRET, "site-b", "acl-patient")
    record = Client(county, "care-record", "care-record-acl")
    record.subscribe("glucogate/v1/#")
    record.received(0.5)
    record.publish(f"glucogate/v1/site-b/{pb}/careplan", b'{"v":"b"}', retain=True)
    record.publish(f"glucogate/v1/site-a/{pa}/careplan", b'{"v":"a"}', retain=True)
    record.received(0.5)
    # clinic A's credentials (what its bridge logs in with), asking for everything
    intruder = Client(county, "site-a", "not-the-bridge")
    intruder.subscribe("glucogate/v1/#")
    got = [t for t, _, _ in intruder.received(1.0)]  # the retained care plans it may read
    assert f"glucogate/v1/site-a/{pa}/careplan" in got
    assert f"glucogate/v1/site-b/{pb}/careplan" not in got
    assert all(re.fullmatch(r"glucogate/v1/site-a/p-[a-z2-7]{16}/careplan", t) for t in got)
    # site B's records published at clinic B (through its bridge) do not reach A either
    gw_b = Client(deployment.clinics["site-b"], "site-b", "gw-b-acl")
    gw_b.publish(f"glucogate/v1/site-b/{pb}/summary", b"{}")
    assert record.received(2.0) == [(f"glucogate/v1/site-b/{pb}/summary", b"{}", False)]
    assert intruder.received(0.5) == []
    # and clinic A cannot write B's topics (nor a care plan of its own) at the county
    intruder.publish(f"glucogate/v1/site-b/{pb}/records", b"{}")
    intruder.publish(f"glucogate/v1/site-b/{pb}/careplan", b"{}", retain=True)
    intruder.publish(f"glucogate/v1/site-a/{pa}/careplan", b"{}", retain=True)
    assert record.received(1.0) == []
    # positive control: its own site's records pass
    intruder.publish(f"glucogate/v1/site-a/{pa}/summary", b"{}")
    assert [t for t, _, _ in record.received(1.0)] == [f"glucogate/v1/site-a/{pa}/summary"]
    for c in (record, intruder, gw_b):
        c.close()


def test_county_broker_restarted_while_gateway_publishes(
    deployment: Deployment, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The county broker itself goes down (SIGTERM) while a clinic's gateway publishes,
    stays down, and comes back from its persistence file: the clinic's bridge queue and
    the care record's persistent session deliver every record once."""
    down_s = 180.0 if request.config.getoption("--long") else 3.0
    site = "site-a"
    clinic = deployment.clinics[site]
    care = CareRecord.start(deployment.county, tmp_path / "record.sqlite", "care-record-t6")
    db = tmp_path / "gw.sqlite"
    _n_messages, sent = gateway_outbox(db, site, 40, 7)
    worker = threading.Thread(target=drain, args=(clinic, site, db))
    worker.start()
    while len(care.rows(site)) < len(sent) * 0.2:
        time.sleep(0.005)
    deployment.county.stop()
    at_stop = len(care.rows(site))
    worker.join(timeout=60)
    with Store(db) as store:
        assert store.outbox_pending() == 0  # the gateway finished at its clinic
    time.sleep(down_s)
    deployment.county.start()
    for s in SITES:
        wait_bridge(deployment, s)
    care.wait_for({site: len(sent)}, timeout_s=60)
    rows = care.rows(site)
    duplicates = sum(c - 1 for c in care.deliveries.values())
    print(
        f"\ncounty stopped at {at_stop}/{len(sent)} records stored; after restart"
        f" {len(rows)} rows, {duplicates} extra deliveries absorbed"
    )
    assert len(rows) == len(sent)
    assert checksum(rows) == checksum(sent)
    assert set(care.deliveries) == set(sent)
    assert care.rejected() == []
    care.close()


def test_clinic_broker_restarted_while_cut_keeps_its_bridge_queue(
    deployment: Deployment, tmp_path: Path
) -> None:
    """The link is down, the gateway's records sit in the clinic broker's queue for the
    bridge, and the clinic broker is restarted (SIGTERM: persistence file written, then
    read back). When the link returns, every record reaches the care record."""
    site = "site-b"
    clinic, relay = deployment.clinics[site], deployment.relays[site]
    care = CareRecord.start(deployment.county, tmp_path / "record.sqlite", "care-record-t5")
    db = tmp_path / "gw.sqlite"
    n_messages, sent = gateway_outbox(db, site, 30, 3)
    relay.cut()
    assert drain(clinic, site, db) == n_messages  # all of it queued at the clinic
    clinic.stop()
    clinic.start()
    time.sleep(1.0)
    assert care.rows(site) == []
    relay.restore()
    care.wait_for({site: len(sent)}, timeout_s=30)
    rows = care.rows(site)
    print(f"\nclinic restarted with {n_messages} messages queued: {len(rows)}/{len(sent)} records")
    assert len(rows) == len(sent)
    assert checksum(rows) == checksum(sent)
    care.close()
    # the restarted clinic's bridge survives the next cut of its link
    relay.cut()
    time.sleep(2.0)
    relay.restore()
    wait_bridge(deployment, site, timeout_s=15)
