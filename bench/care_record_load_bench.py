"""Care-record load benchmark: many gateways' CGM backlogs into one care record.

Data: ``GATEWAYS`` simulated gateways (50), spread over ``SITES`` sites (10), each with
its own SQLite store and 1-3 patients (gateway ``g`` has ``1 + g % 3``: 99 patients in
all), each patient ``DAYS`` days (30) of 5-min CGM from ``simulators.patient``
(preset ``well_controlled``; sensor warm-up and dropouts leave ~8,500 readings of the
8,640 slots), device ids distinct per patient. The readings are ingested into each
gateway's store with their outbox messages, as the gateway builds them (records in
batches of 500 per message, device serials pseudonymised): the backlog of a month
without a broker. Then, in one run on this machine, against a private Mosquitto on
loopback with the queue and TCP settings of ``deploy/mosquitto/glucogate.conf``
(``tests/harness/services.py``):

(a) **glucogate**: every gateway (its own ``Publisher`` and thread) drains its outbox
    concurrently (QoS 1, two chunks in flight, marked sent on PUBACK) into one care
    record, a separate process running the real intake (``gateway.record.service.
    subscribe``: JSON Schema validation, topic/payload checks, ``CareRecordStore`` on
    SQLite WAL) subscribed to every site;
(b) **peer**: the same 50 gateways drain copies of the same outboxes into a bare
    paho-mqtt subscriber (a separate process) that only counts messages: the ceiling of
    this broker, client library and machine;
(c) **live**: then every gateway syncs like a home hub, once per ``--live-interval``
    (1 s; 5 min in life), gateways staggered over the interval: each patient's next
    reading is ingested and sent as its own message (99 readings/s in all, 300 times a
    real fleet's rate), into the same care record, now holding the month.

Measured: records/s and messages/s end to end (first publish to last row stored),
latency per message = (time the care record stored the batch) - (time the gateway got
the broker's PUBACK for it), keyed by topic + batch index + first source index (the
payload carries no timestamp and its schema is not changed for this), p50/p95/p99/max;
CPU time and peak RSS of the care record process, CPU of the broker. A backlog burst is
a queueing test: the latency it reports is mostly the time a batch waits behind the
others at the care record; the live phase gives the latency of an unsaturated care
record. Every record is checked to arrive exactly once (per-site counts and checksums at
both ends). Last, the intake is profiled on a sample of the same payloads in one thread
(JSON parse, schema validation, SQLite insert) with candidate speed-ups timed beside it;
``--validator`` reruns the whole benchmark with another validator library swapped into
the care record (a what-if; those libraries are not dependencies: put them on
``PYTHONPATH``).

Run: ``.venv/bin/python bench/care_record_load_bench.py [--gateways 50 --days 30]``
(needs mosquitto: ``make test`` installs it; ~3 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing as mp
import os
import re
import resource
import shutil
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from drivers._core.records import Record
from drivers._core.timebase import resolve_times
from gateway.identity import patient_pseudonym
from gateway.publish.messages import (
    RECORDS_PER_MESSAGE,
    Message,
    load_schema,
    record_messages,
)
from gateway.publish.mqtt import BrokerConfig, Publisher
from gateway.record.service import subscribe
from gateway.record.store import CareRecordStore
from gateway.store.sqlite import Store
from simulators.patient.presets import well_controlled
from simulators.patient.scenario import Scenario

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the broker harness of tests/
from tests.harness.services import Mosquitto

GATEWAYS = 50
SITES = 10
DAYS = 30
TZ = "UTC"
START = date(2026, 3, 2)

SHIPPED_CONF = Path(__file__).resolve().parents[1] / "deploy/mosquitto/glucogate.conf"


def broker_conf() -> str:
    """The queue and socket settings of the shipped ``deploy/mosquitto/glucogate.conf``
    (stock Mosquitto queues 1,000 QoS 1 messages per client, then drops the rest)."""
    text = SHIPPED_CONF.read_text()
    lines = re.findall(r"^(?:max_queued_messages|max_queued_bytes|set_tcp_nodelay) .*$", text, re.M)
    if len(lines) != 3:
        raise RuntimeError(f"{SHIPPED_CONF} no longer sets the queue limits this bench uses")
    return "\n".join(lines) + "\n"


_KEY = re.compile(r'"batch":\{"index":(\d+),.*?"source_index":"([^"]*)"')
Key = tuple[str, int, str]
"""A message's identity on both sides: (topic, batch index, first record's source_index)."""


def message_key(topic: str, payload: str | bytes) -> Key | None:
    """(topic, batch index, first source_index) of a records message; ``None`` for others.

    The batch object and the first record come first in every payload
    (``gateway.publish.messages.record_messages``), so only its head is searched. The
    source index tells apart the one-reading messages of live syncs (all batch 0).
    """
    if not topic.endswith("/records"):
        return None
    head = payload[:1000]
    text = head.decode("utf-8", "replace") if isinstance(head, bytes) else head
    found = _KEY.search(text)
    return None if found is None else (topic, int(found.group(1)), found.group(2))


# -- the gateways' backlogs ----------------------------------------------------------
@dataclass(frozen=True, slots=True)
class GatewaySpec:
    """One simulated gateway: where its store lives and what it holds."""

    index: int
    site: str
    gateway_id: str
    patients: int
    days: int
    db: Path
    per_message: int = RECORDS_PER_MESSAGE

    @property
    def secret(self) -> bytes:
        return f"load-secret-{self.site}-0123456789abcdef".encode()


def plan(
    workdir: Path,
    *,
    gateways: int,
    days: int,
    sites: int = SITES,
    per_message: int = RECORDS_PER_MESSAGE,
) -> list[GatewaySpec]:
    """``gateways`` gateways over ``sites`` sites, gateway ``g`` with ``1 + g % 3`` patients."""
    return [
        GatewaySpec(
            index=g,
            site=f"site-{g % sites:02d}",
            gateway_id=f"gw-{g:03d}",
            patients=1 + g % 3,
            days=days,
            db=workdir / f"gateway-{g:03d}.sqlite",
            per_message=per_message,
        )
        for g in range(gateways)
    ]


Row = tuple[str, str, str, str, str]
"""(site, patient pseudonym, kind, source_index, glucose value) of one record."""


def row_hash(row: Row) -> int:
    """A 128-bit hash of a record's identity and value."""
    return int.from_bytes(hashlib.blake2b("\x1f".join(row).encode(), digest_size=16).digest())


