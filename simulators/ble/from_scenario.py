"""Virtual BLE devices filled from a synthetic patient (:class:`Scenario`).

* CGM (CGM Service): one :class:`VirtualCgm` per sensor session of the scenario (each
  sensor is its own peripheral with its own Session Start Time: the ``sensor-start``
  event's local time, with the patient's zone and DST offset at that instant). Every CGM
  reading of the session is a CGM Measurement at its minute offset from the start;
  Low/High readings go out as SFLOAT -INF/+INF with the below/above-device-range
  annunciation (CGMS has no field for the 40/400 reporting limit, so it is not sent).
  Warm-up and dropouts are simply absent, as in the truth.
* Meter (Glucose Service): the scenario's fingersticks (``smbg``) with consecutive
  sequence numbers in meter (local wall) time order. A fingerstick taken with a meal
  bolus (a bolus at the same time whose calculator record has carbs) gets a Measurement
  Context: carbohydrate (those grams, 1 g resolution) and meal "preprandial".
* Pump (Insulin Delivery Service): the scenario's pump history (boluses, scheduled and
  temp basal, primes, site changes, reservoir changes, and suspends: a ``suspend``
  basal segment becomes therapy-state stop/run events) as IDD history events, with the
  patient's zone in the Reference Time events. ``until_utc`` cuts each device's memory
  at a moment ("the device as read at that time"); ``grow_*`` adds what came after.

The ``device_id`` the drivers derive from Device Information equals the scenario's
``cgm_id`` / ``pump_id`` (manufacturer, model and serial are the patient's).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from drivers._core.records import BasalSegment, Bolus, DeviceEvent, GlucoseSample, Record
from drivers.ble.gls.decode import GlucoseContext
from drivers.ble.sfloat import decode_sfloat, sfloat_parts
from simulators.ble.cgm import VirtualCgm, measurement_from_sample
from simulators.ble.gatt import Faults
from simulators.ble.meter import VirtualMeter, _carb_id
from simulators.ble.pump import VirtualPump, history_from_records
from simulators.patient.scenario import Scenario

CGM_ADDRESS_PREFIX = "C6:6E:00:00:00:"
METER_ADDRESS = "C6:6E:00:00:01:01"
PUMP_ADDRESS = "C6:6E:00:00:02:01"
MEAL_PREPRANDIAL = 1
_END = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class SensorSession:
    """One sensor wear: its start (UTC), the next sensor's start (or None) and its readings."""

    number: int
    start_utc: datetime
    next_start_utc: datetime | None
    samples: tuple[GlucoseSample, ...]


def zone_offsets(zone: ZoneInfo, at_utc: datetime) -> tuple[int, int]:
    """(standard offset, DST offset) in minutes east of UTC at an instant."""
    local = at_utc.astimezone(zone)
    total, dst = local.utcoffset() or timedelta(), local.dst() or timedelta()
    return int((total - dst).total_seconds()) // 60, int(dst.total_seconds()) // 60


def sensor_sessions(scenario: Scenario) -> list[SensorSession]:
    """The scenario's sensor wears, each with the CGM readings taken during it."""
    starts = [
        r.time_utc
        for r in scenario.records
        if isinstance(r, DeviceEvent) and r.event_type == "sensor-start" and r.time_utc
    ]
    cgm = [r for r in scenario.records if isinstance(r, GlucoseSample) and r.sample_type == "cgm"]
    out = []
    for i, start in enumerate(starts):
        nxt = starts[i + 1] if i + 1 < len(starts) else None
        inside = tuple(
            s for s in cgm if s.time_utc is not None and start <= s.time_utc < (nxt or _END)
        )
        out.append(SensorSession(i + 1, start, nxt, inside))
    return out


def cgm_address(number: int) -> str:
    """Bluetooth address of the ``number``-th sensor (1-based)."""
    return f"{CGM_ADDRESS_PREFIX}{number:02X}"


