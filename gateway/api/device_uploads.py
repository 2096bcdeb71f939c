"""Kiosk device uploads as background jobs: one thread per upload, one upload per device.

An :class:`UploadJob` keeps every event it has emitted, in order and numbered from 1,
so a browser that reconnects (``Last-Event-ID``) or polls the state misses nothing.
Events (``type``):

* ``started``: the device and driver; ``percent`` 0.
* ``progress``: ``step`` just finished (``connect``, then the coordinator's ``clock``,
  ``history``, ``store``, ``publish``), ``done``/``total`` steps, ``percent`` (from the
  coordinator's per-step fractions, so it only grows) and ``next`` (what runs now).
* ``done``: record counts, ``added``/``already_stored``, the patient's pseudonym and
  ``report_url``; ``percent`` 100.
* ``failed``: the device, the step that failed and a message the operator can act on.
  The coordinator stores raw bytes, records and cursor in one transaction after the
  whole read, so a failed upload leaves the store as it was.

The patient's local identity stays in the job's thread: no event, state or audit entry
carries it (they carry the site pseudonym).
"""

from __future__ import annotations

import logging
import os
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from drivers._core.errors import DriverError
from gateway.config import Config
from gateway.ingest.device import STEPS, UploadReport, sync_reader, upload_device
from gateway.store.sqlite import Store

log = logging.getLogger(__name__)

SERIAL_DRIVERS = ("dexcom-receiver", "tandem-pump")
BLE_DRIVERS = ("ble-cgms", "ble-gls", "ble-ids")
STEP_NAMES = ("connect", *(name for name, _ in STEPS))
CONNECT_FRACTION = 0.02
NEXT_LABEL = {
    "connect": "Connecting to the device",
    "clock": "Reading the device clock",
    "history": "Reading the device's history",
    "store": "Storing the records",
    "publish": "Sending to the care record",
}
FAILED_WHILE = {
    "connect": "while connecting",
    "clock": "while reading the device clock",
    "history": "while reading the history",
    "store": "while storing the records",
    "publish": "while sending to the care record",
}
KEEP_FINISHED = 100


class DeviceBusy(Exception):
    """Another upload from the same device is running; ``upload_id`` is that one."""

    def __init__(self, upload_id: str) -> None:
        super().__init__(upload_id)
        self.upload_id = upload_id


@dataclass(frozen=True, slots=True)
class Target:
    """What to read: a serial ``port`` or a ``ble`` address, with its driver."""

    driver: str
    port: str | None = None
    ble: str | None = None

    @property
    def label(self) -> str:
        return self.port or self.ble or "?"

    @property
    def key(self) -> str:
        """The same key for one physical device however it is named (symlink, case)."""
        if self.port is not None:
            return "serial:" + os.path.realpath(self.port)
        return "ble:" + (self.ble or "").upper()


@dataclass
class UploadJob:
    """One upload's state and its events (read by the API, written by the thread)."""

    id: str
    target: Target
    actor: str
    state: str = "running"
    step: str = "connect"
    device: str | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def emit(self, kind: str, **data: Any) -> None:
        with self.lock:
            self.events.append({"id": len(self.events) + 1, "type": kind, **data})

    def events_after(self, seen: int) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.events[seen:])

    def as_json(self) -> dict[str, Any]:
        with self.lock:
            last = self.events[-1] if self.events else {}
            progress = [e for e in self.events if "percent" in e]
            return {
                "id": self.id,
                "state": self.state,
                "step": self.step,
                "port": self.target.port,
                "ble": self.target.ble,
                "driver": self.target.driver,
                "device": self.device,
                "percent": progress[-1]["percent"] if progress else 0,
                "last_event": last,
                "events": len(self.events),
            }


class Uploads:
    """Every upload of this process: running ones by device, finished ones for a while."""

    def __init__(self) -> None:
        self._jobs: dict[str, UploadJob] = {}
        self._running: dict[str, str] = {}
        self._lock = threading.Lock()

    def get(self, upload_id: str) -> UploadJob | None:
        with self._lock:
            return self._jobs.get(upload_id)

    def running_for(self, target: Target) -> str | None:
        with self._lock:
            return self._busy(target)

    def _busy(self, target: Target) -> str | None:
        # a job is done once its state says so, before its thread has quite ended
        upload_id = self._running.get(target.key)
        job = self._jobs.get(upload_id) if upload_id else None
        return upload_id if job is not None and job.state == "running" else None

    def start(self, target: Target, actor: str, run: Callable[[UploadJob], None]) -> UploadJob:
        """Register a job and run ``run(job)`` in a thread.

        Raises:
            DeviceBusy: an upload from the same device is still running.
        """
        with self._lock:
            busy = self._busy(target)
            if busy is not None:
                raise DeviceBusy(busy)
            job = UploadJob(secrets.token_urlsafe(12), target, actor)
            self._jobs[job.id] = job
            self._running[target.key] = job.id
            finished = [j for j in self._jobs.values() if j.state != "running"]
            for old in finished[: max(0, len(finished) - KEEP_FINISHED)]:
                del self._jobs[old.id]

        def body() -> None:
            try:
                run(job)
            finally:
                with self._lock:
                    if self._running.get(target.key) == job.id:
                        del self._running[target.key]

        threading.Thread(target=body, name=f"upload-{job.id}", daemon=True).start()
        return job


