"""The simulated bleak backend through bleak's own public API (BleakScanner, BleakClient)."""

from __future__ import annotations

import asyncio

import pytest
from bleak import BleakClient, BleakScanner
from bleak.exc import BleakDeviceNotFoundError, BleakError

from drivers.ble import uuids
from simulators.ble import series
from simulators.ble.backend import Air, SimulatedClientBackend
from simulators.ble.cgm import VirtualCgm
from simulators.ble.demo import CGM_ADDRESS, METER_ADDRESS, PUMP_ADDRESS
from simulators.ble.gatt import Faults
from tests.drivers.ble.helpers import START_UTC


def _cgm(faults: Faults | None = None) -> VirtualCgm:
    samples = series.cgm_series(seed=1, n=3, start_utc=START_UTC)
    return VirtualCgm("11:22:33:44:55:66", samples, session_start=START_UTC.replace(tzinfo=None),
                      faults=faults)  # fmt: skip


def test_scanner_and_client_through_bleak() -> None:
    cgm = _cgm()
    backend = Air([cgm]).client_backend()

    async def session() -> tuple[list[str], bytes, list[bytes]]:
        found = await BleakScanner.discover(
            timeout=0.01, backend=backend.scanner_backend, service_uuids=[uuids.CGM_SERVICE]
        )
        got: list[bytes] = []
        async with BleakClient(cgm.address, backend=backend) as client:
            feature = await client.read_gatt_char(uuids.CGM_FEATURE)
            await client.start_notify(
                uuids.CGM_MEASUREMENT, lambda _c, data: got.append(bytes(data))
            )
            await client.start_notify(uuids.RACP, lambda _c, data: got.append(bytes(data)))
            await client.write_gatt_char(uuids.RACP, b"\x01\x01", response=True)
            while len(got) < 4:
                await asyncio.sleep(0)
        return [d.address for d in found], bytes(feature), got

    addresses, feature, got = asyncio.run(session())
    assert addresses == [cgm.address]
    assert len(feature) == 6
    assert got[-1] == bytes.fromhex("06 00 01 01") and len(got) == 4
    assert cgm.connection is None  # disconnected on leaving the context


def test_scanner_filters_by_service() -> None:
    backend = Air([_cgm()]).client_backend()
    found = asyncio.run(BleakScanner.discover(timeout=0.01, backend=backend.scanner_backend,
                                              service_uuids=[uuids.GLUCOSE_SERVICE]))  # fmt: skip
    assert found == []


def test_unknown_address_and_refused_connection() -> None:
    backend = Air([_cgm(Faults(refuse_connect=True))]).client_backend()
    with pytest.raises(BleakDeviceNotFoundError):
        asyncio.run(BleakClient("00:00:00:00:00:00", backend=backend).connect())
    with pytest.raises(BleakError, match="refused"):
        asyncio.run(BleakClient("11:22:33:44:55:66", backend=backend).connect())


def test_write_to_racp_without_indications_is_refused() -> None:
    cgm = _cgm()
    backend = Air([cgm]).client_backend()

    async def write() -> None:
        async with BleakClient(cgm.address, backend=backend) as client:
            await client.write_gatt_char(uuids.RACP, b"\x01\x01", response=True)

    with pytest.raises(BleakError, match="Improperly"):
        asyncio.run(write())


def test_default_backend_hosts_the_demo_devices() -> None:
    found = asyncio.run(
        BleakScanner.discover(timeout=0.01, backend=SimulatedClientBackend.scanner_backend)
    )
    assert {d.address for d in found} >= {CGM_ADDRESS, METER_ADDRESS, PUMP_ADDRESS}
