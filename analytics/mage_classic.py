"""MAGE by the classic method of Service et al., automated as Baghurst describes: the
variant older studies report, next to the catalogue's default (:mod:`analytics.mage`,
iglu's moving averages)."""

from __future__ import annotations

import heapq
from itertools import pairwise

import numpy as np
from numpy.typing import NDArray

from analytics.grid import Grid, local_slots

FloatArray = NDArray[np.float64]


def mage_classic(grid: Grid, *, sd_multiplier: float = 1.0) -> FloatArray:
    """MAGE (mg/dL) per patient by the classic method of Service et al., automated.

    The variant the original paper counted by hand (Service FJ, et al. *Mean amplitude
    of glycemic excursions, a measure of diabetic instability.* Diabetes
    1970;19:644-655, doi:10.2337/diab.19.9.644), in the automated form of Baghurst PA.
    *Calculating the mean amplitude of glycemic excursion from continuous glucose
    monitoring data: an automated algorithm.* Diabetes Technol Ther 2011;13:296-302,
    doi:10.1089/dia.2010.0141. The default of the catalogue is :func:`mage` (iglu's
    moving averages); this one is offered for comparison with older studies.

    Per patient and **local calendar day** (Service's 24-h profile):

    1. the day's readings in time order (the 5-min grid; gaps up to 45 min are
       interpolated by :func:`analytics.grid.to_grid`, longer gaps are left out) and
       their sample SD; a day with fewer than 2 readings counts nothing;
    2. turning points: the first and last reading and every local peak and nadir
       (a plateau counts once, at its first slot);
    3. elimination: while two neighbouring turning points differ by less than
       ``sd_multiplier`` x SD, the pair with the smallest difference goes (both points
       when both are interior, so peaks and nadirs keep alternating; only the end point
       when the pair includes the day's first or last reading); ties: the earliest pair;
    4. every remaining difference is an excursion of at least one SD, except a leg
       that starts at the day's first reading or ends at its last (cut by midnight: its
       true turning point may lie in the neighbouring day), which is dropped; those in
       the direction of the day's first excursion (rises if it was a rise, falls if a
       fall) are counted, as Service counted "in the direction of the first".

    The patient's MAGE is the mean of all counted excursion heights over all days.

    Parameters
    ----------
    grid : Grid
        5-min grid; High/Low readings at the sensor's reporting limit (Dexcom 40/400,
        Libre 40/500 mg/dL).
    sd_multiplier : float
        Excursions must reach this many SDs (1 in Service 1970).

    Returns
    -------
    (patients,) float64 mg/dL; NaN without a countable excursion.

    Notes
    -----
    Steps 1-2 are array operations over all patient-days; the elimination (step 3) is
    sequential by nature and runs per day in Python (a heap over the day's turning
    points, O(n log n)): about 10 ms per 90-day patient, fine for a report, not meant
    for the population catalogue.

    Examples
    --------
    Limbs between 100 and 200 mg/dL, each with a 5 mg/dL dip half-way (100 -> 150,
    145 -> 200 and back): the dips are far below one SD (28 mg/dL) and are eliminated;
    every excursion is 100 mg/dL.

    >>> from analytics.grid import to_grid
    >>> up = np.r_[np.linspace(100, 150, 18, endpoint=False), 145.0,
    ...            np.linspace(145, 200, 18, endpoint=False)]
    >>> g = np.tile(np.r_[up, 300.0 - up], 8)  # 8 cycles of 74 slots, two days
    >>> t = np.arange(g.size) * 300.0
    >>> round(float(mage_classic(to_grid(np.zeros(t.size, int), t, g))[0]), 6)
    100.0
    """
    v = grid.mgdl
    p, s = v.shape
    out = np.full(p, np.nan)
    if s == 0:
        return out
    day = local_slots(grid) // (86400 // grid.slot_s)
    rows, cols = np.nonzero(np.isfinite(v))
    if rows.size == 0:
        return out
    vals = v[rows, cols]
    days = day[rows, cols]
    # groups = runs of one (patient, local day); a DST fall-back never splits a day
    # here because the values stay in slot order and the day number only grows
    new = np.ones(rows.size, dtype=bool)
    new[1:] = (rows[1:] != rows[:-1]) | (days[1:] != days[:-1])
    starts = np.flatnonzero(new)
    lengths = np.diff(np.append(starts, rows.size))
    n = lengths.astype(np.float64)
    mean = np.add.reduceat(vals, starts) / n
    dev = vals - np.repeat(mean, lengths)
    with np.errstate(invalid="ignore", divide="ignore"):
        sd = np.sqrt(np.add.reduceat(dev * dev, starts) / (n - 1))
    # turning points: drop repeats, keep sign changes of the slope and both ends
    same = np.zeros(rows.size, dtype=bool)
    same[1:] = ~new[1:] & (vals[1:] == vals[:-1])
    keep_idx = np.flatnonzero(~same)
    kv = vals[keep_idx]
    knew = new[keep_idx]
    last = np.ones(kv.size, dtype=bool)
    last[:-1] = knew[1:]
    slope = np.zeros(kv.size)
    slope[1:] = np.where(knew[1:], 0.0, np.sign(kv[1:] - kv[:-1]))
    nxt = np.zeros(kv.size)
    nxt[:-1] = slope[1:]
    turning = knew | last | (slope * nxt < 0)
    tp_group = np.cumsum(knew)[turning] - 1
    tp_vals = kv[turning]
    bounds = np.searchsorted(tp_group, np.arange(starts.size + 1))
    heights_sum = np.zeros(p)
    heights_n = np.zeros(p, dtype=np.int64)
    group_row = rows[starts]
    for g in np.flatnonzero((lengths >= 2) & np.isfinite(sd) & (sd > 0)):
        total, count = _classic_day(
            tp_vals[bounds[g] : bounds[g + 1]].tolist(), sd_multiplier * float(sd[g])
        )
        heights_sum[group_row[g]] += total
        heights_n[group_row[g]] += count
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(heights_n > 0, heights_sum / np.maximum(heights_n, 1), np.nan)
    return out


