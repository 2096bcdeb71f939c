"""IdsReader against the simulated pump: truth, read-only proof, incremental, faults."""

from __future__ import annotations

from datetime import timedelta

import pytest

from drivers._core.errors import ProtocolError
from drivers._core.records import BasalSegment, Bolus, DeviceEvent, Record
from drivers.ble import racp, uuids
from drivers.ble.ids import decode as d
from drivers.ble.ids.session import IdsReader
from drivers.ble.sfloat import MedFloat, decode_sfloat, encode_sfloat
from drivers.transports.ble import BleLink, BleOptions
from simulators.ble import series
from simulators.ble.backend import Air
from simulators.ble.gatt import Faults
from simulators.ble.pump import VirtualPump
from tests.drivers.ble.helpers import FAST, START_UTC, run

ADDRESS = "C0:FF:EE:00:00:03"
THERAPY_CHANGING = {
    uuids.IDD_COMMAND_CP,
    uuids.IDD_STATUS_READER_CP,
    uuids.IDD_FEATURES,
    uuids.IDD_STATUS,
    uuids.IDD_STATUS_CHANGED,
    uuids.IDD_ANNUNCIATION_STATUS,
}


def make(
    faults: Faults | None = None, **kwargs: object
) -> tuple[list[Record], VirtualPump, IdsReader]:
    truth = series.pump_series(seed=4, days=2, start_utc=START_UTC)
    pump = VirtualPump(ADDRESS, truth, faults=faults, **kwargs)  # type: ignore[arg-type]
    return truth, pump, IdsReader(ADDRESS, backend=Air([pump]).client_backend(), options=FAST)


def summary(records: list[Record] | tuple[Record, ...]) -> list[tuple[object, ...]]:
    out: list[tuple[object, ...]] = []
    for r in records:
        if isinstance(r, Bolus):
            out.append(("bolus", r.time_utc, r.subtype, r.programmed_u, r.delivered_u))
        elif isinstance(r, BasalSegment):
            out.append(("basal", r.time_utc, r.basal_type, r.rate_u_per_h, r.duration_s))
        elif isinstance(r, DeviceEvent) and r.event_type != "daily-total":  # pump-made
            out.append(("event", r.time_utc, r.event_type, r.prime_u))
    return sorted(out, key=repr)


def test_full_read_equals_the_series_truth() -> None:
    truth, _pump, reader = make()
    batch = run(reader.read_history())
    assert summary(batch.records) == summary(truth)
    assert batch.meta["total_daily_insulin"] and batch.meta["unanchored"] == 0
    cancelled = [
        r for r in batch.records if isinstance(r, Bolus) and r.delivered_u < r.programmed_u
    ]
    assert cancelled, "the series plants cancelled boluses"


def test_driver_never_writes_the_command_control_point() -> None:
    _, pump, reader = make()
    batch = run(reader.read_history())
    run(reader.read_history(batch.cursor))
    run(reader.read_status())
    written = {uuid for uuid, _ in pump.writes}
    assert written == {uuids.IDD_RACP}
    assert not written & THERAPY_CHANGING
    assert pump.violations == []
    ops = {data[0] for _, data in pump.writes}
    assert ops <= {racp.IDD.ops[op] for op in racp.READ_ONLY_OPS}  # never 0x3C Delete


def test_transport_refuses_writes_outside_the_allow_list() -> None:
    _, pump, _ = make()

    async def attempt() -> None:
        link = await BleLink.open(
            ADDRESS,
            BleOptions(backend=Air([pump]).client_backend()),
            writable=frozenset({uuids.IDD_RACP}),
        )
        try:
            await link.write(uuids.IDD_COMMAND_CP, bytes.fromhex("4B 11"))  # "set bolus"
        finally:
            await link.close()

    with pytest.raises(ProtocolError, match="read-only"):
        run(attempt())
    assert pump.writes == []


def test_time_zone_from_reference_time() -> None:
    _, _, reader = make(tz_minutes=120)
    batch = run(reader.read_history())
    first = batch.records[0]
    assert first.utc_offset_s == 7200
    assert first.time_utc is not None
    assert first.device_time == (first.time_utc + timedelta(hours=2)).replace(tzinfo=None)


def test_incremental_read_holds_the_cursor_before_an_unfinished_bolus() -> None:
    _, pump, reader = make()
    first = run(reader.read_history())
    t = START_UTC + timedelta(days=3)
    p1 = d.bolus_part1_data(99, 0x33, _amount(3.0), _amount(0), 0)
    pump.append_history([(t, d.BOLUS_PROGRAMMED_1, p1), (t, d.BOLUS_PROGRAMMED_2, bytes(3))])
    second = run(reader.read_history(first.cursor))
    assert second.records == [] and second.meta["pending_from_record"] is not None
    pump.append_history(
        [
            (t + timedelta(minutes=2), d.BOLUS_DELIVERED_1, p1),
            (t + timedelta(minutes=2), d.BOLUS_DELIVERED_2, bytes((2, 0, 0, 0, 0, 0x33))),
        ]
    )
    third = run(reader.read_history(second.cursor))
    [bolus] = [r for r in third.records if isinstance(r, Bolus)]
    assert (bolus.time_utc, bolus.programmed_u, bolus.delivered_u) == (t, 3.0, 3.0)
    assert third.cursor is not None and third.cursor != first.cursor


def _amount(value: float) -> MedFloat:
    return decode_sfloat(encode_sfloat(value))


def test_resume_after_disconnect_and_crc_fault() -> None:
    truth, pump, reader = make(faults=Faults(disconnect_after=20, corrupt_crc_at=5))
    batch = run(reader.read_history())
    assert summary(batch.records) == summary(truth)
    assert batch.meta["retries"] == 2 and pump.connections == 3
