"""A real MQTT subscriber for tests: collects what a broker delivers."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion


@dataclass
class Received:
    topic: str
    payload: bytes
    retain: bool
    qos: int


@dataclass
class Subscriber:
    """Subscribes to ``topic`` on a broker at 127.0.0.1:``port`` and records messages."""

    port: int
    topic: str = "glucogate/#"
    messages: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *a: self._subscribed.set()
        self.client.on_connect = lambda c, *a: c.subscribe(self.topic, qos=1)

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append(Received(msg.topic, msg.payload, bool(msg.retain), msg.qos))

    def __enter__(self) -> Subscriber:
        self.client.connect("127.0.0.1", self.port)
        self.client.loop_start()
        if not self._subscribed.wait(10):
            raise TimeoutError("subscription not acknowledged")
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def wait_for(self, n: int, timeout_s: float = 10.0, topic_suffix: str = "") -> list[Received]:
        """Wait until ``n`` messages (optionally on topics ending with a suffix) arrived."""
        deadline = time.monotonic() + timeout_s
        while True:
            with self._lock:
                got = [m for m in self.messages if m.topic.endswith(topic_suffix)]
            if len(got) >= n or time.monotonic() > deadline:
                return got
            time.sleep(0.02)