def virtual_cgms(
    scenario: Scenario,
    *,
    until_utc: datetime | None = None,
    faults: Faults | None = None,
    e2e_crc: bool = True,
) -> list[VirtualCgm]:
    """One CGM Service peripheral per sensor session started by ``until_utc``, holding
    the readings taken by then."""
    zone = ZoneInfo(scenario.tz)
    manufacturer, model, serial = scenario.patient.cgm
    out = []
    for session in sensor_sessions(scenario):
        if until_utc is not None and session.start_utc > until_utc:
            break
        tz_min, dst_min = zone_offsets(zone, session.start_utc)
        start_local = (session.start_utc + timedelta(minutes=tz_min + dst_min)).replace(tzinfo=None)
        kept = [s for s in session.samples if until_utc is None or _at(s) <= until_utc]
        out.append(
            VirtualCgm(
                cgm_address(session.number),
                kept,
                session_start=start_local,
                tz_minutes=tz_min,
                dst_minutes=dst_min,
                e2e_crc=e2e_crc,
                faults=faults,
                serial=serial,
                manufacturer=manufacturer,
                model=model,
            )
        )
    return out


def grow_cgm(cgm: VirtualCgm, scenario: Scenario, until_utc: datetime) -> int:
    """Emit the readings of ``cgm``'s session taken after its newest one, up to
    ``until_utc`` (as a sensor does every 5 minutes); returns how many."""
    start_utc = cgm.start.to_utc(cgm.start.local) if cgm.start.local else None
    session = next(s for s in sensor_sessions(scenario) if s.start_utc == start_utc)
    newest = cgm.measurements[-1].time_offset_min if cgm.measurements else -1
    added = 0
    for sample in session.samples:
        offset = cgm.offset_of(sample)
        if offset > newest and _at(sample) <= until_utc:
            cgm.emit(measurement_from_sample(sample, offset))
            added += 1
    return added


def fingersticks(scenario: Scenario) -> list[GlucoseSample]:
    """The scenario's ``smbg`` samples in meter order (local wall time)."""
    samples = [
        r for r in scenario.records if isinstance(r, GlucoseSample) and r.sample_type == "smbg"
    ]
    return sorted(samples, key=lambda s: s.device_time)


def meal_carbs(scenario: Scenario) -> dict[datetime, float]:
    """Carbs (g) of each bolus calculation with carbs, by the bolus's UTC time."""
    out: dict[datetime, float] = {}
    for r in scenario.records:
        if isinstance(r, Bolus) and r.calculation is not None and r.time_utc is not None:
            carbs = r.calculation.carbs_g
            if carbs:
                out[r.time_utc] = carbs
    return out


def _contexts(
    samples: Sequence[GlucoseSample], carbs: dict[datetime, float], first_sequence: int
) -> dict[int, GlucoseContext]:
    out = {}
    for seq, sample in enumerate(samples, first_sequence):
        grams = carbs.get(_at(sample))
        if grams is not None:
            out[seq] = GlucoseContext(
                seq,
                carb_id=_carb_id(sample.device_time),
                carbs_kg=decode_sfloat(sfloat_parts(round(grams), -3)),
                meal=MEAL_PREPRANDIAL,
            )
    return out


def virtual_meter(
    scenario: Scenario,
    *,
    until_utc: datetime | None = None,
    first_sequence: int = 1,
    molar: bool = False,
    faults: Faults | None = None,
    address: str = METER_ADDRESS,
) -> VirtualMeter:
    """A Glucose Service meter holding the fingersticks taken by ``until_utc``."""
    samples = [s for s in fingersticks(scenario) if until_utc is None or _at(s) <= until_utc]
    contexts = _contexts(samples, meal_carbs(scenario), first_sequence)
    return VirtualMeter(
        address,
        samples,
        molar=molar,
        first_sequence=first_sequence,
        contexts=contexts,
        faults=faults,
    )


