"""The metric catalogue: every metric for every patient of a grid, by name.

Consensus definitions: Battelino T, et al. Clinical Targets for Continuous Glucose
Monitoring Data Interpretation: Recommendations From the International Consensus on
Time in Range. Diabetes Care 2019;42:1593-1603. doi:10.2337/dci19-0028.
GMI: Bergenstal RM, et al. Diabetes Care 2018;41:2275-2280. doi:10.2337/dc18-1581.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from analytics.grid import Grid

FloatArray = NDArray[np.float64]
RANGES = {
    "tbr_lt54_pct": (-np.inf, 53.5),
    "tbr_54_69_pct": (53.5, 69.5),
    "tir_70_180_pct": (69.5, 180.5),
    "tar_181_250_pct": (180.5, 250.5),
    "tar_gt250_pct": (250.5, np.inf),
    "tir_70_140_pct": (69.5, 140.5),
}
"""Half-open [lo, hi) edges halfway between the consensus's whole-mg/dL limits, so that
a value converted from mmol/L lands where the consensus puts it in mmol/L: 10.0 mmol/L
(180.16 mg/dL) is in range, 3.0 mmol/L (54.05) is level-1 low, 13.9 (250.4) is high."""


def time_in_ranges(grid: Grid) -> dict[str, FloatArray]:
    """Percent of gridded time in each consensus range (by time, not reading count).

    Ranges as the consensus writes them in whole mg/dL (70-180 includes 70 and 180),
    with edges at the half (see :data:`RANGES`).
    Slots without data do not count. NaN for a patient without data.

    Examples
    --------
    >>> import numpy as np
    >>> from analytics.grid import to_grid
    >>> g = to_grid(np.zeros(4, int), np.arange(4) * 300.0, np.array([50.0, 60.0, 180.0, 300.0]))
    >>> {k: float(v[0]) for k, v in time_in_ranges(g).items()}["tir_70_180_pct"]
    25.0
    """
    v = grid.mgdl
    valid = np.isfinite(v)
    n = valid.sum(axis=1)
    out: dict[str, FloatArray] = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        for name, (lo, hi) in RANGES.items():
            inside = valid & (v >= lo) & (v < hi)
            out[name] = np.where(n > 0, 100.0 * inside.sum(axis=1) / n, np.nan)
    return out


def summary(grid: Grid) -> dict[str, FloatArray]:
    """Mean, SD (n-1), CV and GMI over gridded time, and wear (:func:`wear_pct`).

    GMI (%) = 3.31 + 0.02392 x mean glucose (mg/dL) (Bergenstal 2018).
    CV (%) = 100 x SD / mean; the consensus target is <= 36 %.

    Examples
    --------
    >>> import numpy as np
    >>> from analytics.grid import to_grid
    >>> g = to_grid(np.zeros(2, int), np.array([0.0, 300.0]), np.array([100.0, 200.0]))
    >>> s = summary(g); float(s["mean_mgdl"][0]), round(float(s["gmi_pct"][0]), 3)
    (150.0, 6.898)
    """
    v = grid.mgdl
    n = np.isfinite(v).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, np.nansum(v, axis=1) / np.maximum(n, 1), np.nan)
        dev = np.where(np.isfinite(v), v - mean[:, None], 0.0)
        sd = np.where(n > 1, np.sqrt((dev**2).sum(axis=1) / np.maximum(n - 1, 1)), np.nan)
        cv = 100.0 * sd / mean
        wear = wear_pct(grid)
    return {
        "mean_mgdl": mean,
        "sd_mgdl": sd,
        "cv_pct": cv,
        "gmi_pct": 3.31 + 0.02392 * mean,
        "wear_pct": wear,
        "days_with_data": _days_with_data(grid),
    }


def wear_pct(grid: Grid) -> FloatArray:
    """Time CGM active (%): real readings over the readings the sensor would have made
    from the first to the last one, at its native interval.

    The native interval is read from the data: the median step between real readings,
    taken as 15 min for historic Libre data (a step of 3 slots or more on a 5-min grid
    is 15-min data only when most steps are exactly 3) and one slot otherwise.
    Interpolated slots do not count: a bridged gap is time the sensor was not reporting.
    Capped at 100 %. NaN without data.

    Examples
    --------
    >>> import numpy as np
    >>> from analytics.grid import to_grid
    >>> t = np.array([0.0, 300, 600, 1200])  # the 15-min reading is missing
    >>> float(wear_pct(to_grid(np.zeros(4, int), t, np.full(4, 100.0)))[0])
    80.0
    """
    obs = grid.observed
    p, s = obs.shape
    out = np.full(p, np.nan)
    if s == 0:
        return out
    cols = np.broadcast_to(np.arange(s), (p, s))
    prev = np.maximum.accumulate(np.where(obs, cols, -1), axis=1)
    before = np.concatenate([np.full((p, 1), -1), prev[:, :-1]], axis=1)
    step = np.where(obs & (before >= 0), cols - before, 0)  # slots since the last reading
    threes = (step == 3).sum(axis=1)
    steps = (step > 0).sum(axis=1)
    native = np.where((steps > 0) & (threes * 2 > steps), 3, 1)
    n_obs = obs.sum(axis=1)
    expected = np.floor((grid.n_slots - 1) / native) + 1
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(n_obs > 0, np.minimum(100.0, 100.0 * n_obs / expected), np.nan)
    return out


def _days_with_data(grid: Grid) -> FloatArray:
    """Local calendar days with at least one real reading."""
    p, s = grid.observed.shape
    if s == 0:
        return np.zeros(p)
    t_local = grid.start_s[:, None] + grid.utc_offset_s[:, None] + np.arange(s) * grid.slot_s
    day = np.floor(t_local / 86400.0)
    day = np.where(grid.observed, day - day[:, :1], -1).astype(np.int64)
    width = int(day.max()) + 2
    flat = (np.arange(p)[:, None] * width + day + 1)[grid.observed]
    counts = np.bincount(flat, minlength=p * width).reshape(p, width)[:, 1:]
    days: FloatArray = (counts > 0).sum(axis=1).astype(np.float64)
    return days


def metrics(grid: Grid) -> dict[str, NDArray[np.generic]]:
    """Every metric of the catalogue, one value per patient."""
    out: dict[str, NDArray[np.generic]] = {"n_readings": grid.n_readings}
    out.update(time_in_ranges(grid))
    out.update(summary(grid))
    return out
