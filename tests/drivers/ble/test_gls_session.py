"""GlsReader against the simulated meter: truth, context pairing, incremental, quirks."""

from __future__ import annotations

from datetime import datetime

import pytest

from drivers._core.records import Food, GlucoseSample, Record
from drivers.ble import uuids
from drivers.ble.gls.session import GlsReader
from simulators.ble import series
from simulators.ble.backend import Air
from simulators.ble.gatt import Faults
from simulators.ble.meter import VirtualMeter
from tests.drivers.ble.helpers import FAST, run

ADDRESS = "C0:FF:EE:00:00:02"
START = datetime(2024, 3, 10)


def make(
    faults: Faults | None = None, **kwargs: object
) -> tuple[list[Record], VirtualMeter, GlsReader]:
    truth = series.smbg_series(seed=5, days=3, start_local=START)
    meter = VirtualMeter(ADDRESS, truth, faults=faults, **kwargs)  # type: ignore[arg-type]
    return truth, meter, GlsReader(ADDRESS, backend=Air([meter]).client_backend(), options=FAST)


def glucose(records: list[Record] | tuple[Record, ...]) -> list[tuple[datetime, float | None]]:
    return [(r.device_time, r.glucose_mgdl) for r in records if isinstance(r, GlucoseSample)]


def carbs(records: list[Record] | tuple[Record, ...]) -> list[tuple[datetime, float | None]]:
    return [(r.device_time, r.carbs_g) for r in records if isinstance(r, Food)]


def test_full_read_equals_the_series_truth_with_contexts() -> None:
    truth, meter, reader = make()
    batch = run(reader.read_history())
    assert glucose(batch.records) == glucose(truth)
    assert carbs(batch.records) == carbs(truth)
    assert all(r.sample_type == "smbg" for r in batch.records if isinstance(r, GlucoseSample))
    assert batch.cursor is not None and batch.cursor.value == "gls/1;seq=12"
    assert {uuid for uuid, _ in meter.writes} == {uuids.RACP} and meter.violations == []


def test_incremental_read_by_sequence_number() -> None:
    _truth, meter, reader = make()
    first = run(reader.read_history())
    meter.entries = (
        meter.entries
        + VirtualMeter(
            "x",
            series.smbg_series(seed=6, days=1, start_local=datetime(2024, 3, 14)),
            first_sequence=13,
        ).entries
    )
    second = run(reader.read_history(first.cursor))
    assert [
        r.source_index.split("@")[0] for r in second.records if isinstance(r, GlucoseSample)
    ] == ["13", "14", "15", "16"]
    assert meter.racp.requests[-1].values == (13,)
    assert run(reader.read_history(second.cursor)).records == []


def test_meter_without_greater_or_equal_filter_falls_back_to_all() -> None:
    _, meter, reader = make(faults=Faults(ge_unsupported=True))
    first = run(reader.read_history())
    second = run(reader.read_history(first.cursor))
    assert second.records == [] and second.cursor == first.cursor
    assert [r.operator.value for r in meter.racp.requests][-3:] == [">=", "all", "last"]


def test_sequence_reset_is_detected_and_everything_reread() -> None:
    truth, _, reader = make()
    from drivers._core.capabilities import Cursor

    batch = run(reader.read_history(Cursor("gls/1;seq=500")))
    assert batch.meta["sequence_reset"] is True
    assert glucose(batch.records) == glucose(truth)


def test_mmol_meter_round_trips_within_resolution() -> None:
    truth, _, reader = make(molar=True)
    batch = run(reader.read_history())
    for (_, got), (_, want) in zip(glucose(batch.records), glucose(truth), strict=True):
        assert got == pytest.approx(want, abs=0.05 * 18.02)


def test_out_of_order_and_disconnect() -> None:
    truth, meter, reader = make(faults=Faults(out_of_order=True, disconnect_after=5))
    batch = run(reader.read_history())
    assert glucose(batch.records) == glucose(truth)
    assert carbs(batch.records) == carbs(truth)
    assert batch.meta["retries"] == 1 and meter.connections == 2
