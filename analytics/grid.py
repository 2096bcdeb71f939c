"""Irregular CGM readings onto a regular 5-minute grid, many patients at once.

Gap rule: linear interpolation only between two real readings at most ``max_gap_s``
apart (45 min by default); longer gaps stay NaN. Several readings in one slot (1-min
Libre 3 or G7 backfill, exact duplicates) are averaged; 15-min historic Libre
readings fill the slots between them by interpolation. High/Low readings must be
given at the sensor's reporting limit by the caller (Dexcom 40/400, Libre 40/500 mg/dL).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Grid:
    """Glucose on a regular grid.

    Attributes:
        mgdl: (patients, slots) mg/dL, NaN where there is no reading nor interpolation.
        observed: (patients, slots) True where a real reading fell in the slot.
        start_s: (patients,) UTC seconds of each patient's first slot.
        n_slots: (patients,) slots from the first to the last reading (the period).
        n_readings: (patients,) distinct raw readings.
        utc_offset_s: (patients,) local = UTC + offset, for time-of-day metrics.
        slot_s: slot length in seconds.
    """

    mgdl: FloatArray
    observed: NDArray[np.bool_]
    start_s: FloatArray
    n_slots: NDArray[np.int64]
    n_readings: NDArray[np.int64]
    utc_offset_s: FloatArray
    slot_s: int


def to_grid(
    patient: NDArray[np.integer],
    time_s: FloatArray,
    glucose_mgdl: FloatArray,
    *,
    n_patients: int | None = None,
    slot_s: int = 300,
    max_gap_s: int = 2700,
    utc_offset_s: FloatArray | None = None,
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
    utc_offset_s : per-patient UTC offset in seconds (default 0).

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
    patient = np.asarray(patient, dtype=np.int64)
    time_s = np.asarray(time_s, dtype=np.float64)
    glucose = np.asarray(glucose_mgdl, dtype=np.float64)
    keep = np.isfinite(glucose) & np.isfinite(time_s)
    patient, time_s, glucose = patient[keep], time_s[keep], glucose[keep]
    p_count = int(
        n_patients if n_patients is not None else (patient.max() + 1 if patient.size else 0)
    )
    offsets = (
        np.zeros(p_count) if utc_offset_s is None else np.asarray(utc_offset_s, dtype=np.float64)
    )
    start = np.full(p_count, np.inf)
    np.minimum.at(start, patient, time_s)
    start = np.where(np.isfinite(start), np.floor(start / slot_s) * slot_s, 0.0)
    idx = np.rint((time_s - start[patient]) / slot_s).astype(np.int64)
    last = np.full(p_count, -1, dtype=np.int64)
    np.maximum.at(last, patient, idx)
    n_slots = last + 1
    width = int(n_slots.max()) if p_count and n_slots.max() > 0 else 0
    flat = patient * width + idx
    sums = np.bincount(flat, weights=glucose, minlength=p_count * width)
    counts = np.bincount(flat, minlength=p_count * width)
    with np.errstate(invalid="ignore", divide="ignore"):
        values = (sums / counts).reshape(p_count, width)
    observed = (counts > 0).reshape(p_count, width)
    pairs = np.unique(np.stack([patient, time_s]), axis=1) if patient.size else np.empty((2, 0))
    n_readings = np.bincount(pairs[0].astype(np.int64), minlength=p_count)
    filled = _interpolate(values, observed, max_slots=max_gap_s // slot_s)
    return Grid(filled, observed, start, n_slots, n_readings.astype(np.int64), offsets, slot_s)


def _interpolate(values: FloatArray, observed: NDArray[np.bool_], max_slots: int) -> FloatArray:
    """Linear fill between observed slots no more than ``max_slots`` apart, per row."""
    if values.size == 0:
        return values
    p, s = values.shape
    cols = np.broadcast_to(np.arange(s), (p, s))
    prev_idx = np.maximum.accumulate(np.where(observed, cols, -1), axis=1)
    next_idx = np.flip(
        np.minimum.accumulate(np.flip(np.where(observed, cols, s), axis=1), axis=1), axis=1
    )
    inside = (prev_idx >= 0) & (next_idx < s) & ~observed
    span = next_idx - prev_idx
    fill = inside & (span <= max_slots)
    rows = np.broadcast_to(np.arange(p)[:, None], (p, s))
    v_prev = values[rows, np.clip(prev_idx, 0, s - 1)]
    v_next = values[rows, np.clip(next_idx, 0, s - 1)]
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = (cols - prev_idx) / span
    out = values.copy()
    out[fill] = (v_prev + (v_next - v_prev) * frac)[fill]
    return out
