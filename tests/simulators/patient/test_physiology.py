"""Physiology and sensor layer: published curve shapes, bounds, sensor conventions."""

from __future__ import annotations

import numpy as np
import pytest

from simulators.patient.physiology import (
    SENSOR_HIGH_MGDL,
    SENSOR_LOW_MGDL,
    GlucoseIntegrator,
    SensorModel,
    carb_absorption_rate,
    carb_kernel,
    draw_sensor_errors,
    insulin_activity,
    insulin_kernel,
    insulin_on_board,
    scatter_kernels,
    sensor_readings,
    session_layout,
)


@pytest.mark.parametrize(("dia", "peak"), [(360.0, 75.0), (300.0, 55.0), (480.0, 90.0)])
def test_exponential_insulin_curve_peaks_where_stated_and_acts_once(
    dia: float, peak: float
) -> None:
    # OpenAPS oref0 / LoopKit exponential model: activity peaks at `peak`, ends at `dia`,
    # and the whole dose acts exactly once (IOB goes 1 -> 0).
    t = np.arange(0.0, dia + 1.0, 0.5)
    act = insulin_activity(t, dia_min=dia, peak_min=peak)
    assert t[np.argmax(act)] == pytest.approx(peak, abs=0.5)
    assert np.trapezoid(act, t) == pytest.approx(1.0, abs=1e-3)
    iob = insulin_on_board(t, dia_min=dia, peak_min=peak)
    assert iob[0] == 1.0 and iob[-1] == pytest.approx(0.0, abs=1e-9)
    assert np.all(np.diff(iob) <= 1e-12)
    # activity is minus the derivative of IOB
    np.testing.assert_allclose(-np.gradient(iob, t)[1:-1], act[1:-1], atol=2e-4)
    assert insulin_kernel(dia_min=dia, peak_min=peak).sum() == pytest.approx(1.0)


def test_carb_absorption_peaks_at_tmax_hovorka() -> None:
    t = np.arange(0.0, 800.0)
    for tmax in (40.0, 55.0, 70.0):
        assert t[np.argmax(carb_absorption_rate(t, tmax_min=tmax))] == tmax
    k = carb_kernel(np.array([40.0, 70.0]))
    np.testing.assert_allclose(k.sum(axis=1), 1.0)
    assert np.argmax(k[0]) < np.argmax(k[1])


def test_scatter_is_a_sparse_convolution() -> None:
    kern = insulin_kernel()
    out = scatter_kernels(400, 2, [10, 10, 300], [0, 1, 1], np.stack([kern, 2 * kern, kern]))
    expected0 = np.convolve(np.eye(1, 400, 10)[0], kern)[:400]
    np.testing.assert_allclose(out[:, 0], expected0)
    assert out[:, 1].sum() == pytest.approx(2.0 + kern[:100].sum())  # the last one is cut


def test_integrator_stays_within_physiological_bounds() -> None:
    n = 600
    drive = np.zeros((n, 3))
    drive[:, 0] = 40.0  # absurd carbohydrate flux
    drive[:, 1] = -40.0  # absurd insulin
    integ = GlucoseIntegrator(
        drive, initial_mgdl=[120.0, 120.0, 120.0], reference_mgdl=120.0, effectiveness_per_min=0.002
    )
    integ.run_until(n - 1)
    assert integ.glucose.max() <= 500.0 and integ.glucose.min() >= 30.0
    assert integ.glucose[-1, 0] == 500.0 and integ.glucose[-1, 1] == 30.0
    assert integ.glucose[-1, 2] == pytest.approx(120.0)


def test_rescue_carbs_lift_a_low() -> None:
    n = 200
    drive = np.full((n, 2), -1.0)
    kern = carb_kernel(20.0)[:, None] * np.array([[60.0, 60.0]])
    with_rescue = GlucoseIntegrator(
        drive.copy(),
        initial_mgdl=100.0,
        reference_mgdl=100.0,
        effectiveness_per_min=0.0,
        counterregulation_per_min=0.0,
        rescue_below_mgdl=[70.0, 0.0],
        rescue_effect=kern,
    )
    with_rescue.run_until(n - 1)
    assert with_rescue.rescue_patients.count(0) >= 1 and 1 not in with_rescue.rescue_patients
    assert with_rescue.glucose[:, 0].min() > with_rescue.glucose[:, 1].min()


def test_sensor_warmup_limits_and_compression() -> None:
    n = 288 * 12
    starts, ends = np.array([[24, 24 + 2880]]), np.array([[24 + 2880, n]])
    session, minutes = session_layout(n, starts, ends)
    assert (session[:24] == -1).all() and session[24, 0] == 0 and session[24 + 2880, 0] == 1
    hour = (np.arange(n) % 288) * 5 / 60.0
    model = SensorModel(compression_per_night=1.0, dropouts_per_day=0.0)
    err = draw_sensor_errors(np.random.default_rng(3), model, session, minutes, hour[:, None])
    # no reading in the first two hours of each session (warm-up)
    assert not err.valid[24 : 24 + 24].any() and err.valid[24 + 24]
    assert not err.valid[2904 : 2904 + 24].any()
    assert err.warmup.sum() == 48
    # one compression low per worn night (nights of warm-up excluded)
    assert 10 <= err.n_compressions[0] <= 12
    ig = np.concatenate([np.full(n // 2, 5.0), np.full(n - n // 2, 600.0)])[:, None]
    values, low, high = sensor_readings(ig, err, model)
    assert set(np.unique(values[err.valid])) <= {SENSOR_LOW_MGDL, SENSOR_HIGH_MGDL}
    assert low[: n // 2].sum() == err.valid[: n // 2].sum()
    assert high[n // 2 :].sum() == err.valid[n // 2 :].sum()
    assert np.isnan(values[~err.valid]).all()


def test_sensor_error_size_is_cgm_like() -> None:
    # MARD of a current CGM is ~8-10 % (Dexcom G6: 9 %); the model should be of that order.
    n = 288 * 10
    session, minutes = session_layout(n, np.array([[0]] * 50), np.array([[n]] * 50))
    model = SensorModel(compression_per_night=0.0)
    err = draw_sensor_errors(
        np.random.default_rng(5), model, session, minutes, ((np.arange(n) % 288) / 12.0)[:, None]
    )
    ig = np.full((n, 50), 140.0)
    values, _, _ = sensor_readings(ig, err, model)
    mard = np.nanmean(np.abs(values - 140.0) / 140.0) * 100
    assert 3.0 < mard < 12.0
