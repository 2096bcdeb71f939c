"""Consensus glycaemic events on hand-built traces whose answers follow from the rule.

Rule (Battelino 2023, Danne 2017): >= 15 consecutive min beyond the threshold starts an
event, >= 15 consecutive min back ends it, a shorter return does not; a gap longer than
45 min ends it. One value every 5 min: three values are 15 minutes.
"""

from __future__ import annotations

import time

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.events import (
    HYPER_L1_MGDL,
    HYPO_L1_MGDL,
    KINDS,
    Episodes,
    all_episodes,
    episodes,
    event_metrics,
)
from analytics.grid import Grid, to_grid

MGDL_PER_MMOLL = 18.01559
N, L, V = 100.0, 60.0, 45.0  # normal, low (< 70, >= 54), very low (< 54)


def _f64(x: npt.ArrayLike) -> npt.NDArray[np.float64]:
    return np.asarray(x, dtype=np.float64)


def _grid(values: list[float], step_s: float = 300.0) -> Grid:
    v = np.asarray(values, float)
    return to_grid(np.zeros(v.size, int), _f64(np.arange(v.size) * step_s), v)


def _hypo(values: list[float]) -> Episodes:
    return episodes(_grid(values), HYPO_L1_MGDL, below=True)


def _metric(values: list[float], name: str) -> float:
    return float(event_metrics(_grid(values))[name][0])


def test_exactly_15_minutes_below_starts_an_event() -> None:
    e = _hypo([N] * 6 + [L] * 3 + [N] * 6)
    assert e.start_slot.tolist() == [6]
    assert e.end_slot.tolist() == [8]
    assert e.duration_s.tolist() == [900.0]


def test_10_minutes_below_is_not_an_event() -> None:
    assert len(_hypo([N] * 6 + [L] * 2 + [N] * 6)) == 0


def test_a_10_minute_rise_inside_a_low_does_not_split_it() -> None:
    e = _hypo([N] * 6 + [L] * 4 + [N] * 2 + [L] * 4 + [N] * 6)
    assert len(e) == 1
    # from the first low slot (6) to the last one before the return (15): 10 slots
    assert (e.start_slot[0], e.end_slot[0], e.duration_s[0]) == (6, 15, 3000.0)
    # the 2 normal slots are inside the event: mean of 8 x 60 and 2 x 100
    assert e.mean_mgdl[0] == pytest.approx((8 * L + 2 * N) / 10)
    assert e.nadir_or_peak_mgdl[0] == L


def test_a_15_minute_rise_ends_the_event() -> None:
    e = _hypo([N] * 6 + [L] * 4 + [N] * 3 + [L] * 4 + [N] * 6)
    assert e.start_slot.tolist() == [6, 13]
    assert e.end_slot.tolist() == [9, 16]


def test_two_events_separated_by_a_20_minute_return_count_two() -> None:
    assert _metric([N] * 3 + [L] * 5 + [N] * 4 + [L] * 5 + [N] * 3, "hypo_l1_events") == 2.0


def test_a_short_dip_after_a_return_needs_15_minutes_again() -> None:
    # event, 15-min return (ends it), 10 min low (not an event), normal
    e = _hypo([L] * 4 + [N] * 3 + [L] * 2 + [N] * 6)
    assert (e.start_slot.tolist(), e.end_slot.tolist()) == ([0], [3])


def test_short_low_runs_before_the_start_are_not_part_of_the_event() -> None:
    # 10 min low, 5 min normal, then 15 min low: the event starts at the 15-min run
    e = _hypo([N] * 3 + [L] * 2 + [N] + [L] * 3 + [N] * 3)
    assert (e.start_slot.tolist(), e.end_slot.tolist()) == ([6], [8])


def test_an_event_at_the_start_and_at_the_end_of_the_data_counts() -> None:
    e = _hypo([L] * 3 + [N] * 6 + [L] * 5)
    assert e.start_slot.tolist() == [0, 9]
    assert e.end_slot.tolist() == [2, 13]
    assert e.duration_s.tolist() == [900.0, 1500.0]


