"""Two gateways of two sites publish through the real Mosquitto; the care record
holds both, adds nothing on redelivery, and rejects what does not fit the contract."""

from __future__ import annotations

import json
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from gateway.cli import main
from gateway.publish.mqtt import BrokerConfig
from gateway.record.service import subscribe
from gateway.record.store import CareRecordStore
from tests.harness.services import Mosquitto

pytestmark = pytest.mark.services

RECEIVER = "dexcom-clarity/clarity_g6_receiver_mmol_not_stored_bom.csv"  # 299 EGVs
LIBRE = "libreview/libreview_us_mgdl_excel_resaved.csv"  # 10 CGM readings


def _wait(predicate, timeout_s: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(getattr(predicate, "__doc__", None))
        time.sleep(0.05)


def _import(path: Path, site: str, data: Path, port: int, patient: str) -> dict:  # type: ignore[type-arg]
    args = [
        "import",
        str(path),
        "--json",
        "--site",
        site,
        "--data-dir",
        str(data),
        "--mqtt",
        f"127.0.0.1:{port}",
        "--patient",
        patient,
        "--tz",
        "America/Denver",
    ]
    assert main(args) == 0
    return {}


def _raw_publish(port: int, topic: str, payload: bytes) -> None:
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
    client.connect("127.0.0.1", port)
    client.loop_start()
    client.publish(topic, payload, qos=1).wait_for_publish(5)
    client.disconnect()
    client.loop_stop()


def test_two_sites_into_one_care_record(
    mqtt_broker: Mosquitto,
    real_fixtures: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store = CareRecordStore(tmp_path / "record.sqlite")
    sub, _intake = subscribe(
        BrokerConfig("127.0.0.1", mqtt_broker.port),
        store,
        sites=["rec-a", "rec-b"],
        client_id="record-test",
    )
    try:
        _import(real_fixtures / RECEIVER, "rec-a", tmp_path / "gw-a", mqtt_broker.port, "A-1")
        _import(real_fixtures / LIBRE, "rec-b", tmp_path / "gw-b", mqtt_broker.port, "B-7")
        capsys.readouterr()
        _wait(
            lambda: (
                sum(p.records for p in store.patients()) == 309
                and all(p.summary for p in store.patients())
            )
        )
        views = {p.site: p for p in store.patients()}
        assert set(views) == {"rec-a", "rec-b"}
        assert (views["rec-a"].records, views["rec-b"].records) == (299, 10)
        assert views["rec-a"].summary is not None
        assert views["rec-a"].summary["metrics"]["n_readings"] == 299
        assert store.gateways()[("rec-a", "gateway-1")] == "offline"  # clean disconnect

        # A redelivered batch (QoS 1 is at least once) adds nothing.
        rows = store.db.execute("SELECT payload FROM records WHERE site='rec-a' LIMIT 3")
        batch = [json.loads(r[0]) for r in rows]
        doc = {
            "schema": "glucogate/records/v1",
            "site": "rec-a",
            "patient": views["rec-a"].pseudonym,
            "gateway": "gateway-1",
            "batch": {"index": 0, "count": 1},
            "records": batch,
        }
        _raw_publish(
            mqtt_broker.port,
            f"glucogate/v1/rec-a/{views['rec-a'].pseudonym}/records",
            json.dumps(doc).encode(),
        )
        # Site A's batch filed under site B's topic: rejected, not stored under either.
        doc_b = doc
        _raw_publish(
            mqtt_broker.port,
            f"glucogate/v1/rec-b/{views['rec-a'].pseudonym}/records",
            json.dumps(doc_b).encode(),
        )
        _raw_publish(
            mqtt_broker.port,
            "glucogate/v1/rec-b/p-aaaaaaaaaaaaaaaa/records",
            b'{"schema": "glucogate/records/v1"}',
        )
        _raw_publish(mqtt_broker.port, "glucogate/v1/rec-b/p-aaaaaaaaaaaaaaaa/summary", b"\xff")
        _wait(lambda: len(store.rejected()) == 3)
        assert sum(p.records for p in store.patients()) == 309
        reasons = [r for _, r in store.rejected()]
        assert "do not match the topic" in reasons[0]
        assert reasons[1].startswith('records schema: (top): "site" is a required property')
        assert reasons[2].startswith("payload is not JSON")
    finally:
        sub.stop()
        store.close()


def test_a_trailing_newline_does_not_make_a_look_alike_site_or_patient(tmp_path: Path) -> None:
    """JSON Schema's ``$`` is the end of the text; Python's ``re`` also lets it match
    before a final newline, which let "site-a\\n" pass (found by the load test)."""
    from gateway.record.service import Intake

    store = CareRecordStore(tmp_path / "r.sqlite")
    intake = Intake(store)
    doc = {
        "schema": "glucogate/records/v1",
        "site": "site-a\n",
        "patient": "p-aaaaaaaaaaaaaaaa",
        "gateway": "gw",
        "batch": {"index": 0, "count": 1},
        "records": [],
    }
    intake.handle(
        "glucogate/v1/site-a\n/p-aaaaaaaaaaaaaaaa/records", json.dumps(doc).encode(), False
    )
    [(_, reason)] = store.rejected()
    assert reason.startswith("records schema: site:")
    store.close()
