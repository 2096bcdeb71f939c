"""Bluetooth LE through bleak's public API: the one driver module that imports bleak.

* :func:`load_backend` turns ``--ble-backend module:Class`` into a ``BaseBleakClient``
  subclass; its ``scanner_backend`` attribute, when present, is used for scanning
  (DESIGN.md section 5). ``None`` means the platform's own backend.
* :func:`discover` scans with ``BleakScanner`` and returns plain :class:`Advertisement`.
* :class:`BleLink` is one connection through ``BleakClient``: reads, guarded writes,
  notifications, a disconnect event and a capture of every octet read (for replay).
  Connecting retries with exponential backoff; bonding options (``pair``, BlueZ and
  WinRT arguments) are passed through to bleak unchanged.

Every bleak or OS error is translated at this boundary (``raise ... from``): a lost link
or a timeout is a retryable :class:`TransportError`; "insufficient authentication /
encryption" is a retryable ``TransportError`` that tells the operator to pair; any other
ATT error is a :class:`ProtocolError` carrying ``att_error``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import importlib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

from bleak import BleakClient, BleakScanner
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient
from bleak.backends.scanner import BaseBleakScanner
from bleak.exc import BleakError, BleakGATTProtocolError

from drivers._core.errors import DriverError, ProtocolError, TransportError

ClientBackend = type[BaseBleakClient]
"""A bleak client backend class, as given to ``BleakClient(..., backend=...)``."""

NotifyHandler = Callable[[str, bytes], None]
_AUTH_ERRORS = frozenset({0x05, 0x08, 0x0C, 0x0F})  # authentication/authorization/key/encryption


def load_backend(spec: str) -> ClientBackend:
    """Import ``"package.module:Class"`` and check it is a ``BaseBleakClient`` subclass.

    Raises:
        TransportError: (not retryable) the module or class is missing or of the wrong kind.
    """
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise TransportError(
            "BLE backend must be given as module:Class", retryable=False, spec=spec
        )
    try:
        obj = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise TransportError("BLE backend cannot be loaded", retryable=False, spec=spec) from exc
    if not (isinstance(obj, type) and issubclass(obj, BaseBleakClient)):
        raise TransportError("not a bleak BaseBleakClient subclass", retryable=False, spec=spec)
    return obj


def scanner_backend(client_backend: ClientBackend | None) -> type[BaseBleakScanner] | None:
    """The scanner class named by a client backend's ``scanner_backend`` attribute."""
    found = getattr(client_backend, "scanner_backend", None)
    return found if isinstance(found, type) and issubclass(found, BaseBleakScanner) else None


@dataclass(frozen=True, slots=True)
class BleOptions:
    """How to reach a device. ``pair`` asks bleak to pair (bond) before connecting;
    ``bluez``/``winrt`` are bleak's per-platform option dicts, passed through."""

    backend: ClientBackend | None = None
    pair: bool = False
    connect_timeout_s: float = 20.0
    response_timeout_s: float = 15.0
    attempts: int = 4
    backoff_s: float = 1.0
    backoff_max_s: float = 30.0
    bluez: dict[str, Any] = field(default_factory=dict)
    winrt: dict[str, Any] = field(default_factory=dict)

    def delays(self) -> Iterator[float]:
        """Backoff before each retry: backoff_s, 2x, 4x ... capped at backoff_max_s."""
        for attempt in range(self.attempts - 1):
            yield min(self.backoff_s * (2**attempt), self.backoff_max_s)


def options_for(options: BleOptions | None, backend: ClientBackend | None) -> BleOptions:
    """A reader's options: the given ones (or defaults), with ``backend`` if one is given."""
    chosen = options or BleOptions()
    return chosen if backend is None else dataclasses.replace(chosen, backend=backend)


@dataclass(frozen=True, slots=True)
class Advertisement:
    """One advertising device as seen by the scan."""

    address: str
    name: str | None
    service_uuids: tuple[str, ...]
    rssi: int | None


def translate(exc: BaseException, doing: str) -> DriverError:
    """A bleak/OS/timeout exception as the driver error family (callers ``raise ... from``)."""
    if isinstance(exc, DriverError):
        return exc
    if isinstance(exc, BleakGATTProtocolError):
        code = int(exc.args[0]) if exc.args and isinstance(exc.args[0], int) else None
        if code in _AUTH_ERRORS:
            return TransportError(
                f"{doing}: the device requires pairing (bond it and retry)", att_error=code
            )
        return ProtocolError(f"{doing}: the device refused ({exc})", att_error=code)
    if isinstance(exc, TimeoutError):
        return TransportError(f"{doing}: timed out")
    return TransportError(f"{doing}: {exc.__class__.__name__}: {exc}")


async def discover(
    backend: ClientBackend | None = None,
    *,
    timeout_s: float = 5.0,
    service_uuids: list[str] | None = None,
) -> list[Advertisement]:
    """Scan for ``timeout_s`` seconds; the scanner class follows the client backend."""
    kwargs: dict[str, Any] = {"service_uuids": service_uuids}
    scanner_cls = scanner_backend(backend)
    if scanner_cls is not None:
        kwargs["backend"] = scanner_cls
    try:
        found = await BleakScanner.discover(timeout=timeout_s, return_adv=True, **kwargs)
    except (BleakError, OSError, TimeoutError) as exc:
        raise translate(exc, "scan") from exc
    return [
        Advertisement(dev.address, adv.local_name or dev.name, tuple(adv.service_uuids), adv.rssi)
        for dev, adv in found.values()
    ]