@dataclass(slots=True)
class SiteTally:
    """Count and order-independent multiset checksum (sum of row hashes mod 2**128)."""

    count: int = 0
    checksum: int = 0

    def add(self, row: Row) -> None:
        self.count += 1
        self.checksum = (self.checksum + row_hash(row)) % (1 << 128)


def tally(rows: Iterable[Row]) -> dict[str, SiteTally]:
    """Per-site count and checksum of ``rows``."""
    out: dict[str, SiteTally] = defaultdict(SiteTally)
    for row in rows:
        out[row[0]].add(row)
    return dict(out)


def _value(mgdl: float | None) -> str:
    return "none" if mgdl is None else repr(float(mgdl))


@dataclass(frozen=True, slots=True)
class Built:
    """One gateway's backlog (counts, tally) and its readings kept for live syncs."""

    records: int
    messages: int
    bytes: int
    sites: dict[str, SiteTally]
    live: list[tuple[str, list[Record]]]  # (local patient id, next readings) per patient
    live_sites: dict[str, SiteTally]


def _record_row(site: str, pseudonym: str, rec: Record) -> Row:
    return (site, pseudonym, rec.kind, rec.source_index, _value(getattr(rec, "glucose_mgdl", None)))


def _outbox(
    spec: GatewaySpec, pseudonym: str, per_message: int
) -> Callable[[list[Record]], Iterable[Message]]:
    """What ``messages_for(config, patient, secret)`` queues, at any batch size."""

    def make(new: list[Record]) -> Iterable[Message]:
        return record_messages(
            new,
            secret=spec.secret,
            site=spec.site,
            pseudonym=pseudonym,
            gateway_id=spec.gateway_id,
            per_message=per_message,
        )

    return make


def _local_id(spec: GatewaySpec, k: int) -> str:
    return f"{spec.gateway_id}-patient-{k}"


