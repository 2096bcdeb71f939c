"""From stored records to the metric catalogue (analytics/ does the arithmetic).

This is the one place where out-of-range CGM readings become numbers for analytics:
a High/Low reading counts at the sensor's reporting limit (Dexcom 400/40 mg/dL,
Libre 500/40), as the vendor portals compute their statistics (see analytics.grid).
Records keep the flag; only the arrays handed to analytics carry the limit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray

from analytics.catalogue import metrics
from analytics.grid import to_grid
from analytics.mage_classic import mage_classic
from analytics.risk import gri_zone_label
from analytics.windows import STANDARD_DAYS, change, last_days, window_metrics
from drivers._core.records import GlucoseSample, Record


@dataclass(frozen=True, slots=True)
class CgmSeries:
    """One patient's CGM readings as arrays: UTC seconds, mg/dL (limits substituted)."""

    time_s: NDArray[np.float64]
    mgdl: NDArray[np.float64]
    offset_s: NDArray[np.float64]
    utc_offset_s: int
    first_utc: datetime | None
    last_utc: datetime | None


def cgm_series(records: Sequence[Record]) -> CgmSeries:
    """Extract CGM readings; High/Low count at the sensor's reporting limit."""
    times: list[float] = []
    values: list[float] = []
    offsets: list[int] = []
    first: datetime | None = None
    last: datetime | None = None
    for rec in records:
        if not isinstance(rec, GlucoseSample) or rec.sample_type != "cgm" or rec.time_utc is None:
            continue
        value = rec.glucose_mgdl
        if value is None and rec.special in ("high", "low"):
            value = rec.reporting_limit_mgdl
        if value is None:
            continue
        times.append(rec.time_utc.timestamp())
        values.append(float(value))
        offsets.append(rec.utc_offset_s or 0)
        first = rec.time_utc if first is None or rec.time_utc < first else first
        last = rec.time_utc if last is None or rec.time_utc > last else last
    offset = int(np.median(offsets)) if offsets else 0
    return CgmSeries(
        np.asarray(times, float),
        np.asarray(values, float),
        np.asarray(offsets, float),
        offset,
        first,
        last,
    )


def patient_metrics(series: CgmSeries) -> dict[str, float | int | str | None]:
    """The metric catalogue for one patient as plain Python values (None = not computable)."""
    grid = to_grid(
        np.zeros(series.time_s.shape, dtype=np.int64),
        series.time_s,
        series.mgdl,
        n_patients=1,
        utc_offset_s=np.asarray([series.utc_offset_s], dtype=np.float64),
        reading_offset_s=series.offset_s,
    )
    values = metrics(grid)
    # the classic (Service 1970 / Baghurst 2011) MAGE next to iglu's default, for
    # comparison with older studies; per patient only (its elimination is sequential)
    values["mage_classic_mgdl"] = mage_classic(grid)
    return _plain(values, 0)


def _plain(values: Mapping[str, Any], row: int) -> dict[str, float | int | str | None]:
    """Row ``row`` of a catalogue as JSON values: 3 decimals, None when not computable,
    the GRI zone as its letter."""
    out: dict[str, float | int | str | None] = {}
    for name, column in values.items():
        if name == "gri_zone":
            out[name] = gri_zone_label(float(column[row]))
            continue
        value = column[row].item() if hasattr(column[row], "item") else column[row]
        if isinstance(value, float) and not np.isfinite(value):
            value = None
        elif isinstance(value, float):
            value = round(value, 3)
        out[name] = value
    return out


def window_summaries(
    series: CgmSeries, days: Sequence[int] = STANDARD_DAYS
) -> dict[str, dict[str, float | int | str | None]]:
    """The catalogue over the last 14/30/90 days before the last reading, and the last
    14 days' change against the 14 days before them (``change_14d``)."""
    if series.time_s.size == 0:
        return {}
    end = np.asarray([series.time_s.max() + 1.0])
    pid = np.zeros(series.time_s.shape, dtype=np.int64)
    out = {
        f"last_{d}d": _plain(w, 0)
        for d, w in last_days(
            pid,
            series.time_s,
            series.mgdl,
            end_s=end,
            days=days,
            reading_offset_s=series.offset_s,
        ).items()
    }
    fortnight = 14 * 86400.0
    now, before = (
        window_metrics(
            pid,
            series.time_s,
            series.mgdl,
            start_s=end - fortnight * k,
            end_s=end - fortnight * (k - 1),
            reading_offset_s=series.offset_s,
        )
        for k in (1, 2)
    )
    out["change_14d"] = _plain(change(now, before), 0)
    return out
