"""Draining the outbox into the real Mosquitto started by make test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.publish.mqtt import BrokerConfig, Publisher, PublishError
from gateway.store.sqlite import Store
from tests.harness.services import Mosquitto, free_port
from tests.harness.subscriber import Subscriber

pytestmark = pytest.mark.services


def test_outbox_arrives_in_order_and_is_marked_sent(mqtt_broker: Mosquitto, tmp_path: Path) -> None:
    topic = "glucogate/v1/site-a/p-x/records/#"
    with Store(tmp_path / "g.sqlite") as store, Subscriber(mqtt_broker.port, topic) as sub:
        store.enqueue(
            [
                (f"glucogate/v1/site-a/p-x/records/{i}", json.dumps({"n": i}), 1, False)
                for i in range(250)
            ]
        )
        with Publisher(
            BrokerConfig("127.0.0.1", mqtt_broker.port), site="site-a", gateway_id="gw-order"
        ) as pub:
            assert pub.drain(store) == 250
        got = sub.wait_for(250, topic_suffix="")
        numbers = [json.loads(m.payload)["n"] for m in got if "/records/" in m.topic]
        assert numbers == list(range(250))
        assert store.outbox_pending() == 0


def test_unreachable_broker_keeps_every_message(tmp_path: Path) -> None:
    with Store(tmp_path / "g.sqlite") as store:
        store.enqueue([("glucogate/v1/site-a/p-x/records", "{}", 1, False)] * 3)
        pub = Publisher(
            BrokerConfig("127.0.0.1", free_port(), timeout_s=1), site="site-a", gateway_id="gw-down"
        )
        with pytest.raises(PublishError, match="cannot reach MQTT broker"):
            pub.connect()
        assert store.outbox_pending() == 3


def test_status_is_retained_and_last_will_says_offline(tmp_path: Path) -> None:
    broker = Mosquitto(tmp_path / "broker").start()
    try:
        pub = Publisher(
            BrokerConfig("127.0.0.1", broker.port, keepalive_s=1),
            site="site-a",
            gateway_id="gw-will",
        )
        pub.connect()
        topic = "glucogate/v1/site-a/gateway/gw-will/status"
        with Subscriber(broker.port, topic) as sub:
            retained = sub.wait_for(1)
            assert json.loads(retained[0].payload)["state"] == "online"
            assert retained[0].retain
            # Kill the connection without DISCONNECT: the broker publishes the will.
            pub.client.loop_stop()
            pub.client.socket().close()  # type: ignore[union-attr]
            got = sub.wait_for(2, timeout_s=10)
            assert json.loads(got[-1].payload)["state"] == "offline"
    finally:
        broker.stop()


def test_broker_lost_mid_drain_leaves_an_unsent_tail_only(tmp_path: Path) -> None:
    """Chunks are marked sent only when fully acknowledged, in queue order: whatever
    point the broker dies at, the sent messages are a prefix of the queue and the rest
    stays queued for the next drain (which then sends all of it)."""
    import threading
    import time

    broker = Mosquitto(tmp_path / "broker").start()
    errors: list[BaseException] = []
    with Store(tmp_path / "g.sqlite") as store:
        store.enqueue(
            [(f"glucogate/v1/site-a/p-x/records/{i}", "x" * 2000, 1, False) for i in range(20000)]
        )

        def drain() -> None:  # its own connection to the same store, as a service would
            try:
                with (
                    Store(tmp_path / "g.sqlite") as own,
                    Publisher(
                        BrokerConfig("127.0.0.1", broker.port, timeout_s=2),
                        site="site-a",
                        gateway_id="gw-cut",
                    ) as pub,
                ):
                    pub.drain(own)
            except PublishError as exc:
                errors.append(exc)

        worker = threading.Thread(target=drain)
        worker.start()
        deadline = time.monotonic() + 20
        while store.outbox_pending() == 20000 and time.monotonic() < deadline:
            time.sleep(0.005)
        broker.stop()
        worker.join(timeout=30)
        assert not worker.is_alive()
        rows = store.db.execute(
            "SELECT seq, sent_utc IS NOT NULL FROM outbox ORDER BY seq"
        ).fetchall()
        flags = [bool(sent) for _, sent in rows]
        n_sent = sum(flags)
        assert 0 < n_sent < 20000 and errors, "the broker died mid-drain"
        assert flags == [True] * n_sent + [False] * (20000 - n_sent)
        broker.start()
        try:
            with Publisher(
                BrokerConfig("127.0.0.1", broker.port), site="site-a", gateway_id="gw-cut"
            ) as pub:
                assert pub.drain(store) == 20000 - n_sent
            assert store.outbox_pending() == 0
        finally:
            broker.stop()