@dataclass(frozen=True, slots=True)
class Opened:
    """A connected device, ready for the coordinator."""

    reader: Any
    device_id: str
    description: str


@contextmanager
def open_serial(target: Target) -> Iterator[Opened]:
    """Open a serial device through the driver registry and read its identity."""
    from drivers._core.registry import get_driver

    assert target.port is not None
    factory = get_driver(target.driver).load()
    with factory(target.port) as device:
        info = device.device_info()  # the model name says "receiver" where it is one
        yield Opened(device, device.device_id(), f"{info.manufacturer} {info.model}")


@contextmanager
def open_ble(target: Target, backend_spec: str | None, scan_s: float) -> Iterator[Opened]:
    """Find the address by a scan, then the reader for the profile it advertises."""
    import asyncio

    from drivers._core.errors import UnsupportedDevice
    from drivers.ble.detect import reader_for, scan
    from drivers.transports.ble import load_backend

    assert target.ble is not None
    backend = load_backend(backend_spec) if backend_spec else None
    seen = asyncio.run(scan(backend, timeout=scan_s, all_devices=True))
    ad = next((a for a in seen if a.address.upper() == target.ble.upper()), None)
    if ad is None or ad.kind is None:
        raise UnsupportedDevice(
            "not seen advertising (is it switched on and near the kiosk?)"
            if ad is None
            else "advertises no CGM, glucose meter or insulin pump service"
        )
    if ad.driver != target.driver:
        raise UnsupportedDevice(f"advertises a {ad.kind} ({ad.driver}), not {target.driver}")
    address = ad.address
    yield Opened(
        sync_reader(reader_for(ad.kind, address, backend=backend)),
        f"ble:{ad.driver}:{address.replace(':', '').lower()}",
        f"{ad.name or ad.kind} (BLE)",
    )


def run_upload(job: UploadJob, config: Config, local_id: str) -> None:
    """The thread body: connect, run the coordinator with progress, emit the outcome."""
    target = job.target
    total = len(STEP_NAMES)
    job.emit("started", port=target.port, ble=target.ble, driver=target.driver, percent=0)

    def progress(step: str, fraction: float) -> None:
        done = STEP_NAMES.index(step) + 1
        job.step = STEP_NAMES[done] if done < total else step
        job.emit(
            "progress",
            step=step,
            done=done,
            total=total,
            percent=round(100 * fraction),
            next=NEXT_LABEL.get(job.step) if done < total else None,
        )

    opener = (
        open_serial(target)
        if target.port is not None
        else open_ble(target, config.kiosk.ble_backend, config.kiosk.ble_scan_s)
    )
    try:
        with opener as opened, Store(config.store_path) as store:
            job.device = opened.description
            progress("connect", CONNECT_FRACTION)
            report = upload_device(
                opened.reader,
                device_id=opened.device_id,
                description=opened.description,
                fmt=target.driver,
                config=config,
                store=store,
                local_id=local_id,
                progress=progress,
            )
            _finish(job, store, report)
    except DriverError as exc:  # the device label already names the port or address
        _fail(job, config, exc.message, detail=str(exc))
    except Exception:  # the thread's last resort: the browser must not wait forever
        log.exception("device upload %s failed unexpectedly", job.id)
        _fail(job, config, "unexpected error (the gateway log has the details)")


def _finish(job: UploadJob, store: Store, report: UploadReport) -> None:
    out = report.as_json()
    report_url = f"/reports/{report.patient.pseudonym}/summary.html"
    store.audit(
        job.actor,
        "device-upload",
        {
            "upload": job.id,
            "patient": report.patient.pseudonym,
            "driver": job.target.driver,
            "added": report.added,
        },
    )
    job.state = "done"
    job.emit(
        "done",
        device=report.device,
        counts=out["counts"],
        added=report.added,
        already_stored=report.already_stored,
        first_utc=out["first_utc"],
        last_utc=out["last_utc"],
        patient=report.patient.pseudonym,
        report_url=report_url,
        percent=100,
    )


def _fail(job: UploadJob, config: Config, reason: str, detail: str | None = None) -> None:
    device = f"{job.device or job.target.driver} on {job.target.label}"
    outcome = (
        "The records were stored; they are sent to the care record later."
        if job.step == "publish"
        else "Nothing from this upload was stored; check the connection and upload again."
    )
    message = (
        f"{device}: failed {FAILED_WHILE.get(job.step, 'during ' + job.step)}: {reason}. {outcome}"
    )
    entry = {"upload": job.id, "driver": job.target.driver, "step": job.step}
    try:
        with Store(config.store_path) as store:
            store.audit(job.actor, "device-upload-failed", {**entry, "reason": detail or reason})
    except sqlite3.Error:  # still tell the browser
        log.exception("device upload %s: the failure could not be audited", job.id)
    job.state = "failed"
    job.emit("failed", device=device, step=job.step, message=message)
