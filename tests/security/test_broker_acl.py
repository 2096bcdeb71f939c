"""The shipped Mosquitto configuration (deploy/mosquitto) on a real broker: passwords,
site isolation by ACL, care plans writable by the care record only, and TLS."""

from __future__ import annotations

import os
import queue
import re
import shutil
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from gateway.publish.mqtt import BrokerConfig, Publisher, PublishError
from tests.harness.services import _wait_tcp, find_binary, free_port

pytestmark = pytest.mark.services

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto"
PASSWORDS = {"care-record": "cr-secret", "site-a": "a-secret", "site-b": "b-secret"}


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _certs(d: Path, name: str) -> None:
    """A CA and a server certificate for 127.0.0.1 signed by it."""
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        f"/CN={name} test CA",
        "-keyout",
        f"{name}-ca.key",
        "-out",
        f"{name}-ca.crt",
        cwd=d,
    )
    _openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        f"{name}-server.key",
        "-out",
        f"{name}-server.csr",
        cwd=d,
    )
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl(
        "x509",
        "-req",
        "-in",
        f"{name}-server.csr",
        "-CA",
        f"{name}-ca.crt",
        "-CAkey",
        f"{name}-ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "san.ext",
        "-out",
        f"{name}-server.crt",
        cwd=d,
    )


class Broker:
    def __init__(self, d: Path) -> None:
        self.plain, self.tls = free_port(), free_port()
        self.dir = d
        passwd = d / "passwd"
        passwd.touch()
        tool = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
        for user, password in PASSWORDS.items():
            subprocess.run([tool, "-b", str(passwd), user, password], check=True)
        _certs(d, "good")
        _certs(d, "other")
        shutil.copy(DEPLOY / "acl.conf", d / "acl.conf")
        conf = (DEPLOY / "glucogate.conf").read_text()
        replacements = {
            r"password_file .*": f"password_file {passwd}",
            r"acl_file .*": f"acl_file {d / 'acl.conf'}",
            r"persistence_location .*": f"persistence_location {d}/",
            r"listener 8883": f"listener {self.tls} 127.0.0.1",
            r"certfile .*": f"certfile {d / 'good-server.crt'}",
            r"keyfile .*": f"keyfile {d / 'good-server.key'}",
            r"listener 1883 127.0.0.1": f"listener {self.plain} 127.0.0.1",
        }
        for pattern, value in replacements.items():
            conf, n = re.subn(pattern, value, conf)
            assert n == 1, f"deploy/mosquitto/glucogate.conf lost its {pattern!r} line"
        if os.geteuid() == 0:  # as root Mosquitto drops to "mosquitto", who cannot read tmp
            conf += "\nuser root\n"
        (d / "mosquitto.conf").write_text(conf)
        binary = find_binary("mosquitto")
        if binary is None:
            pytest.fail("mosquitto not installed (make test installs it)")
        log = d / "mosquitto.log"
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [binary, "-c", str(d / "mosquitto.conf")], stdout=out, stderr=subprocess.STDOUT
            )
        _wait_tcp(self.plain, self.proc, log)
        _wait_tcp(self.tls, self.proc, log)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    if shutil.which("openssl") is None:
        pytest.fail("openssl is needed to make the test certificates")
    b = Broker(tmp_path_factory.mktemp("acl-broker"))
    yield b
    b.stop()


class Client:
    """A paho client that records what it receives and the CONNACK reason."""

    def __init__(
        self, port: int, user: str | None, password: str | None, ca: Path | None = None
    ) -> None:
        self.inbox: queue.Queue[tuple[str, bytes | bytearray]] = queue.Queue()
        self.connack: queue.Queue[int] = queue.Queue()
        self.c = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
        if user is not None:
            self.c.username_pw_set(user, password)
        if ca is not None:
            self.c.tls_set(ca_certs=str(ca), tls_version=ssl.PROTOCOL_TLS_CLIENT)
        self.c.on_connect = lambda c, u, f, rc, p: self.connack.put(rc.value)
        self.c.on_message = lambda c, u, m: self.inbox.put((m.topic, m.payload))
        self.c.connect("127.0.0.1", port)
        self.c.loop_start()
        self.rc = self.connack.get(timeout=10)

    def subscribe(self, topic: str) -> None:
        self.c.subscribe(topic, qos=1)
        time.sleep(0.3)

    def publish(self, topic: str, payload: bytes = b"{}", retain: bool = False) -> None:
        self.c.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)

    def received(self, wait_s: float = 1.0) -> list[str]:
        time.sleep(wait_s)
        got = []
        while not self.inbox.empty():
            got.append(self.inbox.get()[0])
        return sorted(got)

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


