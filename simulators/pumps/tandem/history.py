"""A virtual t:slim X2's history log, written from a plain list of therapy events.

:func:`generate` is a small seeded stand-in for the synthetic patient: it returns a list
of plain events (:class:`Bolus`, :class:`ScheduledRate`, :class:`TempBasal`,
:class:`Suspend`, :class:`SiteChange`, :class:`CgmReading`, :class:`BgEntry`,
:class:`Alarm`, :class:`ClockChange`), all timed in *true* local time. :func:`build_log`
turns any such list into the pump's log records -- encoded with the driver's own
:mod:`drivers.pumps.tandem.events` -- the way a pump would write them, and returns the
truth the driver must recover (:class:`Truth`). Swap :func:`generate` for a scenario's
event list and nothing else changes.

The pump clock is ``true time + clock offset``; the offset starts at
``initial_clock_offset_s`` and each :class:`ClockChange` sets a new one (and writes the
time/date-change records). Basal: the commanded rate is the scheduled rate, times the
temp percent while a temp rate runs, and 0 while suspended; every change of it (or of
the flags) writes a LID_BASAL_RATE_CHANGE, as the pump does.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from drivers.pumps.tandem import events as ev
from drivers.pumps.tandem.events import Event, pump_seconds
from drivers.pumps.tandem.messages import IdpProfile, IdpSegment

# -- the plain event list -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bolus:
    """A bolus as the user programmed it, with the calculator's inputs and advice.

    ``normal_u`` is delivered now, ``extended_u`` over ``extended_min`` minutes.
    ``delivered_fraction`` < 1 cancels the bolus part-way. ``kind``: ``standard``
    (calculator), ``quick`` or ``automated`` (Control-IQ).
    """

    time: datetime
    normal_u: float
    extended_u: float = 0.0
    extended_min: int = 0
    delivered_fraction: float = 1.0
    carbs_g: int = 0
    bg_mgdl: int = 0
    iob_u: float = 0.0
    carb_ratio: float = 10.0
    isf: int = 50
    target_mgdl: int = 110
    food_u: float = 0.0
    correction_u: float = 0.0
    user_override: bool = False
    kind: str = "standard"

    @property
    def recommended_u(self) -> float:
        return round(self.food_u + self.correction_u, 2)


@dataclass(frozen=True, slots=True)
class ScheduledRate:
    """The profile's basal segment starting (rate in U/h)."""

    time: datetime
    rate_u_per_h: float


@dataclass(frozen=True, slots=True)
class TempBasal:
    time: datetime
    percent: int
    duration_min: int


@dataclass(frozen=True, slots=True)
class Suspend:
    time: datetime
    duration_min: int
    reason: int = 0


@dataclass(frozen=True, slots=True)
class SiteChange:
    """Cartridge filled, tubing primed, cannula filled (a new infusion site)."""

    time: datetime
    cartridge_u: float = 200.0
    tubing_u: float = 12.5
    cannula_u: float = 0.3


@dataclass(frozen=True, slots=True)
class CgmReading:
    time: datetime
    mgdl: int
    backfilled: bool = False


@dataclass(frozen=True, slots=True)
class BgEntry:
    time: datetime
    mgdl: int


@dataclass(frozen=True, slots=True)
class Alarm:
    time: datetime
    alarm_id: int
    alert: bool = False


@dataclass(frozen=True, slots=True)
class ClockChange:
    """The user sets the pump clock; from ``time`` on it reads true time + offset."""

    time: datetime
    new_offset_s: int


HistoryEvent = (
    Bolus
    | ScheduledRate
    | TempBasal
    | Suspend
    | SiteChange
    | CgmReading
    | BgEntry
    | Alarm
    | ClockChange
)


# -- what the driver must recover ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TruthSegment:
    device_time: datetime
    duration_s: int
    rate_u_per_h: float
    basal_type: str
    percent: float | None = None


@dataclass(frozen=True, slots=True)
class TruthBolus:
    device_time: datetime
    event: Bolus
    programmed_u: float
    delivered_u: float
    extended_programmed_u: float
    extended_delivered_u: float


