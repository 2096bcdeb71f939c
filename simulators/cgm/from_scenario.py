"""A virtual Dexcom receiver's database filled from a synthetic patient (:class:`Scenario`).

* CGM readings -> EGV records (mg/dL integers; Low as word 39, High as 401, the way the
  receiver stores out-of-range readings); calibrations -> meter records (the receiver's
  meter partition holds the fingersticks entered to calibrate, not every fingerstick,
  so the scenario's ``smbg`` readings are not on the receiver);
* sensor starts/stops -> Insertion Time records (state 7 "started"; a stop after the full
  sensor life is 2 "expired", an earlier one 1 "removed").

Clocks follow :class:`~simulators.cgm.dexcom_receiver.database.ReceiverDatabase`: system
time is UTC, display time the patient's local wall clock, so a DST change shows as the
user moving the display clock. ``until_utc`` cuts the receiver's memory at a moment;
:func:`grow_database` appends what came after (records stay in system-time order).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from drivers._core.records import DeviceEvent, GlucoseSample, Record
from drivers.cgm.dexcom_receiver.layouts import InsertionRecord
from drivers.cgm.dexcom_receiver.messages import RecordType
from drivers.cgm.dexcom_receiver.normalize import receiver_seconds
from simulators.cgm.dexcom_receiver.database import G6, ReceiverDatabase, ReceiverModel
from simulators.patient.scenario import Scenario

UTC_EPOCH = datetime(2009, 1, 1, tzinfo=UTC)
STARTED, REMOVED, EXPIRED = 7, 1, 2
NOT_SET = 0xFFFFFFFF
_EARLIEST = datetime.min.replace(tzinfo=UTC)


def receiver_records(scenario: Scenario) -> list[Record]:
    """What the receiver holds: the CGM's readings, calibrations and sensor events."""
    out: list[Record] = []
    for r in scenario.records:
        if r.device_id != scenario.cgm_id or r.time_utc is None:
            continue
        glucose = isinstance(r, GlucoseSample) and r.sample_type in ("cgm", "calibration")
        sensor = isinstance(r, DeviceEvent) and r.event_type in ("sensor-start", "sensor-stop")
        if glucose or sensor:
            out.append(r)
    return out


def _insertion(
    event: DeviceEvent,
    started: datetime | None,
    life: timedelta,
    model: ReceiverModel,
    transmitter: bytes,
) -> InsertionRecord:
    assert event.time_utc is not None
    sys_s = int((event.time_utc - UTC_EPOCH).total_seconds())
    disp_s = receiver_seconds(event.device_time)
    if event.event_type == "sensor-start":
        state, inserted = STARTED, sys_s
    else:
        full = started is not None and event.time_utc - started >= life - timedelta(minutes=5)
        state = EXPIRED if full else REMOVED
        inserted = NOT_SET  # a session-end record carries no insertion time
    if model.insertion_revision >= 2:
        return InsertionRecord(sys_s, disp_s, inserted, state, 0, transmitter)
    return InsertionRecord(sys_s, disp_s, inserted, state)


def add_scenario(
    db: ReceiverDatabase,
    scenario: Scenario,
    *,
    after_utc: datetime | None = None,
    until_utc: datetime | None = None,
) -> int:
    """Append the receiver records of ``(after_utc, until_utc]``; returns how many."""
    lo, hi = after_utc or _EARLIEST, until_utc or datetime.max.replace(tzinfo=UTC)
    life = timedelta(days=scenario.patient.sensor.session_days)
    transmitter = scenario.patient.cgm[2].encode("ascii", "replace")[:6]
    started: datetime | None = None
    samples: list[GlucoseSample] = []
    added = 0
    for r in receiver_records(scenario):
        assert r.time_utc is not None
        if isinstance(r, DeviceEvent) and r.event_type == "sensor-start":
            started_before, started = started, r.time_utc
        else:
            started_before = started
        if not lo < r.time_utc <= hi:
            continue
        added += 1
        if isinstance(r, GlucoseSample):
            samples.append(r)
        elif isinstance(r, DeviceEvent):
            stop_of = started_before if r.event_type == "sensor-stop" else None
            record = _insertion(r, stop_of, life, db.model, transmitter)
            db.add(RecordType.INSERTION_TIME, record)
    db.add_samples(samples)
    return added


def receiver_database(
    scenario: Scenario,
    model: ReceiverModel = G6,
    *,
    until_utc: datetime | None = None,
    serial: str = "SM00000042",
) -> ReceiverDatabase:
    """A receiver database holding what the scenario's CGM recorded by ``until_utc``."""
    db = ReceiverDatabase(model, serial=serial)
    add_scenario(db, scenario, until_utc=until_utc)
    return db


def grow_database(
    db: ReceiverDatabase, scenario: Scenario, *, after_utc: datetime, until_utc: datetime
) -> int:
    """Append what the CGM recorded in ``(after_utc, until_utc]``; returns how many."""
    return add_scenario(db, scenario, after_utc=after_utc, until_utc=until_utc)