def build_gateway(spec: GatewaySpec, live_readings: int = 0) -> Built:
    """Fill the gateway's store and outbox with ``spec.days`` days per patient; keep the
    next ``live_readings`` readings of each patient for :func:`live_all`."""
    rows: list[Row] = []
    live_rows: list[Row] = []
    live: list[tuple[str, list[Record]]] = []
    with Store(spec.db) as store:
        for k in range(spec.patients):
            local = _local_id(spec, k)
            sc = Scenario(
                well_controlled(),
                days=spec.days + (1 if live_readings else 0),
                seed=1000 * spec.index + k,
                tz=TZ,
                start=START,
            )
            # the CGM's readings only; a serial of its own per patient (same preset, same
            # simulated serial otherwise)
            cgm = [
                r.evolve(device_id=f"{r.device_id}{spec.index:03d}{k}")
                for r in sc.records
                if r.device_id == sc.cgm_id and r.kind == "glucose"
            ]
            every = resolve_times(cgm, TZ)
            end = datetime(START.year, START.month, START.day, tzinfo=UTC) + timedelta(
                days=spec.days
            )
            records = [r for r in every if r.time_utc is not None and r.time_utc < end]
            later = every[len(records) : len(records) + live_readings]
            assert len(later) == live_readings
            patient = store.patient(local, patient_pseudonym(spec.secret, spec.site, local), TZ)
            live.append((local, later))
            live_rows.extend(_record_row(spec.site, patient.pseudonym, r) for r in later)
            store.ingest(
                patient,
                records,
                raw=local.encode(),
                fmt="bench",
                devices={r.device_id: "bench cgm" for r in records},
                messages=_outbox(spec, patient.pseudonym, spec.per_message),
            )
            rows.extend(_record_row(spec.site, patient.pseudonym, r) for r in records)
        messages = store.outbox_messages()
        size = sum(len(m.payload) for m in messages)
    return Built(len(rows), len(messages), size, tally(rows), live, tally(live_rows))


@dataclass(slots=True)
class Backlog:
    specs: list[GatewaySpec]
    records: int = 0
    messages: int = 0
    bytes: int = 0
    sites: dict[str, SiteTally] = field(default_factory=dict)
    live: list[list[tuple[str, list[Record]]]] = field(default_factory=list)  # per gateway
    live_sites: dict[str, SiteTally] = field(default_factory=dict)

    @property
    def live_messages(self) -> int:
        """One message per live reading (a hub syncing every reading as it comes)."""
        return sum(len(readings) for gw in self.live for _, readings in gw)

    def all_sites(self) -> dict[str, SiteTally]:
        """Backlog and live readings together: what the care record holds at the end."""
        return merge(self.sites, self.live_sites)


def merge(*tallies: dict[str, SiteTally]) -> dict[str, SiteTally]:
    """Per-site tallies added up."""
    out: dict[str, SiteTally] = {}
    for part in tallies:
        for site, t in part.items():
            mine = out.setdefault(site, SiteTally())
            mine.count += t.count
            mine.checksum = (mine.checksum + t.checksum) % (1 << 128)
    return out


def build_backlog(
    specs: Sequence[GatewaySpec], *, processes: int = 1, live_readings: int = 0
) -> Backlog:
    """Build every gateway's store (in ``processes`` worker processes)."""
    args = [(s, live_readings) for s in specs]
    if processes > 1:
        with mp.get_context("spawn").Pool(processes) as pool:
            results = pool.starmap(build_gateway, args)
    else:
        results = [build_gateway(*a) for a in args]
    backlog = Backlog(list(specs))
    for built in results:
        backlog.records += built.records
        backlog.messages += built.messages
        backlog.bytes += built.bytes
        backlog.live.append(built.live)
    backlog.sites = merge(*(b.sites for b in results))
    backlog.live_sites = merge(*(b.live_sites for b in results))
    return backlog


# -- the gateways' side: drain concurrently, stamp every PUBACK ----------------------
@dataclass(slots=True)
class GatewayRun:
    """What one gateway's drain saw: per-message publish-call and PUBACK times."""

    sent: int = 0
    published: dict[Key, float] = field(default_factory=dict)
    acked: dict[Key, float] = field(default_factory=dict)
    error: str | None = None


