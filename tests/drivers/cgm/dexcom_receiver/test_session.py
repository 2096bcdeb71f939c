"""Series -> virtual receiver -> pyserial on the pty -> driver -> records == series."""

from __future__ import annotations

import ast
import inspect

import pytest

from drivers._core.capabilities import ClockReader, Cursor, HistoryReader
from drivers._core.records import DeviceEvent, GlucoseSample
from drivers.cgm.dexcom_receiver import (
    DexcomReceiver,
    TransferInterrupted,
    detect_receivers,
    session,
)
from drivers.cgm.dexcom_receiver import messages as m
from drivers.cgm.dexcom_receiver.decode import decode_capture
from drivers.cgm.dexcom_receiver.layouts import EgvRecord
from drivers.cgm.dexcom_receiver.normalize import normalize, receiver_time
from drivers.transports.serial import SerialPortInfo
from simulators.cgm.dexcom_receiver import G4, G6, Fault, ReceiverDatabase, VirtualReceiver
from tests.drivers.cgm.dexcom_receiver.conftest import keys


def test_full_round_trip(receiver: VirtualReceiver, series: list[GlucoseSample]) -> None:
    with DexcomReceiver(receiver.port) as rx:
        assert isinstance(rx, HistoryReader) and isinstance(rx, ClockReader)
        batch = rx.read_history()
    assert keys(list(batch.records)) == keys(series)
    changes = [r for r in batch.records if isinstance(r, DeviceEvent)]
    assert [c.event_type for c in changes] == ["time-change"]  # the DST change, fall back
    assert changes[0].time_to is not None and changes[0].time_from is not None
    assert (changes[0].time_from - changes[0].time_to).total_seconds() == 3600
    assert len({r.dedup_key for r in batch.records}) == len(batch.records)
    assert receiver.violations == []
    assert set(receiver.commands) <= m.READ_ONLY_COMMANDS
    # the raw capture replays to the same records without the device
    capture = decode_capture(batch.raw)
    decoded = [rec for page in capture.pages for _, rec in page.records]
    assert normalize(decoded, device_id=batch.records[0].device_id).records == list(batch.records)


def test_incremental_sync_reads_only_new_pages(series: list[GlucoseSample]) -> None:
    db = ReceiverDatabase(G4)
    db.add_samples(series[:300])
    with VirtualReceiver(db) as virtual, DexcomReceiver(virtual.port) as rx:
        first = rx.read_history()
        db.add_samples(series[300:])
        second = rx.read_history(since=first.cursor)
        trips = rx.round_trips
        third = rx.read_history(since=second.cursor)
    assert keys(list(first.records)) == keys(series[:300])
    assert keys(list(second.records)) == keys(series[300:])
    assert [r for r in third.records] == []
    assert third.cursor == second.cursor
    assert all(p["pages_read"] == 0 for p in third.meta["partitions"].values())
    assert rx.round_trips - trips <= 2 * len(third.meta["partitions"])  # range + header each


def test_cursor_of_another_receiver_is_ignored(series: list[GlucoseSample]) -> None:
    db = ReceiverDatabase(G4, serial="SM2")
    db.add_samples(series[:50])
    foreign = Cursor('{"v": 1, "serial": "SM1", "pages": {"4": [999, 99999]}, "offset": 0}')
    with VirtualReceiver(db) as virtual, DexcomReceiver(virtual.port) as rx:
        assert keys(list(rx.read_history(since=foreign).records)) == keys(series[:50])


def test_four_pages_per_read(series: list[GlucoseSample]) -> None:
    db = ReceiverDatabase(G6)
    db.add_samples(series)
    with VirtualReceiver(db) as virtual:
        with DexcomReceiver(virtual.port) as one:
            single = one.read_history()
        with DexcomReceiver(virtual.port, pages_per_read=4) as four:
            batched = four.read_history()
    assert batched.records == single.records
    assert four.round_trips < one.round_trips / 2


@pytest.mark.parametrize("kind", ["bad-crc", "nak", "truncate", "timeout", "garbage"])
def test_faults_are_retried(kind: str, series: list[GlucoseSample]) -> None:
    db = ReceiverDatabase(G4)
    db.add_samples(series)
    virtual = VirtualReceiver(db, faults=[Fault(kind, nth=3, times=2)])  # type: ignore[arg-type]
    with virtual, DexcomReceiver(virtual.port, timeout_s=0.3) as rx:
        batch = rx.read_history()
    assert keys(list(batch.records)) == keys(series)
    # junk before a frame is skipped while looking for SOF (no retry needed)
    assert batch.meta["retries"] == (0 if kind == "garbage" else 2)


def test_too_many_faults_raise() -> None:
    db = ReceiverDatabase(G4)
    with (
        VirtualReceiver(
            db, faults=[Fault("nak", command=m.Command.READ_FIRMWARE_HEADER, times=9)]
        ) as virtual,
        DexcomReceiver(virtual.port, retries=1) as rx,
        pytest.raises(m.ResponseError),
    ):
        rx.device_info()


