"""A bleak backend whose radio is a Python object: virtual peripherals on an :class:`Air`.

Inject it exactly like a platform backend (DESIGN.md section 5)::

    air = Air([VirtualCgm(...)])
    Backend = air.client_backend()
    async with BleakClient(address, backend=Backend) as client: ...
    await BleakScanner.discover(backend=Backend.scanner_backend)

:class:`SimulatedClientBackend` and :class:`SimulatedScannerBackend` are bound to
:data:`DEFAULT_AIR`, which :mod:`simulators.ble.demo` fills on first use, so
``--ble-backend simulators.ble.backend:SimulatedClientBackend`` works from the CLI.
Abstract methods and signatures follow ``bleak/backends/client.py`` and ``scanner.py``
of bleak 3.x.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, AdvertisementDataCallback, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError

from simulators.ble.gatt import VirtualPeripheral


class Air:
    """The peripherals within radio range, by address (case-insensitive)."""

    def __init__(self, peripherals: Iterable[VirtualPeripheral] = ()) -> None:
        self._by_address: dict[str, VirtualPeripheral] = {}
        self.populate: Callable[[Air], None] | None = None
        for p in peripherals:
            self.add(p)

    def add(self, peripheral: VirtualPeripheral) -> VirtualPeripheral:
        """Put a peripheral on the air."""
        self._by_address[peripheral.address.upper()] = peripheral
        return peripheral

    def get(self, address: str) -> VirtualPeripheral | None:
        """The peripheral at ``address``, if any."""
        self._fill()
        return self._by_address.get(address.upper())

    def peripherals(self) -> list[VirtualPeripheral]:
        """Everything advertising."""
        self._fill()
        return list(self._by_address.values())

    def _fill(self) -> None:
        if self.populate is not None:
            populate, self.populate = self.populate, None
            populate(self)

    def client_backend(self) -> type[SimulatedClientBackend]:
        """A client backend class (with its ``scanner_backend``) bound to this air."""
        scanner = type("BoundScannerBackend", (SimulatedScannerBackend,), {"air": self})
        attrs = {"air": self, "scanner_backend": scanner}
        return type("BoundClientBackend", (SimulatedClientBackend,), attrs)


def _default_air() -> Air:
    air = Air()

    def populate(target: Air) -> None:
        from simulators.ble.demo import populate_demo

        populate_demo(target)

    air.populate = populate
    return air


DEFAULT_AIR = _default_air()


class SimulatedScannerBackend(BaseBleakScanner):
    """Reports every peripheral on :attr:`air` once per ``start()``."""

    air: ClassVar[Air] = DEFAULT_AIR

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: str = "active",
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)

    async def start(self) -> None:
        """Scan: clear what was seen, then "hear" each peripheral's advertisement."""
        self.seen_devices = {}
        for p in self.air.peripherals():
            adv = AdvertisementData(p.name, {}, {}, list(p.advertised), None, -60, ())
            if not self.is_allowed_uuid(adv.service_uuids):
                continue
            device = self.create_or_update_device(p.address, p.address, p.name, None, adv)
            self.call_detection_callbacks(device, adv)

    async def stop(self) -> None:
        """Nothing to stop."""


class SimulatedClientBackend(BaseBleakClient):
    """A bleak client backend talking to a :class:`VirtualPeripheral`."""

    air: ClassVar[Air] = DEFAULT_AIR
    scanner_backend: ClassVar[type[BaseBleakScanner]] = SimulatedScannerBackend

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Callable[[], None] | None = None,
        timeout: float = 10.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout
        )
        self._peripheral: VirtualPeripheral | None = None
        self._callbacks: dict[str, NotifyCallback] = {}
        self._paired = False

    @property
    def name(self) -> str:
        """The peripheral's advertised name."""
        return self._peripheral.name if self._peripheral else self.address

    @property
    def mtu_size(self) -> int:
        """A typical negotiated MTU."""
        return 247

    @property
    def is_connected(self) -> bool:
        """True while attached to the peripheral."""
        return self._peripheral is not None

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        """Attach to the peripheral and build the service collection."""
        peripheral = self.air.get(self.address)
        if peripheral is None:
            raise BleakDeviceNotFoundError(self.address, f"device {self.address} not found")
        try:
            peripheral.attach(self)
        except ConnectionRefusedError as exc:
            raise BleakError(f"{self.address}: connection refused") from exc
        self._paired = self._paired or pair
        self._peripheral = peripheral
        self.services = _services(peripheral)

    async def disconnect(self) -> None:
        """Detach (a no-op when already disconnected)."""
        if self._peripheral is not None:
            self._peripheral.detach()
        self._peripheral = None
        self._callbacks.clear()

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        """Bond (the peripheral then accepts protected characteristics)."""
        self._paired = True

    async def unpair(self) -> None:
        """Forget the bond."""
        self._paired = False

    def _attached(self) -> VirtualPeripheral:
        if self._peripheral is None:
            raise BleakError("Not connected")
        return self._peripheral

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        """ATT Read of a characteristic."""
        return bytearray(self._attached().read_value(characteristic.uuid, paired=self._paired))

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        """Descriptors are not simulated."""
        raise BleakError("descriptors are not simulated")

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: Any, response: bool
    ) -> None:
        """ATT Write (logged by the peripheral)."""
        peripheral = self._attached()
        await peripheral.write_value(characteristic.uuid, bytes(data), paired=self._paired)

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: Any) -> None:
        """Descriptors are not simulated (CCCDs are written through start_notify)."""
        raise BleakError("descriptors are not simulated")

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        """Write the CCCD and route the characteristic's values to ``callback``."""
        self._attached().subscribe(characteristic.uuid, paired=self._paired)
        self._callbacks[characteristic.uuid] = callback

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        """Stop routing values."""
        self._callbacks.pop(characteristic.uuid, None)
        if self._peripheral is not None:
            self._peripheral.subscribed.discard(characteristic.uuid)

    # Connection protocol (called by the peripheral)
    def deliver(self, uuid: str, value: bytes) -> None:
        """A notification/indication arrives."""
        callback = self._callbacks.get(uuid)
        if callback is not None:
            callback(bytearray(value))

    def drop(self) -> None:
        """The peripheral went away: bleak calls the disconnected callback."""
        self._peripheral = None
        self._callbacks.clear()
        if self._disconnected_callback is not None:
            self._disconnected_callback()


def _services(peripheral: VirtualPeripheral) -> BleakGATTServiceCollection:
    collection = BleakGATTServiceCollection()
    handles: dict[str, BleakGATTService] = {}
    handle = 1
    for char in peripheral.chars.values():
        service = handles.get(char.service)
        if service is None:
            service = handles[char.service] = BleakGATTService(None, handle, char.service)
            collection.add_service(service)
            handle += 1
        gatt_char = BleakGATTCharacteristic(
            None, handle, char.uuid, list(char.properties), lambda: 20, service
        )
        collection.add_characteristic(gatt_char)
        handle += 2
    return collection
