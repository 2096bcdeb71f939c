"""Analytics benchmark: the metric catalogue on a large cohort, against the Python peers.

Data: :func:`simulators.patient.cohort.cohort` (1,000 patients x 90 days of 5-min CGM
with sensor gaps and warm-ups, seed fixed), turned into irregular readings (each at its
slot time +- 2 s, NaN slots left out) before the clock starts. One run on this machine
measures:

(a) the full catalogue, ``metrics(to_grid(...))``, on all of it; peak memory of that
    call (``tracemalloc``, a second, traced call) and of the process (``ru_maxrss``);
    each group of metric functions timed alone on the same grid;
(b) the peers (iglu-python, cgmpy, agp-tool, cgmquantify) on the first 20 patients x
    14 days, each computing the metrics of ours it has, per patient-day against ours;
(c) TIR + mean + CV alone against one NumPy reduction over the same array
    (``np.nansum(grid.mgdl, axis=1)``), the memory-bandwidth floor.

Goals (issue 4): (a) <= 3 s; (b) >= 100x the fastest peer per patient-day; (c) <= 5x.
Run: ``.venv/bin/python bench/analytics_bench.py`` (needs the ``bench`` extra).
"""

from __future__ import annotations

import os
import resource
import time
import tracemalloc
import warnings
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

os.environ.setdefault("MPLBACKEND", "Agg")  # the peers import matplotlib

import pandas as pd  # type: ignore[import-untyped]

from analytics.agp import agp
from analytics.catalogue import CHUNK_PATIENTS, metrics
from analytics.events import event_metrics
from analytics.grid import Grid, default_workers, sub_grid, to_grid
from analytics.mage import mage
from analytics.ranges import (
    days_with_data,
    native_slots,
    sufficiency,
    time_in_ranges,
    wear_pct,
)
from analytics.risk import gri_from_ranges, risk_indices
from analytics.summary import quantiles, summary
from analytics.variability import conga, mag, modd
from simulators.patient.cohort import cohort

PATIENTS, DAYS, SEED = 1000, 90, 4
PEER_PATIENTS, PEER_DAYS = 20, 14
FloatArray = NDArray[np.float64]


def readings(cgm: FloatArray) -> tuple[NDArray[np.int64], FloatArray, FloatArray]:
    """(patient, UTC s, mg/dL) of every reading: the slot time with +-2 s clock jitter."""
    p, s = np.nonzero(np.isfinite(cgm))
    jitter = np.random.default_rng(SEED).integers(-2, 3, p.size)
    t = np.asarray(1_767_225_600.0 + s * 300.0 + jitter, dtype=np.float64)  # 2026-01-01 UTC
    return p.astype(np.int64), t, cgm[p, s]


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def chunked(grid: Grid, fn: Callable[[Grid], object]) -> Callable[[], None]:
    """Run ``fn`` over the grid in the catalogue's blocks of patients."""
    p = grid.mgdl.shape[0]

    def run() -> None:
        for a in range(0, p, CHUNK_PATIENTS):
            fn(sub_grid(grid, a, min(a + CHUNK_PATIENTS, p)))

    return run


def _ranges(g: Grid) -> None:
    native = native_slots(g)
    time_in_ranges(g), wear_pct(g, native=native), days_with_data(g)
    sufficiency(g, native=native)


def _variability(g: Grid) -> None:
    mag(g), modd(g), conga(g, hours=1)


def _risk(g: Grid) -> None:
    risk_indices(g), gri_from_ranges(time_in_ranges(g))


GROUPS: dict[str, Callable[[Grid], object]] = {
    "ranges (TIR/TBR/TAR, wear, days, sufficiency)": _ranges,
    "summary (mean, SD, CV, GMI, eA1c, J)": summary,
    "quantiles (min, quartiles, max)": quantiles,
    "variability (MAG, MODD, CONGA1)": _variability,
    "mage (iglu moving averages)": mage,
    "risk (LBGI, HBGI, ADRR, M, GRI*)": _risk,
    "events (consensus episodes)": event_metrics,
    "agp (percentile profile; not in catalogue)": agp,
}


# --- the peers: the metrics of ours that each has, one patient at a time or grouped ---