def test_wrong_or_missing_password_is_refused(broker: Broker) -> None:
    for user, password in (("site-a", "wrong"), ("nobody", "x"), (None, None)):
        client = Client(broker.plain, user, password)
        assert client.rc != 0, f"{user!r} was let in"
        client.close()


def test_sites_publish_only_their_own_data_and_never_care_plans(broker: Broker) -> None:
    record = Client(broker.plain, "care-record", PASSWORDS["care-record"])
    site_a = Client(broker.plain, "site-a", PASSWORDS["site-a"])
    assert record.rc == 0 and site_a.rc == 0
    record.subscribe("glucogate/v1/#")
    site_a.publish("glucogate/v1/site-a/p-aaaaaaaaaaaaaaaa/records")
    site_a.publish("glucogate/v1/site-a/p-aaaaaaaaaaaaaaaa/summary")
    site_a.publish("glucogate/v1/site-b/p-bbbbbbbbbbbbbbbb/records")  # another site's path
    site_a.publish("glucogate/v1/site-a/p-aaaaaaaaaaaaaaaa/careplan")  # not a gateway's to send
    assert record.received() == [
        "glucogate/v1/site-a/p-aaaaaaaaaaaaaaaa/records",
        "glucogate/v1/site-a/p-aaaaaaaaaaaaaaaa/summary",
    ]
    record.close()
    site_a.close()


def test_a_site_reads_only_its_own_care_plans(broker: Broker) -> None:
    record = Client(broker.plain, "care-record", PASSWORDS["care-record"])
    record.publish("glucogate/v1/site-a/p-aaaaaaaaaaaaaaaa/careplan", b'{"v":1}', retain=True)
    record.publish("glucogate/v1/site-b/p-bbbbbbbbbbbbbbbb/careplan", b'{"v":1}', retain=True)
    site_a = Client(broker.plain, "site-a", PASSWORDS["site-a"])
    site_a.subscribe("glucogate/v1/#")  # asks for everything
    assert site_a.received() == ["glucogate/v1/site-a/p-aaaaaaaaaaaaaaaa/careplan"]
    # nor another site's records as they arrive
    site_b = Client(broker.plain, "site-b", PASSWORDS["site-b"])
    site_b.publish("glucogate/v1/site-b/p-bbbbbbbbbbbbbbbb/records")
    assert site_a.received() == []
    for c in (record, site_a, site_b):
        c.close()


def test_gateway_publisher_over_tls_and_an_untrusted_certificate_is_refused(
    broker: Broker,
) -> None:
    record = Client(
        broker.tls, "care-record", PASSWORDS["care-record"], ca=broker.dir / "good-ca.crt"
    )
    assert record.rc == 0
    record.subscribe("glucogate/v1/+/gateway/+/status")
    good = BrokerConfig(
        "127.0.0.1",
        broker.tls,
        username="site-a",
        password=PASSWORDS["site-a"],
        tls_ca=str(broker.dir / "good-ca.crt"),
        timeout_s=5,
    )
    with Publisher(good, site="site-a", gateway_id="kiosk-1"):
        pass
    assert "glucogate/v1/site-a/gateway/kiosk-1/status" in record.received()
    record.close()
    untrusted = BrokerConfig(
        "127.0.0.1",
        broker.tls,
        username="site-a",
        password=PASSWORDS["site-a"],
        tls_ca=str(broker.dir / "other-ca.crt"),
        timeout_s=5,
    )
    with pytest.raises((PublishError, ssl.SSLError)):
        Publisher(untrusted, site="site-a", gateway_id="kiosk-1").connect()
