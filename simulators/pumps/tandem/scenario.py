"""A virtual t:slim X2 filled from a synthetic patient (:class:`Scenario`).

:func:`pump_log` writes the pump's history log -- every record encoded with the driver's
own :mod:`drivers.pumps.tandem.events` -- and its personal profiles from the scenario's
normalized records, so a test can run ``Scenario -> VirtualPump (pty) -> TandemPump ->
records`` and compare with :func:`pump_records` (what the pump holds, as the scenario
states it). What is written:

* **Boluses** (the pump's records): 64/65/66 (bolus requested 1-3: carbs, BG, IOB,
  carb ratio, ISF, target, user override, recommended food/correction/total), 55/59
  (normal/extended part activated) at the bolus time, 20/21 (part completed, delivered and
  requested) ``max(30 s, 40 s/U)`` later or at the end of the extended part. A bolus
  without a calculator record is a quick bolus (options 2).
  *Correction*: the pump's ``correction_bolus_size`` is the correction **net of IOB**
  (:func:`net_correction`), the scenario's ``recommended_correction_u`` the gross one;
  ``total_bolus_size`` is the calculator's recommendation (``recommended_total_u``).
  *Target*: a t:slim X2 profile segment has one target; the bolus records the one the
  correction was computed against (target low below the range, else target high).
* **Basal**: one 3 (basal rate change) per scenario segment: flags 0x01 scheduled, 0x04
  temp start (after a 2 temp rate activated), 0x08 temp end (after a 15), 0x10/0x20
  suspend/resume (after 11/12, only when the scenario has suspend segments); one more
  change at the end of the scenario closes the last segment.
* **Device events**: reservoir change -> 33 cartridge filled (200 U: the scenario does
  not say), tubing prime -> 63, site change -> 61 cannula filled (``prime_u``).
* **Glucose**: the scenario's CGM readings (its Dexcom device) -> 256 CGM GXB records
  stored on the pump (Low as 39, High as 401 mg/dL; the driver flags < 40 and > 400);
  the pump's fingersticks (``smbg``) -> 16 BG taken (user-typed). Calibrations, sensor
  starts/stops and meals (``Food``: a meal without a bolus never reaches a pump) are
  not on the pump.
* **Clock**: the pump clock is the patient's local wall clock, seconds since
  2008-01-01 (:data:`~drivers.pumps.tandem.events.TANDEM_EPOCH`). A t:slim X2 does not
  follow DST: at each change of the zone's offset the user sets the clock, which writes
  13 time changed (and 14 date changed when the date moves); the driver turns them into
  a ``time-change`` event and the time base walks back over it.
* **Settings**: one personal profile per distinct settings of the scenario (the one in
  force at the end active): segments at the union of the basal, carb-ratio, ISF and
  target start times (at most 16).

Resolution: doses and rates are f32 (the driver rounds to 5 decimals, so 0.01 U values
come back exact); carbs, BG, ISF and target are whole numbers; times whole seconds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from drivers._core.records import (
    BasalSegment,
    Bolus,
    DeviceEvent,
    GlucoseSample,
    Record,
)
from drivers.pumps.tandem import events as ev
from drivers.pumps.tandem.events import Event, pump_seconds
from drivers.pumps.tandem.messages import MAX_SEGMENTS, IdpProfile, IdpSegment
from simulators.patient.scenario import Scenario
from simulators.patient.therapy import PumpSettings, schedule_value

MAX_BASAL_U_PER_H = 3.0
"""The max-basal field written in the basal records (the scenario's rates stay below)."""
CARTRIDGE_U = 200.0
QUICK, STANDARD, EXTENDED = 2, 0, 1

# order of records written at the same instant (device events: _EVENT + their rank)
_CLOCK, _TEMP, _SUSPEND, _BASAL, _EVENT, _BOLUS, _DONE, _GLUCOSE = range(0, 80, 10)
_DEVICE_RANK = {"reservoir-change": 0, "prime": 1, "site-change": 2}


@dataclass(frozen=True, slots=True)
class ScenarioPump:
    """The pump side of a scenario.

    Attributes:
        events: The log records, sequence-numbered from ``first_seq``.
        profiles: Personal profiles by id, the active one first.
        serial: Pump serial number (VERSION_TE ``pump_sn``), the scenario pump's serial.
        tz: The patient's zone.
        end_utc: The moment of the upload the log was written for.
    """

    events: list[Event]
    profiles: dict[int, IdpProfile]
    serial: int
    tz: str
    end_utc: datetime

    def clock_at(self, utc: datetime) -> int:
        """The pump clock (seconds since 2008-01-01, local wall time) at ``utc``."""
        return pump_seconds(_wall(utc, ZoneInfo(self.tz)))

    def fixed_clock(self, utc: datetime | None = None) -> Callable[[], int]:
        """A pump clock standing at ``utc`` (default: the upload moment)."""
        seconds = self.clock_at(utc or self.end_utc)
        return lambda: seconds

    def wall_clock(self) -> Callable[[], int]:
        """The pump clock running on the host's real time (right to the second)."""
        return lambda: self.clock_at(datetime.now(UTC))


def net_correction(gross_u: float, iob_u: float) -> float:
    """The correction the pump records: the gross correction less active insulin.

    ``max(gross - IOB, 0)`` for a positive correction (IOB never makes a negative
    correction), the gross value itself when it is negative (BG below target), rounded to
    0.01 U. This is what a t:connect export carries in ``CorrectionBolusSize`` (the
    tconnectsync fixture row: BG 168, target 110, CF 30, IOB 1.71 -> 0.22 U, "Pump
    calculated Bolus = 0.2 units"), i.e. the pump's ``correction_bolus_size``.

    Examples
    --------
    >>> net_correction(1.93, 1.71), net_correction(0.5, 1.0), net_correction(-0.4, 1.0)
    (0.22, 0.0, -0.4)
    """
    if gross_u > 0:
        return round(max(gross_u - iob_u, 0.0), 2)
    return round(gross_u, 2)


def pump_records(scenario: Scenario) -> list[Record]:
    """The scenario's records a t:slim X2 holds (the truth for a pump read): boluses,
    basal segments, the pump's device events and fingersticks, and the CGM readings."""
    out: list[Record] = []
    for r in scenario.records:
        if isinstance(r, GlucoseSample):
            if (r.device_id == scenario.cgm_id and r.sample_type == "cgm") or (
                r.device_id == scenario.pump_id and r.sample_type == "smbg"
            ):
                out.append(r)
        elif r.device_id == scenario.pump_id and (
            isinstance(r, (Bolus, BasalSegment))
            or (isinstance(r, DeviceEvent) and r.event_type in _DEVICE_RANK)
        ):
            out.append(r)
    return out


def _wall(utc: datetime, zone: ZoneInfo) -> datetime:
    return utc.astimezone(zone).replace(tzinfo=None)


def _settings(scenario: Scenario) -> list[PumpSettings]:
    found = [scenario.patient.settings]
    for day, s in scenario.patient.retitrations:
        if 0 < day < scenario.days and s not in found:
            found.append(s)
    return found


def profile_of(settings: PumpSettings, idp: int, name: str) -> IdpProfile:
    """A personal profile holding ``settings`` (segments at every start time of any of
    its schedules; target = target high, the value corrections aim at)."""
    schedules = (
        settings.basal_u_per_h,
        settings.carb_ratio_g_per_u,
        settings.sensitivity_mgdl_per_u,
        settings.target_high_mgdl,
    )
    starts = sorted({e.start_s for s in schedules for e in s})
    if len(starts) > MAX_SEGMENTS:
        raise ValueError(f"{len(starts)} segments: a t:slim X2 profile holds {MAX_SEGMENTS}")

    def at(entries: Sequence[object], start: int) -> float:
        return float(schedule_value(entries, [start])[0])  # type: ignore[arg-type]

    segments = tuple(
        IdpSegment(
            start_min=start // 60,
            basal_mu_per_h=round(at(settings.basal_u_per_h, start) * 1000),
            carb_ratio_milli=round(at(settings.carb_ratio_g_per_u, start) * 1000),
            target_bg_mgdl=round(at(settings.target_high_mgdl, start)),
            isf_mgdl_per_u=round(at(settings.sensitivity_mgdl_per_u, start)),
        )
        for start in starts
    )
    return IdpProfile(
        idp=idp,
        name=name[:16],
        segments=segments,
        insulin_duration_min=round(settings.insulin_action_min),
        max_bolus_mu=25_000,
    )


def profiles_of(scenario: Scenario) -> dict[int, IdpProfile]:
    """The personal profiles, the one in force at the scenario's end first (active)."""
    found = _settings(scenario)
    names: list[str] = []
    for s in found:
        name = s.schedule_name
        names.append(name if name not in names else f"{name} {len(names) + 1}")
    profiles = [profile_of(s, i, n) for i, (s, n) in enumerate(zip(found, names, strict=True))]
    return {p.idp: p for p in [profiles[-1], *profiles[:-1]]}


def pump_log(
    scenario: Scenario,
    *,
    first_seq: int = 1,
    until_utc: datetime | None = None,
    after_utc: datetime | None = None,
) -> ScenarioPump:
    """The pump's log for ``scenario`` (see the module docstring).

    Args:
        scenario: The synthetic patient.
        first_seq: Sequence number of the first record.
        until_utc: The upload moment: records timed later (a completion still to come,
            later readings) are not written yet, and the basal segment running then stays
            open. Default: the end of the scenario, where the last segment is closed.
        after_utc: Write only records timed after this moment (with ``first_seq`` set
            to continue a log written up to it: the pump went on logging).
    """
    zone = ZoneInfo(scenario.tz)
    t = scenario.truth
    grid_end = _utc(t.time_utc[-1]) + timedelta(minutes=5)
    end = until_utc or grid_end
    profiles = profiles_of(scenario)
    settings = _settings(scenario)
    items: list[tuple[datetime, int, int, Event]] = []
    n = 0

    def put(when: datetime, rank: int, event: Event) -> None:
        nonlocal n
        n += 1
        items.append((when, rank, n, event))

    def ts(when: datetime) -> int:
        return pump_seconds(_wall(when, zone))

    # -- the clock: the user follows each change of the zone's offset
    offsets = t.utc_offset_s
    for k in np.flatnonzero(np.diff(offsets)) + 1:
        at = _utc(t.time_utc[k])
        before = at + timedelta(seconds=int(offsets[k - 1]))
        before = before.replace(tzinfo=None)
        after = _wall(at, zone)
        put(at, _CLOCK, ev.TimeChanged(seq=0, timestamp=ts(at), time_prior_ms=_ms(before),
                                       time_after_ms=_ms(after)))  # fmt: skip
        if before.date() != after.date():
            put(at, _CLOCK, ev.DateChanged(seq=0, timestamp=ts(at), date_prior_days=_days(before),
                                           date_after_days=_days(after)))  # fmt: skip

    records = pump_records(scenario)
    # -- basal
    segments = [r for r in records if isinstance(r, BasalSegment)]
    idp_of = {s.schedule_name: i for i, s in enumerate(settings)}
    active_idp = next(iter(profiles))
    temp_id = 0
    prev: BasalSegment | None = None
    for seg in segments:
        assert seg.time_utc is not None
        at, stamp = seg.time_utc, ts(seg.time_utc)
        flags = 0
        was_temp = prev is not None and prev.basal_type == "temp"
        was_suspend = prev is not None and prev.basal_type == "suspend"
        same_temp = was_temp and seg.basal_type == "temp" and seg.percent == prev.percent  # type: ignore[union-attr]
        if seg.basal_type == "suspend" and not was_suspend:
            put(at, _SUSPEND, ev.PumpingSuspended(seq=0, timestamp=stamp, insulin_amount=150))
            flags |= 0x10
        elif was_suspend and seg.basal_type != "suspend":
            put(at, _SUSPEND, ev.PumpingResumed(seq=0, timestamp=stamp, insulin_amount=150))
            flags |= 0x20
        if was_temp and not same_temp:
            put(at, _TEMP, ev.TempRateCompleted(seq=0, timestamp=stamp, temp_rate_id=temp_id))
            flags |= 0x08
        if seg.basal_type == "temp" and not same_temp:
            temp_id += 1
            run = _temp_run_s(segments, seg)
            put(at, _TEMP, ev.TempRateActivated(seq=0, timestamp=stamp,
                                                percent=float(seg.percent or 100.0),
                                                duration=float(run * 1000),
                                                temp_rate_id=temp_id))  # fmt: skip
            flags = (flags & ~0x08) | 0x04  # a temp replacing a temp: "started" only
        flags = flags or 0x01
        idp = idp_of.get(seg.schedule_name or "", active_idp)
        put(at, _BASAL, _rate_change(seg, stamp, flags, idp))
        prev = seg
    if prev is not None and until_utc is None:  # close the last segment at the end
        assert prev.time_utc is not None
        close = prev.time_utc + timedelta(seconds=prev.duration_s or 0)
        put(close, _BASAL, _rate_change(prev, ts(close), 0x01, active_idp))

    # -- boluses
    bolus_id = 0
    for r in records:
        if not isinstance(r, Bolus):
            continue
        assert r.time_utc is not None
        bolus_id += 1
        _write_bolus(r, bolus_id % 0x10000, put, ts)

    # -- device events and glucose
    for r in records:
        assert r.time_utc is not None
        at, stamp = r.time_utc, ts(r.time_utc)
        if isinstance(r, DeviceEvent):
            rank = _EVENT + _DEVICE_RANK[r.event_type]
            if r.event_type == "reservoir-change":
                put(at, rank, ev.CartridgeFilled(seq=0, timestamp=stamp,
                                                 insulin_display=round(CARTRIDGE_U),
                                                 insulin_actual=CARTRIDGE_U))  # fmt: skip
            elif r.event_type == "prime":
                put(at, rank, ev.TubingFilled(seq=0, timestamp=stamp, prime_size=r.prime_u or 0.0))
            else:
                put(at, rank, ev.CannulaFilled(seq=0, timestamp=stamp, prime_size=r.prime_u or 0.3))
        elif isinstance(r, GlucoseSample) and r.sample_type == "smbg":
            assert r.glucose_mgdl is not None
            put(at, _GLUCOSE, ev.BgReadingTaken(seq=0, timestamp=stamp,
                                                bg_mgdl=round(r.glucose_mgdl)))  # fmt: skip
        elif isinstance(r, GlucoseSample):
            value = 39 if r.special == "low" else 401 if r.special == "high" else r.glucose_mgdl
            assert value is not None
            logged = at + timedelta(seconds=3)  # the pump logs a reading as it arrives
            put(logged, _GLUCOSE, ev.CgmDataGxb(seq=0, timestamp=ts(logged), status=0,
                                                egv_type=1, rate=0, algorithm_state=7,
                                                rssi=-60, value=round(value),
                                                egv_timestamp=stamp, interval=5))  # fmt: skip

    items.sort(key=lambda it: (it[0], it[1], it[2]))
    lo = after_utc or datetime.min.replace(tzinfo=UTC)
    kept = [e for when, _, _, e in items if lo < when <= end]
    numbered = [
        dataclasses.replace(e, seq=first_seq + i, index=first_seq + i) for i, e in enumerate(kept)
    ]
    return ScenarioPump(numbered, profiles, int(scenario.patient.pump[2]), scenario.tz, end)


def _rate_change(seg: BasalSegment, stamp: int, flags: int, idp: int) -> ev.BasalRateChange:
    return ev.BasalRateChange(
        seq=0,
        timestamp=stamp,
        command_basal_rate=0.0 if seg.basal_type == "suspend" else seg.rate_u_per_h,
        base_basal_rate=seg.scheduled_rate_u_per_h
        if seg.scheduled_rate_u_per_h is not None
        else seg.rate_u_per_h,
        max_basal_rate=MAX_BASAL_U_PER_H,
        idp=idp,
        change_type=flags,
    )


def _temp_run_s(segments: list[BasalSegment], first: BasalSegment) -> int:
    """Length of the temp rate starting with ``first`` (it may span schedule changes)."""
    i = segments.index(first)
    total = 0
    for seg in segments[i:]:
        if seg.basal_type != "temp" or seg.percent != first.percent:
            break
        total += seg.duration_s or 0
    return total


def _write_bolus(
    r: Bolus,
    bolus_id: int,
    put: Callable[[datetime, int, Event], None],
    ts: Callable[[datetime], int],
) -> None:
    assert r.time_utc is not None
    at = r.time_utc
    stamp = ts(at)
    calc = r.calculation
    has_ext = r.extended_programmed_u > 0
    has_normal = r.programmed_u > 0 or not has_ext
    total = r.programmed_u + r.extended_programmed_u
    iob = (calc.iob_u or 0.0) if calc is not None else 0.0
    options = QUICK if calc is None else EXTENDED if has_ext else STANDARD
    percent = 100 if not has_ext else round(100 * r.programmed_u / total) if total else 0
    carbs = round(calc.carbs_g or 0.0) if calc is not None else 0
    bg = round(calc.bg_mgdl or 0.0) if calc is not None else 0
    gross = (calc.recommended_correction_u or 0.0) if calc is not None else 0.0
    corr = net_correction(gross, iob)
    target = 0
    if calc is not None:
        low, high = calc.target_low_mgdl, calc.target_high_mgdl
        use = low if calc.bg_mgdl is not None and low is not None and calc.bg_mgdl < low else high
        target = round(use or 0.0)
    put(at, _BOLUS, ev.BolusRequested1(
        seq=0, timestamp=stamp, bolus_id=bolus_id, bolus_type=1 if carbs else 0,
        correction_included=1 if corr else 0, carb_amount=carbs, bg=bg, iob=iob,
        carb_ratio_milli=round((calc.carb_ratio_g_per_u or 0.0) * 1000) if calc else 0,
    ))  # fmt: skip
    put(at, _BOLUS, ev.BolusRequested2(
        seq=0, timestamp=stamp, bolus_id=bolus_id, options=options, standard_percent=percent,
        duration_min=round(r.extended_duration_s / 60),
        isf=round(calc.sensitivity_mgdl_per_u or 0.0) if calc else 0, target_bg=target,
        user_override=int(bool(calc.user_changed)) if calc else 0,
    ))  # fmt: skip
    put(at, _BOLUS, ev.BolusRequested3(
        seq=0, timestamp=stamp, bolus_id=bolus_id,
        food_bolus_size=(calc.recommended_food_u or 0.0) if calc else 0.0,
        correction_bolus_size=corr,
        total_bolus_size=(calc.recommended_total_u or 0.0) if calc else total,
    ))  # fmt: skip
    if has_normal:
        put(at, _BOLUS, ev.BolusActivated(seq=0, timestamp=stamp, bolus_id=bolus_id, iob=iob,
                                          bolus_size=r.programmed_u))  # fmt: skip
        done = at + timedelta(seconds=max(30, round(r.programmed_u * 40)))
        put(done, _DONE, ev.BolusCompleted(
            seq=0, timestamp=ts(done), bolus_id=bolus_id,
            completion_status=0 if r.delivered_u >= r.programmed_u else 1,
            iob=iob + r.delivered_u, insulin_delivered=r.delivered_u,
            insulin_requested=r.programmed_u,
        ))  # fmt: skip
    if has_ext:
        put(at, _BOLUS, ev.BolexActivated(seq=0, timestamp=stamp, bolus_id=bolus_id, iob=iob,
                                          bolex_size=r.extended_programmed_u))  # fmt: skip
        done = at + timedelta(seconds=r.extended_duration_s)
        put(done, _DONE, ev.BolexCompleted(
            seq=0, timestamp=ts(done), bolus_id=bolus_id,
            completion_status=0 if r.extended_delivered_u >= r.extended_programmed_u else 1,
            iob=iob + r.delivered_u + r.extended_delivered_u,
            insulin_delivered=r.extended_delivered_u,
            insulin_requested=r.extended_programmed_u,
        ))  # fmt: skip


def _utc(value: np.datetime64) -> datetime:
    return datetime.fromtimestamp(int(value.astype("datetime64[s]").astype(np.int64)), UTC)


def _ms(when: datetime) -> int:
    return (when.hour * 3600 + when.minute * 60 + when.second) * 1000


def _days(when: datetime) -> int:
    return (when.date() - ev.TANDEM_EPOCH.date()).days
