"""Insulin and bolus patterns per patient: what pump educators read.

Inputs are flat arrays with a patient index (batch axis first; no loop over patients or
events): boluses, meals (carb entries made when eating), basal segments and site
changes, with each patient's report period [start, end). Outputs are one value per
patient. Rules and sources (../shared/reference/clinical-and-landscape.md section 5.2):

- **TDD** = (bolus delivered + basal delivered) / days of the period; basal delivered is
  rate x duration of every segment, clipped to the period (suspends are segments at
  0 U/h). ``basal_pct`` is basal's share (Tidepool "Avg daily insulin", Nightscout
  "Insulin distribution").
- **Boluses per day**, **meal boluses** (calculator carbs > 0) and **correction
  boluses** (calculator, no carbs, a correction recommended) per day (Olinder 2009,
  doi:10.1111/j.1399-5448.2008.00462.x; Tidepool Basics).
- **Calculator use** = share of boluses with a recommendation; **override** = the user
  programmed more than recommended, **underride** = less, by more than 0.05 U (one pump
  increment), as shares of calculator boluses (Tidepool Basics categories).
- **Missed meal bolus**: a meal with no meal bolus from 30 min before to 90 min after
  it (Burdick 2004, PMID 14993580, counts meals without a bolus; the window is ours:
  pre-bolusing is advised up to 15-20 min ahead, and a bolus more than 90 min after
  eating is a correction, not a meal bolus). Each bolus serves one meal, the first.
  Reported as a share of meals and per week.
- **Late bolus**: the meal's bolus came more than 15 min after the meal started
  [inferred rule; Burdick 2004 found pre-meal bolusing associated with lower HbA1c].
  Reported as a share of meals.
- **BOLUS score** (Diabetes Technol Ther 2013;15:124-128, PMID 23317372): per local day,
  one point for at least one bolus in each of 06-10, 11-15 and 16-22 h; the mean over
  days (0-3).
- **Suspended / temp basal hours per day**; **site changes** and their mean interval
  (Nightscout CAGE warns at 48 h, pump agreements ask for a change every 2-3 days).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

MEAL_WINDOW_BEFORE_S = 30 * 60
MEAL_WINDOW_AFTER_S = 90 * 60
LATE_AFTER_S = 15 * 60
OVERRIDE_TOLERANCE_U = 0.05
BASAL_SCHEDULED, BASAL_TEMP, BASAL_SUSPEND = 0, 1, 2


@dataclass(frozen=True, slots=True)
class InsulinData:
    """Flat event arrays for many patients (times in UTC seconds; ``*_local_s`` are the
    same instants on the patient's wall clock, for time-of-day rules).

    Attributes:
        n_patients: number of patients (indices 0..n-1).
        start_s, end_s: (patients,) the report period [start, end).
        bolus_patient, bolus_s, bolus_local_s: bolus time.
        bolus_delivered_u, bolus_programmed_u: what was given and what the user asked.
        bolus_recommended_u: the calculator's total, NaN when no calculator was used.
        bolus_carbs_g: carbs entered in the calculator (0 or NaN without).
        bolus_correction_u: the calculator's correction part (NaN without).
        meal_patient, meal_s, meal_carbs_g: carb entries (meals eaten).
        basal_patient, basal_start_s, basal_duration_s, basal_rate_u_per_h, basal_kind:
            segments; kind is BASAL_SCHEDULED, BASAL_TEMP or BASAL_SUSPEND.
        site_patient, site_s: infusion-site changes (cannula fill or site-change event).
    """

    n_patients: int
    start_s: FloatArray
    end_s: FloatArray
    bolus_patient: IntArray
    bolus_s: FloatArray
    bolus_local_s: FloatArray
    bolus_delivered_u: FloatArray
    bolus_programmed_u: FloatArray
    bolus_recommended_u: FloatArray
    bolus_carbs_g: FloatArray
    bolus_correction_u: FloatArray
    meal_patient: IntArray
    meal_s: FloatArray
    meal_carbs_g: FloatArray
    basal_patient: IntArray
    basal_start_s: FloatArray
    basal_duration_s: FloatArray
    basal_rate_u_per_h: FloatArray
    basal_kind: IntArray
    site_patient: IntArray
    site_s: FloatArray


def _count(patient: IntArray, mask: NDArray[np.bool_] | None, n: int) -> FloatArray:
    sel = patient if mask is None else patient[mask]
    out: FloatArray = np.bincount(sel, minlength=n).astype(np.float64)
    return out


def _sum(patient: IntArray, values: FloatArray, n: int) -> FloatArray:
    out: FloatArray = np.bincount(patient, weights=values, minlength=n).astype(np.float64)
    return out


def _ratio(num: FloatArray, den: FloatArray, scale: float = 1.0) -> FloatArray:
    with np.errstate(invalid="ignore", divide="ignore"):
        out: FloatArray = np.where(den > 0, scale * num / den, np.nan)
    return out


def match_meals(data: InsulinData) -> tuple[IntArray, NDArray[np.bool_]]:
    """For each meal, the index of its meal bolus (-1 when missed) and whether it was late.

    A meal takes the first meal bolus of the same patient from 30 min before to 90 min
    after it that no earlier meal took (module docstring).

    Examples
    --------
    >>> d = example_data()
    >>> bolus, late = match_meals(d)
    >>> bolus.tolist(), late.tolist()  # breakfast on time, lunch late, dinner missed
    ([0, 1, -1], [False, True, False])
    """
    meal_bolus = np.nan_to_num(data.bolus_carbs_g) > 0
    idx = np.flatnonzero(meal_bolus)
    # one sorted key per bolus: patient first, then time (seconds fit well under 2**40)
    span = 2.0**40
    b_key = data.bolus_patient[idx] * span + data.bolus_s[idx]
    order = np.argsort(b_key, kind="stable")
    idx, b_key = idx[order], b_key[order]
    m_key = data.meal_patient * span + data.meal_s
    first = np.searchsorted(b_key, m_key - MEAL_WINDOW_BEFORE_S, side="left")
    ok = first < b_key.size
    ok[ok] &= b_key[first[ok]] <= m_key[ok] + MEAL_WINDOW_AFTER_S
    chosen = np.where(ok, idx[np.minimum(first, max(idx.size - 1, 0))], -1)
    # a bolus serves one meal: the first (meals in time order) keeps it
    m_order = np.argsort(m_key, kind="stable")
    taken = chosen[m_order]
    dup = np.zeros(taken.size, dtype=bool)
    has = taken >= 0
    _, first_pos = np.unique(taken[has], return_index=True)
    keep = np.zeros(int(has.sum()), dtype=bool)
    keep[first_pos] = True
    dup[np.flatnonzero(has)[~keep]] = True
    taken[dup] = -1
    out = np.empty_like(chosen)
    out[m_order] = taken
    late = (out >= 0) & (data.bolus_s[np.maximum(out, 0)] - data.meal_s > LATE_AFTER_S)
    return out, late


def insulin_patterns(data: InsulinData) -> dict[str, FloatArray]:
    """Insulin and bolus-pattern metrics per patient (see the module docstring).

    Returns
    -------
    dict of (patients,) arrays: ``tdd_u``, ``basal_u_per_day``, ``bolus_u_per_day``,
    ``basal_pct``, ``boluses_per_day``, ``meal_boluses_per_day``,
    ``correction_boluses_per_day``, ``calculator_use_pct``, ``override_pct``,
    ``underride_pct``, ``meals_per_day``, ``missed_meal_bolus_pct``,
    ``missed_meal_boluses_per_week``, ``late_bolus_pct``, ``bolus_score``,
    ``suspended_h_per_day``, ``temp_basal_h_per_day``, ``site_changes``,
    ``site_change_interval_h``. NaN where the denominator is empty.

    Examples
    --------
    >>> m = insulin_patterns(example_data())
    >>> round(float(m["missed_meal_bolus_pct"][0]), 2), round(float(m["late_bolus_pct"][0]), 2)
    (33.33, 33.33)
    >>> float(m["tdd_u"][0]), round(float(m["basal_pct"][0]), 2)  # 24 U basal + 13 U bolus
    (37.0, 64.86)
    >>> float(m["override_pct"][0])  # 7 U programmed where 6 U were recommended
    50.0
    """
    n = data.n_patients
    days = (data.end_s - data.start_s) / 86400.0
    bp = data.bolus_patient
    bolus_u = _sum(bp, data.bolus_delivered_u, n)
    # basal delivered within the period
    seg_end = data.basal_start_s + data.basal_duration_s
    lo = np.maximum(data.basal_start_s, data.start_s[data.basal_patient])
    hi = np.minimum(seg_end, data.end_s[data.basal_patient])
    inside_h = np.clip(hi - lo, 0.0, None) / 3600.0
    basal_u = _sum(data.basal_patient, data.basal_rate_u_per_h * inside_h, n)
    suspended_h = _sum(
        data.basal_patient, np.where(data.basal_kind == BASAL_SUSPEND, inside_h, 0), n
    )
    temp_h = _sum(data.basal_patient, np.where(data.basal_kind == BASAL_TEMP, inside_h, 0), n)

    calc = np.isfinite(data.bolus_recommended_u)
    carbs = np.nan_to_num(data.bolus_carbs_g) > 0
    correction = calc & ~carbs & (np.nan_to_num(data.bolus_correction_u) > 0)
    diff = data.bolus_programmed_u - np.nan_to_num(data.bolus_recommended_u)
    over = calc & (diff > OVERRIDE_TOLERANCE_U)
    under = calc & (diff < -OVERRIDE_TOLERANCE_U)
    n_bolus = _count(bp, None, n)
    n_calc = _count(bp, calc, n)

    chosen, late = match_meals(data)
    n_meals = _count(data.meal_patient, None, n)
    missed = _count(data.meal_patient, chosen < 0, n)

    out = {
        "tdd_u": _ratio(basal_u + bolus_u, days),
        "basal_u_per_day": _ratio(basal_u, days),
        "bolus_u_per_day": _ratio(bolus_u, days),
        "basal_pct": _ratio(basal_u, basal_u + bolus_u, 100.0),
        "boluses_per_day": _ratio(n_bolus, days),
        "meal_boluses_per_day": _ratio(_count(bp, carbs, n), days),
        "correction_boluses_per_day": _ratio(_count(bp, correction, n), days),
        "calculator_use_pct": _ratio(n_calc, n_bolus, 100.0),
        "override_pct": _ratio(_count(bp, over, n), n_calc, 100.0),
        "underride_pct": _ratio(_count(bp, under, n), n_calc, 100.0),
        "meals_per_day": _ratio(n_meals, days),
        "missed_meal_bolus_pct": _ratio(missed, n_meals, 100.0),
        "missed_meal_boluses_per_week": _ratio(missed, days / 7.0),
        "late_bolus_pct": _ratio(_count(data.meal_patient, late, n), n_meals, 100.0),
        "bolus_score": bolus_score(data),
        "suspended_h_per_day": _ratio(suspended_h, days),
        "temp_basal_h_per_day": _ratio(temp_h, days),
    }
    out.update(site_changes(data))
    return out


def bolus_score(data: InsulinData) -> FloatArray:
    """BOLUS score: mean over the period's local days of the number of the windows
    06-10, 11-15 and 16-22 h (local) with at least one bolus (0-3; PMID 23317372).

    Examples
    --------
    >>> float(bolus_score(example_data())[0])  # 08:00 and 12:40 boluses on one day
    2.0
    """
    n = data.n_patients
    local_day = np.floor(data.bolus_local_s / 86400.0).astype(np.int64)
    hour = (data.bolus_local_s - local_day * 86400.0) / 3600.0
    window = np.select(
        [(hour >= 6) & (hour < 10), (hour >= 11) & (hour < 15), (hour >= 16) & (hour < 22)],
        [0, 1, 2],
        default=-1,
    )
    hit = window >= 0
    # distinct (patient, day, window) triples
    day = local_day[hit] - local_day.min(initial=0)
    key = (data.bolus_patient[hit] * 2**32 + day) * 4 + window[hit]
    uniq = np.unique(key)
    points = np.bincount((uniq // 4) // 2**32, minlength=n).astype(np.float64)
    days = np.round((data.end_s - data.start_s) / 86400.0)
    return _ratio(points, days)


def site_changes(data: InsulinData) -> dict[str, FloatArray]:
    """Site changes in the period and the mean hours between consecutive ones.

    Examples
    --------
    >>> r = site_changes(example_data())
    >>> float(r["site_changes"][0]), float(r["site_change_interval_h"][0])
    (2.0, 22.0)
    """
    n = data.n_patients
    inside = (data.site_s >= data.start_s[data.site_patient]) & (
        data.site_s < data.end_s[data.site_patient]
    )
    p, t = data.site_patient[inside], data.site_s[inside]
    order = np.lexsort((t, p))
    p, t = p[order], t[order]
    same = p[1:] == p[:-1]
    gaps_h = (t[1:] - t[:-1])[same] / 3600.0
    count = _count(p, None, n)
    return {
        "site_changes": count,
        "site_change_interval_h": _ratio(_sum(p[1:][same], gaps_h, n), count - 1),
    }


def example_data() -> InsulinData:
    """One patient, one day (UTC): three meals, two meal boluses (one 30 min late),
    24 U of basal, two site changes 22 h apart.

    >>> example_data().n_patients
    1
    """
    h = 3600.0
    f = np.array
    return InsulinData(
        n_patients=1,
        start_s=f([0.0]),
        end_s=f([24 * h]),
        bolus_patient=f([0, 0], dtype=np.int64),
        bolus_s=f([8 * h, 12.5 * h + 10 * 60]),
        bolus_local_s=f([8 * h, 12.5 * h + 10 * 60]),
        bolus_delivered_u=f([6.0, 7.0]),
        bolus_programmed_u=f([6.0, 7.0]),
        bolus_recommended_u=f([6.0, 6.0]),
        bolus_carbs_g=f([60.0, 60.0]),
        bolus_correction_u=f([0.0, 0.0]),
        meal_patient=f([0, 0, 0], dtype=np.int64),
        meal_s=f([8 * h, 12 * h + 10 * 60, 19 * h]),
        meal_carbs_g=f([60.0, 60.0, 80.0]),
        basal_patient=f([0], dtype=np.int64),
        basal_start_s=f([0.0]),
        basal_duration_s=f([24 * h]),
        basal_rate_u_per_h=f([1.0]),
        basal_kind=f([BASAL_SCHEDULED], dtype=np.int64),
        site_patient=f([0, 0], dtype=np.int64),
        site_s=f([1 * h, 23 * h]),
    )
