"""Glycaemic variability over time, per patient: MODD, CONGA(n) and MAG.

MAGE has its own module (:mod:`analytics.mage`). All use the 5-min grid of
:func:`analytics.grid.to_grid` (gaps up to 45 min interpolated, longer gaps NaN); a pair
of slots counts only when both have a value. Lags are in UTC time (24 h apart means 288
slots apart), so across a DST change the pair is 24 real hours apart, not the same
wall-clock time. High/Low readings count at the sensor's reporting limit.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from analytics.grid import Grid

FloatArray = NDArray[np.float64]


def _lag_diff(grid: Grid, lag_s: int) -> FloatArray:
    v = grid.mgdl
    lag = lag_s // grid.slot_s
    if lag <= 0 or v.shape[1] <= lag:
        return np.full((v.shape[0], 0), np.nan)
    out: FloatArray = v[:, lag:] - v[:, :-lag]
    return out


def modd(grid: Grid) -> FloatArray:
    """Mean Of Daily Differences (mg/dL): mean |G(t) - G(t - 24 h)| over all pairs.

    Molnar GD, et al. Diabetologia 1972;8:342-348, doi:10.1007/BF01218495;
    as iglu's ``modd`` (Service FJ, Nelson RL. Diabetes Care 1980;3:58-62). NaN with
    less than a day of data.

    Examples
    --------
    Day two runs 10 mg/dL above day one at every time of day:

    >>> from analytics.grid import to_grid
    >>> t = np.arange(0, 2 * 86400, 300.0)
    >>> g = 120 + 30 * np.sin(2 * np.pi * t / 86400) + np.where(t >= 86400, 10.0, 0.0)
    >>> round(float(modd(to_grid(np.zeros(t.size, int), t, g))[0]), 6)
    10.0
    """
    d = np.abs(_lag_diff(grid, 86400))
    ok = np.isfinite(d)
    n = ok.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out: FloatArray = np.where(n > 0, np.where(ok, d, 0.0).sum(axis=1) / n, np.nan)
    return out


def conga(grid: Grid, hours: int = 1) -> FloatArray:
    """CONGA(n) (mg/dL): SD (n - 1) of G(t) - G(t - n h) over all pairs.

    McDonnell CM, et al. Diabetes Technol Ther 2005;7:253-263,
    doi:10.1089/dia.2005.7.253. The catalogue reports CONGA(1) (``conga1_mgdl``);
    iglu's default is n = 24.

    Examples
    --------
    A steady rise of 12 mg/dL per hour: every 1-h difference is 12, so the SD is 0.

    >>> from analytics.grid import to_grid
    >>> t = np.arange(0, 6 * 3600, 300.0)
    >>> float(conga(to_grid(np.zeros(t.size, int), t, 100 + t / 300))[0])
    0.0
    """
    d = _lag_diff(grid, hours * 3600)
    ok = np.isfinite(d)
    n = ok.sum(axis=1)
    x = np.where(ok, d, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = x.sum(axis=1) / n
        dev = np.where(ok, d - mean[:, None], 0.0)
        out: FloatArray = np.where(n > 1, np.sqrt((dev**2).sum(axis=1) / (n - 1)), np.nan)
    return out


def mag(grid: Grid) -> FloatArray:
    """Mean Absolute Glucose change (mg/dL per hour): sum |dG| over 5-min steps divided by
    the hours those steps span.

    Hermanides J, et al. Crit Care Med 2010;38:838-842,
    doi:10.1097/CCM.0b013e3181cc4be9; iglu's ``mag`` with its default n = 5 min.

    Examples
    --------
    A steady rise of 12 mg/dL per hour:

    >>> from analytics.grid import to_grid
    >>> t = np.arange(0, 6 * 3600, 300.0)
    >>> round(float(mag(to_grid(np.zeros(t.size, int), t, 100 + t / 300))[0]), 6)
    12.0
    """
    d = np.abs(np.diff(grid.mgdl, axis=1))
    ok = np.isfinite(d)
    n = ok.sum(axis=1)
    hours = n * grid.slot_s / 3600.0
    with np.errstate(invalid="ignore", divide="ignore"):
        out: FloatArray = np.where(n > 0, np.where(ok, d, 0.0).sum(axis=1) / hours, np.nan)
    return out
