"""Drain the outbox to an MQTT broker with paho-mqtt: QoS 1, in order, acknowledged.

The outbox (in the SQLite store) is the source of truth: a message is marked sent only
after the broker's PUBACK, so a broker outage or a crash mid-drain loses nothing and at
worst repeats a message (QoS 1 is at-least-once; the care record dedups records by key).
The gateway's status topic carries ``online`` (retained) and a last will ``offline``.
"""

from __future__ import annotations

import socket
import ssl
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from gateway.publish.messages import status_payload
from gateway.publish.topics import status_topic
from gateway.store.sqlite import Store


class PublishError(Exception):
    """The broker could not be reached or did not acknowledge in time."""


@dataclass(frozen=True, slots=True)
class BrokerConfig:
    """Where and how to connect. ``tls_ca`` turns TLS on (server certificate checked)."""

    host: str
    port: int = 1883
    username: str | None = None
    password: str | None = None
    tls_ca: str | None = None
    keepalive_s: int = 30
    timeout_s: float = 10.0


class Publisher:
    """One MQTT connection for a gateway; drains a store's outbox."""

    def __init__(self, config: BrokerConfig, *, site: str, gateway_id: str) -> None:
        self.config = config
        self.site = site
        self.gateway_id = gateway_id
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"glucogate-{site}-{gateway_id}",
            clean_session=False,
        )
        self.client.max_inflight_messages_set(100)
        self.client.max_queued_messages_set(0)
        if config.username is not None:
            self.client.username_pw_set(config.username, config.password)
        if config.tls_ca is not None:
            self.client.tls_set(ca_certs=config.tls_ca, tls_version=ssl.PROTOCOL_TLS_CLIENT)
        self._status = status_topic(site, gateway_id)
        self.client.will_set(
            self._status, status_payload(gateway_id, "offline"), qos=1, retain=True
        )

    def __enter__(self) -> Publisher:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def connect(self) -> None:
        try:
            self.client.connect(self.config.host, self.config.port, self.config.keepalive_s)
        except OSError as exc:
            raise PublishError(
                f"cannot reach MQTT broker {self.config.host}:{self.config.port}: {exc}"
            ) from exc
        sock = self.client.socket()
        if isinstance(sock, socket.socket):
            # small QoS 1 messages and their PUBACKs: without this, Nagle's algorithm
            # meets the peer's delayed ACK and every batch stalls ~40 ms
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.client.loop_start()
        info = self.client.publish(
            self._status, status_payload(self.gateway_id, "online", datetime.now(UTC)), 1, True
        )
        self._wait(info)

    def _wait(self, info: mqtt.MQTTMessageInfo) -> None:
        try:
            info.wait_for_publish(timeout=self.config.timeout_s)
        except (RuntimeError, ValueError) as exc:
            raise PublishError(f"publish failed: {exc}") from exc
        if not info.is_published():
            raise PublishError(f"broker did not acknowledge within {self.config.timeout_s} s")

    def drain(self, store: Store, *, chunk: int = 100) -> int:
        """Publish every unsent outbox message in order; returns how many were acked.

        Two chunks are kept in flight: the next chunk is published while the broker
        acknowledges the previous one, so a broker that delays its PUBACKs (Nagle's
        algorithm on its socket meeting our delayed ACK: ~40 ms a round on Linux)
        costs one stall per drain, not one per chunk. A chunk is marked sent only when
        every message of it is acknowledged, and chunks are marked in queue order, so
        an interruption leaves exactly the unacknowledged tail unsent.
        """
        sent = 0
        last = 0
        flight: deque[tuple[list[int], list[mqtt.MQTTMessageInfo]]] = deque()
        while True:
            batch = store.unsent(limit=chunk, after=last)
            if batch:
                infos = [self.client.publish(m.topic, m.payload, m.qos, m.retain) for m in batch]
                flight.append(([m.seq for m in batch], infos))
                last = batch[-1].seq
            if not flight:
                return sent
            if len(flight) >= 2 or not batch:
                seqs, infos = flight.popleft()
                for info in infos:
                    self._wait(info)
                store.mark_sent(seqs)
                sent += len(seqs)

    def close(self) -> None:
        """Publish ``offline`` (retained) and disconnect cleanly."""
        try:
            info = self.client.publish(
                self._status, status_payload(self.gateway_id, "offline", datetime.now(UTC)), 1, True
            )
            info.wait_for_publish(timeout=self.config.timeout_s)
        except (RuntimeError, ValueError):
            pass
        self.client.disconnect()
        self.client.loop_stop()


def publish_once(
    config: BrokerConfig, messages: list[tuple[str, str, int, bool]], *, client_id: str
) -> None:
    """Connect, publish ``messages`` (topic, payload, qos, retain) and wait for every
    acknowledgement, disconnect: for a one-off sender such as the care record publishing
    an edited care plan (gateways drain their outbox with :class:`Publisher`)."""
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=client_id)
    if config.username is not None:
        client.username_pw_set(config.username, config.password)
    if config.tls_ca is not None:
        client.tls_set(ca_certs=config.tls_ca, tls_version=ssl.PROTOCOL_TLS_CLIENT)
    try:
        client.connect(config.host, config.port, config.keepalive_s)
    except OSError as exc:
        raise PublishError(f"cannot reach MQTT broker {config.host}:{config.port}: {exc}") from exc
    client.loop_start()
    try:
        infos = [client.publish(t, p, q, r) for t, p, q, r in messages]
        for info in infos:
            info.wait_for_publish(timeout=config.timeout_s)
            if not info.is_published():
                raise PublishError(f"broker did not acknowledge within {config.timeout_s} s")
    finally:
        client.disconnect()
        client.loop_stop()