def test_a_return_cut_short_by_the_end_of_data_does_not_matter() -> None:
    # the last 10 minutes are normal: the event ends at its last low slot
    e = _hypo([N] * 3 + [L] * 4 + [N] * 2)
    assert (e.end_slot.tolist(), e.duration_s.tolist()) == ([6], [1200.0])


def _gapped(low_before: int, gap_min: int, low_after: int) -> Grid:
    """Normal, ``low_before`` low readings, a gap, ``low_after`` low readings, normal."""
    before = [N] * 4 + [L] * low_before
    after = [L] * low_after + [N] * 4
    t0 = np.arange(len(before)) * 300.0
    t1 = t0[-1] + gap_min * 60.0 + np.arange(len(after)) * 300.0
    v = np.array(before + after)
    return to_grid(np.zeros(v.size, int), np.concatenate([t0, t1]), v)


def test_an_event_through_a_gap_longer_than_45_minutes_counts_twice() -> None:
    g = _gapped(low_before=4, gap_min=50, low_after=3)
    e = episodes(g, HYPO_L1_MGDL, below=True)
    assert len(e) == 2
    # the first part ends at its last slot before the gap: slots 4..7
    assert (e.start_slot[0], e.end_slot[0]) == (4, 7)
    # after the gap (50 min = 10 slots, 9 of them NaN), 3 low slots: 17..19
    assert (e.start_slot[1], e.end_slot[1]) == (17, 19)


def test_a_second_part_shorter_than_15_minutes_after_a_gap_is_not_an_event() -> None:
    g = _gapped(low_before=4, gap_min=50, low_after=2)
    assert len(episodes(g, HYPO_L1_MGDL, below=True)) == 1


def test_a_45_minute_gap_is_bridged_and_the_event_continues() -> None:
    g = _gapped(low_before=4, gap_min=45, low_after=2)
    e = episodes(g, HYPO_L1_MGDL, below=True)
    assert len(e) == 1
    assert (e.start_slot[0], e.end_slot[0]) == (4, 7 + 9 + 1)


