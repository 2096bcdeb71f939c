"""A virtual GATT server: characteristics, notifications, a write log and faults.

A :class:`VirtualPeripheral` holds characteristic values and handlers; the simulated
bleak backend (:mod:`simulators.ble.backend`) connects a client to it. Every write is
recorded in :attr:`VirtualPeripheral.writes`, and a write to a characteristic outside
:attr:`VirtualPeripheral.read_only_writable` is also recorded in ``violations`` (the
read-only rule of protocols.md section 1: a test fails on any violation).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from bleak.exc import BleakGATTProtocolError, BleakGATTProtocolErrorCode

Prop = Literal["read", "write", "notify", "indicate"]


class Connection(Protocol):
    """What a peripheral needs from a connected client backend."""

    def deliver(self, uuid: str, value: bytes) -> None:
        """Hand a notification/indication to the client."""

    def drop(self) -> None:
        """Unsolicited disconnect (the peripheral went away)."""


@dataclass
class Faults:
    """Faults to inject; counted ones fire that many times and then stop.

    Attributes:
        disconnect_after: Drop the link after sending this many records of a transfer.
        disconnects: How many transfers ``disconnect_after`` applies to.
        out_of_order: Send the records of each transfer in swapped neighbour pairs.
        corrupt_crc_at: Flip the E2E-CRC of the record at this index of a transfer.
        crc_errors: How many transfers get a corrupted CRC.
        not_completed: Answer this many reports with "procedure not completed".
        refuse_connect: Advertise, but refuse every connection.
        requires_bond: ATT "insufficient authentication" until the client pairs.
        ge_unsupported: Answer the ``>=`` operator with "operator not supported".
    """

    disconnect_after: int | None = None
    disconnects: int = 1
    out_of_order: bool = False
    corrupt_crc_at: int | None = None
    crc_errors: int = 1
    not_completed: int = 0
    refuse_connect: bool = False
    requires_bond: bool = False
    ge_unsupported: bool = False


@dataclass
class Characteristic:
    """One characteristic: its service, properties, value source and write handler."""

    service: str
    uuid: str
    properties: tuple[Prop, ...]
    read: Callable[[], bytes] | None = None
    on_write: Callable[[bytes], Awaitable[None]] | None = None


@dataclass
class VirtualPeripheral:
    """A BLE peripheral the simulated backend can scan, connect and talk to."""

    address: str
    name: str
    advertised: tuple[str, ...]
    faults: Faults = field(default_factory=Faults)
    read_only_writable: frozenset[str] = frozenset()
    chars: dict[str, Characteristic] = field(default_factory=dict)
    writes: list[tuple[str, bytes]] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    subscribed: set[str] = field(default_factory=set)
    connection: Connection | None = None
    connections: int = 0

    def add(self, char: Characteristic) -> None:
        """Expose a characteristic."""
        self.chars[char.uuid] = char

    def add_static(self, service: str, uuid: str, value: bytes) -> None:
        """A read-only characteristic with a fixed value (e.g. Device Information)."""
        self.add(Characteristic(service, uuid, ("read",), read=lambda: value))

    def _check_bond(self, paired: bool) -> None:
        if self.faults.requires_bond and not paired:
            raise BleakGATTProtocolError(BleakGATTProtocolErrorCode.INSUFFICIENT_AUTHENTICATION)

    def read_value(self, uuid: str, *, paired: bool) -> bytes:
        """ATT Read."""
        self._check_bond(paired)
        char = self.chars[uuid]
        if char.read is None:
            raise BleakGATTProtocolError(BleakGATTProtocolErrorCode.READ_NOT_PERMITTED)
        return char.read()

    async def write_value(self, uuid: str, data: bytes, *, paired: bool) -> None:
        """ATT Write Request: logged, checked against the read-only allow-list, handled."""
        self.writes.append((uuid, data))
        if uuid not in self.read_only_writable:
            self.violations.append(f"write to {uuid[4:8]}: {data.hex(' ')}")
        self._check_bond(paired)
        char = self.chars[uuid]
        if char.on_write is None:
            raise BleakGATTProtocolError(BleakGATTProtocolErrorCode.WRITE_NOT_PERMITTED)
        await char.on_write(data)

    def subscribe(self, uuid: str, *, paired: bool) -> None:
        """CCCD write enabling notifications/indications."""
        self._check_bond(paired)
        char = self.chars[uuid]
        if not {"notify", "indicate"} & set(char.properties):
            raise BleakGATTProtocolError(BleakGATTProtocolErrorCode.WRITE_NOT_PERMITTED)
        self.subscribed.add(uuid)

    def notify(self, uuid: str, value: bytes) -> bool:
        """Send a notification if a client is connected and subscribed; True if sent."""
        if self.connection is None or uuid not in self.subscribed:
            return False
        self.connection.deliver(uuid, value)
        return True

    def attach(self, connection: Connection) -> None:
        """A client connected (one at a time, as most sensors allow)."""
        if self.faults.refuse_connect:
            raise ConnectionRefusedError(f"{self.address} refuses connections")
        self.connection = connection
        self.subscribed.clear()
        self.connections += 1

    def detach(self) -> None:
        """The client disconnected."""
        self.connection = None
        self.subscribed.clear()

    def drop_link(self) -> None:
        """Fault: the peripheral disconnects on its own."""
        if self.connection is not None:
            connection = self.connection
            self.detach()
            connection.drop()