@dataclass
class Truth:
    """What was written, as the driver should report it (device times)."""

    boluses: list[TruthBolus] = field(default_factory=list)
    segments: list[TruthSegment] = field(default_factory=list)
    site_changes: list[datetime] = field(default_factory=list)
    cgm: list[tuple[datetime, int]] = field(default_factory=list)
    clock_changes: list[tuple[datetime, datetime]] = field(default_factory=list)

    def basal_by_day(self) -> dict[str, float]:
        """Basal insulin of the closed segments per pump-clock day (U)."""
        totals: dict[str, float] = {}
        for seg in self.segments:
            start = seg.device_time
            end = start + timedelta(seconds=seg.duration_s)
            while start < end:
                midnight = datetime.combine(start.date() + timedelta(days=1), time())
                stop = min(end, midnight)
                key = start.date().isoformat()
                hours = (stop - start).total_seconds() / 3600
                totals[key] = totals.get(key, 0.0) + seg.rate_u_per_h * hours
                start = stop
        return totals


@dataclass
class PumpLog:
    """The written log (sequence-numbered events) and the truth."""

    events: list[Event]
    truth: Truth


# -- writing the log ---------------------------------------------------------------------


def _f32(value: float) -> float:
    """What an f32 field reads back as, rounded like the driver (5 decimals)."""
    return round(float(value), 5)


