"""What is plugged in or advertising, and which driver reads it (or why none does).

``glucogate detect`` and the kiosk's ``GET /api/devices`` both call
:func:`detect_devices`. Serial ports come from the OS list (``serial.tools.list_ports``,
through :mod:`drivers.transports.serial`) and are judged by USB vendor/product id:
a Dexcom receiver (``22A3:0047``) or a Tandem pump (``0483:5740``). Ports the OS list
does not show (a udev symlink, a virtual device on a pseudo-terminal) are listed when
they are configured (``[[kiosk.ports]]``, with their driver). BLE devices are classified
by the service UUID they advertise (CGM, Glucose, Insulin Delivery), through bleak with
the configured backend; a failed scan (no adapter, no BlueZ) is reported, not raised.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from drivers._core.errors import DriverError
from drivers.transports.serial import SerialPortInfo, list_serial_ports
from gateway.config import KioskPort


@dataclass(frozen=True, slots=True)
class SerialDevice:
    """One serial port: its USB ids, the driver it matched, and why (or why not)."""

    port: str
    vid: int | None
    pid: int | None
    description: str
    driver: str | None
    reason: str
    configured: bool = False
    present: bool = True

    @property
    def recognised(self) -> bool:
        return self.driver is not None and self.present

    @property
    def usb_id(self) -> str | None:
        """``VID:PID`` in hex (``22A3:0047``), None for a port without USB ids."""
        if self.vid is None or self.pid is None:
            return None
        return f"{self.vid:04X}:{self.pid:04X}"

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "usb_id": self.usb_id, "recognised": self.recognised}


@dataclass(frozen=True, slots=True)
class BleDevice:
    """One advertising BLE device; ``kind``/``driver`` None = no diabetes profile."""

    address: str
    name: str | None
    kind: str | None
    driver: str | None
    services: tuple[str, ...]
    rssi: int | None

    @property
    def recognised(self) -> bool:
        return self.kind is not None

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "services": list(self.services), "recognised": self.recognised}


@dataclass(frozen=True, slots=True)
class Detection:
    """Everything found; ``ble_error`` says why BLE was not scanned (None = it was)."""

    serial: tuple[SerialDevice, ...]
    ble: tuple[BleDevice, ...]
    ble_error: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "serial": [d.as_json() for d in self.serial],
            "ble": [d.as_json() for d in self.ble],
            "ble_error": self.ble_error,
        }


def detect_serial(
    configured: Sequence[KioskPort] = (), ports: Sequence[SerialPortInfo] | None = None
) -> list[SerialDevice]:
    """Every serial port, judged by each serial driver; recognised ports first.

    Args:
        configured: Ports named in the configuration with their driver. A configured
            port that the OS also lists (directly or as a symlink's target) keeps the
            OS entry's USB ids and takes the configured driver.
        ports: The ports to judge; by default the OS list.

    Raises:
        TransportError: the OS port listing failed.
    """
    from drivers.cgm.dexcom_receiver import detect_receivers
    from drivers.pumps.tandem import detect_pumps

    listed = list_serial_ports() if ports is None else list(ports)
    pumps = {p.port: p for p in detect_pumps(listed)}
    by_target = {os.path.realpath(c.port): c for c in configured}
    found: list[SerialDevice] = []
    seen: set[str] = set()
    for rx in detect_receivers(listed):
        pump = pumps[rx.port]
        if rx.recognised:
            driver, reason = "dexcom-receiver", rx.reason
        elif pump.recognised:
            driver, reason = "tandem-pump", pump.reason
        else:
            driver = None
            reason = rx.reason if rx.reason == pump.reason else f"{rx.reason}; {pump.reason}"
        conf = by_target.get(os.path.realpath(rx.port))
        if conf is not None:
            seen.add(conf.port)
            driver, reason = conf.driver, f"configured ({conf.port}) as {conf.driver}"
        found.append(
            SerialDevice(rx.port, rx.vid, rx.pid, rx.description, driver, reason, conf is not None)
        )
    for conf in configured:
        if conf.port in seen:
            continue
        present = os.path.exists(conf.port)
        reason = (
            f"configured as {conf.driver} (the OS port list does not show this port)"
            if present
            else f"configured as {conf.driver}, but {conf.port} does not exist (unplugged?)"
        )
        found.append(
            SerialDevice(
                conf.port, None, None, "configured port", conf.driver, reason, True, present
            )
        )
    return sorted(found, key=lambda d: not d.recognised)


def detect_ble(
    backend: str | None = None, *, timeout_s: float = 5.0, all_devices: bool = False
) -> tuple[list[BleDevice], str | None]:
    """Scan for BLE devices; returns (devices, None) or ([], why it could not scan).

    Args:
        backend: ``module:Class`` of a bleak client backend; None = the host adapter.
        timeout_s: Seconds to scan.
        all_devices: Also list devices advertising no diabetes service.
    """
    from drivers.ble.detect import scan
    from drivers.transports.ble import load_backend

    try:
        client_backend = load_backend(backend) if backend else None
        found = asyncio.run(scan(client_backend, timeout=timeout_s, all_devices=all_devices))
    except DriverError as exc:
        return [], str(exc)
    return [
        BleDevice(a.address, a.name, a.kind, a.driver, tuple(a.services), a.rssi) for a in found
    ], None


def detect_devices(
    *,
    configured: Sequence[KioskPort] = (),
    ble_backend: str | None = None,
    ble_timeout_s: float = 5.0,
    ports: Sequence[SerialPortInfo] | None = None,
) -> Detection:
    """Serial ports and BLE devices, each explained (``ble_timeout_s=0`` skips BLE)."""
    serial = detect_serial(configured, ports)
    if ble_timeout_s <= 0:
        return Detection(tuple(serial), (), "not scanned (scan time 0 s)")
    ble, error = detect_ble(ble_backend, timeout_s=ble_timeout_s)
    return Detection(tuple(serial), tuple(ble), error)
