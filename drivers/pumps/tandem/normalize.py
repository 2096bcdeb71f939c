"""Decoded Tandem history events to normalized records (pure).

Input: typed events (:mod:`events`) in sequence order, possibly preceded by the events
carried over from the previous sync (:attr:`Normalized.carry`). Output: records in
device log order (the order of the sequence number of the event that starts each
record), ``device_time`` only -- naive pump local time; the gateway's time base
(:func:`drivers._core.timebase.resolve_times`) converts it, using the ``time-change``
events produced here and the pump clock read at upload.

* **Boluses** (uploader ``buildBolusRecords``): events 64/65/66 (request with the
  calculator inputs and recommendation), 55/20 (normal part activated/completed) and
  59/21 (extended part) are grouped by ``bolus_id``. A group becomes one :class:`Bolus`
  when every part it announced has completed; until then its events are carried to the
  next sync (a dual bolus can run for hours). Requested != delivered is a cancelled or
  interrupted bolus (``bolus/cancelled``). The calculator record is attached to standard
  and extended boluses (options 0/1), not to quick (2) or Control-IQ automatic (3)
  boluses; ``user_changed`` is the pump's own ``user_override`` flag.
* **Basal** (event 3, LID_BASAL_RATE_CHANGE): each change opens a segment at the
  commanded rate that lasts until the next change, less any clock change in between.
  The last segment is still running at upload: it is not emitted but carried, and
  closed by the next sync. Suspend/shut-down flags make ``suspend`` segments; a temp
  rate (flags 0x04/0x08, events 2/15) makes ``temp`` segments with the percent of event 2.
* **Clock changes** (13 time, 14 date; uploader pairing within +-5 records): one
  ``time-change`` :class:`DeviceEvent` with ``time_from``/``time_to``.
* **Device events**: cartridge filled (33) -> ``reservoir-change``; cannula filled (61)
  -> ``site-change`` with ``prime_u``; tubing filled (63) -> ``prime``; alarms (5) and
  alerts (4) -> ``alarm`` (``code`` ``alarm-<id>``/``alert-<id>``); suspended (11) and
  resumed (12) -> ``suspend``/``resume``.
* **Glucose**: CGM samples stored on the pump (151, 211, 256, 399) -> ``cgm`` (the
  in-record EGV time, deduplicated on it; five-minute and backfilled readings only);
  BG entries (16) typed by the user -> ``smbg`` (auto-filled from CGM are dropped).
* **Daily basal** (81): the pump's own basal total per day, returned in
  :attr:`Normalized.daily_basal_u` (no record kind holds it).

Floats are IEEE f32 with false precision (0.8000000119); like the uploader
(``toFixedNumber(5)``) every f32 value is rounded to 5 decimal places.

``source_index``: ``bolus:<seq>``, ``basal:<seq>``, ``event:<seq>``,
``time-change:<seq>``, ``bg:<seq>`` (the sequence number of the record that starts it;
stable for the life of the pump's log) and ``cgm:<egv time>``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from drivers._core.records import (
    BasalSegment,
    BasalType,
    Bolus,
    BolusCalculation,
    BolusSubtype,
    DeviceEvent,
    DeviceEventType,
    DeviceInfo,
    GlucoseSample,
    GlucoseSpecial,
    Record,
    ScheduleEntry,
    SettingsSnapshot,
    make_device_id,
)
from drivers.pumps.tandem import events as ev
from drivers.pumps.tandem.events import TANDEM_EPOCH, Event, pump_time
from drivers.pumps.tandem.messages import IdpProfile, VersionInfo

MANUFACTURER = "Tandem"
MODEL = "tslim X2"
"""Model part of the device id; the same as the t:connect export importer's, so both
paths name one pump alike (``tandem:tslim-x2:<serial>``)."""
DIGITS = 5
LOW_LIMIT_MGDL, HIGH_LIMIT_MGDL = 40.0, 400.0
PAIR_WINDOW = 5
"""A time change (13) and a date change (14) within 5 records belong together."""
ABANDONED_S = 12 * 3600
"""A bolus group with no completion 12 h after its first record (newest record time)
is dropped and counted: an extended bolus lasts at most 8 h on a t:slim X2."""

ALARMS = {
    2: "occlusion",
    7: "auto-off",
    8: "empty-cartridge",
    10: "temperature-out-of-range",
    12: "extremely-low-battery",
    22: "stuck-wake-button",
    24: "pressure-out-of-range",
    25: "cartridge-removed",
    26: "second-occlusion",
}
"""Alarm ids the uploader decoded (``ALARM_TYPES``)."""
ALERTS = {0: "low-insulin", 2: "low-battery", 3: "very-low-battery", 17: "very-low-insulin"}
"""Alert ids the uploader decoded (``ALERT_TYPES``)."""
SUSPEND_REASONS = {0: "user", 1: "alarm", 2: "malfunction", 6: "automatic"}

BOLUS_EVENTS = (
    ev.BolusRequested1,
    ev.BolusRequested2,
    ev.BolusRequested3,
    ev.BolusActivated,
    ev.BolusCompleted,
    ev.BolexActivated,
    ev.BolexCompleted,
)
CGM_EVENTS = (ev.CgmDataG4, ev.CgmDataGx, ev.CgmDataGxb, ev.CgmDataG7)


def f32(value: float) -> float:
    """An f32 value rounded to 5 decimals (drops the false precision)."""
    return round(float(value), DIGITS)


@dataclass(frozen=True, slots=True)
class Normalized:
    """Normalized records in device log order, what waits for the next sync, and counts.

    Attributes:
        records: The records.
        carry: Events that belong to records not complete yet (the running basal
            segment, a running temp rate, boluses without their completion); feed them
            to the next :func:`normalize` before that sync's events.
        daily_basal_u: The pump's basal total per day (event 81), by ISO date.
        skipped: Events not turned into records, counted by reason.
    """

    records: list[Record]
    carry: list[Event]
    daily_basal_u: dict[str, float]
    skipped: dict[str, int]


_E = TypeVar("_E", bound=Event)


@dataclass
class _BolusGroup:
    parts: dict[type[Event], Event] = field(default_factory=dict)
    seqs: list[int] = field(default_factory=list)

    def get(self, cls: type[_E]) -> _E | None:
        found = self.parts.get(cls)
        return found if isinstance(found, cls) else None

    def extended(self) -> bool:
        msg2 = self.get(ev.BolusRequested2)
        if msg2 is not None:
            return msg2.options == 1 and msg2.standard_percent < 100
        return ev.BolexActivated in self.parts or ev.BolexCompleted in self.parts

    def normal(self) -> bool:
        msg2 = self.get(ev.BolusRequested2)
        if msg2 is not None:
            return not (msg2.options == 1 and msg2.standard_percent == 0)
        return ev.BolusActivated in self.parts or ev.BolusCompleted in self.parts

    def complete(self) -> bool:
        done_normal = ev.BolusCompleted in self.parts
        done_ext = ev.BolexCompleted in self.parts
        if not (done_normal or done_ext):
            return False
        return (done_normal or not self.normal()) and (done_ext or not self.extended())

    @property
    def events(self) -> list[Event]:
        return sorted(self.parts.values(), key=lambda e: e.seq)


def _bolus(group: _BolusGroup, device_id: str) -> tuple[int, Bolus]:
    first = group.events[0]
    msg1, msg2, msg3 = (
        group.get(ev.BolusRequested1),
        group.get(ev.BolusRequested2),
        group.get(ev.BolusRequested3),
    )
    act, done = group.get(ev.BolusActivated), group.get(ev.BolusCompleted)
    ext_act, ext_done = group.get(ev.BolexActivated), group.get(ev.BolexCompleted)
    start = act or ext_act or first
    programmed = f32(done.insulin_requested if done else act.bolus_size if act else 0.0)
    delivered = f32(done.insulin_delivered) if done else 0.0
    ext_programmed = f32(
        ext_done.insulin_requested if ext_done else ext_act.bolex_size if ext_act else 0.0
    )
    ext_delivered = f32(ext_done.insulin_delivered) if ext_done else 0.0
    has_ext = ext_act is not None or ext_done is not None
    has_normal = act is not None or done is not None
    subtype: BolusSubtype = (
        "dual" if has_ext and has_normal else "extended" if has_ext else "normal"
    )
    notes: list[str] = []
    if (done and delivered < programmed - 1e-4) or (
        ext_done and ext_delivered < ext_programmed - 1e-4
    ):
        notes.append("bolus/cancelled")
    options = msg2.options if msg2 is not None else None
    if options == 2:
        notes.append("bolus/quick")
    elif options == 3:
        notes.append("bolus/automated")
    calc = None
    if msg1 is not None and options in (None, 0, 1):
        calc = BolusCalculation(
            carbs_g=float(msg1.carb_amount) if msg1.carb_amount or msg1.bolus_type == 1 else None,
            bg_mgdl=float(msg1.bg) if msg1.bg else None,
            carb_ratio_g_per_u=f32(msg1.carb_ratio_milli / 1000) if msg1.carb_ratio_milli else None,
            sensitivity_mgdl_per_u=float(msg2.isf) if msg2 is not None and msg2.isf else None,
            target_low_mgdl=float(msg2.target_bg) if msg2 is not None and msg2.target_bg else None,
            target_high_mgdl=float(msg2.target_bg) if msg2 is not None and msg2.target_bg else None,
            iob_u=f32(msg1.iob),
            recommended_food_u=f32(msg3.food_bolus_size) if msg3 else None,
            recommended_correction_u=f32(msg3.correction_bolus_size) if msg3 else None,
            recommended_total_u=f32(msg3.total_bolus_size) if msg3 else None,
            user_changed=bool(msg2.user_override) if msg2 is not None else None,
        )
        if msg2 is not None and msg2.declined_correction:
            notes.append("bolus/correction-declined")
    return first.seq, Bolus(
        device_id=device_id,
        source_index=f"bolus:{first.seq}",
        device_time=start.time,
        annotations=tuple(notes),
        subtype=subtype,
        programmed_u=programmed,
        delivered_u=delivered,
        extended_programmed_u=ext_programmed,
        extended_delivered_u=ext_delivered,
        extended_duration_s=(msg2.duration_min * 60 if msg2 is not None and has_ext else 0),
        calculation=calc,
    )


def _time_changes(events: list[Event]) -> dict[int, tuple[datetime, datetime, int]]:
    """Clock changes by the index (in ``events``) of their first record:
    (time_from, time_to, seq)."""
    out: dict[int, tuple[datetime, datetime, int]] = {}
    used: set[int] = set()
    for i, event in enumerate(events):
        if i in used or not isinstance(event, (ev.TimeChanged, ev.DateChanged)):
            continue
        partner = next(
            (
                j
                for j in range(max(0, i - PAIR_WINDOW), min(len(events), i + PAIR_WINDOW + 1))
                if j != i
                and j not in used
                and abs(events[j].seq - event.seq) <= PAIR_WINDOW
                and isinstance(events[j], (ev.TimeChanged, ev.DateChanged))
                and type(events[j]) is not type(event)
            ),
            None,
        )
        if partner is not None:
            used.update((i, partner))
            pair = (event, events[partner])
            t = next(e for e in pair if isinstance(e, ev.TimeChanged))
            d = next(e for e in pair if isinstance(e, ev.DateChanged))
            assert isinstance(t, ev.TimeChanged) and isinstance(d, ev.DateChanged)
            before = TANDEM_EPOCH + timedelta(days=d.date_prior_days, milliseconds=t.time_prior_ms)
            after = TANDEM_EPOCH + timedelta(days=d.date_after_days, milliseconds=t.time_after_ms)
            out[min(i, partner)] = (before, after, events[min(i, partner)].seq)
        elif isinstance(event, ev.TimeChanged):
            midnight = datetime.combine(event.time.date(), datetime.min.time())
            out[i] = (
                midnight + timedelta(milliseconds=event.time_prior_ms),
                midnight + timedelta(milliseconds=event.time_after_ms),
                event.seq,
            )
        elif isinstance(event, ev.DateChanged):
            days = timedelta(days=event.date_after_days - event.date_prior_days)
            out[i] = (event.time - days, event.time, event.seq)
    return out


def _glucose(event: Event, device_id: str) -> GlucoseSample | str:
    """A glucose sample, or the reason the event is not one."""
    notes: list[str] = []
    rate: float | None = None
    if isinstance(event, ev.CgmDataG4):
        when, value = event.timestamp, event.value
        special: GlucoseSpecial | None = (
            "high" if event.status in (1, 4) else "low" if event.status in (2, 5) else None
        )
    elif isinstance(event, ev.CgmDataGx):
        if event.egv_type not in (1, 3):
            return "cgm-not-a-reading"
        if event.egv_type == 3:
            notes.append("cgm/backfilled")
        when, value, special, rate = event.egv_timestamp, event.value, None, float(event.rate)
    elif isinstance(event, (ev.CgmDataGxb, ev.CgmDataG7)):
        if not event.egv_type & 0x03:
            return "cgm-not-a-reading"
        if event.egv_type & 0x02:
            notes.append("cgm/backfilled")
        when, value, special = event.egv_timestamp, event.value, None
        rate = event.rate / 10 if isinstance(event, ev.CgmDataG7) else float(event.rate)
    elif isinstance(event, ev.BgReadingTaken):
        if event.bg_source != 0:
            return "bg-from-cgm"
        return GlucoseSample(
            device_id=device_id,
            source_index=f"bg:{event.seq}",
            device_time=event.time,
            sample_type="smbg",
            glucose_mgdl=float(event.bg_mgdl),
        )
    else:  # pragma: no cover - callers pass glucose events only
        return "not-glucose"
    mgdl: float | None = float(value)
    if special is None:
        if value == 0:
            special, mgdl = "not-computable", None
            notes.append("cgm/tandem-zero-value")
        elif value > HIGH_LIMIT_MGDL:
            special = "high"
        elif value < LOW_LIMIT_MGDL:
            special = "low"
    if special in ("high", "low"):
        mgdl = None
        notes.append(f"cgm/{special}-out-of-range")
    return GlucoseSample(
        device_id=device_id,
        source_index=f"cgm:{when}",
        device_time=pump_time(when),
        annotations=tuple(notes),
        sample_type="cgm",
        glucose_mgdl=mgdl,
        special=special,
        reporting_limit_mgdl={"low": LOW_LIMIT_MGDL, "high": HIGH_LIMIT_MGDL}.get(special or ""),
        trend_rate_mgdl_per_min=rate,
    )


def _device_event(event: Event, device_id: str) -> DeviceEvent | None:
    what: tuple[DeviceEventType, str | None, float | None, str | None]
    if isinstance(event, ev.CartridgeFilled):
        what = (
            "reservoir-change",
            "cartridge-filled",
            None,
            f"{f32(event.insulin_actual)} U in the cartridge",
        )
    elif isinstance(event, ev.CannulaFilled):
        what = ("site-change", "cannula-filled", f32(event.prime_size), None)
    elif isinstance(event, ev.TubingFilled):
        what = ("prime", "tubing-filled", f32(event.prime_size), None)
    elif isinstance(event, ev.AlarmActivated):
        what = ("alarm", f"alarm-{event.alarm_id}", None, ALARMS.get(event.alarm_id))
    elif isinstance(event, ev.AlertActivated):
        what = ("alarm", f"alert-{event.alert_id}", None, ALERTS.get(event.alert_id))
    elif isinstance(event, ev.PumpingSuspended):
        what = ("suspend", f"reason-{event.reason}", None, SUSPEND_REASONS.get(event.reason))
    elif isinstance(event, ev.PumpingResumed):
        what = ("resume", None, None, None)
    else:
        return None
    event_type, code, prime_u, detail = what
    return DeviceEvent(
        device_id=device_id,
        source_index=f"event:{event.seq}",
        device_time=event.time,
        event_type=event_type,
        code=code,
        prime_u=prime_u,
        detail=detail,
    )


@dataclass
class _Basal:
    """The running basal state while walking the log."""

    temp_percent: float | None = None
    temp_event: Event | None = None
    suspended: bool = False
    suspend_event: Event | None = None
    open_change: ev.BasalRateChange | None = None
    open_shift_s: int = 0
    open_temp: float | None = None
    open_suspended: bool = False


def _segment(
    change: ev.BasalRateChange,
    duration_s: int,
    temp_percent: float | None,
    suspended: bool,
    device_id: str,
) -> BasalSegment:
    flags = change.change_type
    notes: list[str] = []
    basal_type: BasalType
    if suspended or flags & 0x40:
        basal_type = "suspend"
        if flags & 0x40:
            notes.append("basal/pump-shut-down")
    elif temp_percent is not None:
        basal_type = "temp"
    else:
        basal_type = "scheduled"
    if duration_s < 0:
        notes.append("basal/negative-duration")
    return BasalSegment(
        device_id=device_id,
        source_index=f"basal:{change.seq}",
        device_time=change.time,
        annotations=tuple(notes),
        basal_type=basal_type,
        rate_u_per_h=0.0 if basal_type == "suspend" else f32(change.command_basal_rate),
        duration_s=max(duration_s, 0),
        scheduled_rate_u_per_h=f32(change.base_basal_rate),
        percent=temp_percent if basal_type == "temp" else None,
    )


def normalize(
    events: Iterable[Event],
    *,
    device_id: str,
    carry: Iterable[Event] = (),
    profile_names: Mapping[int, str] | None = None,
) -> Normalized:
    """Map decoded events to normalized records.

    Args:
        events: Typed history events; any order, duplicates by ``seq`` are dropped.
        device_id: :func:`pump_device_id` of the pump.
        carry: :attr:`Normalized.carry` of the previous sync: these events only restore
            the state they stand for (running basal, temp, suspend, open boluses) and
            make no record of their own again.
        profile_names: Profile name by IDP id, for the basal segments' schedule name.
    """
    carried = list(carry)
    carried_seqs = {e.seq for e in carried}
    unique = {e.seq: e for e in [*carried, *events]}
    ordered = [unique[s] for s in sorted(unique)]
    names = dict(profile_names or {})
    out: list[tuple[int, int, Record]] = []  # (seq, tie, record)
    skipped: dict[str, int] = {}
    daily: dict[str, float] = {}
    seen_cgm: set[str] = set()
    groups: dict[int, _BolusGroup] = {}
    changes = _time_changes(ordered)
    basal = _Basal()
    shift_s = 0  # cumulative clock change since the start of this batch

    def skip(reason: str) -> None:
        skipped[reason] = skipped.get(reason, 0) + 1

    repeated: list[tuple[datetime, datetime, int]] = []  # clock set back: (after, before, seq)
    for i, event in enumerate(ordered):
        if i in changes:
            before, after, seq = changes[i]
            shift_s += int((after - before).total_seconds())
            if after < before:
                repeated.append((after, before, seq))
            out.append(
                (
                    seq,
                    0,
                    DeviceEvent(
                        device_id=device_id,
                        source_index=f"time-change:{seq}",
                        device_time=after,
                        event_type="time-change",
                        code="time-date-changed",
                        time_from=before,
                        time_to=after,
                    ),
                )
            )
        if isinstance(event, BOLUS_EVENTS):
            bolus_id = int(event.bolus_id)
            group = groups.get(bolus_id)
            if group is None or (group.complete() and type(event) in group.parts):
                group = groups[bolus_id] = _BolusGroup()
            group.parts[type(event)] = event
            group.seqs.append(event.seq)
            if group.complete():
                seq, bolus = _bolus(group, device_id)
                out.append((seq, 1, bolus))
                del groups[bolus_id]
        elif isinstance(event, ev.BasalRateChange):
            flags = event.change_type
            if flags & 0x04 and basal.temp_percent is None:
                basal.temp_percent = 100.0
            if flags & 0x08:
                basal.temp_percent, basal.temp_event = None, None
            if flags & 0x50:
                basal.suspended = True
            elif flags & 0x20:
                basal.suspended, basal.suspend_event = False, None
            if basal.open_change is not None:
                prev = basal.open_change
                duration = event.timestamp - prev.timestamp - (shift_s - basal.open_shift_s)
                segment = _segment(prev, duration, basal.open_temp, basal.open_suspended, device_id)
                if prev.idp in names:
                    segment = segment.evolve(schedule_name=names[prev.idp])
                out.append((prev.seq, 1, segment))
            basal.open_change, basal.open_shift_s = event, shift_s
            basal.open_temp = basal.temp_percent
            basal.open_suspended = basal.suspended
        elif isinstance(event, ev.TempRateActivated):
            basal.temp_percent, basal.temp_event = f32(event.percent), event
            if basal.open_change is not None and basal.open_change.timestamp == event.timestamp:
                basal.open_temp = basal.temp_percent
        elif isinstance(event, ev.TempRateCompleted):
            basal.temp_percent, basal.temp_event = None, None
        elif isinstance(event, (*CGM_EVENTS, ev.BgReadingTaken)):
            if event.seq in carried_seqs:
                continue
            sample = _glucose(event, device_id)
            if not isinstance(sample, str) and any(
                a <= sample.device_time < b and event.seq > seq for a, b, seq in repeated
            ):
                # the clock was set back over this reading's time (DST fall-back): the
                # same pump time now names a second, later reading; keep both
                sample = sample.evolve(source_index=f"{sample.source_index}:{event.seq}")
            if isinstance(sample, str):
                skip(sample)
            elif sample.source_index in seen_cgm:
                skip("cgm-duplicate")
            else:
                seen_cgm.add(sample.source_index)
                out.append((event.seq, 1, sample))
        elif isinstance(event, ev.DailyBasal):
            day = (event.time - timedelta(seconds=1)).date().isoformat()
            daily[day] = f32(event.daily_total_basal)
        elif isinstance(event, (ev.TimeChanged, ev.DateChanged)):
            continue
        else:
            if isinstance(event, ev.PumpingSuspended):
                basal.suspended, basal.suspend_event = True, event
            elif isinstance(event, ev.PumpingResumed):
                basal.suspended, basal.suspend_event = False, None
            if event.seq in carried_seqs:
                continue
            mapped = _device_event(event, device_id)
            if mapped is None:
                skip(f"event-{event.event_id}")
            else:
                out.append((event.seq, 1, mapped))

    carry_out: list[Event] = []
    if basal.open_change is not None:
        carry_out.append(basal.open_change)
    if basal.temp_event is not None:
        carry_out.append(basal.temp_event)
    if basal.suspended and basal.suspend_event is not None:
        carry_out.append(basal.suspend_event)
    newest = max((e.timestamp for e in ordered), default=0)
    for group in groups.values():
        first = group.events[0]
        if newest - first.timestamp > ABANDONED_S:
            skip("bolus-incomplete")
        else:
            carry_out.extend(group.events)
    out.sort(key=lambda item: (item[0], item[1]))
    return Normalized(
        [rec for _, _, rec in out], sorted(carry_out, key=lambda e: e.seq), daily, skipped
    )


def pump_device_id(serial: int | str) -> str:
    """``tandem:tslim-x2:<serial>``."""
    return make_device_id(MANUFACTURER, MODEL, str(serial))


def device_info(version: VersionInfo, clock: datetime) -> DeviceInfo:
    """The pump's identity as a record (``clock``: the VERSION_TE trailer time)."""
    return DeviceInfo(
        device_id=pump_device_id(version.pump_sn),
        source_index=f"info:{clock.isoformat()}",
        device_time=clock,
        manufacturer=MANUFACTURER,
        model=MODEL,
        serial=str(version.pump_sn),
        firmware=f"arm {version.arm_sw_ver} / msp {version.msp_sw_ver}",
        device_clock=clock,
    )