def build_log(
    history: Sequence[HistoryEvent],
    *,
    first_seq: int = 0,
    initial_clock_offset_s: int = 0,
    initial_rate_u_per_h: float = 0.0,
    until: datetime | None = None,
    idp: int = 0,
    max_basal_u_per_h: float = 3.0,
) -> PumpLog:
    """Write the pump's log for ``history`` (true local times, any order).

    Args:
        history: The events.
        first_seq: Sequence number of the first record (> 0: a log that has wrapped).
        initial_clock_offset_s: Pump clock minus true time at the start.
        initial_rate_u_per_h: Scheduled rate before the first :class:`ScheduledRate`.
        until: True time of the upload: records timed later (e.g. the completion of an
            extended bolus still running) are not written yet.
        idp: Profile id written in the basal records.
        max_basal_u_per_h: The max-basal field of the basal records.
    """
    items: list[tuple[datetime, int, object]] = []
    for n, given in enumerate(history):
        items.append((given.time, n * 4, given))
        if isinstance(given, TempBasal):
            end = given.time + timedelta(minutes=given.duration_min)
            items.append((end, n * 4 + 1, ("temp-end", n)))
        elif isinstance(given, Suspend):
            end = given.time + timedelta(minutes=given.duration_min)
            items.append((end, n * 4 + 1, ("resume", n)))
        elif isinstance(given, Bolus):
            if given.normal_u > 0:
                done = given.time + timedelta(seconds=max(30, int(given.normal_u * 40)))
                items.append((done, n * 4 + 1, ("bolus-done", n)))
            if given.extended_u > 0:
                done = given.time + timedelta(minutes=given.extended_min)
                items.append((done, n * 4 + 2, ("bolex-done", n)))
    items.sort(key=lambda it: (it[0], it[1]))

    out: list[tuple[datetime, Event]] = []
    truth = Truth()
    offset = initial_clock_offset_s
    scheduled = initial_rate_u_per_h
    temp: tuple[int, float] | None = None  # (temp id, percent)
    suspended = False
    temp_ids = 0
    open_seg: tuple[datetime, datetime, float, str, float | None] | None = None
    bolus_ids: dict[int, int] = {}
    done_parts: dict[int, set[str]] = {}

    def device(t: datetime) -> datetime:
        return t + timedelta(seconds=offset)

    def put(t: datetime, event: Event) -> None:
        out.append((t, event))

    def ts(t: datetime) -> int:
        return pump_seconds(device(t))

    def basal(t: datetime, flags: int) -> None:
        nonlocal open_seg
        rate = 0.0 if suspended else scheduled * (temp[1] / 100 if temp else 1.0)
        rate = round(rate, 3)
        put(
            t,
            ev.BasalRateChange(
                seq=0,
                timestamp=ts(t),
                command_basal_rate=rate,
                base_basal_rate=scheduled,
                max_basal_rate=max_basal_u_per_h,
                idp=idp,
                change_type=flags,
            ),
        )
        if open_seg is not None:
            dev0, true0, rate0, kind0, pct0 = open_seg
            truth.segments.append(
                TruthSegment(dev0, int((t - true0).total_seconds()), rate0, kind0, pct0)
            )
        kind = "suspend" if suspended else "temp" if temp else "scheduled"
        open_seg = (device(t), t, _f32(rate), kind, float(temp[1]) if temp else None)

    for t, _, item in items:
        if until is not None and t > until:
            continue
        if isinstance(item, ScheduledRate):
            scheduled = item.rate_u_per_h
            basal(t, 0x01)
        elif isinstance(item, TempBasal):
            temp_ids += 1
            temp = (temp_ids, float(item.percent))
            put(
                t,
                ev.TempRateActivated(
                    seq=0,
                    timestamp=ts(t),
                    percent=float(item.percent),
                    duration=float(item.duration_min * 60_000),
                    temp_rate_id=temp_ids,
                ),
            )
            basal(t, 0x04)
        elif isinstance(item, Suspend):
            suspended = True
            put(
                t,
                ev.PumpingSuspended(seq=0, timestamp=ts(t), insulin_amount=150, reason=item.reason),
            )
            basal(t, 0x10)
        elif isinstance(item, tuple) and item[0] == "temp-end" and temp is not None:
            put(t, ev.TempRateCompleted(seq=0, timestamp=ts(t), temp_rate_id=temp[0]))
            temp = None
            basal(t, 0x08)
        elif isinstance(item, tuple) and item[0] == "resume":
            suspended = False
            put(t, ev.PumpingResumed(seq=0, timestamp=ts(t), insulin_amount=150))
            basal(t, 0x20)
        elif isinstance(item, Bolus):
            bolus_id = len(bolus_ids) + 1
            bolus_ids[id(item)] = bolus_id
            _write_bolus_request(item, bolus_id, ts(t), put, t)
        elif isinstance(item, tuple) and item[0] in ("bolus-done", "bolex-done"):
            bolus = history[item[1]]
            assert isinstance(bolus, Bolus)
            bolus_id = bolus_ids[id(bolus)]
            if item[0] == "bolus-done":
                delivered = round(bolus.normal_u * bolus.delivered_fraction, 2)
                put(
                    t,
                    ev.BolusCompleted(
                        seq=0,
                        timestamp=ts(t),
                        completion_status=0 if delivered == bolus.normal_u else 1,
                        bolus_id=bolus_id,
                        iob=bolus.iob_u + delivered,
                        insulin_delivered=delivered,
                        insulin_requested=bolus.normal_u,
                    ),
                )
            else:
                delivered = round(bolus.extended_u * bolus.delivered_fraction, 2)
                put(
                    t,
                    ev.BolexCompleted(
                        seq=0,
                        timestamp=ts(t),
                        completion_status=0 if delivered == bolus.extended_u else 1,
                        bolus_id=bolus_id,
                        iob=bolus.iob_u + delivered,
                        insulin_delivered=delivered,
                        insulin_requested=bolus.extended_u,
                    ),
                )
            parts = done_parts.setdefault(bolus_id, set())
            parts.add(item[0])
            needed = {"bolus-done"} if bolus.normal_u > 0 else set()
            if bolus.extended_u > 0:
                needed.add("bolex-done")
            if parts == needed:
                truth.boluses.append(
                    TruthBolus(
                        device(bolus.time),
                        bolus,
                        bolus.normal_u,
                        round(bolus.normal_u * bolus.delivered_fraction, 2),
                        bolus.extended_u,
                        round(bolus.extended_u * bolus.delivered_fraction, 2),
                    )
                )
        elif isinstance(item, SiteChange):
            put(
                t,
                ev.CartridgeFilled(
                    seq=0,
                    timestamp=ts(t),
                    insulin_display=int(item.cartridge_u),
                    insulin_actual=item.cartridge_u,
                ),
            )
            t2 = t + timedelta(minutes=2)
            put(t2, ev.TubingFilled(seq=0, timestamp=ts(t2), prime_size=item.tubing_u))
            t3 = t + timedelta(minutes=4)
            put(t3, ev.CannulaFilled(seq=0, timestamp=ts(t3), prime_size=item.cannula_u))
            truth.site_changes.append(device(t3))
        elif isinstance(item, CgmReading):
            logged = t + timedelta(seconds=3)
            put(
                logged,
                ev.CgmDataGxb(
                    seq=0,
                    timestamp=ts(logged),
                    status=0,
                    egv_type=2 if item.backfilled else 1,
                    rate=0,
                    algorithm_state=7,
                    rssi=-60,
                    value=item.mgdl,
                    egv_timestamp=ts(t),
                    interval=5,
                ),
            )
            truth.cgm.append((device(t), item.mgdl))
        elif isinstance(item, BgEntry):
            put(t, ev.BgReadingTaken(seq=0, timestamp=ts(t), bg_mgdl=item.mgdl))
        elif isinstance(item, Alarm):
            if item.alert:
                put(t, ev.AlertActivated(seq=0, timestamp=ts(t), alert_id=item.alarm_id))
            else:
                put(t, ev.AlarmActivated(seq=0, timestamp=ts(t), alarm_id=item.alarm_id))
        elif isinstance(item, ClockChange):
            before = device(t)
            offset = item.new_offset_s
            after = device(t)
            put(
                t,
                ev.TimeChanged(
                    seq=0,
                    timestamp=ts(t),
                    time_prior_ms=_ms_of_day(before),
                    time_after_ms=_ms_of_day(after),
                ),
            )
            if before.date() != after.date():
                put(
                    t,
                    ev.DateChanged(
                        seq=0,
                        timestamp=ts(t),
                        date_prior_days=_days(before),
                        date_after_days=_days(after),
                    ),
                )
            truth.clock_changes.append((before, after))

    # the pump's own daily basal totals, written at each pump-clock midnight that is
    # followed by a closed segment
    if truth.segments:
        last_closed = truth.segments[-1].device_time + timedelta(
            seconds=truth.segments[-1].duration_s
        )
        for day, total in sorted(truth.basal_by_day().items()):
            midnight = datetime.combine(
                datetime.fromisoformat(day).date() + timedelta(days=1), time()
            )
            if midnight <= last_closed and not truth.clock_changes:
                at = midnight - timedelta(seconds=initial_clock_offset_s)
                put(
                    at,
                    ev.DailyBasal(
                        seq=0,
                        timestamp=pump_seconds(midnight),
                        daily_total_basal=total,
                        last_basal_rate=scheduled,
                    ),
                )

    out.sort(key=lambda pair: pair[0])
    numbered = [
        dataclasses.replace(e, seq=first_seq + i, index=first_seq + i)
        for i, (_, e) in enumerate(out)
    ]
    return PumpLog(numbered, truth)


