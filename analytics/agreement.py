"""Agreement between CGM readings and reference (meter / fingerstick) glucose values.

A field comparison of a CGM against the patient's own meter compares two methods that
each carry error, so everything here is *agreement* (bias, limits of agreement, share of
pairs within a tolerance, error-grid zones), never "CGM accuracy".

- :func:`pair_readings` pairs each reference with its nearest CGM reading (+-5 min).
- :func:`agreement` summarises paired values per patient (MARD, MAD, bias, ISO 15197,
  within 15/15, 20/20, 40/40, Bland-Altman, Clarke and Parkes zone shares).
- :func:`clarke_zones` and :func:`parkes_zones` classify single points.

Paired arrays follow the package layout: batch axis first (patients x pairs), NaN for
padding; a 1-D array is one patient. All glucose values are in mg/dL.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

ZONES = ("A", "B", "C", "D", "E")
"""Error-grid zone names; :func:`clarke_zones` and :func:`parkes_zones` return their index
(0 = A ... 4 = E) and -1 for a pair that cannot be classified."""

PAIR_WINDOW_S = 300.0
"""Largest |CGM time - reference time| of a pair: 5 min, as in the iCGM / Dexcom
accuracy studies."""


@dataclass(frozen=True, slots=True)
class Pairs:
    """Reference readings paired with CGM readings (output of :func:`pair_readings`).

    ``ref_index`` and ``cgm_index`` index the caller's input arrays; ``dt_s`` is CGM time
    minus reference time. ``n_unpaired`` counts references left without a partner
    (no valued CGM reading within the window, or the reference itself has no value/time).
    """

    ref_index: IntArray
    cgm_index: IntArray
    ref_mgdl: FloatArray
    cgm_mgdl: FloatArray
    dt_s: FloatArray
    n_unpaired: int


def pair_readings(
    ref_time_s: ArrayLike,
    ref_mgdl: ArrayLike,
    cgm_time_s: ArrayLike,
    cgm_mgdl: ArrayLike,
    window_s: float = PAIR_WINDOW_S,
) -> Pairs:
    """Pair every reference reading with the nearest CGM reading within +-``window_s``.

    One patient, times in seconds on one clock (e.g. UTC epoch seconds), glucose in
    mg/dL; neither input needs to be sorted.

    Rules
    -----
    - The unit is the reference reading: each is paired independently with the CGM
      reading nearest in time, |dt| <= ``window_s`` (the edge is included). So one CGM
      reading may pair with several references (two fingersticks a minute apart both
      take the same 5-min CGM value), as in the iCGM accuracy studies, which pair each
      comparator value with the nearest CGM value within +-5 min.
    - Equal distance before and after: the earlier CGM reading. Several CGM readings at
      the same time: the first in input order.
    - CGM readings without a finite value or time are never candidates (a reference is
      paired with a valued neighbour instead, if one is in the window).
    - A reference without a finite value or time, or without a candidate in the window,
      is unpaired; ``n_unpaired`` counts them. Pairs come in reference input order.

    Vectorised with :func:`numpy.searchsorted` on the sorted CGM times: O((n+m) log m).

    Examples
    --------
    References at 0 s, 450 s (CGM at 300 s and 600 s both 150 s away: the earlier) and
    2000 s (nothing within 5 min):

    >>> p = pair_readings([0.0, 450.0, 2000.0], [100.0, 120.0, 130.0],
    ...                   [0.0, 300.0, 600.0], [105.0, 118.0, 125.0])
    >>> p.ref_index.tolist(), p.cgm_index.tolist(), p.cgm_mgdl.tolist(), p.n_unpaired
    ([0, 1], [0, 1], [105.0, 118.0], 1)
    """
    rt = np.asarray(ref_time_s, dtype=np.float64).ravel()
    rv = np.asarray(ref_mgdl, dtype=np.float64).ravel()
    ct = np.asarray(cgm_time_s, dtype=np.float64).ravel()
    cv = np.asarray(cgm_mgdl, dtype=np.float64).ravel()
    if rt.shape != rv.shape or ct.shape != cv.shape:
        raise ValueError("times and values must have the same length")

    cand = np.flatnonzero(np.isfinite(ct) & np.isfinite(cv))
    cand = cand[np.argsort(ct[cand], kind="stable")]
    ts = ct[cand]
    ok = np.isfinite(rt) & np.isfinite(rv)
    chosen = np.full(rt.size, -1, dtype=np.int64)
    if ts.size and ok.any():
        t = rt[ok]
        j = np.searchsorted(ts, t, side="left")  # ts[j-1] < t <= ts[j]
        after = np.minimum(j, ts.size - 1)
        # the earlier neighbour: first CGM reading (input order) at time ts[j-1]
        before = np.searchsorted(ts, ts[np.maximum(j - 1, 0)], side="left")
        d_after = np.where(j < ts.size, ts[after] - t, np.inf)
        d_before = np.where(j > 0, t - ts[before], np.inf)
        pick = np.where(d_after < d_before, after, before)  # tie -> earlier
        dist = np.minimum(d_after, d_before)
        chosen[ok] = np.where(dist <= window_s, pick, -1)
    paired = np.flatnonzero(chosen >= 0)
    ci = cand[chosen[paired]] if paired.size else np.zeros(0, dtype=np.int64)
    return Pairs(
        ref_index=paired.astype(np.int64),
        cgm_index=ci.astype(np.int64),
        ref_mgdl=rv[paired],
        cgm_mgdl=cv[ci],
        dt_s=ct[ci] - rt[paired],
        n_unpaired=int(rt.size - paired.size),
    )


def _valid(ref: FloatArray, cgm: FloatArray) -> NDArray[np.bool_]:
    return np.isfinite(ref) & np.isfinite(cgm) & (ref > 0) & (cgm >= 0)


def clarke_zones(ref_mgdl: ArrayLike, cgm_mgdl: ArrayLike) -> NDArray[np.int8]:
    """Clarke error-grid zone of each (reference, CGM) pair: 0..4 for A..E, -1 invalid.

    Zones (r = reference, c = CGM, mg/dL), after Clarke et al. 1987, Fig. 1:

    - A: |c - r| <= 20 % of r, or r <= 70 and c <= 70;
    - C: r >= 70 and c > r + 110 (upper), or 130 <= r <= 180 and c < 7/5 (r - 130)
      (lower triangle with vertices (130, 0), (180, 70), (180, 0));
    - D: r < 70 and 70 < c <= 180 (and not A), or r > 240 and 70 <= c < 180;
    - E: r < 70 and c > 180, or r > 180 and c < 70;
    - B: everything else.

    Boundary convention: a point ON a line shared by two zones belongs to the less
    severe one (A before B before C before D before E), the rule that already makes
    "within 20 %" and "both <= 70" inclusive in zone A. So (70, 50) is A, (70, 200) and
    (180, 60) are C, (60, 180) and (250, 70) are D, and (240, 100), (200, 70) and the
    corners (70, 180) and (180, 70), where B meets C, D and E, are B. The upper C line
    is continued past r = 290 (the edge of Clarke's 400 x 400 figure), as the R package
    ``ega`` does; some Python scripts stop it there.
    Implementations differ exactly on such lines: ``ega`` 2.0.0 (``getClarkeZones``)
    gives E on the E edges and uses r < 70 for the lower-left A box. Computed in exact
    arithmetic for integer inputs (20 % as 5 |c - r| <= r). Pairs with a non-finite
    value, r <= 0 or c < 0 are -1.

    Clarke WL, Cox D, Gonder-Frederick LA, Carter W, Pohl SL. Evaluating clinical accuracy
    of systems for self-monitoring of blood glucose. Diabetes Care 1987;10:622-628,
    doi:10.2337/diacare.10.5.622.

    Examples
    --------
    >>> clarke_zones([100, 50, 100, 150, 300, 50, 250], [115, 65, 150, 10, 150, 300, 60]).tolist()
    [0, 0, 1, 2, 3, 4, 4]
    """
    r = np.asarray(ref_mgdl, dtype=np.float64)
    c = np.asarray(cgm_mgdl, dtype=np.float64)
    valid = _valid(r, c)
    with np.errstate(invalid="ignore"):
        zone_a = (5 * np.abs(c - r) <= r) | ((r <= 70) & (c <= 70))
        zone_c = ((r >= 70) & (c > r + 110)) | ((r >= 130) & (r <= 180) & (5 * c < 7 * (r - 130)))
        zone_d = ((r < 70) & (c > 70) & (c <= 180)) | ((r > 240) & (c >= 70) & (c < 180))
        zone_e = ((r < 70) & (c > 180)) | ((r > 180) & (c < 70))
    out = np.ones(np.broadcast(r, c).shape, dtype=np.int8)  # B
    # most severe first, so that the less severe zone wins on a shared line
    out[zone_e] = 4
    out[zone_d] = 3
    out[zone_c] = 2
    out[zone_a] = 0
    out[~valid] = -1
    return out


_Line = tuple[tuple[int, ...], tuple[int, ...]]

# Parkes (consensus) error grid, type 1 diabetes: zone boundary vertices (reference,
# CGM) in mg/dL, Pfuetzner et al. 2013, Table 1. The last segment of each line is
# continued past the 550 mg/dL edge with its own slope (as ega 1.0 does with its
# end points at 5000 mg/dL). Upper lines lie above the identity line, lower lines below.
_PARKES_T1_UPPER: tuple[_Line, ...] = (
    ((0, 30, 140, 280, 430), (50, 50, 170, 380, 550)),  # A | B
    ((0, 30, 50, 70, 260), (60, 60, 80, 110, 550)),  # B | C
    ((0, 25, 50, 80, 125), (100, 100, 125, 215, 550)),  # C | D
    ((0, 35, 50), (150, 155, 550)),  # D | E
)
_PARKES_T1_LOWER: tuple[_Line, ...] = (
    ((50, 50, 170, 385, 550), (0, 30, 145, 300, 450)),  # A | B
    ((120, 120, 260, 550), (0, 30, 130, 250)),  # B | C
    ((250, 250, 550), (0, 40, 150)),  # C | D
)


def _beyond(
    u: FloatArray, v: FloatArray, pu: tuple[int, ...], pv: tuple[int, ...]
) -> NDArray[np.bool_]:
    """v > line(u) for the polyline (pu, pv), pu increasing; exact for integer points."""
    pu_a = np.asarray(pu, dtype=np.float64)
    pv_a = np.asarray(pv, dtype=np.float64)
    k = np.clip(np.searchsorted(pu_a, u, side="right") - 1, 0, pu_a.size - 2)
    du = pu_a[k + 1] - pu_a[k]
    dv = pv_a[k + 1] - pv_a[k]
    with np.errstate(invalid="ignore"):
        out: NDArray[np.bool_] = (v - pv_a[k]) * du > (u - pu_a[k]) * dv
    return out


def parkes_zones(ref_mgdl: ArrayLike, cgm_mgdl: ArrayLike) -> NDArray[np.int8]:
    """Parkes (consensus) error-grid zone for type 1 diabetes: 0..4 for A..E, -1 invalid.

    The zone lines are polylines through the published vertices (reference, CGM) in
    mg/dL (Pfuetzner et al. 2013, Table 1, type 1):

    ====== =============================================== ============================
    line   above the identity line                          below the identity line
    ====== =============================================== ============================
    A | B  0/50, 30/50, 140/170, 280/380, 430/550          50/0, 50/30, 170/145, 385/300, 550/450
    B | C  0/60, 30/60, 50/80, 70/110, 260/550             120/0, 120/30, 260/130, 550/250
    C | D  0/100, 25/100, 50/125, 80/215, 125/550          250/0, 250/40, 550/150
    D | E  0/150, 35/155, 50/550                           (none)
    ====== =============================================== ============================

    A pair's zone is the number of lines it lies strictly beyond on its side of the
    diagonal. A point ON a line belongs to the less severe zone (the same rule as
    :func:`clarke_zones`). Lines are continued past 550 mg/dL along their last segment.
    The same vertices are in the R package ``ega`` (``getParkesZones``, type = 1; v1.0
    uses them as line equations ending at 5000 mg/dL); ega v2.0.0 draws the type-1 C | D
    lower line's last segment from 410/110 (a type-2 vertex) instead of from 250/40.
    Exact for integer inputs. Pairs with a non-finite value, r <= 0 or c < 0 are -1.

    Parkes JL, Slatin SL, Pardo S, Ginsberg BH. A new consensus error grid to evaluate the
    clinical significance of inaccuracies in the measurement of blood glucose. Diabetes
    Care 2000;23:1143-1148, doi:10.2337/diacare.23.8.1143. Pfuetzner A, Klonoff DC,
    Pardo S, Parkes JL. Technical aspects of the Parkes error grid. J Diabetes Sci
    Technol 2013;7:1275-1281, doi:10.1177/193229681300700517.

    Examples
    --------
    At a reference of 100 mg/dL the upper lines run at 126.4 (A | B), 179.5 (B | C) and
    363.9 mg/dL (C | D); at 300 mg/dL the C | D lower line is at 58.3 mg/dL.

    >>> parkes_zones([100, 100, 100, 100, 300, 20], [120, 150, 200, 400, 50, 160]).tolist()
    [0, 1, 2, 3, 3, 4]
    """
    r = np.asarray(ref_mgdl, dtype=np.float64)
    c = np.asarray(cgm_mgdl, dtype=np.float64)
    r, c = np.broadcast_arrays(r, c)
    valid = _valid(r, c)
    up = np.zeros(r.shape, dtype=np.int8)
    for px, py in _PARKES_T1_UPPER:
        up += _beyond(r, c, px, py)
    low = np.zeros(r.shape, dtype=np.int8)
    for px, py in _PARKES_T1_LOWER:
        low += _beyond(c, r, py, px)
    out = np.asarray(np.maximum(up, low))
    out[~valid] = -1
    return out


def zone_percentages(zones: ArrayLike) -> FloatArray:
    """Share of classified pairs in each zone A..E, in %, per patient: shape (..., 5).

    ``zones`` as returned by :func:`clarke_zones` / :func:`parkes_zones`, pairs on the
    last axis; -1 (invalid or padding) is left out. A patient without a classified pair
    gets NaN in all five; otherwise the five sum to 100.

    Examples
    --------
    >>> zone_percentages([[0, 0, 1, 4], [-1, -1, -1, -1]]).tolist()
    [[50.0, 25.0, 0.0, 0.0, 25.0], [nan, nan, nan, nan, nan]]
    """
    z = np.asarray(zones)
    counts = np.stack([(z == k).sum(axis=-1) for k in range(5)], axis=-1).astype(np.float64)
    n = counts.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        out: FloatArray = np.where(n > 0, 100.0 * counts / n, np.nan)
    return out


def agreement(ref_mgdl: ArrayLike, cgm_mgdl: ArrayLike) -> dict[str, FloatArray]:
    """Agreement statistics of paired reference and CGM values, one value per patient.

    ``ref_mgdl`` and ``cgm_mgdl`` are paired (see :func:`pair_readings`): 1-D for one
    patient (each statistic is then a 0-d array), or 2-D patients x pairs padded with
    NaN. A pair counts when both values are finite, ref > 0 and cgm >= 0. With
    d = cgm - ref (mg/dL) and n counted pairs:

    ============================== ======= ===================================================
    key                            unit    definition
    ============================== ======= ===================================================
    ``n_pairs``                    count   n
    ``mard_pct``                   %       100 mean(|d| / ref)
    ``mad_mgdl``                   mg/dL   mean |d|
    ``bias_mgdl``, ``bias_pct``    mg/dL,% mean d; 100 mean(d / ref)
    ``iso15197_pct``               %       pairs with |d| <= 15 mg/dL if ref < 100, else
                                           |d| <= 15 % of ref (ISO 15197:2013, 6.3.3)
    ``iso15197_pass``              0/1     iso15197_pct >= 95 and Parkes A+B >= 99 %
    ``within_15_pct`` (20, 40)     %       pairs with |d| <= 15 mg/dL if ref < 70, else
                                           |d| <= 15 % of ref ("15/15"; 20/20, 40/40)
    ``ba_sd_mgdl``                 mg/dL   sample SD of d (n - 1), NaN if n < 2
    ``ba_loa_low_mgdl``, ``_high`` mg/dL   bias -/+ 1.96 SD (95 % limits of agreement)
    ``ba_sd_pct``, ``ba_loa_*_pct`` %      the same for d in % of ref
    ``clarke_a_pct`` ... ``_e_pct`` %      :func:`clarke_zones` shares
    ``parkes_a_pct`` ... ``_e_pct`` %      :func:`parkes_zones` shares (type 1)
    ============================== ======= ===================================================

    Edge cases: every statistic of a patient without pairs is NaN except ``n_pairs`` = 0;
    all tolerance edges are inclusive (|d| = 15 mg/dL is within).

    The 15/15-20/20-40/40 split mirrors the FDA iCGM special controls (21 CFR 862.1355
    (b)(1), as summarised in shared/reference/clinical-and-landscape.md 4.7, not checked
    against the regulation text): within +-15 mg/dL below 70 mg/dL and within +-15 % at
    70-180 and above 180 mg/dL, the same for +-40 mg/dL / 40 %, and overall within
    +-20 %, each as a lower 95 % confidence bound. The regulation stratifies by the iCGM
    value and its overall criterion is +-20 % everywhere; we split by the reference
    value, as CGM labelling tables of "within 20/20" do. These are descriptive shares: no
    confidence bound is computed, so they are not an iCGM compliance test. Bland-Altman
    percentage differences are relative to the reference (the meter is the comparator),
    not to the mean of the two methods.

    References: ISO 15197:2013 In vitro diagnostic test systems, 6.3.3; Bland JM, Altman
    DG. Lancet 1986;1(8476):307-310, doi:10.1016/S0140-6736(86)90837-8; and those of
    :func:`clarke_zones` and :func:`parkes_zones`.

    Examples
    --------
    >>> a = agreement([100.0, 200.0], [110.0, 180.0])
    >>> float(a["mard_pct"]), float(a["bias_mgdl"]), float(a["within_15_pct"])
    (10.0, -5.0, 100.0)
    """
    r = np.asarray(ref_mgdl, dtype=np.float64)
    c = np.asarray(cgm_mgdl, dtype=np.float64)
    if r.shape != c.shape:
        raise ValueError(f"ref and cgm must have the same shape, got {r.shape} and {c.shape}")
    if r.ndim not in (1, 2):
        raise ValueError("ref and cgm must be 1-D (one patient) or 2-D (patients x pairs)")
    one = r.ndim == 1
    r2 = np.atleast_2d(r)
    c2 = np.atleast_2d(c)
    valid = _valid(r2, c2)
    n = valid.sum(axis=1)
    rr = np.where(valid, r2, 1.0)
    d = np.where(valid, c2 - r2, 0.0)
    dp = 100.0 * d / rr
    ad = np.abs(d)

    def mean(x: FloatArray) -> FloatArray:
        with np.errstate(invalid="ignore", divide="ignore"):
            out: FloatArray = np.where(n > 0, np.where(valid, x, 0.0).sum(axis=1) / n, np.nan)
        return out

    def share(ok: NDArray[np.bool_]) -> FloatArray:
        return 100.0 * mean(ok.astype(np.float64))

    def sd(x: FloatArray, m: FloatArray) -> FloatArray:
        dev = np.where(valid, x - m[:, None], 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            out: FloatArray = np.where(n > 1, np.sqrt((dev**2).sum(axis=1) / (n - 1)), np.nan)
        return out

    bias = mean(d)
    bias_pct = mean(dp)
    sd_mgdl = sd(d, bias)
    sd_pct = sd(dp, bias_pct)
    out: dict[str, FloatArray] = {
        "n_pairs": n.astype(np.float64),
        "mard_pct": mean(np.abs(dp)),
        "mad_mgdl": mean(ad),
        "bias_mgdl": bias,
        "bias_pct": bias_pct,
        "iso15197_pct": share(np.where(rr < 100, ad <= 15, 100 * ad <= 15 * rr)),
    }
    for tol in (15, 20, 40):
        out[f"within_{tol}_pct"] = share(np.where(rr < 70, ad <= tol, 100 * ad <= tol * rr))
    out["ba_sd_mgdl"] = sd_mgdl
    out["ba_loa_low_mgdl"] = bias - 1.96 * sd_mgdl
    out["ba_loa_high_mgdl"] = bias + 1.96 * sd_mgdl
    out["ba_sd_pct"] = sd_pct
    out["ba_loa_low_pct"] = bias_pct - 1.96 * sd_pct
    out["ba_loa_high_pct"] = bias_pct + 1.96 * sd_pct
    for grid, zones in (("clarke", clarke_zones(r2, c2)), ("parkes", parkes_zones(r2, c2))):
        pct = zone_percentages(np.where(valid, zones, -1))
        for k, name in enumerate(ZONES):
            out[f"{grid}_{name.lower()}_pct"] = pct[:, k]
    parkes_ab = out["parkes_a_pct"] + out["parkes_b_pct"]
    out["iso15197_pass"] = np.where(
        n > 0, ((out["iso15197_pct"] >= 95) & (parkes_ab >= 99)).astype(np.float64), np.nan
    )
    if one:
        return {k: np.asarray(v[0]) for k, v in out.items()}
    return out
