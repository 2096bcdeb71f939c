"""Detection by advertised service UUID through the simulated scanner backend."""

from __future__ import annotations

from drivers.ble import uuids
from drivers.ble.cgms.session import CgmsReader
from drivers.ble.detect import classify, reader_for, scan
from drivers.ble.gls.session import GlsReader
from drivers.ble.ids.session import IdsReader
from simulators.ble.backend import Air
from simulators.ble.gatt import Faults, VirtualPeripheral
from simulators.ble.meter import VirtualMeter
from simulators.ble.pump import VirtualPump
from tests.drivers.ble.helpers import run


def test_scan_classifies_by_service_uuid() -> None:
    air = Air([
        VirtualMeter("AA:00:00:00:00:02", []),
        VirtualPump("AA:00:00:00:00:03", []),
        VirtualPeripheral("AA:00:00:00:00:09", "Heart rate", (uuids.uuid16(0x180D),)),
        VirtualPeripheral("AA:00:00:00:00:0A", "Stubborn CGM", (uuids.CGM_SERVICE,),
                          Faults(refuse_connect=True)),
    ])  # fmt: skip
    backend = air.client_backend()
    found = run(scan(backend, timeout=0.01))
    assert [(a.address, a.kind, a.driver) for a in found] == [
        ("AA:00:00:00:00:0A", "cgm", "ble-cgms"),
        ("AA:00:00:00:00:02", "meter", "ble-gls"),
        ("AA:00:00:00:00:03", "pump", "ble-ids"),
    ]
    everything = run(scan(backend, timeout=0.01, all_devices=True))
    assert everything[-1].kind is None and everything[-1].name == "Heart rate"


def test_classify_and_reader_for() -> None:
    assert classify([uuids.uuid16(0x180D), uuids.GLUCOSE_SERVICE.upper()]) == "meter"
    assert classify([]) is None
    assert isinstance(reader_for("cgm", "x"), CgmsReader)
    assert isinstance(reader_for("meter", "x"), GlsReader)
    assert isinstance(reader_for("pump", "x"), IdsReader)
