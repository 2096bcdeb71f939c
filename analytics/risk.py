"""Glycaemic risk indices: LBGI, HBGI, ADRR and the Glycemia Risk Index, per patient.

All take a :class:`analytics.grid.Grid` (glucose in mg/dL on the 5-min grid, so every
index is weighted by time, not by reading count) and return one value per patient, NaN
for a patient without data. High/Low readings enter at the sensor's reporting limit
(Dexcom 40/400, Libre 40/500 mg/dL), as the vendor portals count them.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from analytics.grid import Grid, local_slots
from analytics.ranges import time_in_ranges

FloatArray = NDArray[np.float64]

GRI_ZONES = ("A", "B", "C", "D", "E")
"""GRI zones by value: A 0-20, B >20-40, C >40-60, D >60-80, E >80-100 (Klonoff 2023)."""


def bg_risk_function(mgdl: FloatArray) -> FloatArray:
    """Kovatchev's symmetrized blood-glucose scale f(G) = 1.509 ((ln G)^1.084 - 5.381).

    f is 0 at 112.5 mg/dL, negative below and positive above; the risk
    r(G) = 10 f(G)^2 is 100 at both 20 and 600 mg/dL. G in mg/dL, > 0.
    Kovatchev BP, et al. Diabetes Care 1997;20:1655-1658, doi:10.2337/diacare.20.11.1655.

    Examples
    --------
    >>> f = bg_risk_function(np.array([20.0, 112.5, 600.0]))
    >>> [round(float(10 * x**2), 1) for x in f]
    [100.0, 0.0, 99.9]
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        out: FloatArray = 1.509 * (np.log(mgdl) ** 1.084 - 5.381)
    return out


def _valid(grid: Grid) -> tuple[FloatArray, NDArray[np.bool_], NDArray[np.int64]]:
    v = grid.mgdl
    valid = np.isfinite(v) & (v > 0)
    return v, valid, valid.sum(axis=1)


def lbgi_hbgi(grid: Grid) -> dict[str, FloatArray]:
    """Low and High Blood Glucose Index per patient (dimensionless, 0-100).

    LBGI = mean over time of rl(G), rl = 10 f(G)^2 where f(G) < 0, else 0;
    HBGI likewise with f(G) > 0 (:func:`bg_risk_function`). Time in the mean is every
    gridded slot with a value; iglu computes the same over readings.
    Kovatchev BP, et al. Diabetes Care 1998;21:1870-1875, doi:10.2337/diacare.21.11.1870;
    Diabetes Care 2006;29:2433-2438, doi:10.2337/dc06-1085.

    Examples
    --------
    A patient always at 20 mg/dL has the maximum low risk; at 112.5 mg/dL none.

    >>> from analytics.grid import to_grid
    >>> g = to_grid(np.array([0, 0, 1, 1]), np.array([0.0, 300, 0, 300]),
    ...             np.array([20.0, 20.0, 112.5, 112.5]))
    >>> r = lbgi_hbgi(g); np.round(r["lbgi"], 1).tolist(), np.round(r["hbgi"], 1).tolist()
    ([100.0, 0.0], [0.0, 0.0])
    """
    v, valid, n = _valid(grid)
    f = np.where(valid, bg_risk_function(np.where(valid, v, 112.5)), 0.0)
    r = 10.0 * f**2
    with np.errstate(invalid="ignore", divide="ignore"):
        lbgi = np.where(n > 0, np.where(f < 0, r, 0.0).sum(axis=1) / n, np.nan)
        hbgi = np.where(n > 0, np.where(f > 0, r, 0.0).sum(axis=1) / n, np.nan)
    return {"lbgi": lbgi, "hbgi": hbgi}


def adrr(grid: Grid) -> FloatArray:
    """Average Daily Risk Range: mean over local days of (max rl + max rh) of the day.

    rl, rh as in :func:`lbgi_hbgi`; days are the patient's local calendar days
    (:func:`analytics.grid.day_matrix`); a day without data is left out.
    Kovatchev BP, et al. Diabetes Care 2006;29:2433-2438, doi:10.2337/dc06-1085.
    Kovatchev's risk categories: low < 20, moderate 20-40, high > 40.

    Examples
    --------
    Two days; day one swings 20 -> 112.5 (risk range 100.04 + 0), day two 112.5 -> 600
    (0 + 99.95): ADRR = (100.04 + 99.95) / 2.

    >>> from analytics.grid import to_grid
    >>> t = np.array([0.0, 300.0, 86400.0, 86700.0])
    >>> round(float(adrr(to_grid(np.zeros(4, int), t, np.array([20, 112.5, 112.5, 600])))[0]), 2)
    99.99
    """
    return risk_indices(grid)["adrr"]


