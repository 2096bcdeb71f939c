"""Summary statistics of glucose over time, per patient: mean, SD, CV, GMI, eA1c,
J-index, M-value and quantiles.

Every statistic is over gridded time (:func:`analytics.grid.to_grid`: one value per
5-min slot, gaps up to 45 min interpolated), not over readings, so 1-min and 15-min
sensors weigh the same per hour. High/Low readings count at the sensor's reporting
limit (Dexcom 40/400, Libre 40/500 mg/dL), as the vendor portals compute them. A patient
without data gets NaN.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from analytics.grid import Grid

FloatArray = NDArray[np.float64]

QUANTILES = {
    "min_mgdl": 0.0,
    "q25_mgdl": 0.25,
    "median_mgdl": 0.5,
    "q75_mgdl": 0.75,
    "max_mgdl": 1.0,
}


def moments(grid: Grid) -> tuple[FloatArray, FloatArray, NDArray[np.int64]]:
    """Mean, sample SD (n - 1) and number of valued slots, per patient, in one pass.

    Examples
    --------
    >>> from analytics.grid import to_grid
    >>> mean, sd, n = moments(to_grid(np.zeros(3, int), np.arange(3) * 300.0,
    ...                               np.array([100.0, 200.0, 300.0])))
    >>> float(mean[0]), float(sd[0]), int(n[0])
    (200.0, 100.0, 3)
    """
    v = grid.mgdl
    valid = np.isfinite(v)
    n = valid.sum(axis=1)
    x = np.where(valid, v, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, x.sum(axis=1) / np.maximum(n, 1), np.nan)
        dev = np.where(valid, v - mean[:, None], 0.0)
        sd = np.where(
            n > 1, np.sqrt(np.einsum("ij,ij->i", dev, dev) / np.maximum(n - 1, 1)), np.nan
        )
    return mean, sd, n


def summary(grid: Grid) -> dict[str, FloatArray]:
    """Mean, SD, CV, GMI, eA1c and J-index per patient.

    - ``mean_mgdl``, ``sd_mgdl`` (sample SD, n - 1), ``cv_pct`` = 100 SD / mean
      (consensus target <= 36 %; Battelino 2019, doi:10.2337/dci19-0028);
    - ``gmi_pct`` = 3.31 + 0.02392 mean (Bergenstal 2018, doi:10.2337/dc18-1581);
    - ``ea1c_pct`` = (mean + 46.7) / 28.7, the ADAG estimate
      (Nathan 2008, doi:10.2337/dc08-0545);
    - ``j_index`` = 0.001 (mean + SD)^2 (Wojcicki 1995, doi:10.1055/s-2007-979906).

    Examples
    --------
    >>> from analytics.grid import to_grid
    >>> g = to_grid(np.zeros(2, int), np.array([0.0, 300.0]), np.array([100.0, 200.0]))
    >>> s = summary(g); float(s["mean_mgdl"][0]), round(float(s["gmi_pct"][0]), 3)
    (150.0, 6.898)
    """
    mean, sd, _ = moments(grid)
    with np.errstate(invalid="ignore", divide="ignore"):
        cv = 100.0 * sd / mean
    return {
        "mean_mgdl": mean,
        "sd_mgdl": sd,
        "cv_pct": cv,
        "gmi_pct": 3.31 + 0.02392 * mean,
        "ea1c_pct": (mean + 46.7) / 28.7,
        "j_index": 0.001 * (mean + sd) ** 2,
    }


def quantiles(grid: Grid) -> dict[str, FloatArray]:
    """Minimum, quartiles, median and maximum of glucose over time (mg/dL), and the IQR.

    Linear interpolation between order statistics (NumPy's default, R type 7, iglu's
    ``quantile_glu``). One sort of each patient's row; NaN slots sort last and are
    left out.

    Examples
    --------
    >>> from analytics.grid import to_grid
    >>> g = to_grid(np.zeros(4, int), np.arange(4) * 300.0, np.array([100.0, 120, 140, 400]))
    >>> q = quantiles(g)
    >>> float(q["median_mgdl"][0]), float(q["q75_mgdl"][0]), float(q["iqr_mgdl"][0])
    (130.0, 205.0, 90.0)
    """
    v = grid.mgdl
    p = v.shape[0]
    n = np.isfinite(v).sum(axis=1)
    srt = np.sort(v, axis=1)  # NaN last
    out: dict[str, FloatArray] = {}
    rows = np.arange(p)
    for name, q in QUANTILES.items():
        if srt.shape[1] == 0:
            out[name] = np.full(p, np.nan)
            continue
        h = (np.maximum(n, 1) - 1) * q
        lo = np.floor(h).astype(np.int64)
        hi = np.minimum(lo + 1, np.maximum(n - 1, 0))
        a, b = srt[rows, lo], srt[rows, hi]
        out[name] = np.where(n > 0, a + (b - a) * (h - lo), np.nan)
    out["iqr_mgdl"] = out["q75_mgdl"] - out["q25_mgdl"]
    return out


def m_value(grid: Grid, *, reference_mgdl: float = 90.0) -> FloatArray:
    """Schlichtkrull's M-value: mean over time of |10 log10(G / r)|^3, r = 90 mg/dL.

    The original paper used an "ideal" glucose of 120 mg/dL; iglu's ``m_value`` and
    most later work use 90, as here (give ``reference_mgdl`` to change it).
    Schlichtkrull J, et al. Acta Med Scand 1965;177:95-102,
    doi:10.1111/j.0954-6820.1965.tb01810.x.

    Examples
    --------
    >>> from analytics.grid import to_grid
    >>> g = to_grid(np.zeros(2, int), np.array([0.0, 300.0]), np.array([90.0, 900.0]))
    >>> float(m_value(g)[0])  # (0 + 10**3) / 2
    500.0
    """
    v = grid.mgdl
    valid = np.isfinite(v) & (v > 0)
    n = valid.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        m = np.abs(10.0 * np.log10(np.where(valid, v, reference_mgdl) / reference_mgdl)) ** 3
        out: FloatArray = np.where(n > 0, m.sum(axis=1) / n, np.nan)
    return out