@pytest.mark.parametrize(
    ("minutes", "extended"),
    [(125, 1.0), (120, 0.0), (115, 0.0)],  # "more than 120 consecutive minutes"
)
def test_extended_hypoglycaemia_needs_more_than_120_minutes(minutes: int, extended: float) -> None:
    trace = [N] * 6 + [L] * (minutes // 5) + [N] * 6
    assert _metric(trace, "hypo_extended_events") == extended
    assert _metric(trace, "hypo_l1_events") == 1.0


def test_extended_hypoglycaemia_ends_only_with_15_minutes_back() -> None:
    # 125 min low, a 10-min rise, 30 min low: one extended event of 125 + 10 + 30 min
    trace = [N] * 3 + [L] * 25 + [N] * 2 + [L] * 6 + [N] * 3
    assert _metric(trace, "hypo_extended_events") == 1.0
    assert _metric(trace, "hypo_extended_mean_duration_min") == 165.0


def test_a_long_low_made_of_short_runs_is_not_extended() -> None:
    # 2 x 100 min low split by a 10-min rise: a 210-min level 1 event, but never
    # more than 120 consecutive minutes below 70
    trace = [N] * 3 + [L] * 20 + [N] * 2 + [L] * 20 + [N] * 3
    assert _metric(trace, "hypo_l1_mean_duration_min") == 210.0
    assert _metric(trace, "hypo_extended_events") == 0.0


@pytest.mark.parametrize(
    ("mmol", "l1", "l2"),
    [(3.9, 0, 0), (3.8, 1, 0), (3.0, 1, 0), (2.9, 1, 1)],
)
def test_mmol_hypo_limits_land_on_the_consensus_side(mmol: float, l1: int, l2: int) -> None:
    trace = [6.0 * MGDL_PER_MMOLL] * 3 + [mmol * MGDL_PER_MMOLL] * 4 + [6.0 * MGDL_PER_MMOLL] * 3
    assert _metric(trace, "hypo_l1_events") == l1
    assert _metric(trace, "hypo_l2_events") == l2


@pytest.mark.parametrize(
    ("mmol", "l1", "l2"),
    [(10.0, 0, 0), (10.1, 1, 0), (13.9, 1, 0), (14.0, 1, 1)],
)
def test_mmol_hyper_limits_land_on_the_consensus_side(mmol: float, l1: int, l2: int) -> None:
    trace = [6.0 * MGDL_PER_MMOLL] * 3 + [mmol * MGDL_PER_MMOLL] * 4 + [6.0 * MGDL_PER_MMOLL] * 3
    assert _metric(trace, "hyper_l1_events") == l1
    assert _metric(trace, "hyper_l2_events") == l2


def test_whole_mgdl_limits_follow_the_consensus() -> None:
    # 70 is not below 70, 69 is; 180 is not above 180, 181 is
    assert _metric([N] * 3 + [70.0] * 4 + [N] * 3, "hypo_l1_events") == 0.0
    assert _metric([N] * 3 + [69.0] * 4 + [N] * 3, "hypo_l1_events") == 1.0
    assert _metric([N] * 3 + [180.0] * 4 + [N] * 3, "hyper_l1_events") == 0.0
    assert _metric([N] * 3 + [181.0] * 4 + [N] * 3, "hyper_l1_events") == 1.0
    assert _metric([N] * 3 + [54.0] * 4 + [N] * 3, "hypo_l2_events") == 0.0
    assert _metric([N] * 3 + [53.0] * 4 + [N] * 3, "hypo_l2_events") == 1.0


def test_hyper_ends_when_back_at_or_below_the_limit_and_reports_the_peak() -> None:
    # 180 counts as back: 15 min at 180 ends the event
    e = episodes(
        _grid([N] * 3 + [200.0, 260.0, 220.0] + [180.0] * 3 + [200.0] * 3 + [N] * 3),
        HYPER_L1_MGDL,
        below=False,
    )
    assert e.start_slot.tolist() == [3, 9]
    assert e.nadir_or_peak_mgdl.tolist() == [260.0, 200.0]
    assert e.mean_mgdl[0] == pytest.approx(680.0 / 3)


def test_level_2_events_are_counted_inside_level_1_and_excl_has_the_others() -> None:
    trace = (
        [N] * 4
        + [L] * 3 + [V] * 3 + [L] * 3  # a level 1 event with a level 2 event inside
        + [N] * 4
        + [L] * 3 + [V] * 2 + [L] * 3  # a 10-min dip below 54: level 1 only
        + [N] * 4
        + [L] * 5  # level 1 only
        + [N] * 4
    )  # fmt: skip
    assert _metric(trace, "hypo_l1_events") == 3.0
    assert _metric(trace, "hypo_l2_events") == 1.0
    assert _metric(trace, "hypo_l1_excl_events") == 2.0
    excl = all_episodes(_grid(trace))["hypo_l1_excl"]
    assert excl.start_slot.tolist() == [17, 29]
    assert excl.nadir_or_peak_mgdl.tolist() == [V, L]


def test_hyper_excl_is_level_1_without_a_level_2_event() -> None:
    trace = [N] * 3 + [200.0] * 3 + [300.0] * 3 + [N] * 3 + [200.0] * 3 + [N] * 3
    assert _metric(trace, "hyper_l1_events") == 2.0
    assert _metric(trace, "hyper_l2_events") == 1.0
    assert _metric(trace, "hyper_l1_excl_events") == 1.0


def test_rates_per_week_of_valid_data_and_mean_durations() -> None:
    # one week of 5-min data (2016 slots) with a 20-min and a 40-min low
    trace = [N] * 2016
    trace[100:104] = [L] * 4
    trace[500:508] = [L] * 8
    m = event_metrics(_grid(trace))
    assert m["hypo_l1_events"][0] == 2.0
    assert m["hypo_l1_per_week"][0] == pytest.approx(2.0)
    assert m["hypo_l1_mean_duration_min"][0] == pytest.approx(30.0)
    assert np.isnan(m["hyper_l1_mean_duration_min"][0])  # no events
    assert m["hyper_l1_events"][0] == 0.0
    assert m["hyper_l1_per_week"][0] == 0.0


def test_unbridged_gap_time_does_not_count_as_valid_time() -> None:
    # two half-weeks of data (1008 slots each) 3 days apart, one event: 1 per valid week
    half = np.full(1008, N)
    half[10:14] = L
    t = np.concatenate([np.arange(1008), np.arange(1008) + 1008 + 864]) * 300.0
    v = np.concatenate([half, np.full(1008, N)])
    m = event_metrics(to_grid(np.zeros(v.size, int), t, v))
    assert m["hypo_l1_per_week"][0] == pytest.approx(1.0)


def test_a_patient_without_data_is_nan_and_the_others_are_unaffected() -> None:
    p = np.zeros(10, int)
    g = to_grid(p, _f64(np.arange(10) * 300.0), np.array([N] * 3 + [L] * 4 + [N] * 3), n_patients=2)
    m = event_metrics(g)
    assert set(m) == {
        f"{k}_{s}" for k in KINDS for s in ("events", "per_week", "mean_duration_min")
    }
    assert m["hypo_l1_events"][0] == 1.0
    assert all(np.isnan(x[1]) for x in m.values())


def test_an_empty_grid_has_no_events() -> None:
    g = to_grid(np.zeros(0, int), np.zeros(0), np.zeros(0), n_patients=0)
    assert len(episodes(g, HYPO_L1_MGDL, below=True)) == 0
    assert all(x.shape == (0,) for x in event_metrics(g).values())


_LEVELS = [40.0, 53.0, 60.0, 69.0, 70.0, 120.0, 180.0, 181.0, 250.0, 300.0, float("nan")]
_trace = st.lists(
    st.tuples(st.sampled_from(_LEVELS), st.integers(1, 12)), min_size=1, max_size=20
).map(lambda runs: [value for value, n in runs for _ in range(n)])
"""A trace made of runs of 1-12 equal readings; a NaN run of 9 or more is an unbridged gap."""


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_trace, st.integers(0, 500)), min_size=1, max_size=6))
def test_batch_equals_each_patient_alone(patients: list[tuple[list[float], int]]) -> None:
    """Event arrays and metrics of a stacked grid match each patient gridded alone.

    NaN readings are dropped before gridding, so long runs of them become unbridged gaps;
    the start offset (in slots) changes each patient's grid origin.
    """
    pid = np.concatenate([np.full(len(v), i) for i, (v, _) in enumerate(patients)])
    t = np.concatenate([(np.arange(len(v)) + off) * 300.0 for v, off in patients])
    vals = np.concatenate([np.asarray(v) for v, _ in patients])
    stacked = to_grid(pid, t, vals, n_patients=len(patients))
    together = all_episodes(stacked)
    metrics = event_metrics(stacked)
    for i, (v, off) in enumerate(patients):
        alone_grid = to_grid(
            np.zeros(len(v), int),
            _f64((np.arange(len(v)) + off) * 300.0),
            np.asarray(v, float),
            n_patients=1,
        )
        alone = all_episodes(alone_grid)
        alone_m = event_metrics(alone_grid)
        for kind in KINDS:
            mine = together[kind].patient == i
            for field in ("start_slot", "end_slot", "duration_s", "nadir_or_peak_mgdl"):
                got = getattr(together[kind], field)[mine]
                np.testing.assert_array_equal(got, getattr(alone[kind], field))
            np.testing.assert_allclose(together[kind].mean_mgdl[mine], alone[kind].mean_mgdl)
        for name, x in metrics.items():
            np.testing.assert_allclose(x[i], alone_m[name][0], equal_nan=True)


