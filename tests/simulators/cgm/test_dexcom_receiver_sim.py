"""The virtual Dexcom receiver: its bytes, its database, its violation log."""

from __future__ import annotations

from datetime import UTC, datetime

from drivers._core.records import GlucoseSample
from drivers.cgm.dexcom_receiver import messages as m
from drivers.cgm.dexcom_receiver.decode import decode_page
from drivers.cgm.dexcom_receiver.frames import build_frame, frame_length, parse_frame
from drivers.transports.serial import SerialTransport
from simulators.cgm.dexcom_receiver import G4, G5, Fault, ReceiverDatabase, VirtualReceiver
from simulators.cgm.dexcom_receiver.database import egv_word


def _sample(
    minute: int, mgdl: float | None, special: str | None = None, **kw: object
) -> GlucoseSample:
    return GlucoseSample(
        device_id="x",
        source_index=str(minute),
        device_time=datetime(2025, 1, 1, 8, minute),
        time_utc=datetime(2025, 1, 1, 14, minute, tzinfo=UTC),
        sample_type="cgm",
        glucose_mgdl=mgdl,
        special=special,
        **kw,
    )  # type: ignore[arg-type]


def _ask(port: SerialTransport, code: int, payload: bytes = b"") -> tuple[int, bytes]:
    port.write(build_frame(code, payload))  # raw frames: the simulator, not the driver, is tested
    head = port.read_exact(4)
    frame = parse_frame(head + port.read_exact(frame_length(head) - 4))
    return frame.code, frame.payload


def test_glucose_words() -> None:
    assert egv_word(_sample(0, 123.4)) == 123
    assert egv_word(_sample(0, None, "low")) == 39
    assert egv_word(_sample(0, None, "high")) == 401
    assert egv_word(_sample(0, None, "warmup")) == 5
    assert (
        egv_word(_sample(0, None, "sensor-error", annotations=("cgm/dexcom-error-12-bad-rf",)))
        == 12
    )


def test_records_carry_both_clocks() -> None:
    db = ReceiverDatabase(G5)
    db.add_samples([_sample(5, 100.0), _sample(0, 90.0)])
    first, second = db.records[m.RecordType.EGV_DATA]
    assert first.disp_s - first.sys_s == -6 * 3600  # display = local, system = UTC
    assert (first.glucose_word, second.glucose_word) == (90, 100)  # system-time order
    assert first.system_time_s == first.sys_s  # rev 4 layout fields filled


def test_pages_stay_byte_identical_as_the_partition_grows() -> None:
    db = ReceiverDatabase(G4, first_page=7, first_index=70)
    db.add_samples([_sample(i, 100.0 + i) for i in range(40)])
    full = db.page(m.RecordType.EGV_DATA, 7)
    db.add_samples([_sample(50, 150.0)])
    assert db.page(m.RecordType.EGV_DATA, 7) == full
    assert db.page_range(m.RecordType.EGV_DATA) == m.PageRange(7, 8)
    last = decode_page(db.page(m.RecordType.EGV_DATA, 8), record_type=4, page_number=8)
    assert [i for i, _ in last.records] == [108, 109, 110]


def test_answers_and_violations_on_the_wire() -> None:
    db = ReceiverDatabase(G4)
    db.add_samples([_sample(0, 100.0)])
    before = {k: list(v) for k, v in db.records.items()}
    with VirtualReceiver(db) as virtual, SerialTransport(virtual.port) as port:
        port.write(build_frame(m.Command.PING))
        assert port.read_exact(6) == bytes.fromhex("01 06 00 01 35 D4")  # protocols.md §2.3
        assert _ask(port, m.Command.ERASE_DATABASE) == (m.ResponseCode.INVALID_COMMAND, b"")
        assert _ask(port, m.Command.WRITE_SYSTEM_TIME, bytes(4))[0] == 3
        assert _ask(port, 0x33, bytes(4))[0] == 3  # sent by Dexcom's own software; not ours
        assert _ask(port, m.Command.READ_DATABASE_PAGE_RANGE, b"\x0b") == (1, b"\xff" * 8)
        assert _ask(port, m.Command.READ_DATABASE_PAGES, m.pages_payload(4, 99, 1))[0] == 4
        code, payload = _ask(port, m.Command.READ_DATABASE_PAGES, m.pages_payload(4, 100, 1))
        assert code == 1 and len(payload) == 528
        code, header = _ask(
            port, m.Command.READ_DATABASE_PAGE_HEADER, m.page_header_payload(4, 100)
        )
        assert header == payload[:28]
    assert virtual.violations == [m.Command.ERASE_DATABASE, m.Command.WRITE_SYSTEM_TIME, 0x33]
    assert db.records == before


def test_faults_hit_the_nth_occurrence() -> None:
    with (
        VirtualReceiver(ReceiverDatabase(G4), faults=[Fault("nak", m.Command.PING, nth=2)]) as (
            virtual
        ),
        SerialTransport(virtual.port) as port,
    ):
        assert [_ask(port, m.Command.PING)[0] for _ in range(3)] == [1, 2, 1]
