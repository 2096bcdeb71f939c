"""AGP and daily profiles on hand-built traces.

Percentiles are NumPy's default ("linear", Hyndman & Fan type 7): of n sorted values
x[0..n-1], the q-th percentile sits at h = (n - 1) q / 100, between x[floor h] and the
next value, linearly. E.g. of 100, 100, 200 the 75th is at h = 1.5: 150.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.agp import agp, daily_profiles
from analytics.grid import Grid, day_matrix, to_grid

DAY = 86400.0
SPD = 288


def _f64(x: npt.ArrayLike) -> npt.NDArray[np.float64]:
    return np.asarray(x, dtype=np.float64)


def _days(day_values: list[np.ndarray], start_s: float = 0.0, offset_s: float = 0.0) -> Grid:
    """One reading per 5-min slot, day after day, each day given as 288 values."""
    v = np.concatenate(day_values)
    t = start_s + np.arange(v.size) * 300.0
    return to_grid(np.zeros(v.size, int), _f64(t), v, reading_offset_s=np.full(v.size, offset_s))


def _daily_shape() -> np.ndarray:
    """A day with a breakfast and a dinner peak, distinct at every slot."""
    tod = np.arange(SPD)
    return (
        110.0
        + 90.0 * np.exp(-(((tod - 96) / 12.0) ** 2))
        + 60.0 * np.exp(-(((tod - 228) / 15.0) ** 2))
        + tod / 100.0
    )


def test_a_trace_that_is_the_same_every_day_is_its_own_profile() -> None:
    f = _daily_shape()
    a = agp(_days([f] * 7))
    assert a.values.shape == (1, 5, SPD)
    assert a.percentiles == (5.0, 25.0, 50.0, 75.0, 95.0)
    for i in range(5):
        np.testing.assert_allclose(a.values[0, i], f)
    assert np.all(a.n == 7)
    np.testing.assert_array_equal(a.bin_start_min[:3], [0.0, 5.0, 10.0])
    assert a.bin_start_min[-1] == 1435.0


def test_alternating_days_give_hand_computed_percentiles() -> None:
    # three days 100, 200, 100: sorted 100, 100, 200 in every bin
    a = agp(_days([np.full(SPD, 100.0), np.full(SPD, 200.0), np.full(SPD, 100.0)]))
    # 5th: h = 0.1 -> 100; 25th: h = 0.5 -> 100; median: h = 1 -> 100;
    # 75th: h = 1.5 -> 150; 95th: h = 1.9 -> 100 + 0.9 x 100 = 190
    np.testing.assert_allclose(a.values[0, :, 17], [100.0, 100.0, 100.0, 150.0, 190.0])
    # four days 100, 200, 100, 200: sorted 100, 100, 200, 200; median h = 1.5 -> 150
    b = agp(_days([np.full(SPD, x) for x in (100.0, 200.0, 100.0, 200.0)]), percentiles=(50,))
    np.testing.assert_allclose(b.values[0, 0], 150.0)


def test_four_distinct_days_give_hand_computed_quartiles() -> None:
    # sorted 100, 150, 200, 250: 5th h = 0.15 -> 107.5; 25th h = 0.75 -> 137.5;
    # median h = 1.5 -> 175; 75th h = 2.25 -> 212.5; 95th h = 2.85 -> 242.5
    days = [np.full(SPD, x) for x in (100.0, 200.0, 150.0, 250.0)]
    a = agp(_days(days))
    np.testing.assert_allclose(a.values[0, :, 200], [107.5, 137.5, 175.0, 212.5, 242.5])


def test_hourly_bins_pool_the_slots_of_the_hour() -> None:
    # hour h holds 12 slots x 2 days; values of day 0 at hour h are h*10 + slot in hour,
    # day 1 the same + 1000: the median of the 24 pooled values is between the two days
    tod = np.arange(SPD)
    day0 = (tod // 12) * 10.0 + tod % 12
    a = agp(_days([day0, day0 + 1000.0]), bin_s=3600, percentiles=(0, 50, 100))
    assert a.values.shape == (1, 3, 24)
    assert np.all(a.n == 24)
    np.testing.assert_array_equal(a.bin_start_min, np.arange(24) * 60.0)
    hour = np.arange(24) * 10.0
    np.testing.assert_allclose(a.values[0, 0], hour)  # minimum: slot 0 of day 0
    np.testing.assert_allclose(a.values[0, 2], hour + 1011.0)  # maximum
    # h = 11.5, halfway between day 0's largest (hour + 11) and day 1's smallest (hour + 1000)
    np.testing.assert_allclose(a.values[0, 1], hour + 505.5)


def test_utc_plus_one_shifts_the_profile_by_twelve_5_minute_bins() -> None:
    rng = np.random.default_rng(3)
    days = [rng.uniform(50.0, 300.0, SPD) for _ in range(5)]
    utc = agp(_days(days, offset_s=0.0))
    plus1 = agp(_days(days, offset_s=3600.0))
    # what happens at 00:00 UTC is at 01:00 local: bin b of UTC is bin b + 12 local
    np.testing.assert_allclose(plus1.values, np.roll(utc.values, 12, axis=2))
    np.testing.assert_array_equal(plus1.n, np.roll(utc.n, 12, axis=1))
    assert not np.allclose(plus1.values, utc.values)


def _meal_at_local_noon(local_s: np.ndarray) -> np.ndarray:
    """250 mg/dL from 12:00 to 12:55 local time, 100 otherwise."""
    tod_slot = (local_s % DAY) // 300
    return np.where((tod_slot >= 144) & (tod_slot < 156), 250.0, 100.0)


def _dst_period() -> tuple[np.ndarray, np.ndarray]:
    """Six local days at UTC+1 then UTC+2 (clock forward 02:00 -> 03:00 on the 4th day).

    Local day 0 starts at local midnight 1970-01-11 (days since 1970-01-01 = 10).
    """
    start = 10 * DAY - 3600.0  # 00:00 at UTC+1
    change = 13 * DAY + 3600.0  # 02:00 at UTC+1 on local day 13
    end = 16 * DAY - 7200.0  # 00:00 at UTC+2 on local day 16 (exclusive)
    t = np.arange(start, end, 300.0)
    offset = np.where(t < change, 3600.0, 7200.0)
    return t, offset


def test_a_dst_change_keeps_meals_at_the_same_local_time_of_day() -> None:
    t, offset = _dst_period()
    v = _meal_at_local_noon(t + offset)
    g = to_grid(np.zeros(t.size, int), t, v, reading_offset_s=offset)
    a = agp(g)
    expected = _meal_at_local_noon(np.arange(SPD) * 300.0)
    for i in range(5):
        np.testing.assert_allclose(a.values[0, i], expected)
    # the skipped hour (02:00-02:55 on the change day) has one day fewer
    assert a.n[0, 24:36].tolist() == [5] * 12
    assert np.all(np.delete(a.n[0], np.arange(24, 36)) == 6)
    # ignoring the change (a constant UTC+1) shows the last three days' meals at 11:00:
    # at 12:00 the bin holds 250, 250, 250, 100, 100, 100 -> median (h = 2.5) 175
    naive = agp(to_grid(np.zeros(t.size, int), t, v, utc_offset_s=np.array([3600.0])))
    assert naive.band(50)[0, 144] == pytest.approx(175.0)
    assert naive.band(95)[0, 132] == pytest.approx(250.0)


def test_smoothing_is_cyclic_1_4_1_over_adjacent_bins() -> None:
    day = np.full(SPD, 100.0)
    day[:12] = 160.0  # hour 0 is high
    a = agp(_days([day] * 3), bin_s=3600, percentiles=(50,), smooth=True)
    med = a.values[0, 0]
    assert a.smoothed
    assert med[0] == pytest.approx((100.0 + 4 * 160.0 + 100.0) / 6)  # 140
    assert med[1] == pytest.approx((160.0 + 4 * 100.0 + 100.0) / 6)  # 110
    assert med[23] == pytest.approx((100.0 + 4 * 100.0 + 160.0) / 6)  # wraps at midnight
    assert med[12] == pytest.approx(100.0)


def test_smoothing_weights_4_1_next_to_an_empty_bin() -> None:
    # no data from 05:00 to 05:55 on any day (a 65-min gap: NaN); 120 at 04:00-04:55,
    # 130 at 06:00-06:55, 100 otherwise
    t = np.arange(3 * SPD) * 300.0
    tod = (t % DAY) // 3600
    keep = tod != 5
    v = np.select([tod == 4, tod == 6], [120.0, 130.0], 100.0)
    g = to_grid(np.zeros(int(keep.sum()), int), _f64(t[keep]), v[keep])
    a = agp(g, bin_s=3600, percentiles=(50,), smooth=True)
    med = a.values[0, 0]
    assert np.isnan(med[5])  # an empty bin stays empty
    assert med[4] == pytest.approx((100.0 + 4 * 120.0) / 5)  # 1-4-0: 116
    assert med[6] == pytest.approx((4 * 130.0 + 100.0) / 5)  # 0-4-1: 124
    assert med[3] == pytest.approx((100.0 + 4 * 100.0 + 120.0) / 6)


def test_a_bin_with_fewer_than_two_values_is_nan() -> None:
    # one day of data, 00:00 to 11:55, then one reading at 12:00 the next day
    t = np.concatenate([np.arange(144) * 300.0, [DAY + 43200.0]])
    g = to_grid(np.zeros(t.size, int), t, np.full(t.size, 120.0))
    a = agp(g)
    assert a.n[0, 144] == 1 and np.all(np.isnan(a.values[0, :, 144]))
    assert np.all(np.isnan(a.values[0, :, 200]))  # no value at all
    b = agp(g, min_values=1)
    assert np.all(b.values[0, :, 144] == 120.0)
    c = agp(_days([np.full(SPD, 120.0)] * 2))  # two values per bin are enough
    assert np.all(c.values == 120.0)


def test_percentiles_match_numpy_nanpercentile_on_gappy_data() -> None:
    rng = np.random.default_rng(7)
    v = rng.uniform(40.0, 400.0, 9 * SPD)
    t = np.arange(v.size) * 300.0 + 1234.0 * 300.0
    keep = rng.random(v.size) > 0.3
    keep[2000:2300] = False  # an unbridged gap
    g = to_grid(np.zeros(int(keep.sum()), int), _f64(t[keep]), v[keep])
    q = (0.0, 5.0, 10.0, 33.3, 50.0, 90.0, 100.0)
    a = agp(g, percentiles=q, min_values=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN bins
        ref = np.nanpercentile(day_matrix(g).values, q, axis=1)[:, 0, :]
    np.testing.assert_allclose(a.values[0], ref, rtol=1e-12)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(1, 3 * SPD),  # readings
            st.integers(0, 2 * SPD),  # start slot
            st.sampled_from([0.0, 3600.0, -18000.0, 19800.0]),  # UTC offset
            st.integers(0, 2**32 - 1),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_batch_equals_each_patient_alone(patients: list[tuple[int, int, float, int]]) -> None:
    pid, ts, vs, off = [], [], [], []
    for i, (n, start, offset, seed) in enumerate(patients):
        rng = np.random.default_rng(seed)
        steps = np.cumsum(rng.integers(1, 12, n))  # irregular, some gaps > 45 min
        pid.append(np.full(n, i))
        ts.append((start + steps) * 300.0)
        vs.append(rng.uniform(40.0, 400.0, n))
        off.append(np.full(n, offset))
    grid = to_grid(
        np.concatenate(pid),
        np.concatenate(ts),
        np.concatenate(vs),
        reading_offset_s=np.concatenate(off),
        n_patients=len(patients),
    )
    together = agp(grid, smooth=True)
    days = daily_profiles(grid)
    for i in range(len(patients)):
        alone_grid = to_grid(np.zeros(ts[i].size, int), _f64(ts[i]), vs[i], reading_offset_s=off[i])
        alone = agp(alone_grid, smooth=True)
        np.testing.assert_allclose(together.values[i], alone.values[0], equal_nan=True)
        np.testing.assert_array_equal(together.n[i], alone.n[0])
        d = daily_profiles(alone_grid)
        k = d.date.shape[1]
        np.testing.assert_array_equal(days.date[i, :k], d.date[0])
        np.testing.assert_allclose(days.daily_coverage_pct[i, :k], d.daily_coverage_pct[0])
        np.testing.assert_allclose(
            days.daily_mean_mgdl[i, :k], d.daily_mean_mgdl[0], equal_nan=True
        )
        assert not days.in_period[i, k:].any()


def test_daily_profiles_dates_coverage_mean_and_tir() -> None:
    # 1970-01-04 12:00 to 1970-01-06 05:55 UTC; on the 5th no readings 08:05-09:55
    # (a 2-h gap: 23 slots without a value); 100 mg/dL on the 4th, 250 on the 5th,
    # 150 on the 6th
    t = np.arange(3 * DAY + 43200.0, 5 * DAY + 6 * 3600.0, 300.0)
    gap = (t > 4 * DAY + 8 * 3600.0) & (t < 4 * DAY + 10 * 3600.0)
    t = t[~gap]
    v = np.select([t < 4 * DAY, t < 5 * DAY], [100.0, 250.0], 150.0)
    d = daily_profiles(to_grid(np.zeros(t.size, int), t, v))
    assert d.date.tolist() == [[3, 4, 5]]
    assert d.in_period.tolist() == [[True, True, True]]
    assert d.slots_in_day.tolist() == [[288, 288, 288]]
    np.testing.assert_allclose(d.daily_coverage_pct[0], [50.0, 100.0 * 265 / 288, 25.0])
    np.testing.assert_allclose(d.daily_mean_mgdl[0], [100.0, 250.0, 150.0])
    np.testing.assert_allclose(d.daily_tir_pct[0], [100.0, 0.0, 100.0])
    assert d.values.shape == (1, 3, SPD)
    assert np.isnan(d.values[0, 0, 143]) and d.values[0, 0, 144] == 100.0
    assert np.isnan(d.values[0, 1, 97]) and d.values[0, 1, 96] == 250.0


def test_daily_profiles_use_the_local_calendar_date() -> None:
    # 02:00 UTC on 1970-01-04 is 21:00 on 1970-01-03 at UTC-5
    t = 3 * DAY + 2 * 3600.0 + np.arange(12) * 300.0
    g = to_grid(np.zeros(12, int), _f64(t), np.full(12, 120.0), utc_offset_s=np.array([-18000.0]))
    d = daily_profiles(g)
    assert d.date.tolist() == [[2]]
    assert d.daily_coverage_pct[0, 0] == pytest.approx(100.0 * 12 / 288)
    assert np.all(d.values[0, 0, 252:264] == 120.0)


def test_a_23_hour_dst_day_has_276_slots_and_full_coverage() -> None:
    t, offset = _dst_period()
    g = to_grid(np.zeros(t.size, int), t, np.full(t.size, 130.0), reading_offset_s=offset)
    d = daily_profiles(g)
    assert d.date.tolist() == [[10, 11, 12, 13, 14, 15]]
    assert d.slots_in_day.tolist() == [[288, 288, 288, 276, 288, 288]]
    np.testing.assert_allclose(d.daily_coverage_pct[0], 100.0)


def test_percentile_and_bin_arguments_are_checked() -> None:
    g = _days([np.full(SPD, 100.0)] * 2)
    with pytest.raises(ValueError, match="percentiles"):
        agp(g, percentiles=(50, 101))
    with pytest.raises(ValueError, match="bin_s"):
        agp(g, bin_s=420)
    with pytest.raises(ValueError, match="bin_s"):
        agp(g, bin_s=7 * 3600)


def test_a_patient_without_data_has_an_empty_profile() -> None:
    g = to_grid(np.zeros(3, int), _f64(np.arange(3) * 300.0), np.full(3, 100.0), n_patients=2)
    a = agp(g, min_values=1)
    assert np.all(a.values[0, :, :3] == 100.0)
    assert np.all(np.isnan(a.values[1])) and np.all(a.n[1] == 0)
    d = daily_profiles(g)
    assert not d.in_period[1].any() and np.isnan(d.daily_mean_mgdl[1]).all()


def test_a_thousand_patients_by_90_days_runs() -> None:
    rng = np.random.default_rng(5)
    p, s = 1000, 90 * SPD
    walk = 140.0 + np.cumsum(rng.normal(0.0, 3.0, (p, s)), axis=1)
    v = 40.0 + np.abs((walk - 40.0) % 720.0 - 360.0)
    v[:, 5000:5030] = np.nan
    obs = np.isfinite(v)
    g = Grid(v, obs, np.zeros(p), np.full(p, s, np.int64), obs.sum(1), np.zeros(p), 300)
    t0 = time.perf_counter()
    a = agp(g)
    elapsed = time.perf_counter() - t0
    print(f"agp, 1000 patients x 90 days: {elapsed:.3f} s")
    assert a.values.shape == (p, 5, SPD)
    assert np.all(np.diff(a.values, axis=1) >= 0)
