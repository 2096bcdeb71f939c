"""What the patient does: meals, bolus habits, site and sensor changes, exercise, uploads.

:class:`Behaviour` holds the habits; the ``draw_*`` functions turn habits into planned
events with NumPy arrays whose leading axis is the patient (one patient for a
:class:`~simulators.patient.scenario.Scenario`, thousands for
:func:`~simulators.patient.cohort.cohort`). Rates broadcast against that axis, so a
cohort can give every patient its own missed-bolus rate.

Meal bolus modes (per meal, drawn independently):

* missed (``missed_bolus_rate``): no bolus at all;
* late (``late_bolus_rate`` of the others): bolus ``late_bolus_min`` after eating;
* on time: bolus ``prebolus_min`` before eating (0 = at the meal).

Any bolus (meal or correction) is changed by the user with ``override_rate``: up with
probability ``override_up_fraction``, by a fraction drawn from ``override_size``.
Meals of one day are kept at least ``MIN_MEAL_SPACING_MIN`` apart (a later meal too close
to the previous one is dropped), so every bolus belongs to exactly one meal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

MIN_MEAL_SPACING_MIN = 120.0
"""Meals closer than this to the previous meal of the day are dropped."""
MODE_ON_TIME, MODE_LATE, MODE_MISSED = 0, 1, 2


@dataclass(frozen=True, slots=True, kw_only=True)
class Meal:
    """A habitual eating occasion.

    Attributes
    ----------
    name : breakfast, lunch, ...
    hour : mean local time, hours.
    sd_min : SD of the time, minutes.
    carbs_g, carbs_sd_g : size (normal, truncated at 5 g).
    probability : chance the meal happens on a given day.
    tmax_min : mean time to peak absorption (each meal draws within +-30 %).
    """

    name: str
    hour: float
    sd_min: float
    carbs_g: float
    carbs_sd_g: float
    probability: float = 1.0
    tmax_min: float = 50.0


DEFAULT_MEALS: tuple[Meal, ...] = (
    Meal(name="breakfast", hour=7.5, sd_min=40.0, carbs_g=45.0, carbs_sd_g=12.0, tmax_min=45.0),
    Meal(name="lunch", hour=12.5, sd_min=40.0, carbs_g=60.0, carbs_sd_g=15.0),
    Meal(name="snack", hour=15.5, sd_min=45.0, carbs_g=20.0, carbs_sd_g=6.0, probability=0.4),
    Meal(name="dinner", hour=19.0, sd_min=45.0, carbs_g=70.0, carbs_sd_g=18.0, tmax_min=60.0),
    Meal(name="snack", hour=21.8, sd_min=30.0, carbs_g=25.0, carbs_sd_g=8.0, probability=0.3),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Behaviour:
    """The patient's habits (rates are per opportunity; times are local).

    Attributes
    ----------
    meals : eating occasions.
    carb_count_sd : SD of log(counted / true carbs).
    missed_bolus_rate : share of meals with no bolus.
    late_bolus_rate : share of bolused meals bolused late.
    late_bolus_min : range of the delay after eating, minutes.
    prebolus_min : range of the lead before eating of on-time boluses, minutes.
    override_rate : share of boluses where the user changes the recommendation.
    override_up_fraction : share of overrides that increase the dose.
    override_size : range of the relative change.
    correction_above_mgdl : CGM level that may prompt a correction bolus (hourly, 07-23 h).
    correction_probability : chance of acting on it at each hourly check.
    correction_min_gap_min : no correction within this time of the last bolus.
    fingerstick_when_no_cgm : chance of a fingerstick for the calculator without CGM.
    fingersticks_per_day : other fingerstick checks (Poisson per day, 07-22 h).
    calibration_probability : chance of one calibration per sensor session.
    site_change_days, site_change_jitter_days : infusion-set change interval (normal).
    sensor_gap_probability : chance of a gap before the next sensor.
    sensor_gap_days : range of such a gap, days.
    exercise_per_week, exercise_hour, exercise_min, exercise_intensity : sessions.
    exercise_temp_basal_probability : chance of a 50 % temp basal from 1 h before.
    rescue_below_mgdl, rescue_carbs_g : hypoglycaemia treatment (rule of 15).
    upload_every_days, upload_jitter_days : how often the pump is uploaded.
    """

    meals: tuple[Meal, ...] = DEFAULT_MEALS
    carb_count_sd: float = 0.2
    missed_bolus_rate: float = 0.03
    late_bolus_rate: float = 0.05
    late_bolus_min: tuple[float, float] = (20.0, 75.0)
    prebolus_min: tuple[float, float] = (0.0, 15.0)
    override_rate: float = 0.05
    override_up_fraction: float = 0.4
    override_size: tuple[float, float] = (0.15, 0.4)
    correction_above_mgdl: float = 220.0
    correction_probability: float = 0.4
    correction_min_gap_min: float = 180.0
    fingerstick_when_no_cgm: float = 0.7
    fingersticks_per_day: float = 0.3
    calibration_probability: float = 0.3
    site_change_days: float = 3.0
    site_change_jitter_days: float = 0.3
    sensor_gap_probability: float = 0.05
    sensor_gap_days: tuple[float, float] = (0.5, 2.0)
    exercise_per_week: float = 2.5
    exercise_hour: float = 17.5
    exercise_min: tuple[float, float] = (30.0, 60.0)
    exercise_intensity: tuple[float, float] = (0.5, 1.0)
    exercise_temp_basal_probability: float = 0.4
    rescue_below_mgdl: float = 70.0
    rescue_carbs_g: float = 15.0
    upload_every_days: float = 7.0
    upload_jitter_days: float = 1.0


# --------------------------------------------------------------------------- meals


@dataclass(frozen=True, slots=True)
class MealDraw:
    """Meals on a ``(patients, days, occasions)`` grid (``present`` marks real ones).

    ``minute`` is local minutes after midnight of the day (may exceed 1440 for a late
    snack); ``carbs_true_g`` what is eaten, ``carbs_counted_g`` what the patient enters
    (whole grams).
    """

    present: BoolArray
    minute: FloatArray
    carbs_true_g: FloatArray
    carbs_counted_g: FloatArray
    tmax_min: FloatArray
    occasion: IntArray


def draw_meals(
    rng: np.random.Generator,
    n_patients: int,
    days: int,
    meals: Sequence[Meal],
    *,
    carb_count_sd: ArrayLike = 0.2,
    carb_scale: ArrayLike = 1.0,
) -> MealDraw:
    """Draw every meal of ``days`` days for ``n_patients`` patients with the same habits.

    ``carb_count_sd`` and ``carb_scale`` are per patient (broadcast to ``(P, 1, 1)``).

    Examples
    --------
    >>> d = draw_meals(np.random.default_rng(0), 2, 3, DEFAULT_MEALS)
    >>> d.present.shape
    (2, 3, 5)
    >>> bool((np.diff(np.where(d.present, d.minute, np.nan)[..., :], axis=-1) < 0).any())
    False
    """
    shape = (n_patients, days, len(meals))
    hour = np.array([m.hour for m in meals])
    sd = np.array([m.sd_min for m in meals])
    mean_g = np.array([m.carbs_g for m in meals])
    sd_g = np.array([m.carbs_sd_g for m in meals])
    prob = np.array([m.probability for m in meals])
    tmax = np.array([m.tmax_min for m in meals])
    scale = np.reshape(np.asarray(carb_scale, dtype=np.float64), (-1, 1, 1))
    count_sd = np.reshape(np.asarray(carb_count_sd, dtype=np.float64), (-1, 1, 1))
    present = rng.random(shape) < prob
    minute = hour * 60.0 + sd * rng.standard_normal(shape)
    carbs = np.maximum(mean_g + sd_g * rng.standard_normal(shape), 5.0) * scale
    counted = np.maximum(np.round(carbs * np.exp(count_sd * rng.standard_normal(shape))), 1.0)
    tm = tmax * rng.uniform(0.7, 1.3, shape)
    # keep meals in time order and MIN_MEAL_SPACING_MIN apart (occasions are few: loop them)
    order = np.argsort(np.where(present, minute, np.inf), axis=-1, kind="stable")
    present = np.take_along_axis(present, order, -1)
    minute = np.take_along_axis(minute, order, -1)
    carbs = np.take_along_axis(carbs, order, -1)
    counted = np.take_along_axis(counted, order, -1)
    tm = np.take_along_axis(tm, order, -1)
    last = np.full(shape[:2], -np.inf)
    for j in range(shape[2]):
        ok = present[..., j] & (minute[..., j] - last >= MIN_MEAL_SPACING_MIN)
        present[..., j] = ok
        last = np.where(ok, minute[..., j], last)
    return MealDraw(present, minute, carbs, counted, tm, order.astype(np.int64))


@dataclass(frozen=True, slots=True)
class BolusDraw:
    """Bolus decisions for each meal (arrays shaped like the meals).

    ``offset_min`` is the bolus time minus the meal time (negative = pre-bolus).
    """

    mode: IntArray
    offset_min: FloatArray
    override: BoolArray
    override_up: BoolArray
    override_size: FloatArray


def draw_bolus_behaviour(
    rng: np.random.Generator,
    shape: tuple[int, ...],
    *,
    missed_rate: ArrayLike,
    late_rate: ArrayLike,
    late_min: tuple[float, float],
    prebolus_min: tuple[float, float],
    override_rate: ArrayLike,
    override_up_fraction: ArrayLike,
    override_size: tuple[float, float],
) -> BolusDraw:
    """Draw how each of ``shape`` opportunities is bolused; rates broadcast to ``shape``.

    Examples
    --------
    >>> b = draw_bolus_behaviour(np.random.default_rng(0), (10000,), missed_rate=0.2,
    ...     late_rate=0.5, late_min=(20, 60), prebolus_min=(0, 15), override_rate=0.1,
    ...     override_up_fraction=0.5, override_size=(0.2, 0.4))
    >>> round(float((b.mode == MODE_MISSED).mean()), 1), round(float(b.override.mean()), 1)
    (0.2, 0.1)
    """
    u_missed = rng.random(shape)
    u_late = rng.random(shape)
    late = rng.uniform(*late_min, shape)
    pre = rng.uniform(*prebolus_min, shape)
    u_over = rng.random(shape)
    u_up = rng.random(shape)
    size = rng.uniform(*override_size, shape)
    missed = u_missed < np.asarray(missed_rate)
    is_late = ~missed & (u_late < np.asarray(late_rate))
    mode = np.where(missed, MODE_MISSED, np.where(is_late, MODE_LATE, MODE_ON_TIME))
    offset = np.where(is_late, late, -pre)
    override = u_over < np.asarray(override_rate)
    up = u_up < np.asarray(override_up_fraction)
    return BolusDraw(mode.astype(np.int64), offset, override, up, size)


def apply_override(recommended_u: float, up: bool, size: float, increment: float = 0.05) -> float:
    """The dose a user programs instead of ``recommended_u`` (always differs by >= 0.1 U).

    Examples
    --------
    >>> apply_override(4.0, True, 0.25), apply_override(4.0, False, 0.25)
    (5.0, 3.0)
    >>> apply_override(0.1, False, 0.3)
    0.2
    """
    if recommended_u <= 0.15:
        up = True
    factor = 1.0 + size if up else 1.0 - size
    dose = round(round(recommended_u * factor / increment) * increment, 4)
    if abs(dose - recommended_u) < 0.1 - 1e-9:
        dose = round(recommended_u + 0.1 if up else recommended_u - 0.1, 4)
    return max(dose, increment)


# --------------------------------------------------------------------------- other habits


@dataclass(frozen=True, slots=True)
class ExerciseDraw:
    """Exercise sessions on a ``(patients, days)`` grid."""

    present: BoolArray
    minute: FloatArray
    duration_min: FloatArray
    intensity: FloatArray
    temp_basal: BoolArray


def draw_exercise(
    rng: np.random.Generator,
    n_patients: int,
    days: int,
    *,
    per_week: ArrayLike,
    hour: float,
    duration_min: tuple[float, float],
    intensity: tuple[float, float],
    temp_basal_probability: ArrayLike,
) -> ExerciseDraw:
    """At most one session a day, with probability ``per_week / 7``."""
    shape = (n_patients, days)
    per_day = np.reshape(np.asarray(per_week, dtype=np.float64), (-1, 1)) / 7.0
    present = rng.random(shape) < per_day
    minute = hour * 60.0 + 60.0 * rng.standard_normal(shape)
    duration = np.round(rng.uniform(*duration_min, shape) / 5.0) * 5.0
    inten = rng.uniform(*intensity, shape)
    tb_p = np.reshape(np.asarray(temp_basal_probability, dtype=np.float64), (-1, 1))
    temp = rng.random(shape) < tb_p
    return ExerciseDraw(present, minute, duration, inten, temp)


def draw_site_changes(
    rng: np.random.Generator, days: int, *, interval_days: float, jitter_days: float
) -> FloatArray:
    """Times of infusion-set changes, in days from the start (evening, 18-22 h local).

    Examples
    --------
    >>> t = draw_site_changes(np.random.default_rng(3), 30, interval_days=3.0, jitter_days=0.0)
    >>> np.diff(np.floor(t)).tolist() == [3.0] * (len(t) - 1)
    True
    """
    first = float(np.floor(rng.uniform(0.0, interval_days)))
    n_max = int(days / max(interval_days * 0.5, 0.5)) + 2
    gaps = np.maximum(np.round(interval_days + jitter_days * rng.standard_normal(n_max)), 1.0)
    day = first + np.concatenate([[0.0], np.cumsum(gaps[:-1])])
    hour = rng.uniform(18.0, 22.0, n_max)
    t = day + hour / 24.0
    return np.asarray(t[t < days], dtype=np.float64)


def draw_sensor_sessions(
    rng: np.random.Generator,
    n_patients: int,
    n_slots: int,
    *,
    session_days: float,
    first_start_slot: ArrayLike,
    gap_probability: ArrayLike,
    gap_days: tuple[float, float],
) -> tuple[IntArray, IntArray]:
    """Sensor sessions as ``(starts, ends)`` slot arrays of shape ``(patients, sessions)``.

    A session lasts ``session_days``; the next starts at once or, with
    ``gap_probability``, after a gap drawn from ``gap_days``. Unused sessions start at
    ``n_slots`` (past the end).

    Examples
    --------
    >>> s, e = draw_sensor_sessions(np.random.default_rng(0), 1, 288 * 25, session_days=10,
    ...     first_start_slot=[6], gap_probability=0.0, gap_days=(1, 2))
    >>> s[0, :3].tolist(), e[0, :3].tolist()
    ([6, 2886, 5766], [2886, 5766, 7200])
    """
    length = round(session_days * 288)
    n_sessions = n_slots // max(length, 1) + 2
    shape = (n_patients, n_sessions)
    gap_p = np.reshape(np.asarray(gap_probability, dtype=np.float64), (-1, 1))
    has_gap = rng.random(shape) < gap_p
    gap = np.where(has_gap, np.round(rng.uniform(*gap_days, shape) * 288), 0).astype(np.int64)
    gap[:, 0] = 0
    first = np.reshape(np.asarray(first_start_slot, dtype=np.int64), (-1, 1))
    starts = first + np.cumsum(gap + length, axis=1) - length
    ends = np.minimum(starts + length, n_slots)
    starts = np.minimum(starts, n_slots)
    return starts.astype(np.int64), ends.astype(np.int64)
