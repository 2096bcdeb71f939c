"""Glucose physiology and the CGM sensor layer of the synthetic type-1 patient.

Everything runs on a UTC grid of 5-minute slots (``STEP_MIN``), batch-first in spirit:
the integrator and the sensor work on *time-major* ``(slots, patients)`` arrays so that one
patient (a :class:`~simulators.patient.scenario.Scenario`) and a thousand
(:func:`~simulators.patient.cohort.cohort`) run through the same equations.

Model (glucose ``G`` in mg/dL, ``t`` in minutes)
------------------------------------------------
Written as "effects" in the way open-source dosing software (Loop, OpenAPS) predicts
glucose, plus the glucose-dependent terms of the classic compartment models::

    dG/dt = CSF * Ra(t)                                carbohydrate appearance
          - ISF * s(t) * A(t)                          insulin action
          + ISF * B(t) / 60 * (1 + d * dawn(t))        endogenous production (EGP)
          - E(t)                                       exercise uptake
          - S_G * (G - G_ref)                          glucose effectiveness
          - 0.003 * max(G - 162.1, 0)                  renal excretion
          + k_cr * max(G_cr - G, 0)                    counter-regulation
          + w(t)                                       unexplained disturbance
    dI/dt = (G - I) / tau                              interstitial glucose (what a CGM sees)

* ``Ra`` (g/min): each meal of ``D`` grams appears as the two-compartment gut model of
  Hovorka et al. 2004, ``Ra(t) = D * t / tmax**2 * exp(-t / tmax)`` (a gamma density
  with shape 2, peaking at ``t = tmax``; Hovorka use ``tmax = 40`` min, mixed meals are
  slower, so meals draw ``tmax`` around 40-70 min). Hovorka R, et al. *Nonlinear model
  predictive control of glucose concentration in subjects with type 1 diabetes.* Physiol
  Meas 2004;25(4):905-920, doi:10.1088/0967-3334/25/4/010. The kernel is cut at
  ``8 * tmax`` and renormalised, so every gram is absorbed.
* ``CSF = ISF / CR`` (mg/dL per gram) is the carbohydrate sensitivity factor of pump
  therapy (Walsh J, Roberts R. *Pumping Insulin*, 6th ed.; the same factor Loop and
  OpenAPS use for carb impact); it already includes bioavailability.
* ``A(t)`` (U/min): insulin activity from the exponential curve of OpenAPS oref0
  ``lib/iob/calculate.js`` and LoopKit ``ExponentialInsulinModel.swift`` (derived by
  D. Maksimovic, LoopKit/Loop issue #388) with duration ``end`` (default 360 min) and
  peak ``tp`` (default 75 min, "rapid-acting adult")::

      tau = tp * (1 - tp / end) / (1 - 2 * tp / end)
      a   = 2 * tau / end
      S   = 1 / (1 - a + (1 + a) * exp(-end / tau))
      activity(t) = S / tau**2 * t * (1 - t / end) * exp(-t / tau)
      IOB(t) = 1 - S * (1 - a) * ((t**2 / (tau * end * (1 - a)) - t / tau - 1)
                                  * exp(-t / tau) + 1)

  Per slot we use ``IOB(t_k) - IOB(t_k+1)`` so each unit acts exactly once.
* ``B(t)`` is the *basal need* (U/h): the basal rate that holds glucose flat. EGP is
  written in those insulin-equivalent units, so a pump basal equal to the need gives no
  drift. ``dawn(t)`` is a raised-cosine bump from 03:00 to 09:00 local time, peak 06:00
  (the dawn phenomenon: Bolli GB, Gerich JE. N Engl J Med 1984;310:746-750).
* ``s(t)`` multiplies insulin sensitivity: a day-to-day log-normal factor, exercise
  (×(1 + g) during a session, decaying with a 4-h time constant afterwards), and the
  loss of absorption at an infusion site worn beyond 3 days.
* ``E(t)``: insulin-independent uptake during exercise, sized so that 45 min of moderate
  exercise lowers glucose by some 30-50 mg/dL, the order reported in Riddell MC, et al.
  *Exercise management in type 1 diabetes: a consensus statement.* Lancet Diabetes
  Endocrinol 2017;5(5):377-390.
* ``S_G`` is the glucose effectiveness of Bergman's minimal model (Bergman RN, et al.
  Am J Physiol 1979;236(6):E667-677), taken small (T1D, ~0.002-0.004/min).
* Renal excretion above 9 mmol/L (162.1 mg/dL) with rate 0.003/min (Hovorka 2004:
  ``F_R = 0.003 (G - 9) V``).
* Counter-regulation: a threshold term below ``G_cr`` (default 65 mg/dL). This is our
  simplification; the UVA/Padova S2013 simulator models it through glucagon (Dalla Man
  C, et al. J Diabetes Sci Technol 2014;8(1):26-34).
* ``w``: an Ornstein-Uhlenbeck flux (stationary SD ``sigma_w`` mg/dL/min, correlation
  time 60 min) for what no model explains (stress, fat, protein, illness).
* ``tau`` ~ 8 min blood-to-interstitium delay (Rebrin K, et al. Am J Physiol 1999;
  277(3):E561-571).

The equations are integrated with forward Euler on the 5-min grid (all time constants
are >= 8 min; ``a_ig = 1 - exp(-5 / tau)`` is the exact first-order step) and glucose is
clipped to the physiologically plausible ``30-500`` mg/dL after each step.

Sensor
------
The reading of a slot is ``round(gain * I + offset + n_ar + n_w - dip)``: per-session
calibration error (gain and offset) with a slow linear gain drift over the session, an
AR(1) autocorrelated error plus white noise (Breton M, Kovatchev B. J Diabetes Sci
Technol 2008;2(5):853-862; Facchinetti A, et al. IEEE Trans Biomed Eng 2014;61(3):620-629),
nocturnal compression lows ("pressure-induced sensor attenuation", a half-sine dip of
20-60 min, Baysal N, et al. J Diabetes Sci Technol 2014;8(6):1091-1096), random signal
dropouts, and no reading during the first 2 h of a session (warm-up, as a Dexcom G6).
Readings below 40 or above 400 mg/dL are reported as Low/High at those limits, as a
Dexcom does (see :mod:`simulators.cgm_trace`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.signal import lfilter

from drivers._core.units import MGDL_PER_MMOLL

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

STEP_MIN = 5.0
"""Grid step in minutes."""
SLOT_S = 300
"""Grid step in seconds."""
SLOTS_PER_DAY = 288
GLUCOSE_MIN_MGDL, GLUCOSE_MAX_MGDL = 30.0, 500.0
"""Physiological bounds of true glucose."""
RENAL_THRESHOLD_MGDL = 9.0 * MGDL_PER_MMOLL
"""Hovorka 2004: renal excretion above 9 mmol/L."""
RENAL_RATE_PER_MIN = 0.003
SENSOR_LOW_MGDL, SENSOR_HIGH_MGDL = 40.0, 400.0
"""Dexcom reporting limits (Low below 40, High above 400 mg/dL)."""


# --------------------------------------------------------------------------- curves


def _exp_constants(dia_min: float, peak_min: float) -> tuple[float, float, float]:
    if not 0.0 < peak_min < dia_min / 2.0:
        raise ValueError("insulin peak must lie in (0, dia/2)")
    tau = peak_min * (1.0 - peak_min / dia_min) / (1.0 - 2.0 * peak_min / dia_min)
    a = 2.0 * tau / dia_min
    s = 1.0 / (1.0 - a + (1.0 + a) * math.exp(-dia_min / tau))
    return tau, a, s


def insulin_activity(
    minutes: ArrayLike, *, dia_min: float = 360.0, peak_min: float = 75.0
) -> FloatArray:
    """Fraction of a dose acting per minute, OpenAPS/Loop exponential curve.

    Parameters
    ----------
    minutes : minutes since the dose (0 outside ``[0, dia_min]``).
    dia_min : duration of insulin action, minutes.
    peak_min : time of peak activity, minutes.

    Returns
    -------
    Activity in 1/min; it integrates to 1 over ``[0, dia_min]``.

    Examples
    --------
    >>> t = np.arange(0.0, 361.0)
    >>> act = insulin_activity(t)
    >>> int(t[np.argmax(act)])
    75
    >>> round(float(np.trapezoid(act, t)), 3)
    1.0
    """
    t = np.asarray(minutes, dtype=np.float64)
    tau, _, s = _exp_constants(dia_min, peak_min)
    inside = (t >= 0.0) & (t <= dia_min)
    tc = np.clip(t, 0.0, dia_min)
    return np.where(inside, s / tau**2 * tc * (1.0 - tc / dia_min) * np.exp(-tc / tau), 0.0)


def insulin_on_board(
    minutes: ArrayLike, *, dia_min: float = 360.0, peak_min: float = 75.0
) -> FloatArray:
    """Fraction of a dose still to act (1 at the dose, 0 after ``dia_min``).

    Examples
    --------
    >>> [round(float(x), 3) for x in insulin_on_board([0.0, 75.0, 360.0])]
    [1.0, 0.694, 0.0]
    """
    t = np.asarray(minutes, dtype=np.float64)
    tau, a, s = _exp_constants(dia_min, peak_min)
    tc = np.clip(t, 0.0, dia_min)
    iob = 1.0 - s * (1.0 - a) * (
        (tc**2 / (tau * dia_min * (1.0 - a)) - tc / tau - 1.0) * np.exp(-tc / tau) + 1.0
    )
    return np.where(t <= 0.0, 1.0, np.where(t >= dia_min, 0.0, iob))


def insulin_kernel(
    *, dia_min: float = 360.0, peak_min: float = 75.0, step_min: float = STEP_MIN
) -> FloatArray:
    """Fraction of one unit acting in each slot after the dose; sums to 1.

    Examples
    --------
    >>> k = insulin_kernel()
    >>> len(k), round(float(k.sum()), 12)
    (72, 1.0)
    """
    n = math.ceil(dia_min / step_min)
    edges = np.arange(n + 1, dtype=np.float64) * step_min
    iob = insulin_on_board(edges, dia_min=dia_min, peak_min=peak_min)
    k = iob[:-1] - iob[1:]
    return np.asarray(k / k.sum(), dtype=np.float64)


def carb_absorption_rate(minutes: ArrayLike, *, tmax_min: float = 50.0) -> FloatArray:
    """Fraction of a meal appearing per minute (Hovorka 2004 two-compartment gut).

    Examples
    --------
    >>> t = np.arange(0.0, 600.0)
    >>> int(t[np.argmax(carb_absorption_rate(t, tmax_min=40.0))])
    40
    """
    t = np.asarray(minutes, dtype=np.float64)
    tc = np.clip(t, 0.0, None)
    return np.where(t >= 0.0, tc / tmax_min**2 * np.exp(-tc / tmax_min), 0.0)


def carb_absorbed(minutes: ArrayLike, *, tmax_min: float = 50.0) -> FloatArray:
    """Cumulative fraction absorbed: ``1 - (1 + t/tmax) exp(-t/tmax)``.

    Examples
    --------
    >>> round(float(carb_absorbed(50.0, tmax_min=50.0)), 3)
    0.264
    """
    t = np.clip(np.asarray(minutes, dtype=np.float64), 0.0, None)
    x = t / tmax_min
    return 1.0 - (1.0 + x) * np.exp(-x)


def carb_kernel(
    tmax_min: ArrayLike, *, step_min: float = STEP_MIN, length: int | None = None
) -> FloatArray:
    """Per-slot fraction of a meal absorbed; shape ``(*tmax.shape, length)``, rows sum to 1.

    ``length`` defaults to ``8 * max(tmax)`` minutes (99.7 % absorbed); each row is
    renormalised so the whole meal is absorbed.

    Examples
    --------
    >>> k = carb_kernel(40.0)
    >>> k.shape, round(float(k.sum()), 12)
    ((64,), 1.0)
    """
    tm = np.asarray(tmax_min, dtype=np.float64)
    if length is None:
        length = math.ceil(8.0 * float(tm.max()) / step_min)
    edges = np.arange(length + 1, dtype=np.float64) * step_min
    x = edges / tm[..., None]
    cdf = 1.0 - (1.0 + x) * np.exp(-x)
    k = np.diff(cdf, axis=-1)
    out: FloatArray = k / k.sum(axis=-1, keepdims=True)
    return out


def dawn_profile(local_hour: ArrayLike) -> FloatArray:
    """Raised-cosine dawn bump: 0 before 03:00 and after 09:00, 1 at 06:00 local.

    Examples
    --------
    >>> [float(x) for x in dawn_profile([2.0, 6.0, 9.0])]
    [0.0, 1.0, 0.0]
    """
    h = np.asarray(local_hour, dtype=np.float64)
    x = (h - 6.0) / 3.0
    return np.where(np.abs(x) < 1.0, 0.5 * (1.0 + np.cos(np.pi * x)), 0.0)


# --------------------------------------------------------------------------- parameters


@dataclass(frozen=True, slots=True, kw_only=True)
class Physiology:
    """The patient's true (not the pump's) physiology.

    Attributes
    ----------
    isf_mgdl_per_u : true insulin sensitivity, mg/dL per unit.
    carb_ratio_g_per_u : true carbohydrate ratio, grams per unit.
    basal_need_u_per_h : basal rate that holds glucose flat outside the dawn window.
    dawn_fraction : extra EGP at the dawn peak, fraction of the basal need.
    dia_min, peak_min : true insulin action (exponential curve).
    carb_tmax_min : mean time to peak carbohydrate appearance of a meal.
    glucose_effectiveness_per_min : ``S_G``.
    reference_mgdl : ``G_ref`` that ``S_G`` pulls towards.
    counterregulation_mgdl, counterregulation_per_min : ``G_cr`` and ``k_cr``.
    daily_sensitivity_sd : SD of the day-to-day log sensitivity factor.
    noise_mgdl_per_min : stationary SD of the disturbance flux ``w``.
    noise_corr_min : correlation time of ``w``.
    interstitial_lag_min : ``tau``.
    exercise_uptake_mgdl_per_min : ``E`` at intensity 1.
    exercise_sensitivity_gain : ``g`` at intensity 1.
    exercise_sensitivity_decay_min : decay of the post-exercise sensitivity.
    site_loss_per_day : fraction of insulin effect lost per day of site wear beyond 3.
    initial_mgdl : glucose at the start.
    """

    isf_mgdl_per_u: float = 45.0
    carb_ratio_g_per_u: float = 12.0
    basal_need_u_per_h: float = 0.85
    dawn_fraction: float = 0.25
    dia_min: float = 360.0
    peak_min: float = 75.0
    carb_tmax_min: float = 50.0
    glucose_effectiveness_per_min: float = 0.002
    reference_mgdl: float = 120.0
    counterregulation_mgdl: float = 65.0
    counterregulation_per_min: float = 0.02
    daily_sensitivity_sd: float = 0.12
    noise_mgdl_per_min: float = 0.35
    noise_corr_min: float = 60.0
    interstitial_lag_min: float = 8.0
    exercise_uptake_mgdl_per_min: float = 0.7
    exercise_sensitivity_gain: float = 0.5
    exercise_sensitivity_decay_min: float = 240.0
    site_loss_per_day: float = 0.05
    initial_mgdl: float = 130.0

    @property
    def csf_mgdl_per_g(self) -> float:
        """Carbohydrate sensitivity factor ``ISF / CR``."""
        return self.isf_mgdl_per_u / self.carb_ratio_g_per_u


def endogenous_drive(
    local_hour: ArrayLike, basal_need_u_per_h: ArrayLike, isf: ArrayLike, dawn_fraction: ArrayLike
) -> FloatArray:
    """EGP in mg/dL per slot: ``ISF * B / 60 * (1 + d * dawn) * STEP_MIN`` (broadcasts).

    Examples
    --------
    >>> round(float(endogenous_drive(12.0, 1.2, 50.0, 0.3)), 3)
    5.0
    """
    need = np.asarray(basal_need_u_per_h, dtype=np.float64)
    dawn = 1.0 + np.asarray(dawn_fraction) * dawn_profile(local_hour)
    egp = np.asarray(isf) * need / 60.0 * dawn
    return np.asarray(egp * STEP_MIN, dtype=np.float64)


def ou_noise(
    rng: np.random.Generator, shape: tuple[int, ...], *, sd: ArrayLike, corr_slots: float
) -> FloatArray:
    """Stationary AR(1)/Ornstein-Uhlenbeck noise along axis 0 with SD ``sd`` (broadcasts).

    Examples
    --------
    >>> x = ou_noise(np.random.default_rng(1), (20000, 2), sd=3.0, corr_slots=12.0)
    >>> bool(abs(x.std() - 3.0) < 0.4)
    True
    """
    phi = math.exp(-1.0 / corr_slots) if corr_slots > 0 else 0.0
    eps = rng.standard_normal(shape)
    eps[0] *= 1.0 / math.sqrt(1.0 - phi**2)  # start in the stationary distribution
    out = lfilter([math.sqrt(1.0 - phi**2)], [1.0, -phi], eps, axis=0)
    return np.asarray(out * np.asarray(sd, dtype=np.float64), dtype=np.float64)


def scatter_kernels(
    n_slots: int,
    n_patients: int,
    slot: ArrayLike,
    patient: ArrayLike,
    kernels: FloatArray,
) -> FloatArray:
    """Sum event kernels into a time-major ``(n_slots, n_patients)`` array.

    Event ``e`` adds ``kernels[e, j]`` at ``(slot[e] + j, patient[e])``; what falls past
    the end is dropped. This is the convolution of sparse events with their kernels,
    done for all patients at once (one ``np.add.at`` per kernel offset).

    Examples
    --------
    >>> scatter_kernels(4, 2, [1], [1], np.array([[1.0, 2.0, 3.0, 4.0]]))[:, 1].tolist()
    [0.0, 1.0, 2.0, 3.0]
    """
    s = np.asarray(slot, dtype=np.int64).ravel()
    p = np.asarray(patient, dtype=np.int64).ravel()
    if len(s) == 0:
        return np.zeros((n_slots, n_patients))
    kern = np.asarray(kernels, dtype=np.float64).reshape(len(s), -1)
    length = kern.shape[1]
    out = np.zeros((n_slots + length, n_patients))
    inside = (s >= 0) & (s < n_slots)
    if not inside.all():
        s, p, kern = s[inside], p[inside], kern[inside]
    flat = out.reshape(-1)
    base = s * n_patients + p
    for j in range(length):  # one unbuffered add per kernel offset: repeats add up
        np.add.at(flat, base + j * n_patients, kern[:, j])
    return out[:n_slots]


def exercise_effects(
    n_slots: int,
    n_patients: int,
    *,
    slot: ArrayLike,
    patient: ArrayLike,
    duration_slots: ArrayLike,
    intensity: ArrayLike,
    uptake_mgdl_per_min: ArrayLike,
    sensitivity_gain: ArrayLike,
    decay_min: float = 240.0,
) -> tuple[FloatArray, FloatArray]:
    """Exercise uptake (mg/dL per slot, positive = lowering) and sensitivity multiplier.

    ``uptake_mgdl_per_min`` and ``sensitivity_gain`` are per patient (broadcast to events).
    Returns two time-major ``(n_slots, n_patients)`` arrays.

    Examples
    --------
    >>> up, sens = exercise_effects(100, 1, slot=[10], patient=[0], duration_slots=[9],
    ...     intensity=[1.0], uptake_mgdl_per_min=[0.7], sensitivity_gain=[0.5])
    >>> round(float(up.sum()), 2), float(sens[12, 0]), float(sens[0, 0])
    (31.5, 1.5, 1.0)
    """
    s = np.asarray(slot, dtype=np.int64).ravel()
    p = np.asarray(patient, dtype=np.int64).ravel()
    dur = np.asarray(duration_slots, dtype=np.int64).ravel()
    inten = np.asarray(intensity, dtype=np.float64).ravel()
    if len(s) == 0:
        return np.zeros((n_slots, n_patients)), np.ones((n_slots, n_patients))
    up_p = np.broadcast_to(np.asarray(uptake_mgdl_per_min, dtype=np.float64), (n_patients,))
    gain_p = np.broadcast_to(np.asarray(sensitivity_gain, dtype=np.float64), (n_patients,))
    decay_slots = decay_min / STEP_MIN
    length = int(dur.max()) + math.ceil(4.0 * decay_slots)
    j = np.arange(length, dtype=np.float64)[None, :]
    during = j < dur[:, None]
    up_k = np.where(during, (up_p[p] * inten * STEP_MIN)[:, None], 0.0)
    after = np.exp(-(j - dur[:, None] + 1.0) / decay_slots)
    sens_k = (gain_p[p] * inten)[:, None] * np.where(during, 1.0, after)
    uptake = scatter_kernels(n_slots, n_patients, s, p, up_k)
    sens = 1.0 + scatter_kernels(n_slots, n_patients, s, p, sens_k)
    return uptake, sens


# --------------------------------------------------------------------------- integrator


class GlucoseIntegrator:
    """Forward-Euler integration of the glucose equation, all patients at once.

    ``drive`` holds every term that does not depend on glucose itself, in mg/dL per
    slot, time-major ``(n_slots, n_patients)``: carbohydrate appearance, insulin action
    (already multiplied by sensitivity), EGP, exercise uptake and the disturbance. The
    integrator adds the glucose-dependent terms (effectiveness, renal excretion,
    counter-regulation), the interstitial compartment and, optionally, the patient's
    hypoglycaemia treatment: when true glucose is below ``rescue_below_mgdl`` and no
    rescue was taken in the last ``rescue_refractory_slots``, ``rescue_effect`` (mg/dL
    per slot, ``(length, n_patients)``) is added from that slot on.

    Callers may add effects to ``drive`` at or after :attr:`slot` (a bolus decided from
    the glucose of the current slot), then :meth:`run_until` a later slot.

    Examples
    --------
    >>> drive = np.zeros((12, 1))
    >>> integ = GlucoseIntegrator(drive, initial_mgdl=[150.0], reference_mgdl=[120.0],
    ...     effectiveness_per_min=[0.0])
    >>> integ.run_until(12)
    >>> float(integ.glucose[-1, 0])
    150.0
    """

    def __init__(
        self,
        drive: FloatArray,
        *,
        initial_mgdl: ArrayLike,
        reference_mgdl: ArrayLike,
        effectiveness_per_min: ArrayLike,
        counterregulation_mgdl: ArrayLike = 65.0,
        counterregulation_per_min: ArrayLike = 0.02,
        interstitial_lag_min: float = 8.0,
        rescue_below_mgdl: ArrayLike | None = None,
        rescue_effect: FloatArray | None = None,
        rescue_refractory_slots: int = 4,
    ) -> None:
        n_slots, n_patients = drive.shape
        self.drive = drive
        self.n_slots = n_slots
        self.glucose = np.empty((n_slots, n_patients))
        self.interstitial = np.empty((n_slots, n_patients))
        g0 = np.broadcast_to(np.asarray(initial_mgdl, dtype=np.float64), (n_patients,))
        self.glucose[0] = g0
        self.interstitial[0] = g0
        self._shape = (n_patients,)
        self._ref = np.broadcast_to(np.asarray(reference_mgdl, dtype=np.float64), self._shape)
        self._sg = np.broadcast_to(
            np.asarray(effectiveness_per_min, dtype=np.float64) * STEP_MIN, self._shape
        )
        self._cr_g = np.broadcast_to(
            np.asarray(counterregulation_mgdl, dtype=np.float64), self._shape
        )
        self._cr_k = np.broadcast_to(
            np.asarray(counterregulation_per_min, dtype=np.float64) * STEP_MIN, self._shape
        )
        self._a_ig = 1.0 - math.exp(-STEP_MIN / interstitial_lag_min)
        self._rescue_thr = (
            None
            if rescue_below_mgdl is None
            else np.broadcast_to(np.asarray(rescue_below_mgdl, dtype=np.float64), self._shape)
        )
        self._rescue_effect = rescue_effect
        self._refractory = rescue_refractory_slots
        self._next_rescue = np.zeros(self._shape, dtype=np.int64)
        self.rescue_slots: list[int] = []
        self.rescue_patients: list[int] = []
        self.slot = 0

    def run_until(self, stop: int) -> None:
        """Integrate so that ``glucose[:stop + 1]`` is known (``stop`` < ``n_slots``)."""
        stop = min(stop, self.n_slots - 1)
        g_all, ig_all, drive = self.glucose, self.interstitial, self.drive
        ref, sg, cr_g, cr_k, a_ig = self._ref, self._sg, self._cr_g, self._cr_k, self._a_ig
        renal = RENAL_RATE_PER_MIN * STEP_MIN
        thr, effect = self._rescue_thr, self._rescue_effect
        for k in range(self.slot, stop):
            g = g_all[k]
            if thr is not None and effect is not None:
                low = (g < thr) & (k >= self._next_rescue)
                if low.any():
                    self._rescue(k, np.flatnonzero(low), effect)
            d = drive[k] - sg * (g - ref)
            d -= renal * np.maximum(g - RENAL_THRESHOLD_MGDL, 0.0)
            d += cr_k * np.maximum(cr_g - g, 0.0)
            d += g
            np.minimum(d, GLUCOSE_MAX_MGDL, out=d)
            np.maximum(d, GLUCOSE_MIN_MGDL, out=g_all[k + 1])
            ig = ig_all[k]
            ig_all[k + 1] = ig + a_ig * (g - ig)
        self.slot = max(self.slot, stop)

    def _rescue(self, k: int, patients: IntArray, effect: FloatArray) -> None:
        end = min(k + effect.shape[0], self.n_slots)
        self.drive[k:end, patients] += effect[: end - k, patients]
        self._next_rescue[patients] = k + self._refractory
        self.rescue_slots.extend([k] * len(patients))
        self.rescue_patients.extend(int(p) for p in patients)


# --------------------------------------------------------------------------- sensor


@dataclass(frozen=True, slots=True, kw_only=True)
class SensorModel:
    """CGM error model (see module docstring). Defaults are a Dexcom-G6-like sensor.

    Attributes
    ----------
    white_sd_mgdl : white noise SD.
    ar_sd_mgdl, ar_corr_min : stationary SD and correlation time of the AR(1) error.
    gain_sd, offset_sd_mgdl : per-session calibration error.
    drift_sd_per_day : SD of the per-session gain drift slope (fraction per day).
    warmup_min : no readings after a sensor start.
    session_days : sensor life.
    dropouts_per_day, dropout_mean_min : signal-loss gaps (Poisson starts, geometric length).
    compression_per_night : probability of a compression low per night worn.
    compression_depth_mgdl, compression_duration_min : uniform ranges.
    """

    white_sd_mgdl: float = 3.0
    ar_sd_mgdl: float = 6.0
    ar_corr_min: float = 30.0
    gain_sd: float = 0.04
    offset_sd_mgdl: float = 4.0
    drift_sd_per_day: float = 0.006
    warmup_min: float = 120.0
    session_days: float = 10.0
    dropouts_per_day: float = 0.8
    dropout_mean_min: float = 20.0
    compression_per_night: float = 0.08
    compression_depth_mgdl: tuple[float, float] = (30.0, 70.0)
    compression_duration_min: tuple[float, float] = (20.0, 60.0)
    low_limit_mgdl: float = SENSOR_LOW_MGDL
    high_limit_mgdl: float = SENSOR_HIGH_MGDL


@dataclass(frozen=True, slots=True)
class SensorErrors:
    """Pre-drawn sensor errors, time-major ``(n_slots, n_patients)``.

    ``reading = round(gain * interstitial + additive)`` where ``valid``; the dips of the
    compression lows are in ``additive`` and counted in ``n_compressions``.
    """

    gain: FloatArray
    additive: FloatArray
    valid: BoolArray
    warmup: BoolArray
    dropout: BoolArray
    n_compressions: IntArray
    compression_slots: IntArray
    compression_patients: IntArray


def session_layout(n_slots: int, starts: IntArray, ends: IntArray) -> tuple[IntArray, FloatArray]:
    """Session index and minutes since sensor start for each slot, time-major.

    ``starts``/``ends`` are ``(n_patients, n_sessions)`` slot indices, sorted and
    non-overlapping per patient (end exclusive); padding sessions have ``start >= n_slots``.
    Slots outside every session get index -1 and NaN minutes.

    Examples
    --------
    >>> idx, mins = session_layout(6, np.array([[1, 4]]), np.array([[3, 6]]))
    >>> idx[:, 0].tolist()
    [-1, 0, 0, -1, 1, 1]
    >>> mins[4, 0]
    np.float64(0.0)
    """
    n_patients = starts.shape[0]
    pat = np.broadcast_to(np.arange(n_patients)[:, None], starts.shape)
    ok = starts < n_slots
    last_start = np.full((n_slots, n_patients), -1, dtype=np.int64)
    last_start[starts[ok], pat[ok]] = starts[ok]
    np.maximum.accumulate(last_start, axis=0, out=last_start)
    count = np.zeros((n_slots, n_patients), dtype=np.int32)
    count[starts[ok], pat[ok]] = 1
    np.cumsum(count, axis=0, out=count)
    last_end = np.full((n_slots, n_patients), -1, dtype=np.int64)
    ok_end = (ends < n_slots) & ok
    last_end[ends[ok_end], pat[ok_end]] = ends[ok_end]
    np.maximum.accumulate(last_end, axis=0, out=last_end)
    inside = (last_start >= 0) & (last_start >= last_end)  # a start at an end slot wins
    session = np.where(inside, count - 1, -1).astype(np.int64)
    k = np.arange(n_slots, dtype=np.int64)[:, None]
    minutes = np.where(inside, (k - last_start) * STEP_MIN, np.nan)
    return session, minutes


def draw_sensor_errors(
    rng: np.random.Generator,
    model: SensorModel,
    session: IntArray,
    minutes_since_start: FloatArray,
    local_hour: FloatArray,
) -> SensorErrors:
    """Draw every sensor error for a time-major layout from :func:`session_layout`.

    ``local_hour`` broadcasts against ``(n_slots, n_patients)`` (``(n_slots, 1)`` for
    one time zone).
    """
    n_slots, n_patients = session.shape
    n_sessions = max(int(session.max()) + 1 if session.size else 0, 1)
    gain_s = 1.0 + model.gain_sd * rng.standard_normal((n_sessions, n_patients))
    offset_s = model.offset_sd_mgdl * rng.standard_normal((n_sessions, n_patients))
    drift_s = model.drift_sd_per_day * rng.standard_normal((n_sessions, n_patients))
    wearing = session >= 0
    flat_idx = np.maximum(session, 0) * n_patients + np.arange(n_patients)[None, :]
    gain = np.take(gain_s, flat_idx)
    gain += np.take(drift_s, flat_idx) * (np.nan_to_num(minutes_since_start) / 1440.0)
    additive = np.take(offset_s, flat_idx)
    del flat_idx
    additive += ou_noise(
        rng, (n_slots, n_patients), sd=model.ar_sd_mgdl, corr_slots=model.ar_corr_min / STEP_MIN
    )
    additive += model.white_sd_mgdl * rng.standard_normal((n_slots, n_patients))
    warmup = wearing & (minutes_since_start < model.warmup_min)
    # dropouts: Poisson number per patient, uniform starts, geometric lengths
    n_drop = rng.poisson(model.dropouts_per_day * n_slots / SLOTS_PER_DAY, n_patients)
    d_p = np.repeat(np.arange(n_patients), n_drop)
    d_k = rng.integers(0, n_slots, len(d_p))
    mean_len = max(model.dropout_mean_min / STEP_MIN, 1.0)
    lengths = rng.geometric(1.0 / mean_len, size=len(d_p))
    marks = np.zeros((n_slots + 1, n_patients), dtype=np.int32)
    np.add.at(marks, (d_k, d_p), 1)
    np.add.at(marks, (np.minimum(d_k + lengths, n_slots), d_p), -1)
    np.cumsum(marks, axis=0, out=marks)
    dropout = (marks[:n_slots] > 0) & wearing & ~warmup
    del marks
    # compression lows: at most one per night, starting 00:00-05:00 local
    hour = np.asarray(local_hour, dtype=np.float64).reshape(-1)
    if hour.size != n_slots:
        raise ValueError("local_hour must have one value per slot (one time zone)")
    nights = np.flatnonzero(np.diff(hour, prepend=hour[0] + 1.0) < 0.0)
    c_p = np.nonzero(rng.random((len(nights), n_patients)) < model.compression_per_night)
    start_night = nights[c_p[0]]
    c_pat = c_p[1]
    c_k = start_night + rng.integers(0, int(5 * 60 / STEP_MIN), len(c_pat))
    lo, hi = model.compression_duration_min
    dur = np.round(rng.uniform(lo, hi, len(c_pat)) / STEP_MIN).astype(np.int64) + 1
    depth = rng.uniform(*model.compression_depth_mgdl, len(c_pat))
    c_k = np.minimum(c_k, n_slots - 1)
    ok = wearing[c_k, c_pat] & ~warmup[c_k, c_pat]
    c_k, c_pat, dur, depth = c_k[ok], c_pat[ok], dur[ok], depth[ok]
    length = int(dur.max()) if len(dur) else 1
    j = np.arange(length, dtype=np.float64)[None, :]
    dip = np.where(j < dur[:, None], np.sin(np.pi * (j + 0.5) / dur[:, None]), 0.0)
    additive -= scatter_kernels(n_slots, n_patients, c_k, c_pat, depth[:, None] * dip)
    valid = wearing & ~warmup & ~dropout
    return SensorErrors(
        gain=gain,
        additive=additive,
        valid=valid,
        warmup=warmup,
        dropout=dropout,
        n_compressions=np.bincount(c_pat, minlength=n_patients).astype(np.int64),
        compression_slots=c_k.astype(np.int64),
        compression_patients=c_pat.astype(np.int64),
    )


def sensor_readings(
    interstitial: FloatArray, errors: SensorErrors, model: SensorModel
) -> tuple[FloatArray, BoolArray, BoolArray]:
    """Integer mg/dL readings (NaN where none), and the Low and High masks.

    Low/High readings are given at the reporting limits (40/400), the convention
    :func:`analytics.grid.to_grid` expects; records carry them as ``special``.

    Examples
    --------
    >>> e = SensorErrors(np.ones((3, 1)), np.zeros((3, 1)), np.array([[True], [True], [False]]),
    ...     np.zeros((3, 1), bool), np.zeros((3, 1), bool), np.zeros(1, np.int64),
    ...     np.zeros(0, np.int64), np.zeros(0, np.int64))
    >>> v, low, high = sensor_readings(np.array([[20.0], [450.0], [100.0]]), e, SensorModel())
    >>> v[:, 0].tolist(), low[:, 0].tolist(), high[:, 0].tolist()
    ([40.0, 400.0, nan], [True, False, False], [False, True, False])
    """
    raw = np.rint(errors.gain * interstitial + errors.additive)
    low = errors.valid & (raw < model.low_limit_mgdl)
    high = errors.valid & (raw > model.high_limit_mgdl)
    values = np.clip(raw, model.low_limit_mgdl, model.high_limit_mgdl)
    values = np.where(errors.valid, values, np.nan)
    return values, low, high
