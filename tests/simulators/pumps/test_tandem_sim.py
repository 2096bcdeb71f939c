"""The virtual pump: protocol violations are recorded, the log is a ring, the
generator is seeded and its input is a plain event list."""

from __future__ import annotations

import os
import select
import time
from datetime import datetime, timedelta

from drivers.pumps.tandem import messages as m
from drivers.pumps.tandem.frames import build_frame, split_frames
from simulators.pumps.tandem import (
    Bolus,
    HistoryEvent,
    ScheduledRate,
    SiteChange,
    VirtualPump,
    build_log,
    generate,
)

START = datetime(2025, 3, 1)


def _ask(port: str, frame: bytes) -> list[m.CommandAck]:
    fd = os.open(port, os.O_RDWR | os.O_NOCTTY)
    try:
        os.write(fd, frame)
        buf = b""
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if ready:
                buf += os.read(fd, 1024)
                frames, _, _ = split_frames(buf)
                if frames:
                    return [m.CommandAck.decode(f.payload) for f in frames]
        return []
    finally:
        os.close(fd)


def test_ids_off_the_allow_list_are_recorded_and_refused() -> None:
    log = build_log([ScheduledRate(START, 0.8)], first_seq=1)
    with VirtualPump(log.events) as pump:
        for msg_id in (0x9E, 0xB2, 230, 124):  # BLE bolus opcode, GLOBALS, AA_INFO, 0x7C
            assert _ask(pump.port, build_frame(msg_id)) == [m.CommandAck(msg_id, 0)]
    assert pump.violations == [0x9E, 0xB2, 230, 124]


def test_ring_capacity_moves_the_oldest_sequence_number() -> None:
    log = build_log(generate(1, start=START, days=1), first_seq=100)
    pump = VirtualPump(log.events, capacity=50)
    size = pump.log_size()
    assert (size.entries, size.end_seq - size.start_seq + 1) == (50, 50)
    assert size.end_seq == log.events[-1].seq and size.start_seq > 100


def test_generator_is_seeded_and_log_is_written_from_plain_events() -> None:
    assert generate(4, start=START, days=2) == generate(4, start=START, days=2)
    assert generate(4, start=START, days=2) != generate(5, start=START, days=2)
    plan: list[HistoryEvent] = [
        ScheduledRate(START, 1.0),
        Bolus(START + timedelta(hours=1), 2.5, carbs_g=25, food_u=2.5),
        SiteChange(START + timedelta(hours=2)),
        ScheduledRate(START + timedelta(hours=3), 0.5),
    ]
    log = build_log(plan, first_seq=9)
    assert [e.seq for e in log.events] == list(range(9, 9 + len(log.events)))
    ids = [e.ID for e in log.events]
    assert ids == [3, 64, 65, 66, 55, 20, 33, 63, 61, 3]
    assert [(s.duration_s, s.rate_u_per_h) for s in log.truth.segments] == [(3 * 3600, 1.0)]
    assert len(log.truth.boluses) == 1 and len(log.truth.site_changes) == 1
