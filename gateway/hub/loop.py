"""The home hub's scheduler (``glucogate sync``): every device on its own clock.

Each configured device (:class:`~gateway.config.HubDevice`) has a due time. When it
comes, the hub opens the device, reads everything since the stored cursor, stores it
and queues its messages (:func:`gateway.ingest.device.upload_device`), then drains the
outbox. Devices are read one after the other (one USB bus, one Bluetooth adapter), but
each has its own schedule, so a failing device's retries never delay another device.

Outcome of one attempt, and when the device is tried next:

=================  ==========================================  =====================
state              meaning                                      next attempt
=================  ==========================================  =====================
``ok``             new records stored                           ``interval_s``
``no-new-reading`` the device answered; nothing newer           ``interval_s``
``unavailable``    port absent / BLE address not advertising    backoff
``error``          a driver error (``retryable`` says which)    backoff if retryable,
                                                                else ``interval_s``
=================  ==========================================  =====================

Backoff (defaults): ``min(cap, base * 2**(n-1))`` for the n-th consecutive failure,
times a uniform jitter factor in ``[1 - j, 1 + j]``: 15, 30, 60, 120, 240, 300, 300 ... s
(base 15 s, cap 300 s, j = 0.2). A success resets it.

"Sync has silently stopped": a device without a successful sync for ``stale_after_h``
(default 6 h; counted from the last success, which survives restarts in the store's
cursors table as ``hub:<name>``, or from the hub's start) is marked ``stale`` in the
gateway status and one audit entry ``sync-stale`` is written; ``sync-resumed`` when it
syncs again.

Status: the gateway status topic (retained) carries ``online`` plus one entry per device
(name, state, stale, failures, last success, error class) and the outbox's bound
(:mod:`gateway.hub.disk`). It is published when it changes and after every (re)connect.
paho reconnects by itself; every reconnect drains the outbox.

Log lines are ``key=value`` (``event=sync device=cgm state=ok added=12``); they carry
the configured device name, never a serial number, address, patient id or pseudonym.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import random
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from drivers._core.errors import DriverError
from drivers._core.registry import get_driver
from gateway.config import Config, HubDevice
from gateway.hub.disk import MB, DiskReport, enforce
from gateway.ingest.device import sync_reader, upload_device
from gateway.publish.messages import status_payload
from gateway.publish.topics import status_topic
from gateway.store.sqlite import Store

log = logging.getLogger("glucogate.hub")
_ADDRESS = re.compile(r"(?i)\b[0-9a-f]{2}(?::[0-9a-f]{2}){5}\b")
STATE_KEY = "hub:{name}"


class DeviceUnavailable(Exception):
    """The device is not there: its port does not exist, or it is not advertising."""


def backoff_delay(failures: int, *, base_s: float, cap_s: float, jitter: float, u: float) -> float:
    """Seconds to wait after the ``failures``-th consecutive failure (``u`` in [0, 1)).

    ``min(cap_s, base_s * 2**(failures - 1)) * (1 + jitter * (2u - 1))``.
    """
    step = min(cap_s, base_s * 2.0 ** max(0, failures - 1))
    return step * (1.0 + jitter * (2.0 * u - 1.0))


def _redact(text: str) -> str:
    """An error message fit for a log line: Bluetooth addresses removed."""
    return _ADDRESS.sub("<address>", text)


def _kv(**fields: object) -> str:
    return " ".join(
        f"{k}={json.dumps(v) if isinstance(v, str) and ' ' in v else v}" for k, v in fields.items()
    )


@dataclass
class DeviceState:
    """What the hub knows about one device between passes."""

    device: HubDevice
    next_due: datetime
    stale_ref: datetime
    state: str = "pending"
    failures: int = 0
    last_success: datetime | None = None
    error: str | None = None
    retryable: bool | None = None
    added: int = 0
    stale: bool = False
    attempts: list[datetime] = field(default_factory=list)

    def as_status(self, now: datetime) -> dict[str, Any]:
        since = self.last_success or self.stale_ref
        return {
            "name": self.device.name,
            "transport": self.device.transport,
            "state": self.state,
            "stale": self.stale,
            "hours_since_success": round((now - since).total_seconds() / 3600, 2),
            "last_success_utc": self.last_success.isoformat() if self.last_success else None,
            "failures": self.failures,
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class Source:
    """An opened device, ready for :func:`upload_device`."""

    reader: Any
    device_id: str
    description: str
    fmt: str


class _Mqtt:
    """The hub's one long-lived broker connection (paho reconnects by itself)."""

    def __init__(self, config: Config, on_connect: Callable[[], None]) -> None:
        from gateway.publish.mqtt import Publisher

        assert config.mqtt is not None
        self.publisher = Publisher(config.mqtt, site=config.site, gateway_id=config.gateway_id)
        self._on_connect = on_connect
        self.publisher.client.on_connect = lambda *args: on_connect()
        self.topic = status_topic(config.site, config.gateway_id)
        self.started = False

    def ensure(self) -> bool:
        """Connect once; afterwards paho's network thread keeps reconnecting."""
        from gateway.publish.mqtt import PublishError

        if not self.started:
            try:
                self.publisher.connect()
            except PublishError as exc:
                log.warning(_kv(event="mqtt", state="unreachable", error=type(exc).__name__))
                return False
            self.started = True
            self._on_connect()
        return bool(self.publisher.client.is_connected())

    def drain(self, store: Store) -> int:
        from gateway.publish.mqtt import PublishError

        try:
            return self.publisher.drain(store)
        except PublishError as exc:
            log.warning(_kv(event="drain", state="kept-in-outbox", error=_redact(str(exc))))
            return 0

    def status(self, payload: str) -> bool:
        client = self.publisher.client
        info = client.publish(self.topic, payload, 1, True)
        try:
            info.wait_for_publish(timeout=self.publisher.config.timeout_s)
        except (RuntimeError, ValueError):
            return False
        return bool(info.is_published())

    def close(self) -> None:
        if self.started:
            self.publisher.close()