def _iglu(df: pd.DataFrame) -> None:
    import iglu_python as iglu  # type: ignore[import-untyped]

    d = df.rename(columns={"glucose": "gl"})
    for fn in (
        iglu.mean_glu,
        iglu.sd_glu,
        iglu.cv_glu,
        iglu.gmi,
        iglu.ea1c,
        iglu.j_index,
        iglu.lbgi,
        iglu.hbgi,
        iglu.m_value,
        iglu.adrr,
        iglu.gri,
        iglu.modd,
        iglu.mag,
        iglu.mage,
        iglu.quantile_glu,
    ):
        fn(d)
    iglu.conga(d, n=1)
    iglu.in_range_percent(d, target_ranges=[[70, 180], [70, 140]])
    iglu.below_percent(d, targets_below=[54, 70])
    iglu.above_percent(d, targets_above=[180, 250])


def _cgmpy(df: pd.DataFrame) -> None:
    from cgmpy.metrics import time_in_range as tir
    from cgmpy.metrics.variability import conga as cg
    from cgmpy.metrics.variability import mage as mg
    from cgmpy.metrics.variability import modd as md
    from cgmpy.metrics.variability import risk

    for _, one in df.groupby("id"):
        s, t = one["glucose"].reset_index(drop=True), one["time"].reset_index(drop=True)
        s.mean(), s.std(), s.quantile([0, 0.25, 0.5, 0.75, 1])
        risk.lbgi(s), risk.hbgi(s), risk.m_value(s), risk.adrr(s, t), risk.gri(s)
        tir.tir(s, 70, 180), tir.tbr(s, 54), tir.tbr(s, 70), tir.tar(s, 180), tir.tar(s, 250)
        md.modd(s, t), cg.conga(s, t, hours=1), mg.mage_simple(s)


def _agp(df: pd.DataFrame) -> None:
    from agp import metrics as am  # type: ignore[import-untyped]

    cfg = {"VERY_LOW": 54, "LOW": 70, "HIGH": 180, "VERY_HIGH": 250}
    cfg |= {"TIGHT_LOW": 70, "TIGHT_HIGH": 140}
    for _, one in df.groupby("id"):
        d = one.rename(columns={"time": "Time", "glucose": "Sensor Reading(mg/dL)"})
        d = d.reset_index(drop=True)
        am.compute_core_metrics(d, cfg), am.compute_variability_metrics(d, cfg)
        am.compute_time_in_range_metrics(d, cfg), am.compute_mag(d, cfg)
        am.compute_m_value(d, cfg), am.compute_percentile_metrics(d, cfg)


def _cgmquantify(df: pd.DataFrame) -> None:
    import cgmquantify as cq  # type: ignore[import-untyped]

    for _, one in df.groupby("id"):
        d = pd.DataFrame({"Time": one["time"].to_numpy(), "Glucose": one["glucose"].to_numpy()})
        d["Day"] = d["Time"].dt.date
        cq.summary(d), cq.interdaysd(d), cq.interdaycv(d), cq.GMI(d), cq.eA1c(d)
        cq.J_index(d), cq.LBGI(d), cq.HBGI(d), cq.ADRR(d), cq.MODD(d.copy()), cq.MAGE(d)


PEERS: dict[str, Callable[[pd.DataFrame], None]] = {
    "iglu-python": _iglu,
    "cgmpy": _cgmpy,
    "agp-tool": _agp,
    "cgmquantify": _cgmquantify,
}