def _instrument(pub: Publisher, run: GatewayRun) -> None:
    """Stamp each records message's publish() call and its PUBACK (paho's on_publish)."""
    by_mid: dict[int, Key] = {}
    ack_by_mid: dict[int, float] = {}
    lock = threading.Lock()
    original = pub.client.publish

    def publish(
        topic: str, payload: Any = None, qos: int = 0, retain: bool = False, properties: Any = None
    ) -> mqtt.MQTTMessageInfo:
        t = time.time()
        info = original(topic, payload, qos, retain, properties)
        key = message_key(topic, payload) if payload is not None else None
        if key is not None:
            with lock:
                run.published[key] = t
                by_mid[info.mid] = key
                if info.mid in ack_by_mid:  # the PUBACK beat us here
                    run.acked[key] = ack_by_mid.pop(info.mid)
        return info

    def on_publish(client: mqtt.Client, userdata: object, mid: int, *rest: object) -> None:
        t = time.time()
        with lock:
            key = by_mid.pop(mid, None)
            if key is None:
                ack_by_mid[mid] = t
            else:
                run.acked[key] = t

    pub.client.publish = publish  # type: ignore[method-assign]
    pub.client.on_publish = on_publish


GatewayBody = Callable[[int, Store, Publisher, GatewayRun, float], None]
"""What one gateway thread does once connected: (index, store, publisher, run, start)."""


def _gateways(
    specs: Sequence[GatewaySpec], port: int, body: GatewayBody, dbs: Sequence[Path] | None
) -> tuple[list[GatewayRun], float]:
    """One thread per gateway: open its store, connect, wait for all (a barrier), run
    ``body``; returns the runs and the wall time (epoch s) the barrier released them."""
    runs = [GatewayRun() for _ in specs]
    barrier = threading.Barrier(len(specs) + 1)
    cfg = BrokerConfig("127.0.0.1", port, timeout_s=600)

    def one(i: int) -> None:
        spec, run = specs[i], runs[i]
        db = spec.db if dbs is None else dbs[i]
        try:
            with (
                Store(db) as store,
                Publisher(cfg, site=spec.site, gateway_id=spec.gateway_id) as pub,
            ):
                _instrument(pub, run)
                barrier.wait()
                body(i, store, pub, run, time.monotonic())
        except Exception as exc:  # reported, and the counts then fail
            run.error = repr(exc)
            barrier.abort()

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(len(specs))]
    for t in threads:
        t.start()
    barrier.wait()
    released = time.time()
    for t in threads:
        t.join()
    return runs, released


def drain_all(
    specs: Sequence[GatewaySpec], port: int, *, dbs: Sequence[Path] | None = None
) -> tuple[list[GatewayRun], float]:
    """Every gateway connects, then all drain their backlogs at once."""

    def body(i: int, store: Store, pub: Publisher, run: GatewayRun, start: float) -> None:
        run.sent = pub.drain(store)

    return _gateways(specs, port, body, dbs)


def live_all(
    specs: Sequence[GatewaySpec], backlog: Backlog, port: int, *, interval_s: float
) -> tuple[list[GatewayRun], float]:
    """Every gateway syncs like a home hub, ``interval_s`` apart (5 min in life): each
    patient's next reading is ingested (one record, one message, the hub's worst case
    for per-message cost) and the outbox drained. Gateways are staggered evenly over
    the interval, as hubs that were switched on at different times are."""

    def body(i: int, store: Store, pub: Publisher, run: GatewayRun, start: float) -> None:
        spec = specs[i]
        patients = [
            (store.patient(local, patient_pseudonym(spec.secret, spec.site, local), TZ), readings)
            for local, readings in backlog.live[i]
        ]
        rounds = max((len(r) for _, r in patients), default=0)
        for n in range(rounds):
            due = start + (i / len(specs) + n) * interval_s
            time.sleep(max(0.0, due - time.monotonic()))
            for patient, readings in patients:
                if n >= len(readings):
                    continue
                reading = readings[n]
                store.ingest(
                    patient,
                    [reading],
                    raw=f"{patient.pseudonym} live {n}".encode(),
                    fmt="bench-live",
                    devices={reading.device_id: "bench cgm"},
                    messages=_outbox(spec, patient.pseudonym, 1),
                )
            run.sent += pub.drain(store)

    return _gateways(specs, port, body, None)


# -- the care record's side ----------------------------------------------------------
@dataclass(slots=True)
class IntakeTimes:
    """Per-message receive (handler entered) and stored (handler returned) times."""

    received: dict[Key, float] = field(default_factory=dict)
    stored: dict[Key, float] = field(default_factory=dict)
    duplicates: int = 0
    messages: int = 0