def _ms_of_day(when: datetime) -> int:
    return int((when - datetime.combine(when.date(), time())).total_seconds() * 1000)


def _days(when: datetime) -> int:
    return (when.date() - ev.TANDEM_EPOCH.date()).days


def _write_bolus_request(item: Bolus, bolus_id: int, stamp: int, put: object, t: datetime) -> None:
    assert callable(put)
    options = {"standard": 0, "quick": 2, "automated": 3}[item.kind]
    if item.extended_u > 0:
        options = 1
    total = item.normal_u + item.extended_u
    percent = 100 if item.extended_u == 0 else round(100 * item.normal_u / total)
    put(
        t,
        ev.BolusRequested1(
            seq=0,
            timestamp=stamp,
            bolus_id=bolus_id,
            bolus_type=1 if item.carbs_g else 0,
            correction_included=1 if item.correction_u else 0,
            carb_amount=item.carbs_g,
            bg=item.bg_mgdl,
            iob=item.iob_u,
            carb_ratio_milli=round(item.carb_ratio * 1000),
        ),
    )
    put(
        t,
        ev.BolusRequested2(
            seq=0,
            timestamp=stamp,
            bolus_id=bolus_id,
            options=options,
            standard_percent=percent,
            duration_min=item.extended_min,
            isf=item.isf,
            target_bg=item.target_mgdl,
            user_override=int(item.user_override),
        ),
    )
    put(
        t,
        ev.BolusRequested3(
            seq=0,
            timestamp=stamp,
            bolus_id=bolus_id,
            food_bolus_size=item.food_u,
            correction_bolus_size=item.correction_u,
            total_bolus_size=item.recommended_u,
        ),
    )
    if item.normal_u > 0:
        put(
            t,
            ev.BolusActivated(
                seq=0, timestamp=stamp, bolus_id=bolus_id, iob=item.iob_u, bolus_size=item.normal_u
            ),
        )
    if item.extended_u > 0:
        put(
            t,
            ev.BolexActivated(
                seq=0,
                timestamp=stamp,
                bolus_id=bolus_id,
                iob=item.iob_u,
                bolex_size=item.extended_u,
            ),
        )


# -- the seeded generator ---------------------------------------------------------------

BASAL_SCHEDULE = ((0, 0.8), (6 * 60, 1.05), (12 * 60, 0.9), (22 * 60, 0.7))
"""(minute of day, U/h) of the generator's basal profile."""
CARB_RATIO, ISF, TARGET = 10.0, 50, 110


