"""A population of synthetic type-1 patients as one (patients x 5-min slots) CGM array.

:func:`cohort` runs the same equations as :class:`~simulators.patient.scenario.Scenario`
(:mod:`~simulators.patient.physiology`: carbohydrate appearance, exponential insulin
action, EGP with dawn effect, exercise, glucose effectiveness, renal excretion,
counter-regulation, interstitial lag, the rule-of-15 hypo treatment, and the same
sensor error model), broadcast over a patient axis: every array is ``(slots, patients)``
and there is no per-patient Python loop. The one loop is over time (the integrator), with
each step vectorised over all patients.

Simplifications against a scenario (stated so that nobody relies on them):

* meal boluses are food-only (counted carbs / the pump's carb ratio), changed by the
  user's override; there are no correction boluses and no temp basals (they need the
  pump's calculator in the loop, per patient);
* the time axis is the local wall clock of one time zone without DST; slot 0 is local
  midnight;
* no records are built, only the CGM grid (Low/High at the 40/400 limits, NaN where
  there is no reading: sensor warm-up, dropouts, gaps between sensors) and per-patient
  truth.

Patients differ in total daily dose (log-normal, median 40 U), the rules of thumb that
derive basal need, ISF and carb ratio from it (with individual scatter), mis-set pump
settings, and habits: missed-meal-bolus rate ~ Beta(1.5, 8) (mean 16 %), late boluses,
overrides, carb-counting error, exercise, sensor wear, hypo-treatment threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from simulators.patient.behaviour import (
    DEFAULT_MEALS,
    MODE_LATE,
    MODE_MISSED,
    draw_bolus_behaviour,
    draw_exercise,
    draw_meals,
    draw_sensor_sessions,
)
from simulators.patient.physiology import (
    SLOTS_PER_DAY,
    STEP_MIN,
    GlucoseIntegrator,
    SensorModel,
    carb_kernel,
    draw_sensor_errors,
    endogenous_drive,
    exercise_effects,
    insulin_kernel,
    ou_noise,
    scatter_kernels,
    sensor_readings,
    session_layout,
)

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

RESCUE_TMAX_MIN = 20.0


@dataclass(frozen=True, slots=True)
class CohortTruth:
    """Per-patient truth, every array ``(patients,)``."""

    tdd_u: FloatArray
    isf_mgdl_per_u: FloatArray
    carb_ratio_g_per_u: FloatArray
    basal_need_u_per_h: FloatArray
    basal_factor: FloatArray
    carb_ratio_factor: FloatArray
    missed_bolus_rate: FloatArray
    late_bolus_rate: FloatArray
    override_rate: FloatArray
    n_meals: IntArray
    missed_meal_boluses: IntArray
    late_boluses: IntArray
    overrides: IntArray
    rescues: IntArray
    compression_lows: IntArray
    sensor_sessions: IntArray
    true_mean_mgdl: FloatArray
    true_tir: FloatArray
    wear_fraction: FloatArray


@dataclass(frozen=True, slots=True)
class Cohort:
    """The CGM grid and the truth of a cohort.

    Attributes
    ----------
    cgm_mgdl : ``(patients, slots)`` float64, NaN without a reading, Low/High at 40/400.
    truth : :class:`CohortTruth`.
    true_mgdl : ``(patients, slots)`` blood glucose, or None unless ``keep_true``.
    slot_s : slot length, seconds.
    """

    cgm_mgdl: FloatArray
    truth: CohortTruth
    true_mgdl: FloatArray | None
    slot_s: int = 300


def cohort(
    n_patients: int,
    days: int,
    seed: int,
    *,
    sensor: SensorModel | None = None,
    keep_true: bool = False,
) -> Cohort:
    """Simulate ``n_patients`` patients for ``days`` days, vectorised over patients.

    Parameters
    ----------
    n_patients, days : size.
    seed : seed of ``numpy.random.default_rng``; same seed, same cohort.
    sensor : CGM error model (default :class:`SensorModel`).
    keep_true : also return the blood glucose (another patients x slots array).

    Examples
    --------
    >>> c = cohort(4, 2, seed=7)
    >>> c.cgm_mgdl.shape, c.cgm_mgdl.dtype
    ((4, 576), dtype('float64'))
    >>> bool(np.nanmin(c.cgm_mgdl) >= 40 and np.nanmax(c.cgm_mgdl) <= 400)
    True
    """
    if n_patients < 1 or days < 1:
        raise ValueError("n_patients and days must be >= 1")
    model = sensor or SensorModel()
    r_pop, r_meal, r_bolus, r_ex, r_phys, r_sensor = np.random.default_rng(seed).spawn(6)
    p_n, n = n_patients, days * SLOTS_PER_DAY
    pats = np.arange(p_n)

    # ---- population parameters
    tdd = np.clip(40.0 * np.exp(0.3 * r_pop.standard_normal(p_n)), 15.0, 110.0)
    need = 0.47 * tdd / 24.0 * np.exp(0.1 * r_pop.standard_normal(p_n))
    isf = 1800.0 / tdd * np.exp(0.1 * r_pop.standard_normal(p_n))
    cr = 500.0 / tdd * np.exp(0.1 * r_pop.standard_normal(p_n))
    dawn = r_pop.uniform(0.1, 0.35, p_n)
    daily_sd = r_pop.uniform(0.08, 0.18, p_n)
    basal_factor = np.exp(0.12 * r_pop.standard_normal(p_n))
    cr_factor = np.exp(0.12 * r_pop.standard_normal(p_n))
    missed_rate = r_pop.beta(1.5, 8.0, p_n)
    late_rate = r_pop.beta(2.0, 10.0, p_n)
    override_rate = r_pop.beta(1.5, 12.0, p_n)
    override_up = r_pop.uniform(0.2, 0.8, p_n)
    count_sd = r_pop.uniform(0.15, 0.35, p_n)
    ex_per_week = r_pop.uniform(0.0, 4.0, p_n)
    gap_prob = r_pop.uniform(0.0, 0.3, p_n)
    rescue_thr = r_pop.uniform(60.0, 75.0, p_n)
    site_days = r_pop.uniform(2.5, 4.5, p_n)
    site_phase = r_pop.uniform(0.0, 1.0, p_n)
    csf = isf / cr

    # ---- meals and meal boluses: (P, days, occasions)
    md = draw_meals(r_meal, p_n, days, DEFAULT_MEALS, carb_count_sd=count_sd)
    shape = md.present.shape
    bd = draw_bolus_behaviour(
        r_bolus,
        shape,
        missed_rate=missed_rate[:, None, None],
        late_rate=late_rate[:, None, None],
        late_min=(20.0, 75.0),
        prebolus_min=(0.0, 15.0),
        override_rate=override_rate[:, None, None],
        override_up_fraction=override_up[:, None, None],
        override_size=(0.15, 0.4),
    )
    day = np.arange(days)[None, :, None]
    m_slot = day * SLOTS_PER_DAY + np.round(md.minute / STEP_MIN).astype(np.int64)
    present = md.present & (m_slot >= 0) & (m_slot < n)
    b_slot = m_slot + np.round(bd.offset_min / STEP_MIN).astype(np.int64)
    pump_cr = (cr * cr_factor)[:, None, None]
    dose = np.floor(md.carbs_counted_g / pump_cr / 0.05) * 0.05
    factor = np.where(bd.override_up, 1.0 + bd.override_size, 1.0 - bd.override_size)
    dose = np.where(bd.override, np.maximum(np.round(dose * factor / 0.05) * 0.05, 0.05), dose)
    bolused = present & (bd.mode != MODE_MISSED) & (dose > 0) & (b_slot >= 0) & (b_slot < n)
    patient_idx = np.broadcast_to(pats[:, None, None], shape)

    # ---- drive terms, time-major (slots, patients)
    ikern = insulin_kernel()
    drive = scatter_kernels(
        n, p_n, b_slot[bolused], patient_idx[bolused], dose[bolused][:, None] * ikern[None, :]
    )
    # basal: daily profile with the dawn step 01:00-07:00, steady-state circular convolution
    hour_day = np.arange(SLOTS_PER_DAY) * STEP_MIN / 60.0
    step = ((hour_day >= 1.0) & (hour_day < 7.0))[:, None]
    rate = (need * basal_factor)[None, :] * (1.0 + np.where(step, dawn[None, :] / 2.0, 0.0))
    units = np.round(rate / 0.05) * 0.05 * STEP_MIN / 60.0
    basal_day = np.zeros_like(units)
    for j, w in enumerate(ikern):  # 72 shifts of a (288, P) array
        basal_day += w * np.roll(units, j, axis=0)
    drive += np.tile(basal_day, (days, 1))
    # sensitivity: day-to-day, exercise, site age
    ex = draw_exercise(
        r_ex,
        p_n,
        days,
        per_week=ex_per_week,
        hour=17.5,
        duration_min=(30.0, 60.0),
        intensity=(0.4, 1.0),
        temp_basal_probability=0.0,
    )
    e_p, e_d = np.nonzero(ex.present)
    e_slot = e_d * SLOTS_PER_DAY + np.round(ex.minute[e_p, e_d] / STEP_MIN).astype(np.int64)
    uptake, sens = exercise_effects(
        n,
        p_n,
        slot=e_slot,
        patient=e_p,
        duration_slots=(ex.duration_min[e_p, e_d] / STEP_MIN).astype(np.int64),
        intensity=ex.intensity[e_p, e_d],
        uptake_mgdl_per_min=0.7,
        sensitivity_gain=0.5,
    )
    daily = np.exp(daily_sd[None, :] * r_phys.standard_normal((days, p_n)))
    sens *= np.repeat(daily, SLOTS_PER_DAY, axis=0)
    t_days = np.arange(n)[:, None] * STEP_MIN / 1440.0
    age = np.mod(t_days + site_phase[None, :] * site_days[None, :], site_days[None, :])
    sens *= np.maximum(1.0 - 0.05 * np.maximum(age - 3.0, 0.0), 0.5)
    drive *= -isf[None, :] * sens  # insulin effect, mg/dL per slot
    del sens
    drive -= uptake
    del uptake
    # carbohydrates (true grams) and EGP
    m_ok = present
    # tmax rounded to whole minutes: one kernel per distinct value, gathered per meal
    tmax_q, tmax_idx = np.unique(np.round(md.tmax_min[m_ok]), return_inverse=True)
    ckern = carb_kernel(tmax_q, length=int(np.ceil(8.0 * tmax_q.max() / STEP_MIN)))[tmax_idx]
    drive += scatter_kernels(
        n,
        p_n,
        m_slot[m_ok],
        patient_idx[m_ok],
        (md.carbs_true_g[m_ok] * csf[patient_idx[m_ok]])[:, None] * ckern,
    )
    hour = np.asarray((np.arange(n) % SLOTS_PER_DAY) * STEP_MIN / 60.0, dtype=np.float64)
    drive += endogenous_drive(hour[:, None], need[None, :], isf[None, :], dawn[None, :])
    drive += ou_noise(r_phys, (n, p_n), sd=0.35 * STEP_MIN, corr_slots=60.0 / STEP_MIN)

    rescue_effect = carb_kernel(RESCUE_TMAX_MIN)[:, None] * (15.0 * csf)[None, :]
    integ = GlucoseIntegrator(
        drive,
        initial_mgdl=130.0,
        reference_mgdl=120.0,
        effectiveness_per_min=0.002,
        rescue_below_mgdl=rescue_thr,
        rescue_effect=rescue_effect,
        rescue_refractory_slots=4,
    )
    integ.run_until(n - 1)
    del drive

    # ---- sensor
    first = r_sensor.integers(0, 10 * SLOTS_PER_DAY, p_n) - 10 * SLOTS_PER_DAY + 12
    starts, ends = draw_sensor_sessions(
        r_sensor,
        p_n,
        n + 10 * SLOTS_PER_DAY,
        session_days=model.session_days,
        first_start_slot=first + 10 * SLOTS_PER_DAY,
        gap_probability=gap_prob,
        gap_days=(0.5, 3.0),
    )
    # sessions were laid out on a grid shifted by 10 days, so the first may be under way
    starts, ends = starts - 10 * SLOTS_PER_DAY, ends - 10 * SLOTS_PER_DAY
    session, minutes = _layout_with_past(n, starts, ends)
    errors = draw_sensor_errors(r_sensor, model, session, minutes, hour[:, None])
    values, _, _ = sensor_readings(integ.interstitial, errors, model)
    cgm = np.ascontiguousarray(values.T)
    true_g = integ.glucose
    in_range = (true_g >= 70.0) & (true_g <= 180.0)
    truth = CohortTruth(
        tdd_u=tdd,
        isf_mgdl_per_u=isf,
        carb_ratio_g_per_u=cr,
        basal_need_u_per_h=need,
        basal_factor=basal_factor,
        carb_ratio_factor=cr_factor,
        missed_bolus_rate=missed_rate,
        late_bolus_rate=late_rate,
        override_rate=override_rate,
        n_meals=present.sum(axis=(1, 2)).astype(np.int64),
        missed_meal_boluses=(present & ~bolused).sum(axis=(1, 2)).astype(np.int64),
        late_boluses=(bolused & (bd.mode == MODE_LATE)).sum(axis=(1, 2)).astype(np.int64),
        overrides=(bolused & bd.override).sum(axis=(1, 2)).astype(np.int64),
        rescues=np.bincount(
            np.asarray(integ.rescue_patients, dtype=np.int64), minlength=p_n
        ).astype(np.int64),
        compression_lows=errors.n_compressions,
        sensor_sessions=((ends > 0) & (starts < n)).sum(axis=1).astype(np.int64),
        true_mean_mgdl=true_g.mean(axis=0),
        true_tir=in_range.mean(axis=0),
        wear_fraction=(session >= 0).mean(axis=0),
    )
    return Cohort(
        cgm_mgdl=cgm,
        truth=truth,
        true_mgdl=np.ascontiguousarray(true_g.T) if keep_true else None,
    )


def _layout_with_past(
    n_slots: int, starts: IntArray, ends: IntArray
) -> tuple[IntArray, FloatArray]:
    """:func:`session_layout` where the first session may have started before slot 0."""
    offset = int(max(0, -int(starts.min())))
    session, minutes = session_layout(n_slots + offset, starts + offset, ends + offset)
    return session[offset:], minutes[offset:]