def instrument_intake(sub: Any, times: IntakeTimes, expected: int) -> threading.Event:
    """Wrap a running subscription's handler to stamp every records message; returns
    an event set once ``expected`` distinct messages are stored."""
    inner = sub.handler
    done = threading.Event()

    def handler(topic: str, payload: bytes, retained: bool) -> None:
        t0 = time.time()
        inner(topic, payload, retained)
        t1 = time.time()
        key = message_key(topic, payload)
        if key is None:
            return
        times.messages += 1
        if key in times.stored:
            times.duplicates += 1  # QoS 1 redelivery: stored once, timed at first
        else:
            times.received[key] = t0
            times.stored[key] = t1
        if len(times.stored) >= expected:
            done.set()

    sub.handler = handler
    return done


def record_tally(store: CareRecordStore) -> dict[str, SiteTally]:
    """Per-site count and checksum of the care record's rows."""
    with store.lock:
        cur = store.db.execute(
            "SELECT site, patient, kind, source_index, json_extract(payload, '$.glucose_mgdl')"
            " FROM records"
        )
        return tally((s, p, k, i, _value(v)) for s, p, k, i, v in cur)


def _status_kb(field: str) -> int:
    """``VmRSS`` (resident now) or ``VmHWM`` (peak resident) of this process, in KiB
    (``ru_maxrss`` is not used: after fork+exec it can report the parent's peak)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


class _SwappedValidator:
    """A what-if: another library's compiled validator of the same schema behind the
    ``validate`` of ``jsonschema`` (failures re-raised as its ``ValidationError``)."""

    def __init__(self, library: str) -> None:
        schema = load_schema("records")
        if library == "fastjsonschema":
            import fastjsonschema  # type: ignore[import-not-found]

            self._check = fastjsonschema.compile(schema, use_formats=False)
        elif library == "jsonschema-rs":
            import jsonschema_rs  # type: ignore[import-not-found]

            self._check = jsonschema_rs.Draft202012Validator(
                schema, validate_formats=False
            ).validate
        else:
            raise ValueError(f"unknown validator {library!r}")

    def validate(self, doc: Any) -> None:
        from jsonschema import ValidationError

        try:
            self._check(doc)
        except Exception as exc:
            raise ValidationError(str(exc)) from exc


def care_record_process(
    port: int,
    db: str,
    expected: int,
    ready: Any,
    results: Any,
    bare: bool,
    validator: str = "jsonschema",
) -> None:
    """The care record (or, with ``bare``, a counting paho subscriber) in its own
    process; puts its timings, CPU and peak RSS on ``results``. ``validator`` other
    than ``jsonschema`` swaps the records schema's validator (a what-if, not shipped)."""
    if validator != "jsonschema":
        from gateway.record import service

        service._VALIDATORS["records"] = _SwappedValidator(validator)  # type: ignore[assignment]
    times = IntakeTimes()
    rss_idle = _status_kb("VmRSS")
    if bare:
        done = threading.Event()
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id="bench-bare-subscriber",
            clean_session=False,
        )
        subscribed = threading.Event()

        def on_message(c: mqtt.Client, u: object, msg: mqtt.MQTTMessage) -> None:
            t = time.time()
            key = message_key(msg.topic, bytes(msg.payload[:1000]))
            if key is not None:
                times.messages += 1
                times.received.setdefault(key, t)
                times.stored.setdefault(key, t)
                if len(times.stored) >= expected:
                    done.set()

        client.on_message = on_message
        client.on_connect = lambda c, *a: c.subscribe("glucogate/v1/+/#", 1)
        client.on_subscribe = lambda *a: subscribed.set()
        client.connect("127.0.0.1", port)
        client.loop_start()
        subscribed.wait(10)
        cpu0 = _cpu_s()
        ready.set()
        done.wait(3600)
        cpu = _cpu_s() - cpu0
        client.disconnect()
        client.loop_stop()
        rows: dict[str, tuple[int, int]] = {}
        rejected: list[tuple[str, str]] = []
        failed = 0
    else:
        store = CareRecordStore(db)
        sub, _intake = subscribe(
            BrokerConfig("127.0.0.1", port), store, client_id="bench-care-record"
        )
        done = instrument_intake(sub, times, expected)
        cpu0 = _cpu_s()
        ready.set()
        done.wait(3600)
        cpu = _cpu_s() - cpu0
        sub.stop()
        rows = {s: (t.count, t.checksum) for s, t in record_tally(store).items()}
        rejected = store.rejected()
        failed = sub.failed
        store.close()
    results.put(
        {
            "received": times.received,
            "stored": times.stored,
            "messages": times.messages,
            "duplicates": times.duplicates,
            "cpu_s": cpu,
            "rss_peak_kb": _status_kb("VmHWM"),
            "rss_idle_kb": rss_idle,
            "rows": rows,
            "rejected": rejected,
            "failed": failed,
        }
    )