def _state_machine(
    values: list[float], edge: float, below: bool, k_start: int, k_end: int
) -> list[tuple[int, int]]:
    """The rule read slot by slot: an independent (slow) oracle, (start, end) per event."""
    out: list[tuple[int, int]] = []
    inside, beyond_run, back_run, start, last = False, 0, 0, 0, 0
    for i, x in enumerate(values):
        if np.isnan(x):
            if inside:
                out.append((start, last))
            inside, beyond_run, back_run = False, 0, 0
        elif (x < edge) if below else (x > edge):
            beyond_run, back_run = beyond_run + 1, 0
            if inside:
                last = i
            elif beyond_run >= k_start:
                inside, start, last = True, i - beyond_run + 1, i
        else:
            beyond_run, back_run = 0, back_run + 1
            if inside and back_run >= k_end:
                out.append((start, last))
                inside = False
    if inside:
        out.append((start, last))
    return out


@settings(max_examples=60, deadline=None)
@given(
    st.lists(_trace, min_size=1, max_size=4),
    st.sampled_from([(HYPO_L1_MGDL, True), (53.5, True), (HYPER_L1_MGDL, False), (250.5, False)]),
    st.integers(1, 6),
    st.integers(1, 6),
)
def test_vectorized_detection_matches_the_rule_read_slot_by_slot(
    patients: list[list[float]], edge_below: tuple[float, bool], k_start: int, k_end: int
) -> None:
    edge, below = edge_below
    pid = np.concatenate([np.full(len(v), i) for i, v in enumerate(patients)])
    t = np.concatenate([np.arange(len(v)) * 300.0 for v in patients])
    g = to_grid(pid, _f64(t), np.concatenate(patients), n_patients=len(patients))
    e = episodes(g, edge, below=below, min_duration_s=300 * k_start, end_duration_s=300 * k_end)
    for i in range(len(patients)):
        mine = e.patient == i
        got = list(zip(e.start_slot[mine].tolist(), e.end_slot[mine].tolist(), strict=True))
        assert got == _state_machine(g.mgdl[i].tolist(), edge, below, k_start, k_end)


