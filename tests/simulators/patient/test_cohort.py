"""Cohort: shape, conventions, reproducibility and population-level plausibility."""

from __future__ import annotations

from functools import cache

import numpy as np

from simulators.patient.cohort import Cohort, cohort


@cache
def small(seed: int = 4) -> Cohort:
    return cohort(60, 14, seed=seed, keep_true=True)


def test_shape_dtype_and_sensor_conventions() -> None:
    c = small()
    assert c.cgm_mgdl.shape == (60, 14 * 288) and c.cgm_mgdl.dtype == np.float64
    assert c.cgm_mgdl.flags.c_contiguous
    finite = c.cgm_mgdl[np.isfinite(c.cgm_mgdl)]
    assert finite.min() >= 40.0 and finite.max() <= 400.0  # Low/High at the limits
    assert np.array_equal(finite, np.round(finite))
    gaps = np.isnan(c.cgm_mgdl).mean()
    assert 0.005 < gaps < 0.3  # warm-ups, dropouts, gaps between sensors
    assert c.true_mgdl is not None
    assert c.true_mgdl.min() >= 30.0 and c.true_mgdl.max() <= 500.0


def test_reproducible_and_seed_sensitive() -> None:
    a, b = cohort(5, 3, seed=11), cohort(5, 3, seed=11)
    np.testing.assert_array_equal(a.cgm_mgdl, b.cgm_mgdl)
    assert not np.array_equal(a.cgm_mgdl, cohort(5, 3, seed=12).cgm_mgdl, equal_nan=True)


def test_truth_counts_are_consistent() -> None:
    t = small().truth
    assert (t.missed_meal_boluses <= t.n_meals).all() and (t.n_meals >= 14 * 3 - 5).all()
    observed = t.missed_meal_boluses / t.n_meals
    # the realised rate follows the planted one (binomial scatter over ~55 meals)
    assert np.corrcoef(observed, t.missed_bolus_rate)[0, 1] > 0.8
    assert (t.overrides <= t.n_meals - t.missed_meal_boluses).all()
    assert (t.sensor_sessions >= 2).all()
    assert ((t.wear_fraction > 0.5) & (t.wear_fraction <= 1.0)).all()


def test_patients_do_not_share_a_trace() -> None:
    c = small()
    assert np.unique(np.nanmean(c.cgm_mgdl, axis=1)).size == 60


def test_population_metrics_are_plausible_for_t1d() -> None:
    # Population CGM users: TIR ~ 50-70 %, GMI ~ 7 %, CV ~ 35-40 % (Battelino 2019;
    # T1D Exchange, Foster 2019); a few patients meet the targets, a few are far off.
    v = small().cgm_mgdl
    valid = np.isfinite(v)
    tir = ((v >= 70) & (v <= 180)).sum(axis=1) / valid.sum(axis=1) * 100
    mean = np.nanmean(v, axis=1)
    gmi = 3.31 + 0.02392 * mean
    cv = np.nanstd(v, axis=1) / mean * 100
    assert 50 <= np.median(tir) <= 75 and tir.min() < 60 and tir.max() > 70
    assert 6.5 <= np.median(gmi) <= 7.6
    assert 30 <= np.median(cv) <= 42
    t = small().truth
    assert np.corrcoef(t.true_tir, tir)[0, 1] > 0.8
