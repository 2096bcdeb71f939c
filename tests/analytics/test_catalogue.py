"""The catalogue against published values, closed forms and its own invariants."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.catalogue import metrics
from analytics.grid import to_grid
from analytics.risk import bg_risk_function, gri_zone_label
from analytics.windows import change, last_days, window_metrics
from drivers._core.units import MGDL_PER_MMOLL


def _grid(values: list[float] | np.ndarray, step_s: float = 300.0):  # type: ignore[no-untyped-def]
    v = np.asarray(values, float)
    return to_grid(np.zeros(v.size, int), np.arange(v.size) * step_s, v)


def _one(values: list[float] | np.ndarray) -> dict[str, float]:
    return {k: float(np.asarray(x, float)[0]) for k, x in metrics(_grid(values)).items()}


@pytest.mark.parametrize(
    ("mean", "a1c"),
    # ADAG: Nathan DM, et al. Diabetes Care 2008;31:1473-1478, Table 1
    # (A1C 6 % <-> 126 mg/dL, 7 % <-> 154, 8 % <-> 183, 9 % <-> 212, 10 % <-> 240)
    [(126, 6.0), (154, 7.0), (183, 8.0), (212, 9.0), (240, 10.0)],
)
def test_ea1c_matches_the_adag_table(mean: float, a1c: float) -> None:
    assert _one([mean] * 12)["ea1c_pct"] == pytest.approx(a1c, abs=0.05)


def test_kovatchev_risk_is_symmetric_with_maximum_100_at_20_and_600() -> None:
    """Kovatchev 1997: the transformed scale is 0 at 112.5 mg/dL and the risk reaches
    100 at both ends of the 20-600 mg/dL meter range."""
    r = 10 * bg_risk_function(np.array([20.0, 112.5, 600.0])) ** 2
    assert r == pytest.approx([100.0, 0.0, 100.0], abs=0.1)
    low, high = _one([20.0] * 6), _one([600.0] * 6)
    assert (low["lbgi"], low["hbgi"]) == (pytest.approx(100.0, abs=0.1), 0.0)
    assert (high["hbgi"], high["lbgi"]) == (pytest.approx(100.0, abs=0.1), 0.0)


def test_the_mmol_form_of_the_risk_function_agrees() -> None:
    """Kovatchev gives f in mmol/L as 1.794 ((ln G)^1.026 - 1.861); both forms are fits
    of the same symmetrization, so they agree to within a few hundredths."""
    mmol = np.array([2.5, 3.9, 6.0, 10.0, 15.0, 25.0])
    f_mmol = 1.794 * (np.log(mmol) ** 1.026 - 1.861)
    assert bg_risk_function(mmol * MGDL_PER_MMOLL) == pytest.approx(f_mmol, abs=0.03)


def test_j_index_and_m_value_by_hand() -> None:
    # 100 and 200: mean 150, SD 70.71; J = 0.001 (220.71)^2
    m = _one([100.0, 200.0])
    assert m["j_index"] == pytest.approx(0.001 * (150 + 50 * np.sqrt(2)) ** 2)
    # M-value (r = 90): 90 gives 0, 900 gives |10 log10 10|^3 = 1000
    assert _one([90.0, 900.0])["m_value"] == pytest.approx(500.0)


def test_gri_worked_example_components_and_cap() -> None:
    """Klonoff 2023: GRI = 3 C_hypo + 1.6 C_hyper, C_hypo = VLow + 0.8 Low,
    C_hyper = VHigh + 0.5 High, capped at 100."""
    # 100 slots: 1 % < 54, 3 % 54-69, 20 % 181-250, 5 % > 250, the rest in range
    values = [45.0] + [60.0] * 3 + [200.0] * 20 + [300.0] * 5 + [120.0] * 71
    m = _one(values)
    assert m["gri_hypo"] == pytest.approx(1 + 0.8 * 3)
    assert m["gri_hyper"] == pytest.approx(5 + 0.5 * 20)
    assert m["gri"] == pytest.approx(34.2)
    assert gri_zone_label(m["gri_zone"]) == "B"
    assert _one([40.0] * 10)["gri"] == 100.0  # 300 capped


@pytest.mark.parametrize(
    ("n_low", "gri", "zone"),
    # 3,000 slots, n_low of them at 60 mg/dL (Low): GRI = 2.4 x Low % = 0.08 n_low
    [
        (0, 0.0, "A"),
        (250, 20.0, "A"),
        (255, 20.4, "B"),
        (500, 40.0, "B"),
        (757, 60.56, "D"),
        (1250, 100.0, "E"),
    ],
)
def test_gri_zones_are_closed_above(n_low: int, gri: float, zone: str) -> None:
    m = _one([60.0] * n_low + [120.0] * (3000 - n_low))
    assert m["gri"] == pytest.approx(gri)
    assert gri_zone_label(m["gri_zone"]) == zone


def test_modd_conga_mag_on_known_traces() -> None:
    t = np.arange(0, 3 * 86400, 300.0)
    daily = 140 + 40 * np.sin(2 * np.pi * t / 86400)
    g = daily + 10.0 * (t // 86400)  # each day 10 mg/dL above the day before
    m = metrics(to_grid(np.zeros(t.size, int), t, g))
    assert float(m["modd_mgdl"][0]) == pytest.approx(10.0)
    ramp = 100 + 12 * np.arange(0, 6 * 12) / 12.0  # +12 mg/dL per hour
    r = _one(ramp)
    assert r["mag_mgdl_per_h"] == pytest.approx(12.0)
    assert r["conga1_mgdl"] == pytest.approx(0.0, abs=1e-9)


def test_adrr_by_local_day() -> None:
    """Risk ranges are per local calendar day: the same readings give one day of range
    100 + 99.9 in UTC, but two days (100 and 99.9) when the patient is at UTC+3 and the
    low falls before local midnight and the high after."""
    t = np.array([20 * 3600.0, 22 * 3600.0])  # 20:00 and 22:00 UTC
    g = np.array([20.0, 600.0])
    utc = metrics(to_grid(np.zeros(2, int), t, g))
    east = metrics(to_grid(np.zeros(2, int), t, g, reading_offset_s=np.full(2, 3 * 3600.0)))
    r_low, r_high = (10 * bg_risk_function(g) ** 2).tolist()
    assert float(utc["adrr"][0]) == pytest.approx(r_low + r_high)
    assert float(east["adrr"][0]) == pytest.approx((r_low + r_high) / 2)


def test_no_data_and_one_reading_policies() -> None:
    g = to_grid(np.array([1]), np.array([0.0]), np.array([120.0]), n_patients=2)
    m = metrics(g)
    for name, v in m.items():
        v = np.asarray(v, float)
        if name not in ("n_readings", "days_with_data", "sufficient_data"):
            assert np.isnan(v[0]), name  # nobody's data: not computable
    assert float(m["mean_mgdl"][1]) == 120.0
    assert np.isnan(m["sd_mgdl"][1]) and np.isnan(m["mage_mgdl"][1])
    assert float(m["hypo_l1_events"][1]) == 0.0


def test_range_metrics_are_permutation_invariant_and_unit_consistent() -> None:
    rng = np.random.default_rng(3)
    mmol = rng.uniform(2.2, 22.0, 500).round(1)  # as a mmol/L meter shows them
    mgdl = mmol * MGDL_PER_MMOLL
    a = _one(mgdl)
    b = _one(rng.permutation(mgdl))
    for name in (
        "tbr_lt54_pct",
        "tbr_54_69_pct",
        "tir_70_180_pct",
        "tar_181_250_pct",
        "tar_gt250_pct",
        "tir_70_140_pct",
        "gri",
        "lbgi",
        "hbgi",
        "m_value",
    ):
        assert a[name] == pytest.approx(b[name]), name
    # bands counted in mmol/L with the consensus's mmol limits give the same shares
    in_range = np.mean((mmol >= 3.9) & (mmol <= 10.0)) * 100
    below_54 = np.mean(mmol < 3.0) * 100
    assert a["tir_70_180_pct"] == pytest.approx(in_range)
    assert a["tbr_lt54_pct"] == pytest.approx(below_54)


@settings(max_examples=20, deadline=None)
@given(st.lists(st.integers(0, 2**31 - 1), min_size=1, max_size=5), st.integers(1, 3))
def test_batch_equivalence_of_the_whole_catalogue(seeds: list[int], chunk: int) -> None:
    """f(stack) == stack(f) for every metric, whatever the chunk size."""
    pats, ts, gs = [], [], []
    for n, seed in enumerate(seeds):
        rng = np.random.default_rng(seed)
        t = np.arange(0, rng.integers(1, 3) * 86400, 300.0) + rng.integers(0, 86400)
        g = np.clip(140 + np.cumsum(rng.normal(0, 5, t.size)), 40, 400)
        keep = rng.random(t.size) > 0.1
        pats.append(np.full(keep.sum(), n))
        ts.append(t[keep])
        gs.append(g[keep])
    together = metrics(
        to_grid(np.concatenate(pats), np.concatenate(ts), np.concatenate(gs)),
        chunk_patients=chunk,
    )
    for n, (t, g) in enumerate(zip(ts, gs, strict=True)):
        alone = metrics(to_grid(np.zeros(t.size, int), t, g))
        for name, v in alone.items():
            np.testing.assert_allclose(
                np.asarray(together[name], float)[n],
                np.asarray(v, float)[0],
                rtol=1e-9,
                atol=1e-9,
                equal_nan=True,
                err_msg=name,
            )


def test_windows_and_change_against_baseline() -> None:
    t = np.arange(0, 28 * 86400, 300.0)
    g = np.where(t < 14 * 86400, 220.0, 130.0)  # worse first fortnight, better second
    p = np.zeros(t.size, int)
    end = np.array([28 * 86400.0])
    current = window_metrics(p, t, g, start_s=end - 14 * 86400, end_s=end)
    baseline = window_metrics(p, t, g, start_s=end - 28 * 86400, end_s=end - 14 * 86400)
    delta = change(current, baseline)
    assert float(delta["tir_70_180_pct"][0]) == pytest.approx(100.0)
    assert float(delta["mean_mgdl"][0]) == pytest.approx(-90.0)
    assert float(current["sufficient_data"][0]) == 1.0
    # a 30-day window with 28 days of data: 93 % of the expected readings
    w = last_days(p, t, g, end_s=end, days=(30,))
    assert float(w[30]["data_sufficiency_pct"][0]) == pytest.approx(100 * 28 / 30, abs=0.01)


def test_threads_do_not_change_any_value() -> None:
    """Blocks of patients computed in threads (to_grid's 64-patient blocks, the
    catalogue's chunks and MAGE's slices) give bit-identical results to one thread."""
    rng = np.random.default_rng(11)
    pats, ts, gs = [], [], []
    for n in range(150):  # three grid blocks
        t = np.arange(0, 2 * 86400, 300.0) + rng.integers(0, 3600) + rng.normal(0, 2, 576)
        g = np.clip(140 + np.cumsum(rng.normal(0, 6, t.size)), 40, 400)
        keep = rng.random(t.size) > 0.15
        pats.append(np.full(keep.sum(), n))
        ts.append(t[keep])
        gs.append(g[keep])
    args = (np.concatenate(pats), np.concatenate(ts), np.concatenate(gs))
    one = to_grid(*args, workers=1)
    three = to_grid(*args, workers=3)
    np.testing.assert_array_equal(one.mgdl, three.mgdl)
    np.testing.assert_array_equal(one.n_readings, three.n_readings)
    a = metrics(one, chunk_patients=16, workers=1)
    b = metrics(one, chunk_patients=16, workers=3)
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    assert np.isfinite(a["mage_mgdl"]).all()
