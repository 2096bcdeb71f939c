"""The metric catalogue: every metric for every patient of a grid, by name.

One call computes the whole catalogue for a batch of patients; each entry is a
(patients,) array. The names are the JSON contract of ``glucogate metrics --json`` and
of the MQTT summary (units in the name: ``_mgdl``, ``_pct``, ``_mgdl_per_h``; risk
indices are dimensionless). Definitions, references and edge cases are in the module of
each group:

- :mod:`analytics.ranges`: time in the consensus ranges and tight range, wear, days with
  data, data sufficiency (Battelino 2019, doi:10.2337/dci19-0028);
- :mod:`analytics.summary`: mean, SD, CV, GMI, eA1c, J-index, M-value, quantiles;
- :mod:`analytics.variability`: MODD, CONGA(1), MAG; :mod:`analytics.mage`: MAGE;
- :mod:`analytics.risk`: LBGI, HBGI, ADRR, GRI and its zone;
- :mod:`analytics.events`: consensus hypo- and hyperglycaemia events.

Out-of-range readings reported only as High/Low count at the sensor's reporting limit
(Dexcom 40/400, Libre 40/500 mg/dL) in every metric, as the vendor portals do; the
caller substitutes the limit before gridding (``gateway.analyze.summary``).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numpy.typing import NDArray

from analytics.events import event_metrics
from analytics.grid import Grid, default_workers, sub_grid
from analytics.mage import mage, mage_block, mage_finish
from analytics.ranges import (
    RANGES,
    days_with_data,
    native_slots,
    sufficiency,
    time_in_ranges,
    wear_pct,
)
from analytics.risk import gri_from_ranges, risk_indices
from analytics.summary import quantiles, summary
from analytics.variability import conga, mag, modd

__all__ = ["RANGES", "metrics"]


CHUNK_PATIENTS = 64
"""Patients computed together: large enough to vectorize the per-slot work, small
enough that each working array (64 x 25,920 slots x 8 bytes = 13 MB for 90 days) is
reused from the heap instead of being mapped, page-faulted and freed for every step."""


def metrics(
    grid: Grid,
    *,
    period_days: float | None = None,
    chunk_patients: int = CHUNK_PATIENTS,
    workers: int | None = None,
) -> dict[str, NDArray[np.generic]]:
    """Every metric of the catalogue, one value per patient.

    Parameters
    ----------
    grid : Grid
        Many patients' CGM on the 5-min grid (:func:`analytics.grid.to_grid`).
    period_days : float, optional
        Length of the report window, for data sufficiency; default: first to last reading.
    chunk_patients : int
        Patients per block (:data:`CHUNK_PATIENTS`); the result does not depend on it.
    workers : int, optional
        Threads computing blocks side by side (default
        :func:`analytics.grid.default_workers`). NumPy
        releases the GIL inside its array loops, so blocks of patients run in parallel
        on several cores; every patient's values are computed by the same code whatever
        the number of threads, so the result does not depend on it either.

    Examples
    --------
    >>> from analytics.grid import to_grid
    >>> t = np.arange(0, 86400, 300.0)
    >>> m = metrics(to_grid(np.zeros(t.size, int), t, np.full(t.size, 120.0)))
    >>> float(m["tir_70_180_pct"][0]), float(m["gri"][0]), float(m["gri_zone"][0])
    (100.0, 0.0, 0.0)
    """
    p = grid.mgdl.shape[0]
    n_threads = default_workers() if workers is None else max(1, workers)
    blocks = [(a, min(a + chunk_patients, p)) for a in range(0, p, chunk_patients)]
    if n_threads == 1 or len(blocks) <= 1:
        parts = [_metrics(sub_grid(grid, a, b), period_days) for a, b in blocks] or [
            _metrics(grid, period_days)
        ]
        # MAGE blocks its whole-array steps itself and scans all patients' turning
        # points together, so it runs once over the whole grid
        mages = [mage(grid)]
    else:
        # MAGE's turning points block by block alongside the other metrics' blocks (all
        # whole-array NumPy work, GIL released), then its excursion scans once
        with ThreadPoolExecutor(max_workers=n_threads) as pool:
            mage_jobs = [pool.submit(mage_block, grid, a, b) for a, b in blocks]
            part_jobs = [
                pool.submit(_metrics, sub_grid(grid, a, b), period_days) for a, b in blocks
            ]
            mage_parts = [job.result() for job in mage_jobs]
            parts = [job.result() for job in part_jobs]
        mages = [mage_finish(mage_parts, p, slot_s=grid.slot_s)]
    out = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
    out["mage_mgdl"] = np.concatenate(mages)
    return out


def _metrics(grid: Grid, period_days: float | None) -> dict[str, NDArray[np.generic]]:
    out: dict[str, NDArray[np.generic]] = {"n_readings": grid.n_readings}
    ranges = time_in_ranges(grid)
    out.update(ranges)
    out.update(summary(grid))
    native = native_slots(grid)
    out["wear_pct"] = wear_pct(grid, native=native)
    out["days_with_data"] = days_with_data(grid)
    out.update(sufficiency(grid, period_days=period_days, native=native))
    out.update(quantiles(grid))
    out["mag_mgdl_per_h"] = mag(grid)
    out["modd_mgdl"] = modd(grid)
    out["conga1_mgdl"] = conga(grid, hours=1)
    out.update(risk_indices(grid))
    out.update(gri_from_ranges(ranges))
    out.update(event_metrics(grid))
    return out
