"""Many gateways drain at once into one care record through the real broker: every
record arrives exactly once, nothing is rejected, and every message's latency is known.

Default: 10 gateways (10 sites, 19 patients) x 3 days of 5-min CGM in messages of 100
records (~15,000 records, ~160 messages), then 5 live syncs of one reading per patient
and message; ``pytest --long``: the benchmark's 50 gateways (99 patients) x 30 days in
the gateway's own 500-record messages (~833,000 records), then 30 live syncs. The broker
runs with the queue limits of ``deploy/mosquitto/glucogate.conf``. The figures themselves
(throughput, latency percentiles, CPU, memory) are measured by
``bench/care_record_load_bench.py``; this test times nothing against a limit.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bench.care_record_load_bench import (
    IntakeTimes,
    SiteTally,
    broker_conf,
    build_backlog,
    drain_all,
    instrument_intake,
    latencies,
    live_all,
    percentile,
    plan,
    record_tally,
    tally,
)
from gateway.publish.mqtt import BrokerConfig
from gateway.record.service import subscribe
from gateway.record.store import CareRecordStore
from gateway.store.sqlite import Store
from tests.harness.services import Mosquitto, services_required


def test_checksum_tells_a_changed_value_a_lost_and_a_doubled_record() -> None:
    rows = [
        ("site-a", "p-aaaaaaaaaaaaaaaa", "glucose", "egv:X:1", "101.0"),
        ("site-a", "p-aaaaaaaaaaaaaaaa", "glucose", "egv:X:2", "104.0"),
        ("site-b", "p-bbbbbbbbbbbbbbbb", "glucose", "egv:X:1", "101.0"),
    ]
    base = tally(rows)
    assert {s: t.count for s, t in base.items()} == {"site-a": 2, "site-b": 1}
    assert tally(list(reversed(rows))) == base  # order does not matter
    changed = [*rows[:1], (*rows[1][:4], "105.0"), rows[2]]
    assert tally(changed)["site-a"] != base["site-a"]
    assert tally(changed)["site-b"] == base["site-b"]
    doubled = tally([*rows, rows[0]])["site-a"]
    assert doubled.count == 3 and doubled.checksum != base["site-a"].checksum
    # a lost row and a doubled one do not cancel out in the checksum
    swapped = tally([rows[0], rows[0], rows[2]])["site-a"]
    assert swapped.count == 2 and swapped.checksum != base["site-a"].checksum
    assert isinstance(base["site-a"], SiteTally)


@pytest.mark.services
@pytest.mark.timeout(1800)  # --long: ~3 minutes on 2 cores; the default run ~10 s
def test_many_gateways_into_one_care_record_exactly_once(
    tmp_path: Path,
    request: pytest.FixtureRequest,
    record_property: Callable[[str, object], None],
) -> None:
    long = bool(request.config.getoption("--long"))
    gateways, days, per_message = (50, 30, 500) if long else (10, 3, 100)
    rounds, interval_s = (30, 1.0) if long else (5, 0.2)
    specs = plan(tmp_path, gateways=gateways, days=days, per_message=per_message)
    backlog = build_backlog(
        specs, processes=(os.cpu_count() or 1) if long else 1, live_readings=rounds
    )
    patients = sum(s.patients for s in specs)
    assert patients == (99 if long else 19)  # gateways of 1, 2, 3, 1, 2, ... patients
    # 288 slots a day; the sensor's warm-up and dropouts leave out a few percent
    assert backlog.records > 0.85 * 288 * days * patients
    assert backlog.live_messages == rounds * patients
    try:
        broker = Mosquitto(tmp_path / "broker", extra_conf=broker_conf()).start()
    except FileNotFoundError as exc:
        if services_required():
            raise
        pytest.skip(str(exc))
    store = CareRecordStore(tmp_path / "record.sqlite")
    try:
        sub, intake = subscribe(
            BrokerConfig("127.0.0.1", broker.port), store, client_id="care-record-load"
        )
        times = IntakeTimes()
        expected = backlog.messages + backlog.live_messages
        done = instrument_intake(sub, times, expected)
        # first every gateway's backlog at once, then live syncs: one reading per
        # patient per round, one record per message, the gateways staggered
        runs, _released = drain_all(specs, broker.port)
        deadline = time.monotonic() + (1800 if long else 120)
        while len(times.stored) < backlog.messages and time.monotonic() < deadline:
            time.sleep(0.05)  # the care record has the backlog: live latency is its own
        live_runs, _released = live_all(specs, backlog, broker.port, interval_s=interval_s)
        assert [r.error for r in [*runs, *live_runs] if r.error] == []
        done.wait(timeout=1800 if long else 120)
        sub.stop()
    finally:
        broker.stop()

    # the gateways: every message acknowledged and marked sent
    for spec, run, live_run in zip(specs, runs, live_runs, strict=True):
        with Store(spec.db) as gw:
            assert gw.outbox_pending() == 0
            assert run.sent + live_run.sent == len(gw.outbox_messages())
    sent_keys = {k for run in [*runs, *live_runs] for k in run.acked}
    assert len(sent_keys) == expected
    # the care record: every message stored, none rejected or failed
    assert set(times.stored) == sent_keys
    assert store.rejected() == []
    assert sub.failed == 0
    assert intake.accepted == times.messages >= expected
    # every record exactly once: per-site counts and checksums of (site, patient, kind,
    # source_index, value) equal at both ends (the UNIQUE key rules out extra rows,
    # the counts rule out lost ones, the checksums changed or misfiled ones)
    got = record_tally(store)
    want = backlog.all_sites()
    assert {s: t.count for s, t in got.items()} == {s: t.count for s, t in want.items()}
    assert got == want
    with store.lock:
        total = store.db.execute("SELECT count(*) FROM records").fetchone()[0]
    assert total == backlog.records + backlog.live_messages
    store.close()

    # latency per message (PUBACK at the gateway -> batch stored), reported, not judged
    for name, phase_runs, n in (
        ("backlog", runs, backlog.messages),
        ("live", live_runs, backlog.live_messages),
    ):
        lat = latencies(phase_runs, times.stored)
        assert len(lat) == n
        p50, p99 = percentile(lat, 50), percentile(lat, 99)
        assert math.isfinite(p99) and math.isfinite(max(lat))
        record_property(f"{name}_latency_p99_ms", round(p99 * 1000, 1))
        print(
            f"load {name}: {gateways} gateways, {n:,} messages; latency PUBACK->stored"
            f" p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max {max(lat) * 1000:.0f} ms"
        )
