"""CgmsReader against the simulated CGM over bleak's public API: truth, resume, faults."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta

import pytest

from drivers._core.errors import ChecksumError, ProtocolError, TransportError
from drivers._core.records import GlucoseSample
from drivers.ble import uuids
from drivers.ble.cgms.decode import CgmMeasurement, sfloat
from drivers.ble.cgms.session import CgmsReader
from drivers.transports.ble import decode_capture
from simulators.ble import series
from simulators.ble.backend import Air
from simulators.ble.cgm import VirtualCgm
from simulators.ble.gatt import Faults
from tests.drivers.ble.helpers import FAST, START_UTC, run

ADDRESS = "C0:FF:EE:00:00:01"


def make(
    n: int = 60, faults: Faults | None = None, **kwargs: object
) -> tuple[list[GlucoseSample], VirtualCgm, CgmsReader]:
    truth = series.cgm_series(seed=3, n=n, start_utc=START_UTC, utc_offset_s=7200)
    start_local = (START_UTC + timedelta(hours=2)).replace(tzinfo=None)
    opts: dict[str, object] = {"session_start": start_local, "tz_minutes": 60, "dst_minutes": 60}
    opts.update(kwargs)
    cgm = VirtualCgm(ADDRESS, truth, faults=faults, **opts)  # type: ignore[arg-type]
    reader = CgmsReader(ADDRESS, backend=Air([cgm]).client_backend(), options=FAST)
    return truth, cgm, reader


def assert_matches_truth(records: list[GlucoseSample], truth: list[GlucoseSample]) -> None:
    assert [r.time_utc for r in records] == [t.time_utc for t in truth]
    assert [r.glucose_mgdl for r in records] == [t.glucose_mgdl for t in truth]
    assert [r.special for r in records] == [t.special for t in truth]
    assert [r.utc_offset_s for r in records] == [t.utc_offset_s for t in truth]
    assert [r.device_time for r in records] == [t.device_time for t in truth]
    assert [r.trend_rate_mgdl_per_min for r in records] == pytest.approx(
        [t.trend_rate_mgdl_per_min for t in truth]
    )


def test_full_read_equals_the_series_truth() -> None:
    truth, cgm, reader = make()
    batch = run(reader.read_history())
    records = [r for r in batch.records if isinstance(r, GlucoseSample)]
    assert_matches_truth(records, truth)
    assert {r.special for r in records} >= {"high", "low"}
    high = next(r for r in records if r.special == "high")
    assert high.glucose_mgdl is None and "cgm/high-out-of-range" in high.annotations
    assert "cgm/above-device-range" in high.annotations
    assert batch.cursor is not None and batch.cursor.value.endswith(f"offset={5 * 59}")
    assert batch.meta["e2e_crc"] is True and batch.meta["retries"] == 0
    assert len({r.dedup_key for r in records}) == len(records)
    assert cgm.violations == []


def test_incremental_read_uses_greater_or_equal_and_reads_nothing_twice() -> None:
    _truth, cgm, reader = make(n=20)
    first = run(reader.read_history())
    for i in range(20, 25):
        cgm.emit(CgmMeasurement(5 * i, sfloat(100 + i)))
    second = run(reader.read_history(first.cursor))
    assert [r.source_index.split("/")[1] for r in second.records] == [
        "100",
        "105",
        "110",
        "115",
        "120",
    ]
    assert cgm.racp.requests[-1].values == (5 * 19 + 1,)  # 01 03 01 <last + 1>
    third = run(reader.read_history(second.cursor))
    assert third.records == [] and third.cursor == second.cursor


def test_cursor_from_another_session_reads_everything() -> None:
    _, cgm, reader = make(n=10)
    batch = run(reader.read_history())
    cgm.start = dataclasses.replace(cgm.start, local=cgm.start.local + timedelta(days=14))  # type: ignore[operator]
    again = run(reader.read_history(batch.cursor))
    assert len(again.records) == 10


def test_resume_after_disconnect_mid_transfer_without_re_reading() -> None:
    truth, cgm, reader = make(n=40, faults=Faults(disconnect_after=15))
    batch = run(reader.read_history())
    assert_matches_truth(list(batch.records), truth)  # type: ignore[arg-type]
    assert batch.meta["retries"] == 1 and cgm.connections == 2
    # The second request starts right after the 15th record (offset 70): no re-read.
    assert cgm.racp.requests[-1].values == (15 * 5 - 5 + 1,)
    sent = [v for k, u, v in decode_capture(batch.raw) if k == "N" and u == 0x2AA7]
    assert len(sent) == 40


def test_out_of_order_notifications_are_sorted_and_resume_restarts() -> None:
    truth, cgm, reader = make(n=30, faults=Faults(out_of_order=True, disconnect_after=11))
    batch = run(reader.read_history())
    assert_matches_truth(list(batch.records), truth)  # type: ignore[arg-type]
    assert batch.cursor is not None and batch.cursor.value.endswith("offset=145")
    assert cgm.racp.requests[-1].operator.value == "all"  # gap possible: ask from the start


def test_crc_mismatch_aborts_and_retries() -> None:
    truth, cgm, reader = make(n=20, faults=Faults(corrupt_crc_at=4))
    batch = run(reader.read_history())
    assert_matches_truth(list(batch.records), truth)  # type: ignore[arg-type]
    assert batch.meta["retries"] == 1
    assert any(r.op.value == "abort" for r in cgm.racp.requests)


def test_persistent_crc_mismatch_raises_checksum_error() -> None:
    _, _, reader = make(n=10, faults=Faults(corrupt_crc_at=2, crc_errors=99))
    with pytest.raises(ChecksumError):
        run(reader.read_history())


def test_procedure_not_completed_is_retried() -> None:
    _truth, _, reader = make(n=10, faults=Faults(not_completed=1))
    batch = run(reader.read_history())
    assert len(batch.records) == 10 and batch.meta["retries"] == 1
    _, _, stubborn = make(n=10, faults=Faults(not_completed=99))
    with pytest.raises(ProtocolError, match="could not complete"):
        run(stubborn.read_history())


def test_peripheral_that_refuses_connections() -> None:
    _, cgm, reader = make(n=5, faults=Faults(refuse_connect=True))
    with pytest.raises(TransportError, match="refused"):
        run(reader.read_history())
    assert cgm.connections == 0


def test_bonding_is_passed_through_to_bleak() -> None:
    _, _cgm, reader = make(n=5, faults=Faults(requires_bond=True))
    with pytest.raises(TransportError, match="pairing"):
        run(reader.read_history())
    reader.options = dataclasses.replace(reader.options, pair=True)
    assert len(run(reader.read_history()).records) == 5


def test_driver_writes_only_the_racp() -> None:
    _, cgm, reader = make(n=5)
    run(reader.read_history())
    run(reader.read_status())
    assert {uuid for uuid, _ in cgm.writes} == {uuids.RACP}
    assert all(data[0] in (0x01, 0x03, 0x04) for _, data in cgm.writes)


def test_session_start_unset_anchors_on_the_host_clock() -> None:
    truth, _, reader = make(n=6, session_start=None)
    now = START_UTC + timedelta(minutes=25, seconds=20)
    reader._clock = lambda: now
    batch = run(reader.read_history())
    assert [r.time_utc for r in batch.records] == [t.time_utc for t in truth]
    assert all("time/host-anchored" in r.annotations for r in batch.records)


def test_status_and_live_notifications() -> None:
    _, cgm, reader = make(n=6)
    status = run(reader.read_status())
    assert status["time_offset_min"] == 25 and status["utc_offset_s"] == 7200

    async def live() -> list[GlucoseSample]:
        got: list[GlucoseSample] = []
        stream = reader.subscribe_live()

        async def feed() -> None:
            while not cgm.subscribed:
                await asyncio.sleep(0)
            for i in (6, 7):
                cgm.emit(CgmMeasurement(5 * i, sfloat(150 + i)))

        feeder = asyncio.ensure_future(feed())
        async for sample in stream:
            got.append(sample)
            if len(got) == 2:
                break
        await stream.aclose()
        await feeder
        return got

    samples = run(live())
    assert [s.glucose_mgdl for s in samples] == [156.0, 157.0]
    assert samples[0].time_utc == START_UTC + timedelta(minutes=30)