def main() -> None:
    cgm = cohort(PATIENTS, DAYS, seed=SEED).cgm_mgdl
    pid, t, g = readings(cgm)
    n_read = pid.size
    gap_pct = 100.0 * (1 - n_read / cgm.size)

    # (a) the whole catalogue, gridding included (best of 3: the first run also pays
    # for mapping the 207 MB grid's pages)
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        grid = to_grid(pid, t, g, n_patients=PATIENTS)
        t_grid = time.perf_counter() - t0
        t0 = time.perf_counter()
        metrics(grid)
        t_cat = time.perf_counter() - t0
        runs.append((t_grid + t_cat, t_grid, t_cat))
    t_full, t_grid, t_metrics = min(runs)
    # each group alone on one thread (CPU seconds; the catalogue spreads them over the
    # cores); MAGE on the whole grid, as the catalogue finishes it
    group_s = {
        name: timed(lambda fn=fn: fn(grid)) if fn is mage else timed(chunked(grid, fn))
        for name, fn in GROUPS.items()
    }
    tracemalloc.start()
    metrics(to_grid(pid, t, g, n_patients=PATIENTS))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    # (b) the peers on a subset, per patient-day
    sub = (pid < PEER_PATIENTS) & (t < t.min() + PEER_DAYS * 86400)
    frame = pd.DataFrame(
        {
            "id": pid[sub].astype(str),
            "time": pd.to_datetime(t[sub], unit="s"),
            "glucose": g[sub],
        }
    )
    peer_s: dict[str, float] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, fn in PEERS.items():
            peer_s[name] = timed(lambda f=fn: f(frame))  # type: ignore[misc]
    ours_sub = timed(lambda: metrics(to_grid(pid[sub], t[sub], g[sub], n_patients=PEER_PATIENTS)))
    pd_ours = t_full / (PATIENTS * DAYS)
    pd_ours_sub = ours_sub / (PEER_PATIENTS * PEER_DAYS)

    # (c) TIR + mean + CV alone against one NumPy pass
    def tir_mean_cv() -> None:
        for a in range(0, PATIENTS, CHUNK_PATIENTS):
            part = sub_grid(grid, a, min(a + CHUNK_PATIENTS, PATIENTS))
            time_in_ranges(part), summary(part)

    t_tmc = min(timed(tir_mean_cv) for _ in range(3))
    t_floor = min(timed(lambda: np.nansum(grid.mgdl, axis=1)) for _ in range(3))

    def verdict(ok: bool) -> str:
        return "met" if ok else "MISSED"

    size_mb = grid.mgdl.nbytes / 1e6
    print(
        f"analytics benchmark: {PATIENTS} patients x {DAYS} days, {cgm.shape[1]} slots each, "
        f"{n_read:,} readings ({gap_pct:.1f} % of slots without one), grid {size_mb:.0f} MB; "
        f"one run, numpy {np.__version__}, {os.cpu_count()} CPUs"
    )
    print("\n(a) full catalogue                              seconds   share   goal")
    print(f"  to_grid                                      {t_grid:9.3f}  {t_grid / t_full:6.1%}")
    print(
        f"  metrics (whole catalogue)                    {t_metrics:9.3f}  "
        f"{t_metrics / t_full:6.1%}"
    )
    print(
        f"  metrics(to_grid(...)) total                  {t_full:9.3f}  100.0%  "
        f"<= 3 s {verdict(t_full <= 3.0)}"
    )
    print(f"  peak traced memory of that call (tracemalloc) {peak / 1e6:8.0f} MB")
    print(f"  peak RSS of the process (ru_maxrss)           {rss_mb:8.0f} MB")
    print(
        f"  by group, one thread each (same grid, blocks of 64 patients; the catalogue"
        f" runs them on {default_workers()} threads; share of the metrics time):"
    )
    for name, s in sorted(group_s.items(), key=lambda kv: -kv[1]):
        print(f"    {name:<44}{s:8.3f}  {s / t_metrics:6.1%}")
    print(
        f"\n(b) peers on {PEER_PATIENTS} patients x {PEER_DAYS} days "
        f"({int(sub.sum()):,} readings)   s    us/patient-day  ours is"
    )
    print(
        f"  glucogate (same subset)            {ours_sub:8.3f} {pd_ours_sub * 1e6:12.1f}"
        f"  (full run: {pd_ours * 1e6:.1f} us/patient-day)"
    )
    for name, s in sorted(peer_s.items(), key=lambda kv: kv[1]):
        per = s / (PEER_PATIENTS * PEER_DAYS)
        print(f"  {name:<34}{s:8.3f} {per * 1e6:12.1f}  {per / pd_ours:9.0f}x faster")
    fastest = min(peer_s, key=lambda k: peer_s[k])
    ratio = peer_s[fastest] / (PEER_PATIENTS * PEER_DAYS) / pd_ours
    print(
        f"  fastest peer {fastest}: ours {ratio:.0f}x faster per patient-day "
        f"(full-run rate)  goal >= 100x {verdict(ratio >= 100)}"
    )
    print("\n(c) TIR + mean + CV vs one NumPy pass               seconds   ratio")
    print(
        f"  time_in_ranges + summary                         {t_tmc:8.3f} {t_tmc / t_floor:6.1f}x"
    )
    print(f"  np.nansum(grid.mgdl, axis=1)                     {t_floor:8.3f}   1.0x")
    print(f"  goal <= 5x {verdict(t_tmc / t_floor <= 5)} (best of 3 each)")


if __name__ == "__main__":
    main()