def test_episodes_are_sorted_by_patient_then_start() -> None:
    pid = np.repeat([0, 1], 15)
    one = [N] * 2 + [L] * 3 + [N] * 3 + [L] * 4 + [N] * 3
    g = to_grid(pid, np.tile(np.arange(15) * 300.0, 2), np.array(one + one))
    e = episodes(g, HYPO_L1_MGDL, below=True)
    assert e.patient.tolist() == [0, 0, 1, 1]
    assert e.start_slot.tolist() == [2, 8, 2, 8]


def _random_walk_grid(patients: int, days: int, seed: int = 1) -> Grid:
    rng = np.random.default_rng(seed)
    s = days * 288
    walk = 140.0 + np.cumsum(rng.normal(0.0, 3.0, (patients, s)), axis=1)
    v = 40.0 + np.abs((walk - 40.0) % 720.0 - 360.0)  # reflected into 40..400
    gap_start = rng.integers(0, s - 100, (patients, 5))
    cols = np.arange(s)
    for j in range(gap_start.shape[1]):  # five 2-hour gaps per patient
        v[(cols >= gap_start[:, j, None]) & (cols < gap_start[:, j, None] + 24)] = np.nan
    observed = np.isfinite(v)
    return Grid(
        v, observed, np.zeros(patients), np.full(patients, s, np.int64),
        observed.sum(axis=1).astype(np.int64), np.zeros(patients), 300,
    )  # fmt: skip


def test_a_thousand_patients_by_90_days_runs() -> None:
    g = _random_walk_grid(1000, 90)
    t0 = time.perf_counter()
    m = event_metrics(g)
    elapsed = time.perf_counter() - t0
    print(f"event_metrics, 1000 patients x 90 days: {elapsed:.3f} s")
    assert m["hypo_l1_events"].shape == (1000,)
    assert np.all(m["hypo_l1_events"] >= m["hypo_l1_excl_events"])
    assert np.all(m["hypo_l1_events"] >= m["hypo_extended_events"])