def settings_snapshot(
    profiles: Mapping[int, IdpProfile], active_idp: int | None, *, device_id: str, clock: datetime
) -> SettingsSnapshot:
    """The personal profiles as one snapshot; ratios, sensitivities and targets are the
    active profile's. ``source_index`` is ``settings:<digest of the content>``, so the
    same settings read twice are one record."""
    active = profiles.get(active_idp) if active_idp is not None else None
    schedules = {
        p.name: tuple(
            ScheduleEntry(start_s=s.start_min * 60, value=s.basal_mu_per_h / 1000)
            for s in p.segments
        )
        for p in profiles.values()
    }
    segs = active.segments if active is not None else ()

    def entries(values: list[tuple[int, float]]) -> tuple[ScheduleEntry, ...]:
        return tuple(ScheduleEntry(start_s=start * 60, value=value) for start, value in values)

    targets = entries([(s.start_min, float(s.target_bg_mgdl)) for s in segs])
    content = repr((sorted((p.idp, p.encode()) for p in profiles.values()), active_idp)).encode()
    return SettingsSnapshot(
        device_id=device_id,
        source_index=f"settings:{hashlib.sha256(content).hexdigest()[:16]}",
        device_time=clock,
        active_schedule=active.name if active is not None else None,
        basal_schedules_u_per_h=schedules,
        carb_ratios_g_per_u=entries([(s.start_min, s.carb_ratio_milli / 1000) for s in segs]),
        sensitivities_mgdl_per_u=entries([(s.start_min, float(s.isf_mgdl_per_u)) for s in segs]),
        target_low_mgdl=targets,
        target_high_mgdl=targets,
        insulin_action_s=active.insulin_duration_min * 60 if active is not None else None,
    )