# -- statistics ----------------------------------------------------------------------
def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by the nearest-rank method (a value that occurred)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))  # ceil(n q / 100), at least 1
    return ordered[int(rank) - 1]


def latencies(runs: Sequence[GatewayRun], stored: dict[Key, float]) -> list[float]:
    """Seconds from each message's PUBACK at its gateway to its batch stored."""
    acked = {k: t for run in runs for k, t in run.acked.items()}
    return [stored[k] - acked[k] for k in acked if k in stored]


def _proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(slots=True)
class Phase:
    name: str
    runs: list[GatewayRun]
    released: float
    result: dict[str, Any]
    broker_cpu_s: float

    @property
    def last_stored(self) -> float:
        return float(max(self.result["stored"].values()))

    @property
    def first_publish(self) -> float:
        return min(t for r in self.runs for t in r.published.values())

    @property
    def seconds(self) -> float:
        """First publish to last batch stored."""
        return self.last_stored - self.first_publish


def run_phase(
    name: str,
    broker: Mosquitto,
    expected_messages: int,
    record_db: Path,
    gateways: Callable[[], tuple[list[GatewayRun], float]],
    *,
    bare: bool,
    validator: str = "jsonschema",
) -> Phase:
    """Start the care record (or the bare subscriber) in its own process, run
    ``gateways`` and wait until the care record has stored ``expected_messages``."""
    ctx = mp.get_context("spawn")
    ready, results = ctx.Event(), ctx.Queue()
    proc = ctx.Process(
        target=care_record_process,
        args=(broker.port, str(record_db), expected_messages, ready, results, bare, validator),
    )
    proc.start()
    if not ready.wait(60):
        raise RuntimeError("care record did not start")
    assert broker.proc is not None
    cpu0 = _proc_cpu_s(broker.proc.pid)
    runs, released = gateways()
    errors = [r.error for r in runs if r.error]
    if errors:
        proc.kill()
        raise RuntimeError(f"gateway errors: {errors[:3]}")
    result = results.get(timeout=3600)
    broker_cpu = _proc_cpu_s(broker.proc.pid) - cpu0
    proc.join(60)
    return Phase(name, runs, released, result, broker_cpu)