def default_profiles() -> dict[int, IdpProfile]:
    """The personal profiles the virtual pump reports (profile 0 active)."""
    weekday = IdpProfile(
        idp=0,
        name="Weekday",
        segments=tuple(
            IdpSegment(start, int(rate * 1000), int(CARB_RATIO * 1000), TARGET, ISF)
            for start, rate in BASAL_SCHEDULE
        ),
        insulin_duration_min=300,
        max_bolus_mu=25_000,
    )
    sick = IdpProfile(
        idp=1,
        name="Sick day",
        segments=(IdpSegment(0, 1200, 8000, 120, 40),),
        insulin_duration_min=300,
        max_bolus_mu=25_000,
    )
    return {0: weekday, 1: sick}


def _units(value: float) -> float:
    return round(max(value, 0.0) * 100) / 100


def generate(
    seed: int, *, start: datetime, days: int, cgm: bool = True, override_rate: float = 0.2
) -> list[HistoryEvent]:
    """A seeded few days of pump life: scheduled basal, 3-4 calculator boluses a day
    (some overridden, extended, dual or cancelled), a temp basal and a suspend every
    other day, a site change every third day, an alarm, fingersticks and CGM readings
    every 5 minutes (with a High and a Low).

    Args:
        seed: Random seed.
        start: First midnight (true local time).
        days: Number of days.
        cgm: Include CGM readings.
        override_rate: Share of calculator boluses the user changes.
    """
    rng = random.Random(seed)
    out: list[HistoryEvent] = []
    for d in range(days):
        day = start + timedelta(days=d)
        for minute, rate in BASAL_SCHEDULE:
            out.append(ScheduledRate(day + timedelta(minutes=minute), rate))
        meals = [(7, 30), (12, 30), (18, 45)] + ([(21, 30)] if rng.random() < 0.5 else [])
        for hour, minute in meals:
            t = day + timedelta(hours=hour, minutes=minute + rng.randint(-20, 20))
            carbs = rng.randint(15, 90)
            bg = rng.randint(75, 260)
            iob = _units(rng.uniform(0, 1.5))
            food = _units(carbs / CARB_RATIO)
            correction = _units((bg - TARGET) / ISF - iob) if bg > TARGET else 0.0
            total = _units(food + correction)
            override = rng.random() < override_rate
            if override:
                total = _units(total + rng.choice((-1.5, -1.0, -0.5, 0.5, 1.0)))
            shape = rng.random()
            if shape < 0.1 and total >= 1.0:  # dual wave
                normal = _units(total * 0.6)
                out.append(
                    Bolus(
                        t,
                        normal,
                        _units(total - normal),
                        120,
                        1.0,
                        carbs,
                        bg,
                        iob,
                        CARB_RATIO,
                        ISF,
                        TARGET,
                        food,
                        correction,
                        override,
                    )
                )
            elif shape < 0.15 and total >= 1.0:  # extended only
                out.append(
                    Bolus(
                        t,
                        0.0,
                        total,
                        90,
                        1.0,
                        carbs,
                        bg,
                        iob,
                        CARB_RATIO,
                        ISF,
                        TARGET,
                        food,
                        correction,
                        override,
                    )
                )
            else:
                frac = 0.5 if rng.random() < 0.05 else 1.0
                out.append(
                    Bolus(
                        t,
                        total,
                        0.0,
                        0,
                        frac,
                        carbs,
                        bg,
                        iob,
                        CARB_RATIO,
                        ISF,
                        TARGET,
                        food,
                        correction,
                        override,
                    )
                )
        if d % 2 == 1:
            out.append(TempBasal(day + timedelta(hours=15), rng.choice((50, 70, 130, 150)), 90))
            out.append(Suspend(day + timedelta(hours=10, minutes=10), rng.randint(20, 50)))
        if d % 3 == 0:
            t = day + timedelta(hours=19, minutes=30)
            out.append(Suspend(t - timedelta(minutes=2), 12))
            out.append(SiteChange(t))
        if d == 1:
            out.append(Alarm(day + timedelta(hours=3, minutes=7), 2))
            out.append(Alarm(day + timedelta(hours=4), 0, alert=True))
        out.append(BgEntry(day + timedelta(hours=7, minutes=5), rng.randint(80, 200)))
        if cgm:
            for k in range(288):
                t = day + timedelta(minutes=5 * k)
                phase = 2 * math.pi * (d * 288 + k) / 288
                value = int(150 + 60 * math.sin(phase) + rng.gauss(0, 8))
                if d == 0 and k == 100:
                    value = 450
                if d == 0 and k == 200:
                    value = 35
                out.append(CgmReading(t, max(value, 20)))
    return out
