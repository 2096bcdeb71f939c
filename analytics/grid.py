"""Irregular CGM readings onto a regular 5-minute grid, many patients at once.

Gap rule: linear interpolation only between two real readings at most ``max_gap_s``
apart (45 min by default); longer gaps stay NaN. Several readings in one slot (1-min
Libre 3 or G7 backfill, exact duplicates) are averaged; 15-min historic Libre
readings fill the slots between them by interpolation. High/Low readings must be
given at the sensor's reporting limit by the caller (Dexcom 40/400, Libre 40/500 mg/dL).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
_BLOCK = 64  # patients gridded together (temporaries stay heap-sized)


def default_workers() -> int:
    """Threads for the block loops of :func:`to_grid` and
    :func:`analytics.catalogue.metrics`: the CPUs this process may use (at most 8).
    NumPy releases the GIL inside its array loops, so blocks of patients computed in
    threads use several cores; each patient's values are computed by the same code
    whatever the number of threads, so results never depend on it."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        n = os.cpu_count() or 1
    return max(1, min(n, 8))


@dataclass(frozen=True, slots=True)
class Grid:
    """Glucose on a regular grid.

    Attributes:
        mgdl: (patients, slots) mg/dL, NaN where there is no reading nor interpolation.
        observed: (patients, slots) True where a real reading fell in the slot.
        start_s: (patients,) UTC seconds of each patient's first slot.
        n_slots: (patients,) slots from the first to the last reading (the period).
        n_readings: (patients,) distinct raw readings.
        utc_offset_s: (patients,) local = UTC + offset at the first slot, seconds.
        slot_s: slot length in seconds.
        offset_steps: (patient, slot, new offset s) int64 rows, sorted, where a
            patient's UTC offset changes (DST, travel); empty when constant.
    """

    mgdl: FloatArray
    observed: NDArray[np.bool_]
    start_s: FloatArray
    n_slots: NDArray[np.int64]
    n_readings: NDArray[np.int64]
    utc_offset_s: FloatArray
    slot_s: int
    offset_steps: NDArray[np.int64] = field(default_factory=lambda: np.zeros((0, 3), np.int64))


def to_grid(
    patient: NDArray[np.integer],
    time_s: FloatArray,
    glucose_mgdl: FloatArray,
    *,
    n_patients: int | None = None,
    slot_s: int = 300,
    max_gap_s: int = 2700,
    utc_offset_s: FloatArray | None = None,
    reading_offset_s: FloatArray | None = None,
    workers: int | None = None,
) -> Grid:
    """Grid irregular readings of many patients.

    Parameters
    ----------
    patient : int array, patient index (0..n_patients-1) of each reading.
    time_s : float array, UTC seconds of each reading.
    glucose_mgdl : float array, mg/dL (NaN readings are dropped).
    n_patients : number of patients (default: max index + 1).
    slot_s : grid step in seconds (300).
    max_gap_s : longest gap bridged by linear interpolation (2700 s = 45 min).
    workers : threads gridding blocks of 64 patients side by side (default
        :func:`default_workers`); the result does not depend on it.
    utc_offset_s : per-patient UTC offset in seconds (default 0), for time-of-day metrics.
    reading_offset_s : per-reading UTC offset in seconds (local = UTC + offset), as the
        device or the time base gave it; overrides ``utc_offset_s``. A change (DST,
        travel) is kept in :attr:`Grid.offset_steps` so that :func:`day_matrix` puts
        every slot on its local wall-clock day and time.

    Returns
    -------
    Grid

    Examples
    --------
    >>> t = np.array([0.0, 600.0, 4200.0])
    >>> g = to_grid(np.array([0, 0, 0]), t, np.array([100.0, 120.0, 90.0]))
    >>> g.mgdl.tolist()
    [[100.0, 110.0, 120.0, nan, nan, nan, nan, nan, nan, nan, nan, nan, nan, nan, 90.0]]
    """
    pid: NDArray[np.int64] = np.asarray(patient, dtype=np.int64)
    time_s = np.asarray(time_s, dtype=np.float64)
    glucose = np.asarray(glucose_mgdl, dtype=np.float64)
    per_reading = (
        None
        if reading_offset_s is None
        else np.asarray(reading_offset_s, dtype=np.float64).astype(np.int64)
    )
    keep = np.isfinite(glucose) & np.isfinite(time_s)
    if not keep.all():
        pid, time_s, glucose = pid[keep], time_s[keep], glucose[keep]
        per_reading = None if per_reading is None else per_reading[keep]
    p_count = int(n_patients if n_patients is not None else (pid.max() + 1 if pid.size else 0))
    offsets = (
        np.zeros(p_count) if utc_offset_s is None else np.asarray(utc_offset_s, dtype=np.float64)
    )
    if pid.size and np.any(pid[1:] < pid[:-1]):  # blocks need the readings by patient
        order = np.argsort(pid, kind="stable")
        pid, time_s, glucose = pid[order], time_s[order], glucose[order]
        per_reading = None if per_reading is None else per_reading[order]
    # per patient: first slot (from the earliest reading) and period length, by
    # reductions over each patient's run of readings
    first_of = np.searchsorted(pid, np.arange(p_count))
    has = np.bincount(pid, minlength=p_count) > 0 if pid.size else np.zeros(p_count, bool)
    start = np.zeros(p_count)
    last = np.full(p_count, -1, dtype=np.int64)
    if pid.size:
        earliest = np.minimum.reduceat(time_s, first_of[has])
        start[has] = np.floor(earliest / slot_s) * slot_s
        latest = np.maximum.reduceat(time_s, first_of[has])
        last[has] = np.rint((latest - start[has]) / slot_s).astype(np.int64)
    n_slots = last + 1
    width = int(n_slots.max()) if p_count and n_slots.max() > 0 else 0
    values = np.empty((p_count, width))
    observed = np.empty((p_count, width), dtype=bool)
    n_readings = np.zeros(p_count, dtype=np.int64)
    # blocks of patients, so that every temporary is heap-sized and reused
    bounds = np.searchsorted(pid, np.arange(0, p_count + _BLOCK, _BLOCK))

    def fill(b: int, first: int) -> None:
        stop = min(first + _BLOCK, p_count)
        lo, hi = bounds[b], bounds[b + 1]
        rows = stop - first
        idx = np.rint((time_s[lo:hi] - start[pid[lo:hi]]) / slot_s).astype(np.int64)
        flat = (pid[lo:hi] - first) * width + idx
        sums = np.bincount(flat, weights=glucose[lo:hi], minlength=rows * width)
        counts = np.bincount(flat, minlength=rows * width)
        with np.errstate(invalid="ignore", divide="ignore"):
            np.divide(sums, counts, out=values[first:stop].reshape(-1))
        np.greater(counts, 0, out=observed[first:stop].reshape(-1))
        n_readings[first:stop] = _distinct_readings(
            pid[lo:hi] - first, time_s[lo:hi], counts[flat] > 1, rows
        )
        values[first:stop] = _interpolate(
            values[first:stop], observed[first:stop], max_slots=max_gap_s // slot_s
        )

    firsts = range(0, p_count, _BLOCK)
    n_threads = default_workers() if workers is None else max(1, workers)
    if n_threads == 1 or len(firsts) <= 1:
        for b, first in enumerate(firsts):
            fill(b, first)
    else:  # blocks write disjoint rows
        with ThreadPoolExecutor(max_workers=n_threads) as pool:
            list(pool.map(fill, range(len(firsts)), firsts))
    steps = np.zeros((0, 3), np.int64)
    if per_reading is not None and pid.size:
        idx = np.rint((time_s - start[pid]) / slot_s).astype(np.int64)
        offsets, steps = _offset_steps(pid, idx, per_reading, p_count)
    return Grid(values, observed, start, n_slots, n_readings, offsets, slot_s, steps)


