"""Grid and the foundation metrics against published and hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.catalogue import metrics
from analytics.grid import to_grid
from drivers._core.units import MGDL_PER_MMOLL


def _one(values: list[float], step_s: float = 300.0) -> dict[str, float]:
    v = np.asarray(values, float)
    grid = to_grid(np.zeros(v.size, int), np.arange(v.size) * step_s, v)
    return {k: float(np.asarray(x)[0]) for k, x in metrics(grid).items()}


@pytest.mark.parametrize(
    ("mean", "gmi"),
    # Bergenstal et al., Diabetes Care 2018;41:2275, Table 1 (GMI for mean CGM glucose).
    [(100, 5.7), (125, 6.3), (150, 6.9), (175, 7.5), (200, 8.1), (250, 9.3), (300, 10.5)],
)
def test_gmi_matches_the_published_table(mean: float, gmi: float) -> None:
    assert _one([mean] * 12)["gmi_pct"] == pytest.approx(gmi, abs=0.05)


def test_range_boundaries_follow_the_consensus() -> None:
    # one reading per band edge, hand-classified from Battelino 2019, Fig. 1:
    # 53 very low; 54 and 69 low; 70 and 180 in range; 181 and 250 high; 251 very high
    m = _one([53, 54, 69, 70, 180, 181, 250, 251, 140, 141])
    assert m["tbr_lt54_pct"] == pytest.approx(10.0)
    assert m["tbr_54_69_pct"] == pytest.approx(20.0)
    assert m["tir_70_180_pct"] == pytest.approx(40.0)
    assert m["tar_181_250_pct"] == pytest.approx(20.0)
    assert m["tar_gt250_pct"] == pytest.approx(10.0)
    assert m["tir_70_140_pct"] == pytest.approx(20.0)  # 70 and 140


def test_mmol_limits_land_in_the_consensus_bands() -> None:
    """3.9-10.0 mmol/L is in range; 3.0 is level-1 low; 13.9 is high (not very high)."""
    mmol = [3.9, 10.0, 3.0, 13.9, 2.9, 14.0]
    m = _one([x * MGDL_PER_MMOLL for x in mmol])
    assert m["tir_70_180_pct"] == pytest.approx(100 * 2 / 6)
    assert m["tbr_54_69_pct"] == pytest.approx(100 / 6)
    assert m["tar_181_250_pct"] == pytest.approx(100 / 6)
    assert m["tbr_lt54_pct"] == pytest.approx(100 / 6)
    assert m["tar_gt250_pct"] == pytest.approx(100 / 6)


def test_sd_and_cv_by_hand() -> None:
    # 100, 200, 300: mean 200, sample SD 100, CV 50 %
    m = _one([100, 200, 300])
    assert (m["mean_mgdl"], m["sd_mgdl"], m["cv_pct"]) == (200.0, 100.0, 50.0)


def test_gaps_up_to_45_minutes_are_bridged_longer_ones_are_not() -> None:
    t = np.array([0.0, 2700.0, 2700.0 + 3000.0])  # 45-min gap, then 50-min gap
    g = to_grid(np.zeros(3, int), t, np.array([100.0, 190.0, 100.0]))
    assert np.isfinite(g.mgdl[0, :10]).all()  # 0..45 min filled, linear
    assert g.mgdl[0, 1] == pytest.approx(110.0)
    assert np.isnan(g.mgdl[0, 10:19]).all()
    assert g.observed[0].sum() == 3 and int(g.n_slots[0]) == 20
    # 3 real readings where a 5-min sensor would have made 20: the bridged 45 min
    # is interpolated for the glucose metrics but is not time the sensor was active
    assert float(metrics(g)["wear_pct"][0]) == pytest.approx(100 * 3 / 20)


def test_one_minute_readings_average_into_slots_and_duplicates_count_once() -> None:
    t = np.array([0, 60, 120, 0, 300, 360], float)  # a duplicate at t=0
    v = np.array([100, 104, 108, 100, 200, 204], float)
    g = to_grid(np.zeros(6, int), t, v)
    assert g.mgdl[0].tolist() == pytest.approx([103.0, 202.0])
    assert int(g.n_readings[0]) == 5


def test_fifteen_minute_libre_history_is_continuous() -> None:
    m = _one([100, 130, 160, 130], step_s=900.0)
    assert m["wear_pct"] == 100.0 and m["n_readings"] == 4


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.floats(40, 400), min_size=2, max_size=40), min_size=1, max_size=5))
def test_batch_equals_stack_of_singles(patients: list[list[float]]) -> None:
    pid = np.concatenate([np.full(len(p), i) for i, p in enumerate(patients)])
    t = np.concatenate([np.arange(len(p)) * 300.0 for p in patients])
    v = np.concatenate([np.asarray(p) for p in patients])
    batch = metrics(to_grid(pid, t, v, n_patients=len(patients)))
    for i, p in enumerate(patients):
        single = _one(p)
        for key, value in single.items():
            assert float(batch[key][i]) == pytest.approx(value, rel=1e-9, abs=1e-9, nan_ok=True)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(40, 400), min_size=2, max_size=60), st.randoms())
def test_range_metrics_do_not_depend_on_order(values: list[float], rnd) -> None:  # type: ignore[no-untyped-def]
    shuffled = values[:]
    rnd.shuffle(shuffled)
    a, b = _one(values), _one(shuffled)
    for key in ("tir_70_180_pct", "tbr_lt54_pct", "tar_gt250_pct", "mean_mgdl"):
        assert a[key] == pytest.approx(b[key])


def test_one_dropped_reading_in_a_hundred_is_99_percent_wear() -> None:
    t = np.delete(np.arange(100) * 300.0, 50)
    g = to_grid(np.zeros(99, int), t, np.full(99, 120.0))
    assert float(metrics(g)["wear_pct"][0]) == pytest.approx(99.0)


def test_patient_without_data_gets_nan_not_an_error() -> None:
    g = to_grid(np.array([1, 1]), np.array([0.0, 300.0]), np.array([100.0, 110.0]), n_patients=3)
    m = metrics(g)
    assert np.isnan(m["mean_mgdl"][0]) and np.isnan(m["tir_70_180_pct"][2])
    assert float(m["mean_mgdl"][1]) == 105.0


def test_risk_tables_equal_the_formula_for_every_whole_value() -> None:
    """risk_indices looks whole mg/dL values up in tables; they must equal Kovatchev's
    f(G) (bg_risk_function) and the M-value term at every whole value, and a value a
    hair off a whole number (computed, not looked up) must land next to it."""
    from analytics.risk import _f_and_m, bg_risk_function

    g = np.arange(1.0, 1001.0)
    f, m = _f_and_m(g, np.ones(g.size, dtype=bool))
    np.testing.assert_allclose(f, bg_risk_function(g), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(m, np.abs(10 * np.log10(g / 90.0)) ** 3, rtol=1e-12, atol=1e-12)
    f_off, m_off = _f_and_m(g + 1e-7, np.ones(g.size, dtype=bool))
    np.testing.assert_allclose(f_off, f, atol=1e-6)
    np.testing.assert_allclose(m_off, m, rtol=1e-5, atol=1e-6)
    invalid = _f_and_m(np.array([np.nan, 120.0]), np.array([False, True]))[0]
    assert invalid[0] == 0.0
    assert invalid[1] == pytest.approx(float(bg_risk_function(np.array([120.0]))[0]))
