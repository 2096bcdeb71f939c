"""Generated events -> virtual pump on a pty -> pyserial -> driver -> records == truth."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from drivers._core.capabilities import ClockReader, HistoryReader
from drivers._core.errors import ProtocolError, TransportError
from drivers._core.records import BasalSegment, DeviceEvent, Record, SettingsSnapshot
from drivers.pumps.tandem import TandemPump, detect_pumps
from drivers.pumps.tandem import messages as m
from drivers.pumps.tandem.decode import decode_capture
from drivers.pumps.tandem.events import pump_seconds
from drivers.pumps.tandem.normalize import normalize
from drivers.transports.serial import SerialPortInfo
from simulators.pumps.tandem import Fault, PumpLog, VirtualPump, build_log, generate
from simulators.pumps.tandem.device import FaultKind
from tests.drivers.pumps.test_tandem_normalize import boluses_match

START = datetime(2025, 3, 1)
FAST: dict[str, Any] = {"settle_s": 0.02, "gap_s": 0.0, "timeout_s": 0.5, "stall_s": 0.3}


def driver(port: str, **options: Any) -> TandemPump:
    """The driver with short pauses for the virtual pump."""
    return TandemPump(port, **{**FAST, **options})


@pytest.fixture(scope="module")
def log() -> PumpLog:
    history = generate(3, start=START, days=4)
    return build_log(history, first_seq=20_000, until=START + timedelta(days=3, hours=23))


def keys(records: list[Record]) -> list[tuple[str, str, str]]:
    return sorted(r.dedup_key for r in records)


def test_full_round_trip(log: PumpLog) -> None:
    with VirtualPump(log.events) as pump, driver(pump.port) as drv:
        assert isinstance(drv, HistoryReader) and isinstance(drv, ClockReader)
        batch = drv.read_history()
        info = drv.device_info()
    assert pump.violations == [] and set(pump.requests) <= m.ALLOWED_COMMANDS
    assert batch.meta["mode"] == "multi" and pump.stop_dumps == 1
    records = list(batch.records)
    boluses_match(records, log.truth)
    segs = [r for r in records if isinstance(r, BasalSegment)]
    assert [(s.device_time, s.duration_s, s.rate_u_per_h, s.basal_type) for s in segs] == [
        (s.device_time, s.duration_s, s.rate_u_per_h, s.basal_type) for s in log.truth.segments
    ]
    truth_days = log.truth.basal_by_day()
    for day, total in batch.meta["daily_basal_u"].items():
        assert total == pytest.approx(truth_days[day], abs=1e-4)
    sites = [
        r.device_time
        for r in records
        if isinstance(r, DeviceEvent) and r.event_type == "site-change"
    ]
    assert sites == log.truth.site_changes
    [settings] = [r for r in records if isinstance(r, SettingsSnapshot)]
    assert settings.active_schedule == "Weekday" and settings.insulin_action_s == 18000
    assert len({r.dedup_key for r in records}) == len(records)
    assert info.serial == "90000123" and info.device_id == "tandem:tslim-x2:90000123"
    # the raw capture replays to the same records without the pump
    capture = decode_capture(batch.raw)
    assert capture.version is not None and capture.version.pump_sn == 90000123
    replay = normalize(
        capture.events, device_id=info.device_id, profile_names={0: "Weekday", 1: "Sick day"}
    )
    assert replay.records == [r for r in records if not isinstance(r, SettingsSnapshot)]


def test_second_sync_reads_nothing_and_third_gets_what_was_added(log: PumpLog) -> None:
    cut = len(log.events) * 2 // 3
    with VirtualPump(log.events[:cut]) as pump, driver(pump.port) as drv:
        first = drv.read_history()
        again = drv.read_history(since=first.cursor)
        pump.append(log.events[cut:])
        rest = drv.read_history(since=again.cursor)
        done = drv.read_history(since=rest.cursor)
    assert list(again.records) == [] and again.meta["read"]["count"] == 0
    assert again.cursor == first.cursor
    assert rest.meta["read"]["first"] == log.events[cut].seq
    assert list(done.records) == []
    with VirtualPump(log.events) as pump, driver(pump.port) as drv:
        whole = drv.read_history()
    assert keys(list(first.records) + list(rest.records)) == keys(list(whole.records))


def test_single_record_mode_on_old_firmware() -> None:
    small = build_log(generate(5, start=START, days=1, cgm=False), first_seq=1)
    with VirtualPump(small.events, firmware="54676") as pump, driver(pump.port) as drv:
        batch = drv.read_history()
    assert batch.meta["mode"] == "single"
    assert m.Command.LOG_ENTRY_SEQ_MULTI_REQ not in pump.requests
    assert pump.requests.count(m.Command.LOG_ENTRY_SEQ_REQ) == len(small.events)
    boluses_match(list(batch.records), small.truth)


def test_wrapped_log_reads_from_the_oldest_kept(log: PumpLog) -> None:
    keep = 300
    with VirtualPump(log.events, capacity=keep) as pump, driver(pump.port) as drv:
        batch = drv.read_history()
        size = pump.log_size()
    assert size.start_seq == log.events[-keep].seq > 0
    assert batch.meta["read"] == {"first": size.start_seq, "last": size.end_seq, "count": keep}
    # a cursor older than the oldest record kept: a gap is reported, the rest is read
    stale = build_log(generate(3, start=START, days=1), first_seq=20_000)
    with VirtualPump(stale.events) as pump, driver(pump.port) as drv:
        old = drv.read_history()
    with VirtualPump(log.events, capacity=keep) as pump, driver(pump.port) as drv:
        later = drv.read_history(since=old.cursor)
    assert later.meta["gaps"][0]["reason"] == "records overwritten"
    assert later.meta["read"]["count"] == keep


@pytest.mark.parametrize("kind", ["bad-checksum", "timeout", "garbage", "nak"])
def test_stream_faults_are_recovered(kind: FaultKind, log: PumpLog) -> None:
    first, seq = log.events[0].seq, log.events[200].seq
    fault = Fault(kind, seq=seq)
    with VirtualPump(log.events, faults=[fault]) as pump, driver(pump.port) as drv:
        batch = drv.read_history()
    with VirtualPump(log.events) as clean_pump, driver(clean_pump.port) as drv:
        clean = drv.read_history()
    assert batch.records == clean.records
    # every record read exactly once: no restart from the first, no duplicate
    assert batch.meta["read"]["count"] == len(log.events) == clean.meta["read"]["count"]
    assert decode_capture(batch.raw).entries == decode_capture(clean.raw).entries
    assert pump.violations == []
    if kind == "garbage":  # junk before a frame is skipped while looking for the sync byte
        assert batch.meta["recoveries"] == 0
        assert [start for start, _ in pump.dumps] == [first]
    else:  # one recovery, resumed at the record that failed
        assert batch.meta["recoveries"] == 1
        assert [start for start, _ in pump.dumps] == [first, seq]
        assert pump.stop_dumps == 2


class _NoDiscard:
    """A transport whose input flush reaches nothing: every byte the pump sent, stale
    or not, stays to be read (as when frames are still in the pump's or the hub's
    USB buffers when the host flushes)."""

    def __init__(self, drv: TandemPump) -> None:
        self.flushes = 0
        drv.transport.discard_input = self  # type: ignore[method-assign]

    def __call__(self) -> None:
        self.flushes += 1


@pytest.mark.parametrize("kind", ["bad-checksum", "nak"])
def test_stale_frames_of_a_stopped_dump_are_not_taken_as_answers(
    kind: FaultKind, log: PumpLog
) -> None:
    """Records of the aborted dump still arrive after STOP_DUMP, before anything
    else: the resync drops them, whatever the pause after STOP_DUMP."""
    first, seq = log.events[0].seq, log.events[200].seq
    with (
        VirtualPump(log.events, faults=[Fault(kind, seq=seq)]) as pump,
        driver(pump.port, settle_s=0.0) as drv,
    ):
        flush = _NoDiscard(drv)
        batch = drv.read_history()
    assert flush.flushes > 0
    assert batch.meta["read"]["count"] == len(log.events)
    assert [e.seq for e in decode_capture(batch.raw).entries] == [e.seq for e in log.events]
    assert batch.meta["recoveries"] == 1
    assert [start for start, _ in pump.dumps] == [first, seq]
    boluses_match(list(batch.records), log.truth)


def test_stale_answers_are_skipped_in_single_mode() -> None:
    """A late answer to an earlier request is not taken for the answer to the next."""
    small = build_log(generate(5, start=START, days=1, cgm=False), first_seq=1)
    with (
        VirtualPump(small.events, firmware="50000") as pump,
        driver(pump.port) as drv,
    ):
        _NoDiscard(drv)
        # answers nobody read: a version, a log size and two records
        for command, payload in [
            (m.Command.VERSION_REQ, b""),
            (m.Command.LOG_SIZE_REQ, b""),
            (m.Command.LOG_ENTRY_SEQ_REQ, m.log_entry_payload(5)),
            (m.Command.LOG_ENTRY_SEQ_REQ, m.log_entry_payload(1)),
        ]:
            drv._send(command, payload)
        batch = drv.read_history()
    assert batch.meta["read"]["count"] == len(small.events)
    assert [e.seq for e in decode_capture(batch.raw).entries] == [e.seq for e in small.events]
    assert batch.meta["recoveries"] == 0
    boluses_match(list(batch.records), small.truth)


def test_single_mode_naks_are_retried() -> None:
    small = build_log(generate(5, start=START, days=1, cgm=False), first_seq=1)
    fault = Fault("nak", seq=small.events[10].seq, times=3)
    with (
        VirtualPump(small.events, firmware="50000", faults=[fault]) as pump,
        TandemPump(
            pump.port,
            **FAST,
        ) as drv,
    ):
        batch = drv.read_history()
    assert batch.meta["read"]["count"] == len(small.events)


def test_too_many_faults_raise_and_leave_no_state(log: PumpLog) -> None:
    seq = log.events[100].seq
    with VirtualPump(log.events, faults=[Fault("bad-checksum", seq=seq, times=9)]) as pump:
        with driver(pump.port, retries=2) as drv, pytest.raises(ProtocolError):
            drv.read_history()
        # three dumps, each resumed at the bad record
        assert [start for start, _ in pump.dumps] == [log.events[0].seq, seq, seq]
        pump.faults.clear()
        with driver(pump.port) as drv:
            retry = drv.read_history()
    assert retry.meta["read"]["count"] == len(log.events)
    assert retry.meta["recoveries"] == 0
    # the failed read stopped its last dump too (2 stops after faults, 1 before raising),
    # so the pump was not left streaming into the next session; the retry adds one
    assert pump.stop_dumps == 4


def test_disconnect_mid_log_then_retry(log: PumpLog) -> None:
    pump = VirtualPump(log.events, faults=[Fault("disconnect", seq=log.events[300].seq)]).start()
    try:
        drv = driver(pump.port)
        with drv, pytest.raises(TransportError):
            drv.read_history()
        port = pump.replug()
        with driver(port) as drv:
            batch = drv.read_history()
    finally:
        pump.stop()
    boluses_match(list(batch.records), log.truth)
    assert batch.meta["read"]["count"] == len(log.events) and batch.meta["recoveries"] == 0
    assert pump.violations == []


def test_pump_that_never_answers_times_out() -> None:
    small = build_log(generate(5, start=START, days=1, cgm=False), first_seq=1)
    faults = [Fault("timeout", command=m.Command.VERSION_REQ, times=9)]
    with (
        VirtualPump(small.events, faults=faults) as pump,
        driver(pump.port) as drv,
        pytest.raises(TransportError) as err,
    ):
        drv.read_history()
    assert err.value.retryable


def test_clock_is_the_trailer_of_the_version_answer() -> None:
    small = build_log(generate(5, start=START, days=1, cgm=False), first_seq=1)
    now = datetime(2025, 3, 2, 9, 30, 15)
    with (
        VirtualPump(small.events, clock=lambda: pump_seconds(now)) as pump,
        TandemPump(
            pump.port,
            **FAST,
        ) as drv,
    ):
        assert drv.read_clock() == now
        assert drv.read_settings().device_time == now


def test_detect_by_usb_ids() -> None:
    ports = [
        SerialPortInfo("/dev/ttyS0", None, None, "ttyS0", None, None, "n/a"),
        SerialPortInfo("/dev/ttyACM1", 0x22A3, 0x0047, "Dexcom", None, None, "USB"),
        SerialPortInfo("/dev/ttyACM0", 0x0483, 0x5740, "t:slim X2", "X", "Tandem", "USB"),
    ]
    found = detect_pumps(ports)
    assert [p.port for p in found if p.recognised] == ["/dev/ttyACM0"]
    assert found[0].port == "/dev/ttyACM0" and "0483:5740" in found[0].reason
