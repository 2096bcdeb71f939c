"""Consensus glycaemic events (episodes) for many patients at once.

Rule (Battelino T, et al. *Continuous glucose monitoring and metrics for clinical trials:
an international consensus statement.* Lancet Diabetes Endocrinol 2023;11(1):42-57,
doi:10.1016/S2213-8587(22)00319-9; 15-minute rule from Danne T, et al. *International
Consensus on Use of Continuous Glucose Monitoring.* Diabetes Care 2017;40(12):1631-1640,
doi:10.2337/dc17-1600):

* an event **starts** when glucose is beyond the threshold for at least 15 consecutive
  minutes (3 slots of the 5-min grid) and **ends** when it is back for at least 15
  consecutive minutes; a shorter return does not end it, the event runs through it;
* a gap the grid did not bridge (longer than 45 min, NaN in :attr:`Grid.mgdl`) ends an
  ongoing event at its last slot beyond the threshold before the gap; after the gap the
  15 minutes beyond the threshold are needed again;
* an event still going at the end of a patient's data ends at its last slot beyond the
  threshold, and counts;
* durations are whole slots: from the first slot beyond the threshold to the last slot
  beyond it before the return (or the gap), ``n_slots x slot_s``. Three readings 5 min
  apart below 70 mg/dL are "15 minutes below 70", as in iglu (``dur_length = 15`` is 3
  grid points).

The whole-mg/dL limits of the consensus are applied at the half, as
:data:`analytics.catalogue.RANGES` does: "below 70" is ``< 69.5``, "below 54" is
``< 53.5``, "above 180" is ``> 180.5``, "above 250" is ``> 250.5``. Integer mg/dL
values classify exactly as the consensus writes them (69 is below 70, 70 is not) and a
value converted from mmol/L lands where the consensus puts it in mmol/L (3.9 mmol/L =
70.26 mg/dL is not low, 3.0 mmol/L = 54.05 mg/dL is level 1 and not level 2, 10.0 mmol/L
= 180.16 mg/dL is not high, 13.9 mmol/L = 250.42 mg/dL is level 1 and not level 2).

The detection is vectorized: the (patients x slots) array, with a NaN column appended to
every row so that no run crosses from one patient into the next, is flattened and cut
into runs of equal state (beyond / back / no data) with ``np.diff`` and
``np.flatnonzero``. Returns of 15 min or more and no-data runs are *breakers*; between two
breakers there is at most one event, which starts at the first run beyond the threshold
that is long enough and ends at the last run beyond the threshold. No Python loop runs
over patients or slots.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from analytics.grid import Grid

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

HYPO_L1_MGDL = 69.5
"""Edge for "below 70 mg/dL" (3.9 mmol/L): level 1 hypoglycaemia is ``< 69.5``."""
HYPO_L2_MGDL = 53.5
"""Edge for "below 54 mg/dL" (3.0 mmol/L): level 2 hypoglycaemia is ``< 53.5``."""
HYPER_L1_MGDL = 180.5
"""Edge for "above 180 mg/dL" (10.0 mmol/L): level 1 hyperglycaemia is ``> 180.5``."""
HYPER_L2_MGDL = 250.5
"""Edge for "above 250 mg/dL" (13.9 mmol/L): level 2 hyperglycaemia is ``> 250.5``."""
EXTENDED_HYPO_S = 120 * 60 + 1
"""Extended hypoglycaemia needs *more than* 120 consecutive minutes below 70 mg/dL: at
least 121 min, i.e. 25 slots of 5 min (125 min); 24 slots (120 min) are not enough."""

_SECONDS_PER_WEEK = 7 * 86400.0
_BEYOND, _BACK, _NODATA = np.int8(1), np.int8(0), np.int8(2)


@dataclass(frozen=True, slots=True)
class Episodes:
    """Detected events of all patients, one entry per event, sorted by patient then start.

    Attributes:
        patient: (events,) patient index (row of the grid).
        start_slot: (events,) grid slot of the first value beyond the threshold.
        end_slot: (events,) grid slot of the last value beyond the threshold (inclusive).
        duration_s: (events,) ``(end_slot - start_slot + 1) x slot_s``, seconds.
        nadir_or_peak_mgdl: (events,) lowest (hypo) or highest (hyper) value in the event.
        mean_mgdl: (events,) mean of the slots from start to end, returns shorter than
            15 min included.
    """

    patient: IntArray
    start_slot: IntArray
    end_slot: IntArray
    duration_s: FloatArray
    nadir_or_peak_mgdl: FloatArray
    mean_mgdl: FloatArray

    def __len__(self) -> int:
        return int(self.patient.size)

    def count(self, n_patients: int) -> IntArray:
        """Number of events of each of ``n_patients`` patients."""
        counts: IntArray = np.bincount(self.patient, minlength=n_patients).astype(np.int64)
        return counts


@dataclass(frozen=True, slots=True)
class _Runs:
    """Runs of equal state in the flattened, NaN-separated (patients x (slots + 1)) array."""

    start: IntArray
    length: IntArray
    state: NDArray[np.int8]
    width: int


def _slots(duration_s: float, slot_s: int) -> int:
    """Whole slots needed for ``duration_s`` (rounded up, at least one)."""
    return max(1, int(np.ceil(duration_s / slot_s - 1e-9)))


def _runs(grid: Grid, threshold_mgdl: float, below: bool) -> _Runs:
    v = grid.mgdl
    p, s = v.shape
    width = s + 1
    state = np.full((p, width), _NODATA, dtype=np.int8)
    body = state[:, :s]
    beyond = v < threshold_mgdl if below else v > threshold_mgdl  # NaN compares False
    body[...] = beyond
    body[np.isnan(v)] = _NODATA
    flat = state.ravel()
    if flat.size == 0:
        empty = np.zeros(0, np.int64)
        return _Runs(empty, empty, np.zeros(0, np.int8), width)
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    start = np.concatenate((np.zeros(1, np.int64), change.astype(np.int64)))
    length = np.diff(np.append(start, flat.size)).astype(np.int64)
    return _Runs(start, length, flat[start], width)


def _detect(
    grid: Grid, runs: _Runs, below: bool, k_start: int, k_end: int, stats: bool = True
) -> Episodes:
    """Events from runs: one per breaker-delimited block that has a long-enough run.

    Without ``stats`` the nadir/peak and mean are left NaN (saves two passes over the data).
    """
    st = runs.state
    if st.size == 0:
        return _empty()
    breaker = (st == _NODATA) | ((st == _BACK) & (runs.length >= k_end))
    block = np.cumsum(breaker)
    candidates = np.flatnonzero((st == _BEYOND) & (runs.length >= k_start))
    if candidates.size == 0:
        return _empty()
    cblock = block[candidates]
    first_in_block = np.ones(candidates.size, dtype=bool)
    first_in_block[1:] = cblock[1:] != cblock[:-1]
    first = candidates[first_in_block]
    beyond_runs = np.flatnonzero(st == _BEYOND)
    last = beyond_runs[np.searchsorted(block[beyond_runs], block[first], side="right") - 1]
    start_flat = runs.start[first]
    end_flat = runs.start[last] + runs.length[last] - 1
    patient = start_flat // runs.width
    start_slot = start_flat % runs.width
    end_slot = end_flat % runs.width

    n = (end_slot - start_slot + 1).astype(np.float64)
    if not stats:
        nan = np.full(n.size, np.nan)
        return Episodes(
            patient.astype(np.int64),
            start_slot.astype(np.int64),
            end_slot.astype(np.int64),
            n * grid.slot_s,
            nan,
            nan,
        )
    v = grid.mgdl
    s = v.shape[1]
    values = v.ravel()
    lo = patient * s + start_slot
    hi = patient * s + end_slot + 1
    bounds = np.empty(2 * lo.size, dtype=np.int64)
    bounds[0::2], bounds[1::2] = lo, hi
    if bounds[-1] == values.size:  # an event up to the very last slot of the array
        bounds = bounds[:-1]
    extreme = (np.minimum if below else np.maximum).reduceat(values, bounds)[0::2]
    mean = np.add.reduceat(values, bounds)[0::2] / n
    return Episodes(
        patient.astype(np.int64),
        start_slot.astype(np.int64),
        end_slot.astype(np.int64),
        n * grid.slot_s,
        extreme.astype(np.float64),
        mean.astype(np.float64),
    )


def _empty() -> Episodes:
    i = np.zeros(0, np.int64)
    f = np.zeros(0, np.float64)
    return Episodes(i, i, i, f, f, f)


def episodes(
    grid: Grid,
    threshold_mgdl: float,
    *,
    below: bool,
    min_duration_s: float = 900,
    end_duration_s: float = 900,
) -> Episodes:
    """Consensus episodes beyond one threshold, every patient of the grid at once.

    Parameters
    ----------
    grid : Grid
        From :func:`analytics.grid.to_grid`: 5-min slots, gaps up to 45 min interpolated,
        longer gaps NaN.
    threshold_mgdl : float
        Edge in mg/dL, used strictly: ``value < threshold`` is beyond it when ``below``,
        ``value > threshold`` otherwise. Pass the half-integer edges of this module
        (:data:`HYPO_L1_MGDL` 69.5 for "below 70", :data:`HYPER_L1_MGDL` 180.5 for
        "above 180", ...) so that mmol/L-converted values land as the consensus says.
    below : bool
        True for hypoglycaemia (low values), False for hyperglycaemia.
    min_duration_s : float
        Consecutive time beyond the threshold that starts an event, seconds (900 =
        15 min = 3 slots); rounded up to whole slots.
    end_duration_s : float
        Consecutive time back within the threshold that ends it, seconds (900); rounded
        up to whole slots.

    Returns
    -------
    Episodes
        Flat arrays, one entry per event, sorted by patient then start slot. Duration,
        in seconds, is ``(end_slot - start_slot + 1) x slot_s``: from the first slot
        beyond the threshold to the last one before the return (or a NaN gap, or the end
        of the data).

    Notes
    -----
    Start: ``ceil(min_duration_s / slot_s)`` consecutive slots beyond the threshold.
    End: ``ceil(end_duration_s / slot_s)`` consecutive slots back (``>= threshold`` for
    hypo, ``<= threshold`` for hyper), or any NaN slot (a gap longer than 45 min), or the
    end of the patient's data. Shorter returns are inside the event. After an end, a new
    event again needs the full start run; values beyond the threshold for less than that
    before it are not part of it.

    References
    ----------
    Battelino T, et al. Lancet Diabetes Endocrinol 2023;11(1):42-57,
    doi:10.1016/S2213-8587(22)00319-9. Danne T, et al. Diabetes Care 2017;40(12):1631-1640,
    doi:10.2337/dc17-1600.

    Examples
    --------
    >>> from analytics.grid import to_grid
    >>> v = np.array([100, 60, 60, 60, 90, 60, 100, 100, 100, 60, 60, 100.0])
    >>> g = to_grid(np.zeros(v.size, int), np.arange(v.size) * 300.0, v)
    >>> e = episodes(g, HYPO_L1_MGDL, below=True)
    >>> e.start_slot.tolist(), e.end_slot.tolist(), e.duration_s.tolist()
    ([1], [5], [1500.0])
    """
    return _detect(
        grid,
        _runs(grid, float(threshold_mgdl), below),
        below,
        _slots(min_duration_s, grid.slot_s),
        _slots(end_duration_s, grid.slot_s),
    )


def _contains(outer: Episodes, inner: Episodes, width: int) -> NDArray[np.bool_]:
    """For each ``outer`` event, whether an ``inner`` event starts inside it."""
    found = np.zeros(len(outer), dtype=bool)
    if len(outer) == 0 or len(inner) == 0:
        return found
    o_start = outer.patient * width + outer.start_slot
    o_end = outer.patient * width + outer.end_slot
    i_start = inner.patient * width + inner.start_slot
    j = np.searchsorted(o_start, i_start, side="right") - 1
    inside = (j >= 0) & (i_start <= o_end[np.maximum(j, 0)])
    found[j[inside]] = True
    return found


def _subset(e: Episodes, keep: NDArray[np.bool_]) -> Episodes:
    return Episodes(
        e.patient[keep],
        e.start_slot[keep],
        e.end_slot[keep],
        e.duration_s[keep],
        e.nadir_or_peak_mgdl[keep],
        e.mean_mgdl[keep],
    )


KINDS = (
    "hypo_l1",
    "hypo_l1_excl",
    "hypo_l2",
    "hypo_extended",
    "hyper_l1",
    "hyper_l1_excl",
    "hyper_l2",
)
"""The event kinds of :func:`all_episodes` and :func:`event_metrics`, in output order."""


def all_episodes(grid: Grid) -> dict[str, Episodes]:
    """Every consensus event kind of :data:`KINDS`, as :class:`Episodes`.

    Definitions in :func:`event_metrics`.

    Examples
    --------
    >>> from analytics.grid import to_grid
    >>> v = np.array([100, 60, 60, 60, 50, 50, 50, 100, 100, 100.0])
    >>> g = to_grid(np.zeros(v.size, int), np.arange(v.size) * 300.0, v)
    >>> {k: len(e) for k, e in all_episodes(g).items()}
    {'hypo_l1': 1, 'hypo_l1_excl': 0, 'hypo_l2': 1, 'hypo_extended': 0, 'hyper_l1': 0, \
'hyper_l1_excl': 0, 'hyper_l2': 0}
    """
    return _all_episodes(grid, stats=True)


def _all_episodes(grid: Grid, stats: bool) -> dict[str, Episodes]:
    width = grid.mgdl.shape[1] + 1
    k = _slots(900, grid.slot_s)
    k_ext = _slots(EXTENDED_HYPO_S, grid.slot_s)
    out: dict[str, Episodes] = {}
    for kind, edge1, edge2, below in (
        ("hypo", HYPO_L1_MGDL, HYPO_L2_MGDL, True),
        ("hyper", HYPER_L1_MGDL, HYPER_L2_MGDL, False),
    ):
        runs1 = _runs(grid, edge1, below)
        l1 = _detect(grid, runs1, below, k, k, stats)
        l2 = _detect(grid, _runs(grid, edge2, below), below, k, k, stats)
        out[f"{kind}_l1"] = l1
        out[f"{kind}_l1_excl"] = _subset(l1, ~_contains(l1, l2, width))
        out[f"{kind}_l2"] = l2
        if below:
            out["hypo_extended"] = _detect(grid, runs1, below, k_ext, k, stats)
    return {key: out[key] for key in KINDS}


def event_metrics(grid: Grid) -> dict[str, FloatArray]:
    """Consensus event counts, rates and mean durations, one value per patient.

    Event kinds (rule and edges in :func:`episodes`; thresholds in mg/dL, mmol/L):

    * ``hypo_l1``: >= 15 min < 70 (3.9), ends with >= 15 min >= 70. **Level 2 events are
      counted inside level 1** (an event that goes below 54 is also a level 1 event), as
      iglu's ``episode_calculation`` does, the consensus being ambiguous on this;
    * ``hypo_l1_excl``: the level 1 events that contain no level 2 event (never 15 min
      below 54), iglu's ``lv1_excl``; ``hypo_l1_excl + (l1 events with a level 2 event)
      = hypo_l1``. A dip below 54 shorter than 15 min does not remove an event from it;
    * ``hypo_l2``: >= 15 min < 54 (3.0), ends with >= 15 min >= 54;
    * ``hypo_extended``: > 120 consecutive min < 70 (at least 25 slots, 125 min), ends
      with >= 15 min >= 70;
    * ``hyper_l1``: >= 15 min > 180 (10.0), ends with >= 15 min <= 180; level 2 inside;
    * ``hyper_l1_excl``: level 1 hyper events with no level 2 event in them;
    * ``hyper_l2``: >= 15 min > 250 (13.9), ends with >= 15 min <= 250.

    Extended hyperglycaemia (the 2023 consensus's "> 250 for >= 90 cumulative min within
    120 min") is not computed: its exact wording is unverified.

    Returns
    -------
    dict[str, FloatArray]
        For each kind ``k``: ``k_events`` (count), ``k_per_week`` (count / weeks of
        valid data, where valid data time = slots with a value x ``slot_s``, bridged gaps
        included, longer gaps not) and ``k_mean_duration_min`` (mean event duration in
        minutes, NaN when the patient has no such event). Counts and rates are NaN for a
        patient without data.

    References
    ----------
    Battelino T, et al. Lancet Diabetes Endocrinol 2023;11(1):42-57,
    doi:10.1016/S2213-8587(22)00319-9. iglu ``episode_calculation`` (Broll S, et al.
    PLoS One 2021;16(4):e0248560, doi:10.1371/journal.pone.0248560).

    Examples
    --------
    >>> from analytics.grid import to_grid
    >>> v = np.array([100, 60, 60, 60, 50, 50, 50, 100, 100, 100.0])
    >>> g = to_grid(np.zeros(v.size, int), np.arange(v.size) * 300.0, v)
    >>> m = event_metrics(g)
    >>> [float(m[k][0]) for k in ("hypo_l1_events", "hypo_l2_events", "hypo_l1_excl_events")]
    [1.0, 1.0, 0.0]
    >>> float(m["hypo_l1_mean_duration_min"][0])
    30.0
    """
    p = grid.mgdl.shape[0]
    valid = np.isfinite(grid.mgdl).sum(axis=1)
    has_data = valid > 0
    weeks = valid * grid.slot_s / _SECONDS_PER_WEEK
    out: dict[str, FloatArray] = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        for kind, e in _all_episodes(grid, stats=False).items():
            n = e.count(p).astype(np.float64)
            total_s = np.bincount(e.patient, weights=e.duration_s, minlength=p)
            out[f"{kind}_events"] = np.where(has_data, n, np.nan)
            out[f"{kind}_per_week"] = np.where(has_data, n / weeks, np.nan)
            out[f"{kind}_mean_duration_min"] = np.where(n > 0, total_s / n / 60.0, np.nan)
    return out
