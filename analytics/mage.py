"""MAGE, the mean amplitude of glycaemic excursions, for many patients at once.

Default variant: **iglu's moving-average algorithm** (``mage_ma_single``, iglu 4.x), which
emulates the manual count of Service et al. (Diabetes 1970;19:644-655,
doi:10.2337/diab.19.9.644) as described by Fernandes NJ, et al. *Open-source algorithm to
calculate mean amplitude of glycemic excursions using short and long moving averages.*
J Diabetes Sci Technol 2022;16(2):576-577, doi:10.1177/19322968211061165.

Steps, per patient, on the 5-min grid of :func:`analytics.grid.to_grid` (gaps up to
45 min interpolated, as iglu's ``CGMS2DayByDay`` does):

1. the trace is split into segments at gaps longer than ``max_gap_s`` (180 min);
   a segment shorter than ``long_ma`` slots, or with SD < 1 mg/dL, has no MAGE;
2. right-aligned moving averages of ``short_ma`` (5) and ``long_ma`` (32) slots,
   NaN-ignoring, the first window's value copied back over the warm-up;
3. crossings of the short and the long average split the trace into intervals; in
   each, the lowest (or highest) value is a nadir (peak), searched from the previous
   turning point to the next crossing, first occurrence on ties;
4. excursions from a nadir to the next peak (MAGE+) or peak to nadir (MAGE-) count
   when they exceed one SD of the segment's glucose, with iglu's elimination rules
   (including its asymmetric restart: MAGE+ resumes at the point that ended the
   excursion, MAGE- at the excursion's nadir);
5. per segment MAGE+ and MAGE- are the means of the counted heights; the patient's
   value is the mean over segments weighted by segment duration, of both directions
   (``direction="avg"``, iglu's default), or of one: ``"plus"``, ``"minus"``,
   ``"max"`` (the larger of the two per segment; iglu drops a segment where one
   direction has no excursion, we keep the other) or ``"service"`` (the direction of
   the segment's first counted excursion, as Service counted by hand).

The work is vectorized across patients and segments: the moving averages and crossings
are whole-array operations, and the two sequential scans (turning points, excursion
elimination) advance every segment in lock-step, one NumPy step per turning point.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import NDArray

from analytics.grid import Grid

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
Direction = Literal["avg", "plus", "minus", "max", "service"]

_POS_BITS = 25
_POS_MASK = (1 << _POS_BITS) - 1
_Q_SCALE = float(1 << 20)
_BIG = np.iinfo(np.int64).max
_CHUNK = 64  # patients per block for the whole-array steps (see catalogue.CHUNK_PATIENTS)


def mage(
    grid: Grid,
    *,
    direction: Direction = "avg",
    short_ma: int = 5,
    long_ma: int = 32,
    max_gap_s: int = 10800,
) -> FloatArray:
    """MAGE (mg/dL) per patient by iglu's moving-average algorithm (see the module).

    Parameters
    ----------
    grid : Grid
        5-min grid (:func:`analytics.grid.to_grid`); High/Low readings at the sensor's
        reporting limit (Dexcom 40/400, Libre 40/500 mg/dL), as the portals count them.
    direction : {"avg", "plus", "minus", "max", "service"}
        Which excursions to average (module docstring, step 5).
    short_ma, long_ma : int
        Moving-average windows in 5-min slots (iglu: 5 and 32).
    max_gap_s : int
        Gaps longer than this split the trace into segments (iglu: 180 min).

    Returns
    -------
    (patients,) float64 mg/dL; NaN when no segment has a countable excursion.

    Notes
    -----
    Reference: Fernandes 2022, doi:10.1177/19322968211061165; Service 1970,
    doi:10.2337/diab.19.9.644.

    Examples
    --------
    A wave between 100 and 200 mg/dL with a 6-hour period, from nadir to nadir: every
    excursion is 100 mg/dL.

    >>> from analytics.grid import to_grid
    >>> t = np.arange(0, 3 * 86400 + 300, 300.0)
    >>> g = 150.0 - 50.0 * np.cos(2 * np.pi * t / 21600)
    >>> round(float(mage(to_grid(np.zeros(t.size, int), t, g))[0]), 6)
    100.0
    """
    if grid.slot_s != 300:
        raise ValueError("MAGE windows are defined on the 5-min grid (slot_s = 300)")
    if short_ma >= long_ma:
        short_ma, long_ma = long_ma, short_ma
    p = grid.mgdl.shape[0]
    # per block of patients: segments, moving averages, crossings, turning points (big
    # arrays, kept heap-sized); then the excursion scans once for all segments (small
    # arrays, one NumPy step per turning point)
    parts = [
        mage_block(
            grid,
            first,
            min(first + _CHUNK, p),
            short_ma=short_ma,
            long_ma=long_ma,
            max_gap_s=max_gap_s,
        )
        for first in range(0, p, _CHUNK)
    ]
    return mage_finish(parts, p, slot_s=grid.slot_s, direction=direction)


_Part = tuple[FloatArray, IntArray, FloatArray, IntArray, IntArray]


def mage_block(
    grid: Grid,
    first: int,
    stop: int,
    *,
    short_ma: int = 5,
    long_ma: int = 32,
    max_gap_s: int = 10800,
) -> _Part | None:
    """Steps 1-3 of :func:`mage` for patients ``first`` .. ``stop - 1``: the turning
    points of their segments (whole-array NumPy work; blocks are independent, so the
    catalogue runs them in threads). :func:`mage_finish` does the rest."""
    if grid.slot_s != 300:
        raise ValueError("MAGE windows are defined on the 5-min grid (slot_s = 300)")
    if short_ma >= long_ma:
        short_ma, long_ma = long_ma, short_ma
    block = grid.mgdl[first:stop]
    if block.shape[1] == 0:
        return None
    seg = _segments(block, max_gap_slots=max_gap_s // grid.slot_s, min_len=max(7, long_ma))
    if seg.start.size == 0:
        return None
    minmax, n_ext, seg_sd = _segment_extrema(block.reshape(-1), seg, short_ma, long_ma)
    return minmax, n_ext, seg_sd, seg.length, seg.patient + first


def mage_finish(
    parts: list[_Part | None], p: int, *, slot_s: int = 300, direction: Direction = "avg"
) -> FloatArray:
    """Steps 4-5 of :func:`mage` over the blocks of :func:`mage_block` (in patient
    order): the excursion scans, once for all segments, and the per-patient means."""
    out = np.full(p, np.nan)
    kept = [part for part in parts if part is not None]
    if not kept:
        return out
    minmax, n_ext, seg_sd, length, patient = (np.concatenate(x) for x in zip(*kept, strict=True))
    plus, minus, plus_first = _segment_mage(minmax, n_ext, seg_sd)
    hours = (length - 1) * slot_s / 3600.0
    if direction == "avg":
        values = np.concatenate([plus, minus])
        weights = np.concatenate([hours, hours])
        owners = np.concatenate([patient, patient])
    else:
        if direction == "plus":
            values = plus
        elif direction == "minus":
            values = minus
        elif direction == "max":
            values = np.fmax(plus, minus)
        elif direction == "service":
            values = np.where(plus_first, plus, minus)
        else:
            raise ValueError(f"unknown MAGE direction {direction!r}")
        weights, owners = hours, patient
    ok = np.isfinite(values)
    num = np.bincount(owners[ok], weights=(values * weights)[ok], minlength=p)
    den = np.bincount(owners[ok], weights=weights[ok], minlength=p)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(den > 0, num / den, np.nan)
    return out


class _Segments:
    """Flat (row-major) start index, length and patient of every analysable segment."""

    __slots__ = ("length", "patient", "start")

    def __init__(self, start: IntArray, length: IntArray, patient: IntArray) -> None:
        self.start, self.length, self.patient = start, length, patient


def _segments(v: FloatArray, *, max_gap_slots: int, min_len: int) -> _Segments:
    """Split each patient's row at NaN runs longer than ``max_gap_slots``."""
    p, s = v.shape
    finite = np.isfinite(v)
    # pad each row with a NaN on both sides so runs never cross rows
    fpad = np.zeros((p, s + 2), dtype=bool)
    fpad[:, 1:-1] = finite
    d = np.diff(fpad.astype(np.int8), axis=1)  # +1: data starts, -1: data ends (exclusive)
    r_start, c_start = np.nonzero(d == 1)
    _, c_end = np.nonzero(d == -1)  # same order: row-major, paired
    # data runs [c_start, c_end); merge runs separated by gaps <= max_gap_slots
    if r_start.size == 0:
        empty = np.zeros(0, np.int64)
        return _Segments(empty, empty, empty)
    gap_before = np.empty(r_start.size, dtype=np.int64)
    gap_before[0] = np.iinfo(np.int64).max
    gap_before[1:] = c_start[1:] - c_end[:-1]
    new_row = np.ones(r_start.size, dtype=bool)
    new_row[1:] = r_start[1:] != r_start[:-1]
    opens = new_row | (gap_before > max_gap_slots)
    seg_id = np.cumsum(opens) - 1
    first = np.flatnonzero(opens)
    last = np.append(first[1:], r_start.size) - 1
    rows = r_start[first]
    begin = c_start[first]
    end = c_end[last]
    length = (end - begin).astype(np.int64)
    del seg_id
    # iglu: fewer than 7 rows, fewer than long_ma rows, or SD < 1 mg/dL -> no MAGE
    keep = length >= min_len
    rows, begin, length = rows[keep], begin[keep], length[keep]
    start = (rows * s + begin).astype(np.int64)
    return _Segments(start, length, rows.astype(np.int64))