def _classic_day(tp: list[float], threshold: float) -> tuple[float, int]:
    """Eliminate excursions below ``threshold`` from one day's turning points (smallest
    first, see :func:`mage_classic`); the sum and count of the excursions counted."""
    n = len(tp)
    if n < 2:
        return 0.0, 0
    prev = list(range(-1, n - 1))
    nxt = list(range(1, n + 1))
    alive = [True] * n
    heap = [(abs(tp[i + 1] - tp[i]), i, i + 1) for i in range(n - 1)]
    heapq.heapify(heap)
    first, last = 0, n - 1
    while heap:
        diff, i, j = heap[0]
        if not (alive[i] and alive[j] and nxt[i] == j):
            heapq.heappop(heap)  # stale: a point of this pair is gone
            continue
        if diff >= threshold:
            break
        heapq.heappop(heap)
        # both points of an interior pair go; of a pair at an end of the day, the end
        gone = [i, j] if i != first and j != last else [i] if i == first else [j]
        for k in gone:
            alive[k] = False
            a, b = prev[k], nxt[k]
            if a >= 0:
                nxt[a] = b
            if b < n:
                prev[b] = a
            if k == first:
                first = b
            if k == last:
                last = a
        a = prev[gone[0]]
        b = nxt[gone[-1]]
        if a >= 0 and b < n and alive[a] and alive[b]:
            heapq.heappush(heap, (abs(tp[b] - tp[a]), a, b))
    order = [k for k in range(n) if alive[k]]
    steps = [tp[b] - tp[a] for a, b in pairwise(order)]
    # a leg from the day's first reading or to its last is cut by midnight (its true
    # turning point may lie in the next day): not counted, not setting the direction
    if steps and order[0] == 0:
        steps = steps[1:]
    if steps and order[-1] == n - 1:
        steps = steps[:-1]
    if not steps:
        return 0.0, 0
    rising = steps[0] > 0
    counted = [abs(d) for d in steps if (d > 0) == rising and abs(d) >= threshold]
    return float(sum(counted)), len(counted)