# -- (c) profile of the intake -------------------------------------------------------
def profile_intake(payloads: Sequence[tuple[str, bytes]], work: Path) -> dict[str, float]:
    """Seconds per message for each step of ``Intake.handle`` on ``payloads`` (each into
    a fresh store), and for candidate speed-ups of those steps."""
    from gateway.record import service

    validator = service._VALIDATORS["records"]
    out: dict[str, float] = {}
    n = len(payloads)

    t = time.perf_counter()
    docs = [json.loads(p) for _, p in payloads]
    out["json.loads"] = (time.perf_counter() - t) / n

    t = time.perf_counter()
    for d in docs:
        validator.validate(d)
    out["schema validate (jsonschema)"] = (time.perf_counter() - t) / n

    store = CareRecordStore(work / "profile-a.sqlite")
    t = time.perf_counter()
    for (topic, _), d in zip(payloads, docs, strict=True):
        store.add_records(topic.split("/")[2], d["patient"], d["gateway"], d["records"])
    out["CareRecordStore.add_records"] = (time.perf_counter() - t) / n
    store.close()

    store = CareRecordStore(work / "profile-b.sqlite")
    intake = service.Intake(store)
    t = time.perf_counter()
    for topic, p in payloads:
        intake.handle(topic, p, False)
    out["Intake.handle (all of it)"] = (time.perf_counter() - t) / n
    assert intake.accepted == n and not store.rejected()
    store.close()

    # candidate: synchronous=NORMAL under WAL (no fsync per commit; a power cut can lose
    # the last commits, which QoS 1 has already acknowledged to the broker)
    store = CareRecordStore(work / "profile-c.sqlite")
    store.db.execute("PRAGMA synchronous=NORMAL")
    t = time.perf_counter()
    for (topic, _), d in zip(payloads, docs, strict=True):
        store.add_records(topic.split("/")[2], d["patient"], d["gateway"], d["records"])
    out["add_records, PRAGMA synchronous=NORMAL"] = (time.perf_counter() - t) / n
    store.close()

    # candidate: a compiled validator from another library, same schema, formats off
    # as in jsonschema without a format checker (only when importable: neither is a
    # dependency of glucogate)
    schema = load_schema("records")
    try:
        import fastjsonschema  # type: ignore[import-not-found]

        check = fastjsonschema.compile(schema, use_formats=False)
        t = time.perf_counter()
        for d in docs:
            check(d)
        out["schema validate (fastjsonschema)"] = (time.perf_counter() - t) / n
    except ImportError:
        pass
    try:
        import jsonschema_rs  # type: ignore[import-not-found]

        rs = jsonschema_rs.Draft202012Validator(schema, validate_formats=False)
        t = time.perf_counter()
        for d in docs:
            rs.validate(d)
        out["schema validate (jsonschema-rs)"] = (time.perf_counter() - t) / n
    except ImportError:
        pass

    # the json.dumps of every record for the payload column, alone
    t = time.perf_counter()
    for d in docs:
        for r in d["records"]:
            json.dumps(r, separators=(",", ":"))
    out["  of which json.dumps per record"] = (time.perf_counter() - t) / n
    return out


