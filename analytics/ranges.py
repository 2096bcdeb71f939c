"""Time in ranges, CGM wear, days with data and data sufficiency, per patient.

Consensus definitions: Battelino T, et al. Clinical Targets for Continuous Glucose
Monitoring Data Interpretation: Recommendations From the International Consensus on
Time in Range. Diabetes Care 2019;42:1593-1603. doi:10.2337/dci19-0028.
GMI: Bergenstal RM, et al. Diabetes Care 2018;41:2275-2280. doi:10.2337/dc18-1581.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from analytics.grid import Grid, local_slots

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


def wear_pct(grid: Grid, *, native: NDArray[np.int64] | None = None) -> FloatArray:
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
    n_obs = obs.sum(axis=1)
    native = native_slots(grid) if native is None else native
    expected = np.floor((grid.n_slots - 1) / native) + 1
    with np.errstate(invalid="ignore", divide="ignore"):
        out: FloatArray = np.where(n_obs > 0, np.minimum(100.0, 100.0 * n_obs / expected), np.nan)
    return out


def native_slots(grid: Grid) -> NDArray[np.int64]:
    """The sensor's reporting interval in slots, per patient: 3 (15-min historic Libre
    data) when most steps between real readings are exactly 3 slots, else 1.

    Examples
    --------
    >>> import numpy as np
    >>> from analytics.grid import to_grid
    >>> libre = to_grid(np.zeros(4, int), np.arange(4) * 900.0, np.full(4, 100.0))
    >>> dexcom = to_grid(np.zeros(4, int), np.arange(4) * 300.0, np.full(4, 100.0))
    >>> int(native_slots(libre)[0]), int(native_slots(dexcom)[0])
    (3, 1)
    """
    obs = grid.observed
    p, s = obs.shape
    if s == 0:
        return np.ones(p, dtype=np.int64)
    cols = np.broadcast_to(np.arange(s), (p, s))
    prev = np.maximum.accumulate(np.where(obs, cols, -1), axis=1)
    before = np.concatenate([np.full((p, 1), -1), prev[:, :-1]], axis=1)
    step = np.where(obs & (before >= 0), cols - before, 0)  # slots since the last reading
    threes = (step == 3).sum(axis=1)
    steps = (step > 0).sum(axis=1)
    out: NDArray[np.int64] = np.where((steps > 0) & (threes * 2 > steps), 3, 1).astype(np.int64)
    return out


def days_with_data(grid: Grid) -> FloatArray:
    """Local calendar days with at least one real reading, per patient.

    Examples
    --------
    >>> import numpy as np
    >>> from analytics.grid import to_grid
    >>> t = np.array([0.0, 86400.0 * 2])  # day 1 and day 3
    >>> days_with_data(to_grid(np.zeros(2, int), t, np.full(2, 100.0))).tolist()
    [2.0]
    """
    p, s = grid.observed.shape
    if s == 0:
        return np.zeros(p)
    day = local_slots(grid) // (86400 // grid.slot_s)
    day = np.where(grid.observed, day - day[:, :1], -1)
    width = int(day.max()) + 2
    flat = (np.arange(p)[:, None] * width + day + 1)[grid.observed]
    counts = np.bincount(flat, minlength=p * width).reshape(p, width)[:, 1:]
    days: FloatArray = (counts > 0).sum(axis=1).astype(np.float64)
    return days


def sufficiency(
    grid: Grid, *, period_days: float | None = None, native: NDArray[np.int64] | None = None
) -> dict[str, FloatArray]:
    """Data sufficiency by the consensus rule: >= 14 days and >= 70 % of readings.

    ``data_sufficiency_pct`` is real readings over the readings a 5-min sensor would
    make in the period: ``period_days`` when given (a report window), otherwise from
    the first to the last reading (then it equals :func:`wear_pct`); the sensor's
    interval is :func:`native_slots`.
    ``sufficient_data`` is 1.0 when the period is at least 14 days and the share is
    at least 70 %, else 0.0 (Battelino 2019, doi:10.2337/dci19-0028: "≥ 14 days with
    ≥ 70 % of possible readings").

    Examples
    --------
    >>> import numpy as np
    >>> from analytics.grid import to_grid
    >>> t = np.arange(0, 14 * 86400, 300.0)[::4]  # 14 days, one reading in four
    >>> r = sufficiency(to_grid(np.zeros(t.size, int), t, np.full(t.size, 100.0)))
    >>> round(float(r["data_sufficiency_pct"][0]), 1), float(r["sufficient_data"][0])
    (25.0, 0.0)
    """
    n_obs = grid.observed.sum(axis=1).astype(np.float64)
    native = native_slots(grid) if native is None else native
    if period_days is None:
        expected = np.floor((grid.n_slots - 1) / native) + 1.0
        days = grid.n_slots * grid.slot_s / 86400.0
    else:
        expected = period_days * 86400.0 / (grid.slot_s * native)
        days = np.full(n_obs.shape, float(period_days))
    with np.errstate(invalid="ignore", divide="ignore"):
        pct = np.where(expected > 0, np.minimum(100.0, 100.0 * n_obs / expected), np.nan)
    ok = (days >= 14.0 - 1e-9) & (pct >= 70.0)
    return {"data_sufficiency_pct": pct, "sufficient_data": ok.astype(np.float64)}