def grow_meter(meter: VirtualMeter, scenario: Scenario, until_utc: datetime) -> int:
    """Append the fingersticks taken after the meter's newest one, up to ``until_utc``
    (sequence numbers continue); returns how many."""
    first = meter.entries[0][0].sequence if meter.entries else 1
    full = virtual_meter(scenario, until_utc=until_utc, first_sequence=first, molar=meter.molar)
    newest = meter.entries[-1][0].sequence if meter.entries else first - 1
    new = [e for e in full.entries if e[0].sequence > newest]
    meter.entries.extend(new)
    return len(new)


def pump_records(scenario: Scenario) -> list[Record]:
    """The pump's own history records."""
    return [
        r
        for r in scenario.records
        if r.device_id == scenario.pump_id
        and r.time_utc is not None
        and isinstance(r, (Bolus, BasalSegment, DeviceEvent))
    ]


def _expand_suspends(records: Iterable[Record]) -> list[Record]:
    """A ``suspend`` basal segment becomes a suspend/resume pair of events (IDD
    therapy control state)."""
    out: list[Record] = []
    for r in records:
        if isinstance(r, BasalSegment) and r.basal_type == "suspend":
            out.append(_therapy_event(r, "suspend", timedelta()))
            if r.duration_s is not None:
                out.append(_therapy_event(r, "resume", timedelta(seconds=r.duration_s)))
        else:
            out.append(r)
    return sorted(out, key=_at)


def _therapy_event(segment: BasalSegment, kind: str, after: timedelta) -> DeviceEvent:
    assert segment.time_utc is not None
    return DeviceEvent(
        device_id=segment.device_id,
        source_index=f"{segment.source_index}:{kind}",
        device_time=segment.device_time + after,
        time_utc=segment.time_utc + after,
        utc_offset_s=segment.utc_offset_s,
        event_type=kind,  # type: ignore[arg-type]
    )


def pump_history(records: Iterable[Record]) -> list[tuple[datetime, int, bytes]]:
    """Every IDD history event the pump records imply, in time order."""
    return history_from_records(_expand_suspends(records))


def virtual_pump(
    scenario: Scenario,
    *,
    records: Iterable[Record] | None = None,
    until_utc: datetime | None = None,
    faults: Faults | None = None,
    e2e: bool = True,
    address: str = PUMP_ADDRESS,
) -> VirtualPump:
    """An IDS pump whose history holds the events written by ``until_utc``.

    Args:
        scenario: The synthetic patient.
        records: Pump records to use instead of :func:`pump_records` (e.g. with a
            planted suspend).
        until_utc: The moment the pump is read (None: after the scenario's end).
        faults: Faults to inject.
        e2e: Claim E2E protection.
        address: Bluetooth address.
    """
    manufacturer, model, serial = scenario.patient.pump
    pump = VirtualPump(
        address,
        [],
        zone=ZoneInfo(scenario.tz),
        e2e=e2e,
        faults=faults,
        serial=serial,
        manufacturer=manufacturer,
        model=model,
    )
    history = pump_history(pump_records(scenario) if records is None else records)
    pump.append_history([e for e in history if until_utc is None or e[0] <= until_utc])
    return pump


def grow_pump(
    pump: VirtualPump,
    scenario: Scenario,
    *,
    after_utc: datetime,
    until_utc: datetime,
    records: Iterable[Record] | None = None,
) -> int:
    """Write the history events of ``(after_utc, until_utc]`` into a pump built by
    :func:`virtual_pump` with the same ``records``; returns how many."""
    history = pump_history(pump_records(scenario) if records is None else records)
    new = [e for e in history if after_utc < e[0] <= until_utc]
    pump.append_history(new)
    return len(new)


def _at(record: Record) -> datetime:
    assert record.time_utc is not None, "scenario records are placed in UTC"
    return record.time_utc
