"""Pump therapy: settings, the bolus calculator, basal delivery and device records.

* :class:`PumpSettings` is what the pump is programmed with (not the patient's true
  physiology, :class:`~simulators.patient.physiology.Physiology`); it becomes a
  :class:`~drivers._core.records.SettingsSnapshot`.
* :func:`recommend_bolus` is a pump bolus calculator (Medtronic Bolus Wizard rules, as
  described in Walsh & Roberts, *Pumping Insulin*, and the 600-series user guide):

  - food = carbs / carb ratio;
  - correction = (BG - target_high) / ISF above the target range,
    (BG - target_low) / ISF below it, 0 inside it;
  - active insulin (IOB, boluses only, from the same exponential curve as the
    physiology with the pump's insulin action time) is subtracted from a positive
    correction, never below zero; a negative correction reduces the food part;
  - the total is never negative and is rounded *down* to the pump increment (0.05 U).

* :func:`basal_runs` turns the per-slot basal program (schedule entries and temp
  basals) into :class:`~drivers._core.records.BasalSegment` runs.
* :class:`SlotClock` maps grid slots to UTC and to the local wall clock the pump shows
  (a DST change shows as a repeated or skipped local hour, as on a real device).
* ``*_record`` helpers build the device events (reservoir/cartridge change, tubing
  prime, site change, sensor start/stop) and glucose samples (fingerstick ``smbg``,
  CGM ``calibration``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import ArrayLike, NDArray

from drivers._core.records import (
    Bolus,
    BolusCalculation,
    DeviceEvent,
    DeviceEventType,
    GlucoseSample,
    GlucoseSampleType,
    ScheduleEntry,
    SettingsSnapshot,
)
from simulators.patient.physiology import SLOT_S, STEP_MIN, insulin_on_board

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

BOLUS_INCREMENT_U = 0.05
"""Bolus and basal resolution of the simulated pump."""

Schedule = tuple[ScheduleEntry, ...]


def schedule(*pairs: tuple[str, float]) -> Schedule:
    """Build a daily schedule from ``("HH:MM", value)`` pairs (the first must be 00:00).

    Examples
    --------
    >>> schedule(("00:00", 0.8), ("03:00", 1.0))[1]
    ScheduleEntry(start_s=10800, value=1.0)
    """
    out = []
    for hhmm, value in pairs:
        h, m = hhmm.split(":")
        out.append(ScheduleEntry(start_s=int(h) * 3600 + int(m) * 60, value=float(value)))
    if not out or out[0].start_s != 0:
        raise ValueError("a schedule starts at 00:00")
    if any(b.start_s <= a.start_s for a, b in itertools.pairwise(out)):
        raise ValueError("schedule entries must be in increasing time order")
    return tuple(out)


def schedule_index(entries: Schedule, seconds_of_day: ArrayLike) -> IntArray:
    """Index of the entry in force at each local time (seconds after midnight).

    Examples
    --------
    >>> schedule_index(schedule(("00:00", 1), ("06:00", 2)), [0, 21599, 21600]).tolist()
    [0, 0, 1]
    """
    starts = np.array([e.start_s for e in entries], dtype=np.int64)
    s = np.asarray(seconds_of_day, dtype=np.int64)
    return np.asarray(np.searchsorted(starts, s, side="right") - 1, dtype=np.int64)


def schedule_value(entries: Schedule, seconds_of_day: ArrayLike) -> FloatArray:
    """Value of a schedule at each local time (seconds after midnight).

    Examples
    --------
    >>> schedule_value(schedule(("00:00", 1), ("06:00", 2)), [3600, 7 * 3600]).tolist()
    [1.0, 2.0]
    """
    values = np.array([e.value for e in entries], dtype=np.float64)
    return np.asarray(values[schedule_index(entries, seconds_of_day)], dtype=np.float64)


def scale_schedule(entries: Schedule, factor: float, *, digits: int = 2) -> Schedule:
    """Every value times ``factor``, rounded (a mis-set pump, a titration)."""
    return tuple(
        ScheduleEntry(start_s=e.start_s, value=round(e.value * factor, digits)) for e in entries
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class PumpSettings:
    """Therapy settings programmed in the pump.

    Attributes
    ----------
    basal_u_per_h, carb_ratio_g_per_u, sensitivity_mgdl_per_u, target_low_mgdl,
    target_high_mgdl : daily schedules (:func:`schedule`).
    insulin_action_min : the pump's active-insulin time (DIA), minutes.
    insulin_peak_min : peak of the exponential curve the calculator uses.
    schedule_name : name of the active basal pattern.
    """

    basal_u_per_h: Schedule
    carb_ratio_g_per_u: Schedule
    sensitivity_mgdl_per_u: Schedule
    target_low_mgdl: Schedule
    target_high_mgdl: Schedule
    insulin_action_min: float = 360.0
    insulin_peak_min: float = 75.0
    schedule_name: str = "standard"

    @property
    def daily_basal_u(self) -> float:
        """Scheduled basal insulin per day."""
        seconds = np.arange(0, 86400, SLOT_S)
        return float(schedule_value(self.basal_u_per_h, seconds).sum() * SLOT_S / 3600.0)

    def snapshot(
        self,
        *,
        device_id: str,
        source_index: str,
        device_time: datetime,
        time_utc: datetime | None = None,
        utc_offset_s: int | None = None,
    ) -> SettingsSnapshot:
        """The settings as a pump upload reports them."""
        return SettingsSnapshot(
            device_id=device_id,
            source_index=source_index,
            device_time=device_time,
            time_utc=time_utc,
            utc_offset_s=utc_offset_s,
            active_schedule=self.schedule_name,
            basal_schedules_u_per_h={self.schedule_name: self.basal_u_per_h},
            carb_ratios_g_per_u=self.carb_ratio_g_per_u,
            sensitivities_mgdl_per_u=self.sensitivity_mgdl_per_u,
            target_low_mgdl=self.target_low_mgdl,
            target_high_mgdl=self.target_high_mgdl,
            insulin_action_s=int(self.insulin_action_min * 60),
        )


# --------------------------------------------------------------------------- calculator


def round_down(units: float, increment: float = BOLUS_INCREMENT_U) -> float:
    """Round down to the pump increment (a pump never rounds a dose up).

    Examples
    --------
    >>> round_down(1.2399), round_down(-0.3)
    (1.2, 0.0)
    """
    if units <= 0.0:
        return 0.0
    return round(math.floor(units / increment + 1e-9) * increment, 4)


def bolus_iob(dose_minutes_ago: ArrayLike, doses_u: ArrayLike, settings: PumpSettings) -> float:
    """Active bolus insulin (U) as the pump computes it from past boluses.

    Examples
    --------
    >>> s = PumpSettings(basal_u_per_h=schedule(("00:00", 1)),
    ...     carb_ratio_g_per_u=schedule(("00:00", 10)),
    ...     sensitivity_mgdl_per_u=schedule(("00:00", 50)),
    ...     target_low_mgdl=schedule(("00:00", 100)), target_high_mgdl=schedule(("00:00", 120)))
    >>> bolus_iob([0.0, 400.0], [2.0, 5.0], s)
    2.0
    """
    frac = insulin_on_board(
        dose_minutes_ago, dia_min=settings.insulin_action_min, peak_min=settings.insulin_peak_min
    )
    return float(np.sum(frac * np.asarray(doses_u, dtype=np.float64)))


def recommend_bolus(
    settings: PumpSettings,
    *,
    seconds_of_day: int,
    carbs_g: float,
    bg_mgdl: float | None,
    iob_u: float,
) -> BolusCalculation:
    """The calculator's recommendation (``user_changed`` left None: the user decides).

    Examples
    --------
    >>> s = PumpSettings(basal_u_per_h=schedule(("00:00", 1)),
    ...     carb_ratio_g_per_u=schedule(("00:00", 10)),
    ...     sensitivity_mgdl_per_u=schedule(("00:00", 50)),
    ...     target_low_mgdl=schedule(("00:00", 100)), target_high_mgdl=schedule(("00:00", 120)))
    >>> c = recommend_bolus(s, seconds_of_day=0, carbs_g=60, bg_mgdl=220, iob_u=0.5)
    >>> c.recommended_food_u, c.recommended_correction_u, c.recommended_total_u
    (6.0, 2.0, 7.5)
    >>> recommend_bolus(s, seconds_of_day=0, carbs_g=10, bg_mgdl=50, iob_u=0).recommended_total_u
    0.0
    """
    sod = np.array([seconds_of_day])
    cr = float(schedule_value(settings.carb_ratio_g_per_u, sod)[0])
    isf = float(schedule_value(settings.sensitivity_mgdl_per_u, sod)[0])
    lo = float(schedule_value(settings.target_low_mgdl, sod)[0])
    hi = float(schedule_value(settings.target_high_mgdl, sod)[0])
    food = carbs_g / cr
    if bg_mgdl is None:
        correction = 0.0
    elif bg_mgdl > hi:
        correction = (bg_mgdl - hi) / isf
    elif bg_mgdl < lo:
        correction = (bg_mgdl - lo) / isf
    else:
        correction = 0.0
    net_correction = max(correction - iob_u, 0.0) if correction > 0.0 else correction
    total = round_down(food + net_correction)
    return BolusCalculation(
        carbs_g=carbs_g,
        bg_mgdl=bg_mgdl,
        carb_ratio_g_per_u=cr,
        sensitivity_mgdl_per_u=isf,
        target_low_mgdl=lo,
        target_high_mgdl=hi,
        iob_u=round(iob_u, 2),
        recommended_food_u=round(food, 2),
        recommended_correction_u=round(correction, 2),
        recommended_total_u=total,
        user_changed=None,
    )


# --------------------------------------------------------------------------- clock


@dataclass(frozen=True, slots=True)
class SlotClock:
    """UTC and local wall-clock time of every 5-minute slot from local midnight of ``start``.

    Attributes
    ----------
    utc : aware UTC datetimes.
    local : naive local wall-clock datetimes (what the devices show).
    offset_s : UTC offset of each slot (local = UTC + offset).
    seconds_of_day : local seconds after midnight.
    local_hour : local hour as a float.
    local_day : local calendar day index (0 = ``start``).
    """

    utc: list[datetime]
    local: list[datetime]
    offset_s: IntArray
    seconds_of_day: IntArray
    local_hour: FloatArray
    local_day: IntArray
    _key: IntArray = field(repr=False)

    @classmethod
    def build(cls, *, tz: str, start: date, n_slots: int) -> SlotClock:
        """Slots every 5 minutes of UTC time from local midnight of ``start`` in ``tz``."""
        zone = ZoneInfo(tz)
        t0 = datetime(start.year, start.month, start.day, tzinfo=zone).astimezone(UTC)
        utc = [t0 + timedelta(seconds=SLOT_S * i) for i in range(n_slots)]
        aware = [u.astimezone(zone) for u in utc]
        local = [a.replace(tzinfo=None) for a in aware]
        offset = np.array(
            [int((a.utcoffset() or timedelta()).total_seconds()) for a in aware], dtype=np.int64
        )
        sod = np.array([lt.hour * 3600 + lt.minute * 60 + lt.second for lt in local], np.int64)
        day = np.array([(lt.date() - start).days for lt in local], dtype=np.int64)
        key = np.maximum.accumulate(day * 86400 + sod)
        return cls(utc, local, offset, sod, sod / 3600.0, day, key)

    @property
    def n_slots(self) -> int:
        """Number of slots."""
        return len(self.utc)

    def slot_at_local(self, day: ArrayLike, minute: ArrayLike) -> IntArray:
        """First slot at or after local ``day`` + ``minute`` (clipped to the grid).

        In a repeated DST hour the first occurrence is taken; in a skipped hour the
        first slot after it.
        """
        want = np.asarray(day, dtype=np.int64) * 86400 + np.round(
            np.asarray(minute, dtype=np.float64) * 60.0
        ).astype(np.int64)
        idx = np.searchsorted(self._key, want, side="left")
        return np.asarray(np.clip(idx, 0, self.n_slots - 1), dtype=np.int64)


# --------------------------------------------------------------------------- basal


@dataclass(frozen=True, slots=True)
class TempBasal:
    """A temporary basal of ``percent`` % of the scheduled rate."""

    slot: int
    duration_slots: int
    percent: float


@dataclass(frozen=True, slots=True)
class BasalProgram:
    """Per-slot basal delivery (time-ordered arrays of ``n_slots``)."""

    rate_u_per_h: FloatArray
    scheduled_u_per_h: FloatArray
    percent: FloatArray
    entry: IntArray
    temp: NDArray[np.bool_]

    @property
    def units_per_slot(self) -> FloatArray:
        """Insulin delivered in each slot, U."""
        return np.asarray(self.rate_u_per_h * STEP_MIN / 60.0, dtype=np.float64)


def basal_program(
    settings_per_slot: Sequence[PumpSettings],
    change_slots: Sequence[int],
    seconds_of_day: IntArray,
    temps: Sequence[TempBasal] = (),
) -> BasalProgram:
    """Scheduled basal of the settings in force, with temp basals applied.

    ``settings_per_slot[i]`` is in force from ``change_slots[i]`` (the first is 0).
    """
    n = len(seconds_of_day)
    sched = np.empty(n)
    entry = np.empty(n, dtype=np.int64)
    bounds = [*change_slots, n]
    for i, s in enumerate(settings_per_slot):
        a, b = bounds[i], bounds[i + 1]
        sched[a:b] = schedule_value(s.basal_u_per_h, seconds_of_day[a:b])
        entry[a:b] = schedule_index(s.basal_u_per_h, seconds_of_day[a:b]) + 100 * i
    percent = np.full(n, 100.0)
    temp = np.zeros(n, dtype=np.bool_)
    for t in temps:
        percent[t.slot : t.slot + t.duration_slots] = t.percent
        temp[t.slot : t.slot + t.duration_slots] = True
    rate = np.round(sched * percent / 100.0 / BOLUS_INCREMENT_U) * BOLUS_INCREMENT_U
    rate = np.where(temp, rate, sched)
    return BasalProgram(rate, sched, percent, entry, temp)


def basal_runs(program: BasalProgram) -> list[tuple[int, int]]:
    """``(first slot, n slots)`` of each run of constant delivery.

    A run ends where the rate, the schedule entry or the temp state changes (a pump
    logs a new segment at each schedule boundary even when the rate repeats).

    Examples
    --------
    >>> p = BasalProgram(np.array([1.0, 1.0, 0.5, 0.5]), np.ones(4),
    ...     np.array([100.0, 100.0, 50.0, 50.0]), np.zeros(4, np.int64),
    ...     np.array([False, False, True, True]))
    >>> basal_runs(p)
    [(0, 2), (2, 2)]
    """
    n = len(program.rate_u_per_h)
    change = np.ones(n, dtype=np.bool_)
    change[1:] = (
        (program.rate_u_per_h[1:] != program.rate_u_per_h[:-1])
        | (program.entry[1:] != program.entry[:-1])
        | (program.temp[1:] != program.temp[:-1])
        | (program.percent[1:] != program.percent[:-1])
    )
    starts = np.flatnonzero(change)
    lengths = np.diff(np.append(starts, n))
    return [(int(a), int(b)) for a, b in zip(starts, lengths, strict=True)]


# --------------------------------------------------------------------------- records


def device_event(
    clock: SlotClock,
    slot: int,
    *,
    device_id: str,
    source_index: str,
    event_type: DeviceEventType,
    prime_u: float | None = None,
    detail: str | None = None,
) -> DeviceEvent:
    """A device event stamped with the slot's local and UTC time."""
    return DeviceEvent(
        device_id=device_id,
        source_index=source_index,
        device_time=clock.local[slot],
        time_utc=clock.utc[slot],
        utc_offset_s=int(clock.offset_s[slot]),
        event_type=event_type,
        prime_u=prime_u,
        detail=detail,
    )


def glucose_record(
    clock: SlotClock,
    slot: int,
    *,
    device_id: str,
    source_index: str,
    sample_type: GlucoseSampleType,
    mgdl: float,
) -> GlucoseSample:
    """A fingerstick (``smbg``) or a calibration entered into the CGM (``calibration``)."""
    return GlucoseSample(
        device_id=device_id,
        source_index=source_index,
        device_time=clock.local[slot],
        time_utc=clock.utc[slot],
        utc_offset_s=int(clock.offset_s[slot]),
        sample_type=sample_type,
        glucose_mgdl=float(mgdl),
    )


def bolus_record(
    clock: SlotClock,
    slot: int,
    *,
    device_id: str,
    source_index: str,
    units: float,
    calculation: BolusCalculation,
) -> Bolus:
    """A normal bolus, delivered in full, with its calculator record."""
    return Bolus(
        device_id=device_id,
        source_index=source_index,
        device_time=clock.local[slot],
        time_utc=clock.utc[slot],
        utc_offset_s=int(clock.offset_s[slot]),
        subtype="normal",
        programmed_u=units,
        delivered_u=units,
        calculation=calculation,
    )