_TABLE_MAX = 1000
"""Whole mg/dL values up to this take f(G) and the M-value term from a table."""


def _f_and_m_exact(g: FloatArray) -> tuple[FloatArray, FloatArray]:
    """f(G) (:func:`bg_risk_function`) and the M-value term |10 log10(G/90)|^3 of
    glucose values G > 0, from one logarithm, computed in place."""
    ln = np.log(g)
    f = np.power(ln, 1.084)
    f -= 5.381
    f *= 1.509
    m = ln
    m -= np.log(90.0)
    m *= 10.0 / np.log(10.0)
    np.abs(m, out=m)
    m3 = m * m
    m3 *= m
    return f, m3


_F_TABLE, _M_TABLE = _f_and_m_exact(np.arange(1.0, _TABLE_MAX + 1.0))


def _f_and_m(v: FloatArray, valid: NDArray[np.bool_]) -> tuple[FloatArray, FloatArray]:
    """f(G) and the M-value term for every slot of ``v``, 0 where not ``valid``.

    CGM readings are whole mg/dL, so most slots (all but averaged or interpolated ones)
    hold an integer: those are looked up in tables computed by the same formula (the
    same values, without a logarithm and a power per slot); the rest are computed."""
    whole = np.rint(v)
    lookup = valid & (whole == v) & (whole <= _TABLE_MAX)
    at = np.where(lookup, whole, 1.0).astype(np.intp)
    at -= 1
    f = _F_TABLE.take(at)
    m = _M_TABLE.take(at)
    rest = valid & ~lookup
    if rest.any():
        f[rest], m[rest] = _f_and_m_exact(v[rest])
    f[~valid] = 0.0
    m[~valid] = 0.0
    return f, m


def risk_indices(grid: Grid) -> dict[str, FloatArray]:
    """LBGI, HBGI, ADRR and the M-value in one pass over the grid (one logarithm).

    The same values as :func:`lbgi_hbgi`, :func:`adrr` and
    :func:`analytics.summary.m_value` (r = 90 mg/dL); the catalogue uses this.

    Examples
    --------
    >>> from analytics.grid import to_grid
    >>> g = to_grid(np.zeros(2, int), np.array([0.0, 300.0]), np.array([90.0, 900.0]))
    >>> r = risk_indices(g); float(r["m_value"][0]), round(float(r["hbgi"][0]), 1)
    (500.0, 77.6)
    """
    v = grid.mgdl
    p, s = v.shape
    valid = np.isfinite(v) & (v > 0)
    n = valid.sum(axis=1)
    f, m = _f_and_m(v, valid)
    r = f * f
    r *= 10.0
    low = np.where(f < 0, r, 0.0)
    high = r
    high[f <= 0] = 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        out = {
            "lbgi": np.where(n > 0, low.sum(axis=1) / n, np.nan),
            "hbgi": np.where(n > 0, high.sum(axis=1) / n, np.nan),
            "m_value": np.where(n > 0, m.sum(axis=1) / n, np.nan),
        }
    # ADRR: the day's highest low risk plus highest high risk, averaged over the local
    # days with data; days are runs of equal local day number along each row
    if s == 0:
        out["adrr"] = np.full(p, np.nan)
        return out
    day = local_slots(grid) // (86400 // grid.slot_s)
    cut = np.ones((p, s), dtype=bool)
    cut[:, 1:] = day[:, 1:] != day[:, :-1]
    starts = np.flatnonzero(cut.reshape(-1))
    run_low = np.maximum.reduceat(low.reshape(-1), starts)
    run_high = np.maximum.reduceat(high.reshape(-1), starts)
    run_has = np.add.reduceat(valid.reshape(-1).astype(np.int64), starts) > 0
    run_row = starts // s
    run_day = day.reshape(-1)[starts]
    # a day split into two runs (a DST fall-back just after midnight) is merged
    key = run_row * (int(day.max() - day.min()) + 2) + (run_day - day.min())
    uniq, inv = np.unique(key, return_inverse=True)
    day_low = np.zeros(uniq.size)
    day_high = np.zeros(uniq.size)
    day_has = np.zeros(uniq.size, dtype=bool)
    np.maximum.at(day_low, inv, run_low)
    np.maximum.at(day_high, inv, run_high)
    np.logical_or.at(day_has, inv, run_has)
    day_row = uniq // (int(day.max() - day.min()) + 2)
    days = np.bincount(day_row[day_has], minlength=p)
    total = np.bincount(day_row[day_has], weights=(day_low + day_high)[day_has], minlength=p)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["adrr"] = np.where(days > 0, total / days, np.nan)
    return out