def sub_grid(grid: Grid, first: int, stop: int) -> Grid:
    """Patients ``first`` .. ``stop - 1`` of a grid (views of its arrays, no copy).

    Examples
    --------
    >>> g = to_grid(np.array([0, 1, 2]), np.zeros(3), np.array([100.0, 110.0, 120.0]))
    >>> sub_grid(g, 1, 3).mgdl.tolist()
    [[110.0], [120.0]]
    """
    steps = grid.offset_steps
    if steps.size:
        mine = (steps[:, 0] >= first) & (steps[:, 0] < stop)
        steps = steps[mine] - np.array([first, 0, 0], dtype=np.int64)
    return Grid(
        grid.mgdl[first:stop],
        grid.observed[first:stop],
        grid.start_s[first:stop],
        grid.n_slots[first:stop],
        grid.n_readings[first:stop],
        grid.utc_offset_s[first:stop],
        grid.slot_s,
        steps,
    )


def _distinct_readings(
    patient: NDArray[np.int64], time_s: FloatArray, shared: NDArray[np.bool_], p_count: int
) -> NDArray[np.int64]:
    """Readings per patient, a reading repeated at the same time counted once. Only
    readings that share a slot with another can repeat, so only those are sorted."""
    n = np.bincount(patient[~shared], minlength=p_count)
    if shared.any():
        pairs = np.unique(np.stack([patient[shared], time_s[shared]]), axis=1)
        n = n + np.bincount(pairs[0].astype(np.int64), minlength=p_count)
    out: NDArray[np.int64] = n.astype(np.int64)
    return out


def _offset_steps(
    patient: NDArray[np.int64], idx: NDArray[np.int64], offset: NDArray[np.int64], p_count: int
) -> tuple[FloatArray, NDArray[np.int64]]:
    """First offset per patient, and the (patient, slot, offset) rows where it changes."""
    order = np.lexsort((idx, patient))
    p, i, o = patient[order], idx[order], offset[order]
    first = np.ones(p.size, dtype=bool)
    first[1:] = p[1:] != p[:-1]
    initial = np.zeros(p_count)
    initial[p[first]] = o[first]
    change = ~first
    change[1:] &= o[1:] != o[:-1]
    return initial, np.stack([p[change], i[change], o[change]], axis=1).astype(np.int64)


