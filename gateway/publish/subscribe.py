"""Receive from the broker with paho-mqtt: the care record's side of the MQTT contract.

A persistent session (``clean_session=False``) with QoS 1 subscriptions, so messages
published while the care record was down are delivered when it comes back. The
handler is called on paho's network thread, in arrival order; an exception in it is
logged and the message counted as failed (it does not stop the loop).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from gateway.publish.mqtt import BrokerConfig, PublishError

log = logging.getLogger(__name__)

Handler = Callable[[str, bytes, bool], None]
"""Called with (topic, payload, retained)."""


class Subscription:
    """Subscribes ``topics`` on a broker and hands every message to ``handler``."""

    def __init__(
        self,
        config: BrokerConfig,
        *,
        client_id: str,
        topics: Sequence[str],
        handler: Handler,
        clean_session: bool = False,
    ) -> None:
        self.config = config
        self.topics = list(topics)
        self.handler = handler
        self.failed = 0
        self._subscribed = threading.Event()
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=clean_session,
        )
        if config.username is not None:
            self.client.username_pw_set(config.username, config.password)
        if config.tls_ca is not None:
            self.client.tls_set(ca_certs=config.tls_ca)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *args: self._subscribed.set()
        self.client.on_message = self._on_message

    def _on_connect(self, client: mqtt.Client, *args: object) -> None:
        client.subscribe([(topic, 1) for topic in self.topics])

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        try:
            self.handler(msg.topic, bytes(msg.payload), bool(msg.retain))
        except Exception:  # a bad message must not stop the care record
            self.failed += 1
            log.exception("message on %s could not be handled", msg.topic)

    def start(self) -> Subscription:
        try:
            self.client.connect(self.config.host, self.config.port, self.config.keepalive_s)
        except OSError as exc:
            raise PublishError(
                f"cannot reach MQTT broker {self.config.host}:{self.config.port}: {exc}"
            ) from exc
        self.client.loop_start()
        if not self._subscribed.wait(self.config.timeout_s):
            raise PublishError("subscription not acknowledged by the broker")
        return self

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