def gri_from_ranges(ranges: dict[str, FloatArray]) -> dict[str, FloatArray]:
    """:func:`gri` from already computed :func:`analytics.ranges.time_in_ranges`.

    Examples
    --------
    >>> r = {"tbr_lt54_pct": np.array([1.0]), "tbr_54_69_pct": np.array([3.0]),
    ...      "tar_181_250_pct": np.array([20.0]), "tar_gt250_pct": np.array([5.0])}
    >>> round(float(gri_from_ranges(r)["gri"][0]), 1)  # 3 x 3.4 + 1.6 x 15
    34.2
    """
    vlow, low = ranges["tbr_lt54_pct"], ranges["tbr_54_69_pct"]
    high, vhigh = ranges["tar_181_250_pct"], ranges["tar_gt250_pct"]
    hypo = vlow + 0.8 * low
    hyper = vhigh + 0.5 * high
    value = np.minimum(3.0 * hypo + 1.6 * hyper, 100.0)
    # rounded first so that a GRI of exactly 20 computed as 20.000000000000004 stays A
    edge = np.ceil(np.round(value, 9) / 20.0) - 1
    zone = np.where(np.isfinite(value), np.clip(edge, 0, 4), np.nan)
    return {"gri": value, "gri_hypo": hypo, "gri_hyper": hyper, "gri_zone": zone}


def gri(grid: Grid) -> dict[str, FloatArray]:
    """Glycemia Risk Index with its components, per patient.

    GRI = 3.0 VLow + 2.4 Low + 1.6 VHigh + 0.8 High, capped at 100, where VLow, Low,
    High, VHigh are the percent of time < 54, 54-69, 181-250 and > 250 mg/dL
    (:func:`analytics.ranges.time_in_ranges`). Components: hypoglycaemia
    C_hypo = VLow + 0.8 Low, hyperglycaemia C_hyper = VHigh + 0.5 High
    (GRI = 3 C_hypo + 1.6 C_hyper). ``gri_zone`` is 0..4 for zones A..E
    (:data:`GRI_ZONES`): A <= 20 < B <= 40 < C <= 60 < D <= 80 < E; the published
    labels are integer ranges (0-20, 21-40, ...) and a value between two integers,
    e.g. 20.4, goes with the zone below the next integer edge (20.4 is B).
    Klonoff DC, et al. J Diabetes Sci Technol 2023;17:1226-1242,
    doi:10.1177/19322968221085273.

    Examples
    --------
    Half the time 60 mg/dL (Low), half 200 mg/dL (High): 2.4 x 50 + 0.8 x 50 = 160 -> 100.

    >>> from analytics.grid import to_grid
    >>> g = to_grid(np.zeros(2, int), np.array([0.0, 300.0]), np.array([60.0, 200.0]))
    >>> r = gri(g); float(r["gri"][0]), float(r["gri_hypo"][0]), float(r["gri_hyper"][0])
    (100.0, 40.0, 25.0)
    """
    return gri_from_ranges(time_in_ranges(grid))


def gri_zone_label(zone: float) -> str | None:
    """'A'..'E' for a :func:`gri` zone number, None for NaN.

    >>> gri_zone_label(0.0), gri_zone_label(4.0), gri_zone_label(float("nan"))
    ('A', 'E', None)
    """
    if not np.isfinite(zone):
        return None
    return GRI_ZONES[int(zone)]
