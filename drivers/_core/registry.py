"""The driver registry: an explicit dict of in-tree drivers, plus entry points.

Each entry says what a driver is (kind, models, transports, capabilities) without
importing it; :meth:`DriverSpec.load` imports the factory lazily, so ``glucogate
detect`` on a kiosk does not import every protocol stack. External drivers register a
``DriverSpec`` under the ``glucogate.drivers`` entry-point group.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Literal

from drivers._core.errors import UnsupportedDevice

DriverKind = Literal["cgm", "pump", "meter", "export"]
Transport = Literal["serial", "ble", "file"]
Capability = Literal["read_history", "read_clock", "read_status", "subscribe_live", "import_file"]

ENTRY_POINT_GROUP = "glucogate.drivers"


@dataclass(frozen=True, slots=True)
class DriverSpec:
    """What a driver is, and where its factory lives (``"module:attribute"``)."""

    name: str
    kind: DriverKind
    models: tuple[str, ...]
    transports: tuple[Transport, ...]
    capabilities: frozenset[Capability]
    factory: str

    def load(self) -> Any:
        """Import and return the factory (a class or function)."""
        module_name, _, attr = self.factory.partition(":")
        try:
            module = importlib.import_module(module_name)
            return getattr(module, attr)
        except (ImportError, AttributeError) as exc:
            raise UnsupportedDevice(
                f"driver {self.name!r} cannot be loaded", factory=self.factory
            ) from exc


IN_TREE: dict[str, DriverSpec] = {
    "ble-cgms": DriverSpec(
        name="ble-cgms",
        kind="cgm",
        models=("Bluetooth CGM Service (0x181F)",),
        transports=("ble",),
        capabilities=frozenset({"read_history", "read_status"}),
        factory="drivers.ble.cgms.session:CgmsReader",
    ),
    "ble-gls": DriverSpec(
        name="ble-gls",
        kind="meter",
        models=("Bluetooth Glucose Service (0x1808)",),
        transports=("ble",),
        capabilities=frozenset({"read_history", "read_status"}),
        factory="drivers.ble.gls.session:GlsReader",
    ),
    "ble-ids": DriverSpec(
        name="ble-ids",
        kind="pump",
        models=("Bluetooth Insulin Delivery Service (0x183A)",),
        transports=("ble",),
        capabilities=frozenset({"read_history", "read_status"}),
        factory="drivers.ble.ids.session:IdsReader",
    ),
    "dexcom-receiver": DriverSpec(
        name="dexcom-receiver",
        kind="cgm",
        models=(
            "Dexcom G4 Platinum receiver",
            "Dexcom G5 Mobile receiver",
            "Dexcom G5 touchscreen receiver",
            "Dexcom G6 touchscreen receiver",
        ),
        transports=("serial",),
        capabilities=frozenset({"read_history", "read_clock"}),
        factory="drivers.cgm.dexcom_receiver:DexcomReceiver",
    ),
    "tandem-pump": DriverSpec(
        name="tandem-pump",
        kind="pump",
        models=("Tandem t:slim X2 (USB)",),
        transports=("serial",),
        capabilities=frozenset({"read_history", "read_clock"}),
        factory="drivers.pumps.tandem:TandemPump",
    ),
    "dexcom-clarity-csv": DriverSpec(
        name="dexcom-clarity-csv",
        kind="export",
        models=("Dexcom G4", "Dexcom G5", "Dexcom G6", "Dexcom G7"),
        transports=("file",),
        capabilities=frozenset({"import_file"}),
        factory="drivers.exports:read_export",
    ),
}


def all_drivers() -> dict[str, DriverSpec]:
    """In-tree drivers plus those registered through the entry-point group."""
    drivers = dict(IN_TREE)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        spec = ep.load()
        if isinstance(spec, DriverSpec) and spec.name not in drivers:
            drivers[spec.name] = spec
    return drivers


def get_driver(name: str) -> DriverSpec:
    """Look a driver up by name; ``UnsupportedDevice`` names the unknown one."""
    try:
        return all_drivers()[name]
    except KeyError:
        raise UnsupportedDevice(f"no driver named {name!r}") from None