def encode_capture(entries: list[tuple[str, str, bytes]]) -> bytes:
    """Pack ``(kind, uuid, value)`` captures: ``kind(1) | uuid16 LE | len LE16 | value``.
    ``kind`` is ``R`` read, ``N`` notification/indication, ``W`` write; the 16-bit UUID
    is taken from the SIG base form (0 for vendor UUIDs)."""
    out = bytearray()
    for kind, uuid, value in entries:
        short = int(uuid[4:8], 16) if uuid.endswith("-0000-1000-8000-00805f9b34fb") else 0
        out += kind.encode("ascii") + short.to_bytes(2, "little")
        out += len(value).to_bytes(2, "little") + value
    return bytes(out)


def decode_capture(raw: bytes) -> list[tuple[str, int, bytes]]:
    """Inverse of :func:`encode_capture` (16-bit UUIDs): the replay input."""
    out, pos = [], 0
    while pos + 5 <= len(raw):
        kind, short = chr(raw[pos]), int.from_bytes(raw[pos + 1 : pos + 3], "little")
        size = int.from_bytes(raw[pos + 3 : pos + 5], "little")
        out.append((kind, short, raw[pos + 5 : pos + 5 + size]))
        pos += 5 + size
    if pos != len(raw):
        raise ProtocolError("truncated BLE capture", offset=pos)
    return out


class BleLink:
    """One connection. Writes go only to ``writable`` characteristics: any other write is
    refused here, before it can leave the host (the read-only rule, DESIGN.md section 4)."""

    def __init__(
        self, client: BleakClient, writable: frozenset[str], disconnected: asyncio.Event
    ) -> None:
        self._client = client
        self._writable = writable
        self.disconnected = disconnected
        self.captured: list[tuple[str, str, bytes]] = []

    @classmethod
    async def open(
        cls,
        address: str,
        options: BleOptions,
        *,
        writable: frozenset[str] = frozenset(),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> BleLink:
        """Connect, retrying with exponential backoff; the last failure is raised."""
        delays = options.delays()
        while True:
            lost = asyncio.Event()
            try:
                client = BleakClient(
                    address,
                    disconnected_callback=_setter(lost),
                    timeout=options.connect_timeout_s,
                    pair=options.pair,
                    bluez=cast(Any, options.bluez),
                    winrt=cast(Any, options.winrt),
                    backend=options.backend,
                )
                link = cls(client, writable, lost)
                await client.connect()
                return link
            except (BleakError, OSError, TimeoutError, DriverError) as exc:
                error = translate(exc, f"connect to {address}")
                delay = next(delays, None)
                if delay is None or not error.retryable:
                    raise error from exc
                await sleep(delay)

    @property
    def is_connected(self) -> bool:
        """Whether bleak reports the link as up."""
        return bool(self._client.is_connected) and not self.disconnected.is_set()

    def has(self, uuid: str) -> bool:
        """Whether the peripheral exposes the characteristic."""
        try:
            return self._client.services.get_characteristic(uuid) is not None
        except BleakError:
            return False

    async def read(self, uuid: str) -> bytes:
        """Read a characteristic value (captured)."""
        try:
            value = bytes(await self._client.read_gatt_char(uuid))
        except (BleakError, OSError, TimeoutError, EOFError) as exc:
            raise translate(exc, f"read {uuid[4:8]}") from exc
        self.captured.append(("R", uuid, value))
        return value

    async def write(self, uuid: str, data: bytes) -> None:
        """Write with response to an allowed characteristic (control points only)."""
        if uuid not in self._writable:
            raise ProtocolError("read-only driver refuses to write", characteristic=uuid)
        try:
            await self._client.write_gatt_char(uuid, data, response=True)
        except (BleakError, OSError, TimeoutError, EOFError) as exc:
            raise translate(exc, f"write {uuid[4:8]}") from exc
        self.captured.append(("W", uuid, bytes(data)))

    async def subscribe(self, uuid: str, handler: NotifyHandler) -> None:
        """Enable notifications/indications; ``handler(uuid, value)`` gets each one."""

        def on_value(_char: BleakGATTCharacteristic, data: bytearray) -> None:
            value = bytes(data)
            self.captured.append(("N", uuid, value))
            handler(uuid, value)

        try:
            await self._client.start_notify(uuid, on_value)
        except (BleakError, OSError, TimeoutError, EOFError) as exc:
            raise translate(exc, f"subscribe {uuid[4:8]}") from exc

    async def close(self) -> None:
        """Disconnect; errors while closing are not interesting and are dropped."""
        with contextlib.suppress(BleakError, OSError, TimeoutError, EOFError):
            await self._client.disconnect()

    def raw(self) -> bytes:
        """Everything captured so far, packed by :func:`encode_capture`."""
        return encode_capture(self.captured)


def _setter(event: asyncio.Event) -> Callable[[BleakClient], None]:
    def on_disconnect(_client: BleakClient) -> None:
        event.set()

    return on_disconnect