class Hub:
    """Syncs the configured devices on their schedules until :meth:`stop`.

    Args:
        config: The gateway configuration (``config.hub`` says what and how often).
        store: The open store.
        now: Wall clock, aware UTC (injected in tests).
        sleep: Waits up to that many seconds; by default an event wait that
            :meth:`stop` and an MQTT reconnect cut short (injected in tests).
        uniform: Source of jitter in [0, 1).
        ble_backend: A bleak client backend class (the simulator's in tests).
    """

    def __init__(
        self,
        config: Config,
        store: Store,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], None] | None = None,
        uniform: Callable[[], float] = random.random,
        ble_backend: Any = None,
    ) -> None:
        self.config = config
        self.hub = config.hub
        self.store = store
        self.now = now
        self.uniform = uniform
        self._wake = threading.Event()
        self._stopping = False
        self._reconnected = threading.Event()
        self.sleep = sleep or self._wait
        self.ble_backend = ble_backend
        if ble_backend is None and self.hub.ble_backend:
            from drivers.transports.ble import load_backend

            self.ble_backend = load_backend(self.hub.ble_backend)
        self._upload_config = dataclasses.replace(config, mqtt=None)  # the hub drains itself
        self.mqtt = _Mqtt(config, self._on_connect) if config.mqtt is not None else None
        self.disk: DiskReport | None = None
        self.published_status: dict[str, Any] | None = None
        self._ble_seen: dict[str, str | None] | None = None
        start = now()
        self.states = [self._restore(d, start) for d in self.hub.devices]

    def _restore(self, device: HubDevice, start: datetime) -> DeviceState:
        saved = self.store.cursor(STATE_KEY.format(name=device.name))
        last = datetime.fromisoformat(saved) if saved else None
        return DeviceState(device, next_due=start, stale_ref=start, last_success=last)

    # -- control --------------------------------------------------------------------
    def stop(self) -> None:
        """Ask :meth:`run` to return after the device it is reading (SIGTERM does this)."""
        self._stopping = True
        self._wake.set()

    def _wait(self, seconds: float) -> None:
        self._wake.wait(timeout=max(0.0, seconds))
        self._wake.clear()

    def _on_connect(self) -> None:
        self._reconnected.set()
        self._wake.set()

    def run(self) -> None:
        """Pass after pass until :meth:`stop`; each pass syncs the devices that are due."""
        log.info(_kv(event="start", devices=len(self.states), interval_s=self.hub.interval_s))
        try:
            while not self._stopping:
                self.tick()
                if self._stopping:
                    break
                now = self.now()
                self.sleep(max(0.0, (self._next_wake(now) - now).total_seconds()))
        finally:
            self.close()
        log.info(_kv(event="stop"))

    def _next_wake(self, now: datetime) -> datetime:
        """The next due time, or the moment a device turns stale if that is sooner."""
        limit = timedelta(hours=self.hub.stale_after_h)
        times = [s.next_due for s in self.states]
        times += [(s.last_success or s.stale_ref) + limit for s in self.states if not s.stale]
        return min(times, default=now + self._interval)

    def run_once(self) -> list[DeviceState]:
        """One pass over every device, due or not (``glucogate sync --once``)."""
        self._stopping = False
        for state in self.states:
            state.next_due = self.now()
        self.tick()
        return self.states

    def close(self) -> None:
        if self.mqtt is not None:
            self.mqtt.close()

    @property
    def _interval(self) -> timedelta:
        return timedelta(seconds=self.hub.interval_s)

    # -- one pass -------------------------------------------------------------------
    def tick(self) -> None:
        """Sync every due device (draining after each), bound the disk, check staleness,
        publish the status if it changed."""
        connected = self.mqtt.ensure() if self.mqtt is not None else False
        if connected and self._reconnected.is_set():
            self._reconnected.clear()
            self.published_status = None  # a reconnect re-publishes the status
            self._drain()
        self._ble_seen = None
        for state in self.states:
            if self._stopping:
                break
            if state.next_due <= self.now():
                self._sync(state)
                self._drain()
        self.disk = enforce(
            self.store,
            cap_bytes=int(self.hub.outbox_cap_mb * MB),
            now_utc=self.now(),
            raw_retention_days=self.hub.raw_retention_days,
        )
        if self.disk.over_cap:  # pruned all it may and still over: say so, drop nothing
            log.warning(
                _kv(
                    event="disk",
                    state="outbox-over-limit",
                    unsent_bytes=self.disk.unsent_bytes,
                    cap_bytes=self.disk.cap,
                )
            )
        self._check_stale()
        self._publish_status()

    def _drain(self) -> None:
        if self.mqtt is not None and self.mqtt.ensure():
            sent = self.mqtt.drain(self.store)
            if sent:
                log.info(_kv(event="drain", sent=sent, pending=self.store.outbox_pending()))

    def _sync(self, state: DeviceState) -> None:
        device = state.device
        started = self.now()
        state.attempts.append(started)
        try:
            with self._open(device) as source:
                report = upload_device(
                    source.reader,
                    device_id=source.device_id,
                    description=source.description,
                    fmt=source.fmt,
                    config=self._upload_config,
                    store=self.store,
                    local_id=device.patient,
                )
        except DeviceUnavailable:
            self._failed(state, "unavailable", None, True)
        except (DriverError, OSError) as exc:
            retryable = exc.retryable if isinstance(exc, DriverError) else True
            self._failed(state, "error", exc, retryable)
        else:
            state.state = "ok" if report.added else "no-new-reading"
            state.added, state.failures, state.error, state.retryable = report.added, 0, None, None
            state.last_success = started
            self.store.set_cursor(STATE_KEY.format(name=device.name), started.isoformat())
            state.next_due = started + self._interval
            if state.stale:
                state.stale = False
                self.store.audit("hub", "sync-resumed", {"device": device.name})
            log.info(
                _kv(
                    event="sync",
                    device=device.name,
                    state=state.state,
                    added=report.added,
                    already_stored=report.already_stored,
                )
            )

    def _failed(
        self, state: DeviceState, what: str, exc: BaseException | None, retryable: bool
    ) -> None:
        now = self.now()
        changed = state.state != what
        state.state, state.added = what, 0
        state.failures += 1
        state.error = type(exc).__name__ if exc is not None else None
        state.retryable = retryable
        if retryable:
            delay = backoff_delay(
                state.failures,
                base_s=self.hub.backoff_base_s,
                cap_s=self.hub.backoff_cap_s,
                jitter=self.hub.backoff_jitter,
                u=self.uniform(),
            )
        else:
            delay = self.hub.interval_s
        state.next_due = now + timedelta(seconds=delay)
        fields: dict[str, object] = {
            "event": "sync",
            "device": state.device.name,
            "state": what,
            "failures": state.failures,
            "retry_in_s": round(delay, 1),
        }
        if exc is not None:
            fields.update(error=type(exc).__name__, retryable=retryable, detail=_redact(str(exc)))
        (log.warning if changed or exc is not None else log.info)(_kv(**fields))

    def _check_stale(self) -> None:
        now = self.now()
        limit = timedelta(hours=self.hub.stale_after_h)
        for state in self.states:
            since = state.last_success or state.stale_ref
            if not state.stale and now - since >= limit:
                state.stale = True
                hours = round((now - since).total_seconds() / 3600, 2)
                self.store.audit("hub", "sync-stale", {"device": state.device.name, "hours": hours})
                log.warning(_kv(event="stale", device=state.device.name, hours=hours))

    def status_document(self) -> dict[str, Any]:
        """The gateway status with the devices and the outbox bound (no time field)."""
        now = self.now()
        doc: dict[str, Any] = json.loads(status_payload(self.config.gateway_id, "online"))
        doc["devices"] = [s.as_status(now) for s in self.states]
        if self.disk is not None:
            doc["outbox"] = {
                # over the cap after pruning everything allowed (old raw captures, sent
                # messages): the unsent messages and the records are kept regardless
                "state": "over-limit" if self.disk.over_cap else "ok",
                "store_bytes": self.disk.used_after,
                "unsent_bytes": self.disk.unsent_bytes,
                "cap_bytes": self.disk.cap,
                "pending": self.store.outbox_pending(),
            }
        return doc

    def _publish_status(self) -> None:
        doc = self.status_document()
        key = {**doc, "devices": [{**d, "hours_since_success": None} for d in doc["devices"]]}
        if self.mqtt is None or key == self.published_status or not self.mqtt.ensure():
            return
        doc["time_utc"] = self.now().isoformat()
        if self.mqtt.status(json.dumps(doc, separators=(",", ":"))):
            self.published_status = key

    # -- opening devices -------------------------------------------------------------
    @contextmanager
    def _open(self, device: HubDevice) -> Iterator[Source]:
        if device.ble is not None:
            yield self._open_ble(device)
            return
        assert device.port is not None and device.driver is not None
        if not os.path.exists(device.port):
            raise DeviceUnavailable(device.name)
        factory = get_driver(device.driver).load()
        with factory(device.port) as driver:
            info = driver.device_info()
            description = (
                f"Dexcom {info.model}"
                if device.driver == "dexcom-receiver"
                else f"{info.manufacturer} {info.model}"
            )
            yield Source(driver, driver.device_id(), description, device.driver)

    def _open_ble(self, device: HubDevice) -> Source:
        from drivers.ble.detect import DRIVER_BY_KIND, reader_for, scan
        from drivers.transports.ble import BleOptions

        assert device.ble is not None and device.kind in DRIVER_BY_KIND
        if self._ble_seen is None:  # one scan per pass, for every BLE device
            found = asyncio.run(
                scan(self.ble_backend, timeout=self.hub.ble_scan_s, all_devices=True)
            )
            self._ble_seen = {a.address.upper(): a.name for a in found}
        address = device.ble.upper()
        if address not in self._ble_seen:
            raise DeviceUnavailable(device.name)
        kind: Any = device.kind
        reader = reader_for(
            kind, device.ble, backend=self.ble_backend, options=BleOptions(attempts=1)
        )
        driver = DRIVER_BY_KIND[kind]
        name = self._ble_seen[address]
        return Source(
            sync_reader(reader),
            f"ble:{driver}:{device.ble.replace(':', '').lower()}",
            f"{name or device.kind} (BLE)",
            driver,
        )