def test_disconnect_between_pages_then_resume(series: list[GlucoseSample]) -> None:
    db = ReceiverDatabase(G4)
    db.add_samples(series)
    virtual = VirtualReceiver(db, faults=[Fault("disconnect", nth=6)]).start()
    try:
        rx = DexcomReceiver(virtual.port, timeout_s=0.5, retries=1)
        with rx, pytest.raises(TransferInterrupted) as err:
            rx.read_history()
        partial = err.value.partial
        assert 0 < len(partial.records) < len(series)
        port = virtual.replug()  # the cable goes back in
        with DexcomReceiver(port) as rx:
            rest = rx.read_history(since=partial.cursor)
    finally:
        virtual.stop()
    assert keys(list(partial.records) + list(rest.records)) == keys(series)
    assert not {r.dedup_key for r in partial.records} & {r.dedup_key for r in rest.records}


def test_corrupt_record_is_skipped_and_reported(series: list[GlucoseSample]) -> None:
    db = ReceiverDatabase(G4)
    db.add_samples(series)
    index = db.corrupt_record(m.RecordType.EGV_DATA, 10)
    lost = [s for s in series if s.sample_type == "cgm"][10]
    with VirtualReceiver(db) as virtual, DexcomReceiver(virtual.port) as rx:
        batch = rx.read_history()
    assert keys(list(batch.records)) == keys([s for s in series if s is not lost])
    [skipped] = batch.meta["skipped"]
    assert skipped["index"] == index and "CRC" in skipped["error"]


def test_clock_and_device_info() -> None:
    db = ReceiverDatabase(G6, serial="SM00000042")
    db.add(m.RecordType.EGV_DATA, EgvRecord(1000, 4600, 120, 0x14, 1000, 5, 0, 6, 0))
    virtual = VirtualReceiver(db, system_time_s=lambda: 500_000_000)
    with virtual, DexcomReceiver(virtual.port) as rx:
        clock = rx.read_clock()
        info = rx.device_info()
    assert clock == receiver_time(500_000_000 + 3600)  # system time + display offset
    assert (info.model, info.serial, info.firmware) == (
        "G6 touchscreen receiver",
        "SM00000042",
        "5.0.2.043",
    )
    assert info.device_id == "dexcom:g6-touchscreen-receiver:sm00000042"
    assert info.device_clock == clock


def test_only_exchange_writes_and_every_command_is_allowed() -> None:
    """Static proof: one call site writes to the port, and it sends build_request's frame."""
    tree = ast.parse(inspect.getsource(session))
    writers = [
        fn.name
        for fn in ast.walk(tree)
        if isinstance(fn, ast.FunctionDef)
        for node in ast.walk(fn)
        if isinstance(node, ast.Attribute) and node.attr == "write"
    ]
    assert writers == ["_exchange"]
    assert "build_frame" not in inspect.getsource(session)
    commands = {
        node.args[0].attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and getattr(node.func, "attr", "") == "_exchange"
        and isinstance(node.args[0], ast.Attribute)
    }
    assert commands and {m.Command[c] for c in commands} <= m.READ_ONLY_COMMANDS


def test_a_forbidden_command_never_reaches_the_receiver() -> None:
    with VirtualReceiver(ReceiverDatabase(G4)) as virtual, DexcomReceiver(virtual.port) as rx:
        rx.ping()
        for command in (
            m.Command.ERASE_DATABASE,
            m.Command.WRITE_DISPLAY_TIME_OFFSET,
            m.Command.WRITE_SYSTEM_TIME,
            m.Command.RESET_RECEIVER,
            0x33,
            255,
        ):
            with pytest.raises(m.CommandNotAllowed):
                rx._exchange(command, b"\x00\x00\x00\x00")
    assert virtual.commands == [m.Command.PING] and virtual.violations == []


def test_detect_explains_each_port() -> None:
    ports = [
        SerialPortInfo("/dev/ttyS0", None, None, "ttyS0", None, None, "n/a"),
        SerialPortInfo("/dev/ttyUSB0", 0x0403, 0x6001, "FT232R", "A1", "FTDI", "USB VID:PID"),
        SerialPortInfo("/dev/ttyACM1", 0x22A3, 0x0099, "other", None, "Dexcom", "USB"),
        SerialPortInfo(
            "/dev/ttyACM0",
            0x22A3,
            0x0047,
            "DexCom Gen4 USB Serial",
            "SM1",
            "DexCom",
            "USB VID:PID=22A3:0047",
        ),
    ]
    found = detect_receivers(ports)
    assert [p.port for p in found if p.recognised] == ["/dev/ttyACM0"]
    assert found[0].port == "/dev/ttyACM0" and "22A3:0047" in found[0].reason
    reasons = {p.port: p.reason for p in found}
    assert "no USB" in reasons["/dev/ttyS0"]
    assert "0403:6001 is not a Dexcom receiver" in reasons["/dev/ttyUSB0"]
    assert "product 0099" in reasons["/dev/ttyACM1"]
    assert all(isinstance(p.recognised, bool) for p in detect_receivers())  # the real OS list


@pytest.mark.hardware
def test_real_receiver(request: pytest.FixtureRequest) -> None:
    with DexcomReceiver(request.config.getoption("--port")) as rx:
        batch = rx.read_history()
        again = rx.read_history(since=batch.cursor)
    assert batch.records and not again.records