# -- main ----------------------------------------------------------------------------
def _fmt_ms(x: float) -> str:
    return f"{x * 1000:,.0f}"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--gateways", type=int, default=GATEWAYS)
    parser.add_argument("--days", type=int, default=DAYS)
    parser.add_argument("--live-rounds", type=int, default=30, help="live syncs per gateway")
    parser.add_argument("--live-interval", type=float, default=1.0, help="s between syncs")
    parser.add_argument("--profile-messages", type=int, default=100)
    parser.add_argument("--no-peer", action="store_true")
    parser.add_argument(
        "--validator",
        choices=["jsonschema", "fastjsonschema", "jsonschema-rs"],
        default="jsonschema",
        help="what-if: the care record validates records with this library (not installed"
        " by glucogate: put it on PYTHONPATH)",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        specs = plan(work, gateways=args.gateways, days=args.days)
        t0 = time.perf_counter()
        backlog = build_backlog(
            specs, processes=os.cpu_count() or 1, live_readings=args.live_rounds
        )
        build_s = time.perf_counter() - t0
        copies = []
        for spec in specs:  # the peer drains identical outboxes
            copy = spec.db.with_name(spec.db.stem + "-peer.sqlite")
            shutil.copyfile(spec.db, copy)
            copies.append(copy)
        sample: list[tuple[str, bytes]] = []
        per_gateway = max(1, args.profile_messages // len(specs))
        for spec in specs:
            with Store(spec.db) as st:
                sample += [
                    (m.topic, m.payload.encode()) for m in st.outbox_messages()[:per_gateway]
                ]
        broker = Mosquitto(work / "mosquitto", extra_conf=broker_conf()).start()
        record_db = work / "care-record.sqlite"
        try:
            ours = run_phase(
                "backlog",
                broker,
                backlog.messages,
                record_db,
                lambda: drain_all(specs, broker.port),
                bare=False,
                validator=args.validator,
            )
            live = None
            if args.live_rounds:
                live = run_phase(
                    "live",
                    broker,
                    backlog.live_messages,
                    record_db,
                    lambda: live_all(specs, backlog, broker.port, interval_s=args.live_interval),
                    bare=False,
                    validator=args.validator,
                )
            peer = None
            if not args.no_peer:
                peer = run_phase(
                    "peer",
                    broker,
                    backlog.messages,
                    work / "unused.sqlite",
                    lambda: drain_all(specs, broker.port, dbs=copies),
                    bare=True,
                )
        finally:
            broker.stop()
        profile = profile_intake(sample[: args.profile_messages], work)
    report(args, backlog, build_s, ours, live, peer, profile)


def _row(label: str, phase: Phase, records: int, messages: int) -> str:
    lat = latencies(phase.runs, phase.result["stored"])
    return (
        f"{label:<46}{phase.seconds:>7.1f}{records / phase.seconds:>10,.0f}"
        f"{messages / phase.seconds:>8,.0f}"
        + "".join(f"{_fmt_ms(percentile(lat, q)):>8}" for q in (50, 95, 99))
        + f"{_fmt_ms(max(lat)):>8}"
    )


def report(
    args: argparse.Namespace,
    backlog: Backlog,
    build_s: float,
    ours: Phase,
    live: Phase | None,
    peer: Phase | None,
    profile: dict[str, float],
) -> None:
    n_pat = sum(s.patients for s in backlog.specs)
    gws = len(backlog.specs)
    print(
        f"Care-record load: {gws} gateways ({len({s.site for s in backlog.specs})} sites,"
        f" {n_pat} patients) x {args.days} days of 5-min CGM = {backlog.records:,} records in"
        f" {backlog.messages:,} messages ({backlog.bytes / 1e6:,.1f} MB JSON), QoS 1,"
        f" Mosquitto (shipped queue limits) on loopback, {os.cpu_count()} CPUs;"
        f" records validated with {args.validator};"
        f" backlog built in {build_s:.0f} s"
    )
    want = backlog.all_sites() if live is not None else backlog.sites
    final = live if live is not None else ours
    got = {site: SiteTally(c, h) for site, (c, h) in final.result["rows"].items()}
    rejected = len(ours.result["rejected"]) + (len(live.result["rejected"]) if live else 0)
    print(
        f"delivery: {sum(t.count for t in got.values()):,} rows in the care record, per-site"
        f" counts and checksums {'EQUAL' if got == want else 'DIFFER'} at both ends; rejected"
        f" {rejected}, redelivered messages {ours.result['duplicates']}"
    )
    print(
        f"{'':<46}{'s':>7}{'rec/s':>10}{'msg/s':>8}{'p50':>8}{'p95':>8}{'p99':>8}{'max':>8}"
        "  latency ms, PUBACK -> stored"
    )
    print(
        _row(f"glucogate: backlog, {gws} gateways at once", ours, backlog.records, backlog.messages)
    )
    if peer is not None:
        print(
            _row("peer: same drains, bare paho subscriber", peer, backlog.records, backlog.messages)
        )
    if live is not None:
        print(
            _row(
                f"glucogate: live, {n_pat} readings/{args.live_interval:g} s, 1 per msg",
                live,
                backlog.live_messages,
                backlog.live_messages,
            )
        )
    r = ours.result
    print(
        f"care record process (backlog): CPU {r['cpu_s']:.1f} s in {ours.seconds:.1f} s"
        f" ({100 * r['cpu_s'] / ours.seconds:.0f} % of one core;"
        f" {backlog.records / r['cpu_s']:,.0f} records per CPU-second); peak RSS"
        f" {r['rss_peak_kb'] / 1024:.0f} MB (idle after imports {r['rss_idle_kb'] / 1024:.0f}"
        f" MB); broker CPU {ours.broker_cpu_s:.1f} s"
        + (
            f"; peer run: broker {peer.broker_cpu_s:.1f} s, subscriber"
            f" {peer.result['cpu_s']:.1f} s CPU"
            if peer
            else ""
        )
    )
    if live is not None:
        lr = live.result
        print(
            f"care record process (live): CPU {lr['cpu_s']:.1f} s in {live.seconds:.1f} s,"
            f" peak RSS {lr['rss_peak_kb'] / 1024:.0f} MB"
        )
    gw_done = max(t for run in ours.runs for t in run.acked.values()) - ours.first_publish
    print(
        f"backlog: the gateways' drains were all acknowledged after {gw_done:.1f} s; the care"
        f" record stored the last batch after {ours.seconds:.1f} s (latency = queueing)"
    )
    print(f"load average over the last 5 minutes: {os.getloadavg()[1]:.1f}")
    print(
        f"intake profile, {args.profile_messages} messages of the same backlog"
        " (ms per message of 500 records, one thread):"
    )
    for name, sec in profile.items():
        print(f"  {name:<44}{sec * 1000:>8.2f}")


if __name__ == "__main__":
    main()
