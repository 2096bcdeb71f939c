"""The catalogue over report windows: the last 14/30/90 days, calendar months, and the
change against a baseline window.

A window is a per-patient UTC interval [start, end). Readings outside it are dropped
before gridding, so every metric, including data sufficiency (computed over the window's
length, not the first-to-last reading), describes that window alone. Many patients and
windows are computed in one batch: each (patient, window) pair becomes one row of the
grid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from analytics.catalogue import metrics
from analytics.grid import to_grid

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

STANDARD_DAYS = (14, 30, 90)
"""Report windows: 14 days is the consensus minimum for a representative profile
(Battelino 2019, doi:10.2337/dci19-0028); 30 and 90 days match clinic visit cycles."""


def window_metrics(
    patient: IntArray,
    time_s: FloatArray,
    glucose_mgdl: FloatArray,
    *,
    start_s: FloatArray,
    end_s: FloatArray,
    reading_offset_s: FloatArray | None = None,
) -> dict[str, NDArray[np.generic]]:
    """The catalogue for each row of per-patient windows [start_s, end_s).

    Parameters
    ----------
    patient, time_s, glucose_mgdl : arrays of readings (patient index, UTC seconds, mg/dL).
    start_s, end_s : (windows, patients) or (patients,) UTC seconds; one catalogue per
        (window, patient), flattened window-major when 2-D.
    reading_offset_s : per-reading UTC offsets, for local-day metrics (see to_grid).

    Returns
    -------
    dict name -> array of shape ``start_s.shape``.

    Examples
    --------
    Two windows of one patient: a first day at 100 mg/dL, a second day at 200 mg/dL.

    >>> t = np.arange(0, 2 * 86400, 300.0)
    >>> g = np.where(t < 86400, 100.0, 200.0)
    >>> m = window_metrics(np.zeros(t.size, int), t, g,
    ...                    start_s=np.array([[0.0], [86400.0]]),
    ...                    end_s=np.array([[86400.0], [172800.0]]))
    >>> m["mean_mgdl"].tolist(), m["tar_181_250_pct"].tolist()
    ([[100.0], [200.0]], [[0.0], [100.0]])
    """
    patient = np.asarray(patient, dtype=np.int64)
    time_s = np.asarray(time_s, dtype=np.float64)
    glucose = np.asarray(glucose_mgdl, dtype=np.float64)
    start = np.atleast_2d(np.asarray(start_s, dtype=np.float64))
    end = np.atleast_2d(np.asarray(end_s, dtype=np.float64))
    n_win, n_pat = start.shape
    rows_p, rows_t, rows_g, rows_o = [], [], [], []
    for w in range(n_win):  # a handful of windows; patients stay vectorized
        inside = (time_s >= start[w, patient]) & (time_s < end[w, patient])
        rows_p.append(w * n_pat + patient[inside])
        rows_t.append(time_s[inside])
        rows_g.append(glucose[inside])
        if reading_offset_s is not None:
            rows_o.append(np.asarray(reading_offset_s, dtype=np.float64)[inside])
    grid = to_grid(
        np.concatenate(rows_p),
        np.concatenate(rows_t),
        np.concatenate(rows_g),
        n_patients=n_win * n_pat,
        reading_offset_s=np.concatenate(rows_o) if rows_o else None,
    )
    period = (end - start).reshape(-1) / 86400.0
    out = metrics(grid, period_days=None)
    # data sufficiency is over the window's length, per row
    n_obs = grid.observed.sum(axis=1)
    expected = period * 86400.0 / grid.slot_s
    with np.errstate(invalid="ignore", divide="ignore"):
        pct = np.where(expected > 0, np.minimum(100.0, 100.0 * n_obs / expected), np.nan)
    out["data_sufficiency_pct"] = pct
    out["sufficient_data"] = ((period >= 14.0 - 1e-9) & (pct >= 70.0)).astype(np.float64)
    out["window_days"] = period
    shape = start.shape if np.ndim(start_s) == 2 else (n_pat,)
    return {name: np.asarray(v).reshape(shape) for name, v in out.items()}


def last_days(
    patient: IntArray,
    time_s: FloatArray,
    glucose_mgdl: FloatArray,
    *,
    end_s: FloatArray,
    days: Sequence[int] = STANDARD_DAYS,
    reading_offset_s: FloatArray | None = None,
) -> dict[int, dict[str, NDArray[np.generic]]]:
    """The catalogue over the last ``days`` before each patient's ``end_s`` (e.g. the
    upload time or the last reading), for each window length.

    Examples
    --------
    >>> t = np.arange(0, 30 * 86400, 300.0)
    >>> g = np.where(t < 16 * 86400, 250.0, 120.0)  # better in the last 14 days
    >>> w = last_days(np.zeros(t.size, int), t, g, end_s=np.array([30 * 86400.0]))
    >>> float(w[14]["tir_70_180_pct"][0]), round(float(w[30]["tir_70_180_pct"][0]), 1)
    (100.0, 46.7)
    """
    end = np.asarray(end_s, dtype=np.float64)
    starts = np.stack([end - d * 86400.0 for d in days])
    ends = np.stack([end] * len(days))
    flat = window_metrics(
        patient, time_s, glucose_mgdl, start_s=starts, end_s=ends, reading_offset_s=reading_offset_s
    )
    return {d: {name: v[i] for name, v in flat.items()} for i, d in enumerate(days)}


def calendar_month(
    year: int, month: int, utc_offset_s: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """UTC [start, end) of a local calendar month for patients at the given UTC offsets
    (seconds; local = UTC + offset), for :func:`window_metrics`.

    Examples
    --------
    >>> s, e = calendar_month(2026, 2, np.array([0.0, 3600.0]))
    >>> ((e - s) / 86400).tolist(), float(s[0] - s[1]) / 3600
    ([28.0, 28.0], 1.0)
    """
    first = np.datetime64(f"{year:04d}-{month:02d}-01", "s").astype(np.int64)
    nxt_y, nxt_m = (year + 1, 1) if month == 12 else (year, month + 1)
    after = np.datetime64(f"{nxt_y:04d}-{nxt_m:02d}-01", "s").astype(np.int64)
    off = np.asarray(utc_offset_s, dtype=np.float64)
    return first - off, after - off


def change(
    current: Mapping[str, NDArray[np.generic]], baseline: Mapping[str, NDArray[np.generic]]
) -> dict[str, FloatArray]:
    """Current minus baseline for every numeric metric both windows have (same units:
    percentage points for ``_pct``), e.g. the last 14 days against the 14 before.

    Examples
    --------
    >>> change({"tir_70_180_pct": np.array([72.0])}, {"tir_70_180_pct": np.array([65.0])})
    {'tir_70_180_pct': array([7.])}
    """
    out: dict[str, FloatArray] = {}
    for name, now in current.items():
        if name not in baseline or name == "gri_zone":
            continue
        a = np.asarray(now, dtype=np.float64)
        b = np.asarray(baseline[name], dtype=np.float64)
        out[name] = a - b
    return out