@dataclass(frozen=True, slots=True)
class DayMatrix:
    """Gridded values laid out by local calendar day and local time of day.

    Attributes:
        values: (patients, days, slots_per_day), NaN where there is no value. Day 0 is
            each patient's first local day; on a 23-hour DST day the skipped hour is
            NaN, on a 25-hour day the repeated hour keeps its later (second) pass.
        first_day: (patients,) local calendar day of day 0, in days since 1970-01-01.
        n_days: (patients,) local days from the first to the last slot of the period.
        slot_s: slot length in seconds.
    """

    values: FloatArray
    first_day: NDArray[np.int64]
    n_days: NDArray[np.int64]
    slot_s: int


def local_slots(grid: Grid) -> NDArray[np.int64]:
    """Local wall-clock slot number (local seconds since 1970 // slot_s) of every slot.

    Uses :attr:`Grid.utc_offset_s` and any :attr:`Grid.offset_steps`; shape
    (patients, slots).

    Examples
    --------
    >>> g = to_grid(np.zeros(2, int), np.array([0.0, 300.0]), np.ones(2),
    ...             reading_offset_s=np.array([3600.0, 7200.0]))
    >>> local_slots(g).tolist()  # 01:00 local, then the clock jumps an hour: 02:05
    [[12, 25]]
    """
    p, s = grid.mgdl.shape
    base = np.floor((grid.start_s + grid.utc_offset_s) / grid.slot_s).astype(np.int64)
    out = base[:, None] + np.arange(s, dtype=np.int64)[None, :]
    if grid.offset_steps.size:
        delta = np.zeros((p, s + 1), dtype=np.int64)
        rows, slots, new = grid.offset_steps.T
        # each step's change relative to the offset before it
        prev = np.empty_like(new)
        for_first = np.ones(rows.size, dtype=bool)
        for_first[1:] = rows[1:] != rows[:-1]
        prev[for_first] = grid.utc_offset_s[rows[for_first]].astype(np.int64)
        prev[~for_first] = new[:-1][~for_first[1:]]
        np.add.at(delta, (rows, slots), (new - prev) // grid.slot_s)
        out += np.cumsum(delta[:, :s], axis=1)
    return out


def day_matrix(grid: Grid, values: FloatArray | None = None) -> DayMatrix:
    """Lay gridded values (default ``grid.mgdl``) out as (patients, days, time of day).

    Local time comes from :func:`local_slots`, so each slot lands on the patient's own
    wall-clock day and time of day, also across DST changes. Slots after a patient's
    period are NaN.

    Examples
    --------
    >>> t = np.array([0.0, 86400.0 - 300.0, 86400.0])  # 00:00 and 23:55 UTC, next 00:00
    >>> g = to_grid(np.zeros(3, int), t, np.array([100.0, 110.0, 120.0]))
    >>> dm = day_matrix(g)
    >>> dm.values.shape, float(dm.values[0, 0, 287]), float(dm.values[0, 1, 0])
    ((1, 2, 288), 110.0, 120.0)
    """
    v = grid.mgdl if values is None else np.asarray(values, dtype=np.float64)
    p, s = v.shape
    spd = 86400 // grid.slot_s
    if s == 0:
        return DayMatrix(
            np.full((p, 0, spd), np.nan), np.zeros(p, np.int64), np.zeros(p, np.int64), grid.slot_s
        )
    loc = local_slots(grid)
    in_period = np.arange(s)[None, :] < grid.n_slots[:, None]
    first_day = loc[:, 0] // spd
    day = loc // spd - first_day[:, None]
    last = np.where(in_period, day, 0).max(axis=1)
    n_days = np.where(grid.n_slots > 0, last + 1, 0)
    width = int(n_days.max()) if p else 0
    out = np.full((p, max(width, 0), spd), np.nan)
    rows = np.broadcast_to(np.arange(p)[:, None], (p, s))
    sel = in_period & (day >= 0)
    out[rows[sel], day[sel], (loc % spd)[sel]] = v[sel]
    return DayMatrix(out, first_day, n_days.astype(np.int64), grid.slot_s)


def _interpolate(values: FloatArray, observed: NDArray[np.bool_], max_slots: int) -> FloatArray:
    """Linear fill between observed slots no more than ``max_slots`` apart, per row.

    Works on the empty slots only: each finds its observed neighbours by a binary
    search in the flat list of observed slots."""
    out = values.copy()
    if values.size == 0:
        return out
    s = values.shape[1]
    obs = np.flatnonzero(observed.reshape(-1))
    if obs.size < 2:
        return out
    empty = np.flatnonzero(~observed.reshape(-1))
    at = np.searchsorted(obs, empty)
    inner = (at > 0) & (at < obs.size)
    empty, at = empty[inner], at[inner]
    prev, nxt = obs[at - 1], obs[at]
    ok = (prev // s == nxt // s) & (nxt - prev <= max_slots)
    empty, prev, nxt = empty[ok], prev[ok], nxt[ok]
    flat_in = values.reshape(-1)
    frac = (empty - prev) / (nxt - prev)
    out.reshape(-1)[empty] = flat_in[prev] + (flat_in[nxt] - flat_in[prev]) * frac
    return out
