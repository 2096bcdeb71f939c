"""The driver registry: explicit in-tree entries, lazy loading, clear errors."""

from __future__ import annotations

import pytest

from drivers._core.errors import UnsupportedDevice
from drivers._core.registry import DriverSpec, all_drivers, get_driver


def test_in_tree_clarity_importer_loads_lazily_and_reads() -> None:
    spec = get_driver("dexcom-clarity-csv")
    assert (spec.kind, spec.transports, spec.capabilities) == (
        "export",
        ("file",),
        frozenset({"import_file"}),
    )
    read_export = spec.load()
    header = (
        "Index,Timestamp (YYYY-MM-DDThh:mm:ss),Event Type,Event Subtype,Patient Info,"
        "Device Info,Source Device ID,Glucose Value (mg/dL),Insulin Value (u),"
        "Carb Value (grams),Duration (hh:mm:ss),Glucose Rate of Change (mg/dL/min),"
        "Transmitter Time (Long Integer),Transmitter ID\n"
        "1,2024-01-01T00:00:00,EGV,,,,iOS G7,101,,,,,300,123456789012\n"
    )
    result = read_export("r.csv", data=header.encode())
    assert [r.glucose_mgdl for r in result.records] == [101.0]
    assert "dexcom-clarity-csv" in all_drivers()


def test_unknown_driver_and_broken_factory_raise_unsupported_device() -> None:
    with pytest.raises(UnsupportedDevice, match="no driver named 'x'"):
        get_driver("x")
    broken = DriverSpec("broken", "cgm", ("X",), ("serial",), frozenset(), "drivers.nope:Reader")
    with pytest.raises(UnsupportedDevice, match="cannot be loaded"):
        broken.load()