def _segment_sd(gl: FloatArray, offs: IntArray, lengths: IntArray) -> FloatArray:
    """Sample SD of the finite values of each of the side-by-side segments of ``gl``."""
    fin = np.isfinite(gl)
    x = np.where(fin, gl, 0.0)
    n = np.add.reduceat(fin.astype(np.float64), offs)
    mean = np.add.reduceat(x, offs) / np.maximum(n, 1)
    dev = np.where(fin, x - np.repeat(mean, lengths), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        var = np.add.reduceat(dev * dev, offs) / (n - 1)
    out: FloatArray = np.sqrt(var)
    return out


def _range_arg(
    values: FloatArray,
    pos: IntArray,
    begin: IntArray,
    end: IntArray,
    *,
    for_max: bool | NDArray[np.bool_],
) -> IntArray:
    """Position (``pos`` of) the first lowest, or first highest, finite value in each of
    many non-empty ranges [begin, end) of ``values``; ``for_max`` per range or for all.

    The ranges' elements are gathered side by side, turned into int64 keys that order
    (value, position) -- a highest value is the lowest negated one -- and reduced with
    one ``reduceat``: the work is the ranges' total length, not the array's."""
    if begin.size == 0:
        return np.zeros(0, dtype=np.int64)
    lengths = end - begin
    starts = np.zeros(begin.size, dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    gather = np.repeat(begin - starts, lengths) + np.arange(int(lengths.sum()))
    sign = (
        np.repeat(np.where(for_max, -1.0, 1.0), lengths)
        if np.ndim(for_max)
        else (-1.0 if for_max else 1.0)
    )
    keys = _keys(values[gather] * sign, pos[gather])
    out: IntArray = np.minimum.reduceat(keys, starts) & _POS_MASK
    return out


def _range_key_min(
    k_low: IntArray, k_high: IntArray, begin: IntArray, end: IntArray, is_max: NDArray[np.bool_]
) -> IntArray:
    """Like :func:`_range_arg` on precomputed keys of the values (``k_low``) and of
    their negation (``k_high``, for ranges where the highest value is wanted), but
    returning each range's smallest key (``& _POS_MASK`` is its position); an empty
    range gives ``_BIG``, so two ranges' answers combine with ``np.minimum``."""
    out = np.full(begin.size, _BIG, dtype=np.int64)
    lengths = end - begin
    full = lengths > 0
    if not full.any():
        return out
    begin, lengths, is_max = begin[full], lengths[full], is_max[full]
    starts = np.zeros(begin.size, dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    gather = np.repeat(begin - starts, lengths) + np.arange(int(lengths.sum()))
    keys = np.where(np.repeat(is_max, lengths), k_high[gather], k_low[gather])
    out[full] = np.minimum.reduceat(keys, starts)
    return out


def _segment_extrema(
    flat: FloatArray, seg: _Segments, short_ma: int, long_ma: int
) -> tuple[FloatArray, IntArray, FloatArray]:
    """Turning-point values (side by side), their count per segment, and each
    segment's glucose SD (steps 2-3 of the module docstring)."""
    n_seg = seg.start.size
    lengths = seg.length
    total = int(lengths.sum())
    offs = np.zeros(n_seg, dtype=np.int64)
    np.cumsum(lengths[:-1], out=offs[1:])
    pos = np.arange(total, dtype=np.int64) - np.repeat(offs, lengths)  # within segment
    gl = np.concatenate([flat[a : a + n] for a, n in zip(seg.start, lengths, strict=True)])
    seg_sd = _segment_sd(gl, offs, lengths)  # iglu: SD < 1 mg/dL -> no MAGE

    fin = np.isfinite(gl)
    csum = np.zeros(total + 1)
    np.cumsum(np.where(fin, gl, 0.0), out=csum[1:])
    ccnt = np.zeros(total + 1, dtype=np.int64)
    np.cumsum(fin, out=ccnt[1:])
    delta = _moving_average(csum, ccnt, offs, short_ma)
    delta -= _moving_average(csum, ccnt, offs, long_ma)

    # --- crossings (see module docstring; iglu's loop, in closed form) ---
    fin_g = np.isfinite(gl)
    fin_d = np.isfinite(delta)
    sgn = np.sign(np.where(fin_d, delta, 0.0))
    elig = np.zeros(total, dtype=bool)
    elig[1:] = fin_g[1:] & fin_g[:-1] & fin_d[1:] & fin_d[:-1] & (pos[1:] > 0)
    prev_s = np.zeros(total)
    prev_s[1:] = sgn[:-1]
    branch1 = elig & (sgn * prev_s < 0)
    # sign at the last crossing = last non-zero sign among the segment start and the
    # eligible positions before (module docstring); 0 until the first crossing when
    # the segment starts with delta == 0
    anchor = (pos == 0) | (elig & (sgn != 0))
    a_idx = np.where(anchor, np.arange(total), -1)
    last_anchor = np.maximum.accumulate(a_idx)
    before = np.empty(total, dtype=np.int64)
    before[0] = -1
    before[1:] = last_anchor[:-1]
    before = np.where(pos == 0, -1, before)
    last_sign = np.where(before >= 0, sgn[np.maximum(before, 0)], 0.0)
    zero_start = sgn[offs] == 0
    if zero_start.any():
        b1_pos = np.where(branch1, pos, np.iinfo(np.int64).max)
        first_b1 = np.minimum.reduceat(b1_pos, offs)
        owner = np.repeat(np.arange(n_seg), lengths)
        last_sign = np.where(zero_start[owner] & (pos <= first_b1[owner]), 0.0, last_sign)
    crossing = branch1 | (elig & (sgn * last_sign < 0))

    # crossing list per segment: first point, crossings, last point (iglu keeps a
    # crossing at the last point and then adds the last point again)
    is_last = np.zeros(total, dtype=bool)
    is_last[offs + lengths - 1] = True
    c_idx = np.flatnonzero((pos == 0) | crossing)
    c_type_max = delta[c_idx] > 0  # REL_MAX when the short average is above
    c_idx = np.concatenate([c_idx, offs + lengths - 1])
    c_type_max = np.concatenate([c_type_max, delta[offs + lengths - 1] > 0])
    c_owner = np.searchsorted(offs, c_idx, side="right") - 1
    order = np.lexsort((np.concatenate([np.zeros(c_idx.size - n_seg), np.ones(n_seg)]), c_idx))
    c_idx, c_type_max, c_owner = c_idx[order], c_type_max[order], c_owner[order]
    counts = np.bincount(c_owner, minlength=n_seg)
    c_off = np.concatenate([[0], np.cumsum(counts)[:-1]])

    minmax, n_ext, _ = _turning_points(gl, pos, c_idx, c_type_max, counts, c_off)
    return minmax, n_ext, seg_sd


def _segment_mage(
    minmax: FloatArray, n_ext: IntArray, seg_sd: FloatArray
) -> tuple[FloatArray, FloatArray, NDArray[np.bool_]]:
    """MAGE+ and MAGE- per segment, and whether a MAGE+ excursion came first (step 4)."""
    e_off = np.zeros(n_ext.size, dtype=np.int64)
    np.cumsum(n_ext[:-1], out=e_off[1:])
    # a flat segment (SD < 1 mg/dL, iglu) counts no excursion: an infinite threshold
    threshold = np.where(seg_sd >= 1.0, seg_sd, np.inf)
    plus_h, plus_n, plus_at = _excursions(minmax, n_ext, e_off, threshold, restart_at_end=True)
    minus_h, minus_n, minus_at = _excursions(-minmax, n_ext, e_off, threshold, restart_at_end=False)
    with np.errstate(invalid="ignore", divide="ignore"):
        plus = np.where(plus_n > 0, plus_h / np.maximum(plus_n, 1), np.nan)
        minus = np.where(minus_n > 0, np.abs(-minus_h / np.maximum(minus_n, 1)), np.nan)
    # iglu: MAGE+ first when it exists and (no MAGE- or its first peak index <= the
    # first MAGE- excursion's start)
    plus_first = (plus_n > 0) & ((minus_n == 0) | (plus_at[1] <= minus_at[0]))
    flat_trace = ~(seg_sd >= 1.0)
    plus[flat_trace] = np.nan
    minus[flat_trace] = np.nan
    return plus, minus, plus_first


def _moving_average(csum: FloatArray, ccnt: IntArray, offs: IntArray, w: int) -> FloatArray:
    """Right-aligned NaN-ignoring mean over ``w`` slots from the running sum and count
    of the finite values; the first w-1 slots of each segment copy slot w-1 (iglu)."""
    n = csum.size - 1
    ma = np.empty(n)
    ma[: w - 1] = np.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        np.divide(csum[w:] - csum[:-w], ccnt[w:] - ccnt[:-w], out=ma[w - 1 :])
    warm = np.repeat(offs, w - 1) + np.tile(np.arange(w - 1), offs.size)
    ma[warm] = np.repeat(ma[offs + w - 1], w - 1)
    return ma


def _keys(values: FloatArray, pos: IntArray) -> IntArray:
    """int64 keys ordering (value, position), NaN last: a ``minimum`` reduction finds
    the first occurrence of the lowest value and its position in one pass."""
    fin = np.isfinite(values)
    q = np.rint(np.where(fin, values, 0.0) * _Q_SCALE).astype(np.int64)
    return np.where(fin, (q << _POS_BITS) | pos, _BIG)


def _key_pair(values: FloatArray, pos: IntArray) -> tuple[IntArray, IntArray]:
    """``(_keys(values, pos), _keys(-values, pos))`` from one quantization: rounding is
    symmetric (``rint(-x) == -rint(x)``), so the negated keys are ``-(q << bits) | pos``."""
    fin = np.isfinite(values)
    scaled = values * _Q_SCALE
    scaled[~fin] = 0.0
    np.rint(scaled, out=scaled)
    q = scaled.astype(np.int64)
    q <<= _POS_BITS
    k_low = q | pos
    np.negative(q, out=q)
    q |= pos
    k_low[~fin] = _BIG
    q[~fin] = _BIG
    return k_low, q


def _turning_points(
    gl: FloatArray,
    pos: IntArray,
    c_idx: IntArray,
    c_type_max: NDArray[np.bool_],
    counts: IntArray,
    c_off: IntArray,
) -> tuple[FloatArray, IntArray, IntArray]:
    """Peaks and nadirs: for crossing k, the extreme value between the previous
    turning point and crossing k+1 (iglu step 2e).

    Turning point k depends on turning point k-1 (its left boundary), a triangular
    system solved by Jacobi iteration: start every left boundary at crossing k, find
    all extremes at once, move each left boundary to the extreme found before it, and
    repeat until nothing moves. Iteration m fixes at least the first m turning points
    of every segment, and the fixed point is the forward-substitution answer; a new
    extreme rarely changes the next one, so a handful of passes suffice.
    """
    n_seg = counts.size
    n_ext = counts - 1
    e_off = np.zeros(n_seg, dtype=np.int64)
    np.cumsum(n_ext[:-1], out=e_off[1:])
    total = int(n_ext.sum())
    if total == 0:
        return np.zeros(0), n_ext, e_off
    e_seg = np.repeat(np.arange(n_seg), n_ext)
    e_k = np.arange(total) - e_off[e_seg]
    here = c_off[e_seg] + e_k
    right = c_idx[here + 1]
    is_max = c_type_max[here]
    first = e_k == 0
    seg_base = (c_idx[c_off] - pos[c_idx[c_off]])[e_seg]  # flat index of slot 0
    left = c_idx[here]
    k_low, k_high = _key_pair(gl, pos)  # keys for the whole block once; ranges gather them
    key = _range_key_min(k_low, k_high, left, right + 1, is_max)
    at = seg_base + (key & _POS_MASK)
    while True:
        # a left boundary only ever moves left (each turning point is the extreme of a
        # range that only grows leftwards, first occurrence on ties), so a range's new
        # answer is its old one against the extreme of the part just added
        new_left = np.roll(at, 1)
        moved = ~first & (new_left != left)
        if not moved.any():
            break
        idx = np.flatnonzero(moved)
        grown = new_left[idx] < left[idx]
        add = _range_key_min(k_low, k_high, new_left[idx], left[idx], is_max[idx])
        if not grown.all():  # never seen; recompute such ranges whole to stay exact
            shrunk = idx[~grown]
            add[~grown] = _range_key_min(
                k_low, k_high, new_left[shrunk], right[shrunk] + 1, is_max[shrunk]
            )
            key[shrunk] = _BIG
        key[idx] = np.minimum(key[idx], add)
        left[idx] = new_left[idx]
        at[idx] = seg_base[idx] + (key[idx] & _POS_MASK)
    found = at
    return gl[found], n_ext, e_off


def _excursions(
    a: FloatArray, n: IntArray, off: IntArray, sd: FloatArray, *, restart_at_end: bool
) -> tuple[FloatArray, IntArray, tuple[IntArray, IntArray]]:
    """iglu's MAGE+ elimination on turning points ``a`` (MAGE- is this on ``-a``).

    Returns per segment the sum and the count of excursion heights, and the (nadir,
    peak) turning-point indices of the first counted excursion (-1 when none).
    """
    n_seg = n.size
    total = np.zeros(n_seg)
    count = np.zeros(n_seg, dtype=np.int64)
    first_i = np.full(n_seg, -1, dtype=np.int64)
    first_j = np.full(n_seg, -1, dtype=np.int64)
    if a.size == 0:
        return total, count, (first_i, first_j)
    a_pos = np.arange(a.size) - np.repeat(off, n)
    j = np.zeros(n_seg, dtype=np.int64)
    k = np.zeros(n_seg, dtype=np.int64)
    i = np.zeros(n_seg, dtype=np.int64)
    runmin = np.where(n > 0, a[np.minimum(off, a.size - 1)], np.nan)
    runmin_at = np.zeros(n_seg, dtype=np.int64)
    extending = np.zeros(n_seg, dtype=bool)
    live = n > 0
    while live.any():
        # searching: excursion from the lowest point since the restart to j
        srch = np.flatnonzero(live & ~extending)
        if srch.size:
            rise = a[off[srch] + j[srch]] - runmin[srch]
            start = rise >= sd[srch]
            go = srch[start]
            extending[go] = True
            i[go] = runmin_at[go]
            k[go] = j[go]
            step = srch[~start]
            j[step] += 1
            done = j[step] >= n[step]
            live[step[done]] = False
            cont = step[~done]
            val = a[off[cont] + j[cont]]
            lower = val < runmin[cont]
            runmin[cont[lower]] = val[lower]
            runmin_at[cont[lower]] = j[cont[lower]]
        # extending: follow the peak until a fall of more than one SD (or the end)
        ext = np.flatnonzero(live & extending)
        if ext.size:
            ak = a[off[ext] + k[ext]]
            higher = ak > a[off[ext] + j[ext]]
            j[ext[higher]] = k[ext[higher]]
            aj = a[off[ext] + j[ext]]
            end = (ak - aj < -sd[ext]) | (k[ext] == n[ext] - 1)
            fin = ext[end]
            height = a[off[fin] + j[fin]] - a[off[fin] + i[fin]]
            total[fin] += height
            newbie = count[fin] == 0
            first_i[fin[newbie]] = i[fin[newbie]]
            first_j[fin[newbie]] = j[fin[newbie]]
            count[fin] += 1
            extending[fin] = False
            if restart_at_end:  # the search restarts at k alone
                runmin_at[fin] = k[fin]
            else:  # lowest point of [j, k], first occurrence
                runmin_at[fin] = _range_arg(
                    a, a_pos, off[fin] + j[fin], off[fin] + k[fin] + 1, for_max=False
                )
            j[fin] = k[fin]
            runmin[fin] = a[off[fin] + runmin_at[fin]]
            k[ext[~end]] += 1
    return total, count, (first_i, first_j)
