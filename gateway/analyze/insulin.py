"""From one patient's stored pump records to the insulin and bolus-pattern metrics
(analytics/insulin.py does the arithmetic)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime

import numpy as np

from analytics.insulin import (
    BASAL_SCHEDULED,
    BASAL_SUSPEND,
    BASAL_TEMP,
    InsulinData,
    insulin_patterns,
    site_changes,
)
from drivers._core.records import BasalSegment, Bolus, DeviceEvent, Food, Record

_KIND = {"scheduled": BASAL_SCHEDULED, "automated": BASAL_SCHEDULED, "temp": BASAL_TEMP}


def _utc(rec: Record) -> float | None:
    return rec.time_utc.timestamp() if rec.time_utc is not None else None


def _local(rec: Record) -> float:
    """Wall-clock seconds: the device time read as if it were UTC."""
    return rec.device_time.replace(tzinfo=None).timestamp() - datetime(1970, 1, 1).timestamp()


def insulin_data(records: Sequence[Record], *, start: datetime, end: datetime) -> InsulinData:
    """One patient's pump records as the arrays of :class:`analytics.insulin.InsulinData`.

    Meals are carb entries (``Food``); site changes are ``site-change`` events, or a
    cannula ``prime`` when the device reports no site-change event.
    """
    bol = [r for r in records if isinstance(r, Bolus) and r.time_utc is not None]
    meals = [r for r in records if isinstance(r, Food) and r.time_utc and r.carbs_g]
    basal = [r for r in records if isinstance(r, BasalSegment) and r.time_utc and r.duration_s]
    events = [r for r in records if isinstance(r, DeviceEvent) and r.time_utc is not None]
    sites = [e for e in events if e.event_type == "site-change"] or [
        e for e in events if e.event_type == "prime" and (e.detail or "").startswith("cannula")
    ]
    nan = float("nan")

    def calc(b: Bolus, field: str) -> float:
        value = getattr(b.calculation, field, None) if b.calculation else None
        return nan if value is None else float(value)

    f = np.array
    return InsulinData(
        n_patients=1,
        start_s=f([start.timestamp()]),
        end_s=f([end.timestamp()]),
        bolus_patient=np.zeros(len(bol), dtype=np.int64),
        bolus_s=f([_utc(b) for b in bol], dtype=float),
        bolus_local_s=f([_local(b) for b in bol], dtype=float),
        bolus_delivered_u=f([b.delivered_u + b.extended_delivered_u for b in bol], dtype=float),
        bolus_programmed_u=f([b.programmed_u + b.extended_programmed_u for b in bol], dtype=float),
        bolus_recommended_u=f([calc(b, "recommended_total_u") for b in bol], dtype=float),
        bolus_carbs_g=f([calc(b, "carbs_g") for b in bol], dtype=float),
        bolus_correction_u=f([calc(b, "recommended_correction_u") for b in bol], dtype=float),
        meal_patient=np.zeros(len(meals), dtype=np.int64),
        meal_s=f([_utc(m) for m in meals], dtype=float),
        meal_carbs_g=f([m.carbs_g for m in meals], dtype=float),
        basal_patient=np.zeros(len(basal), dtype=np.int64),
        basal_start_s=f([_utc(s) for s in basal], dtype=float),
        basal_duration_s=f([s.duration_s for s in basal], dtype=float),
        basal_rate_u_per_h=f([s.rate_u_per_h for s in basal], dtype=float),
        basal_kind=f([_KIND.get(s.basal_type, BASAL_SUSPEND) for s in basal], dtype=np.int64),
        site_patient=np.zeros(len(sites), dtype=np.int64),
        site_s=f([_utc(e) for e in sites], dtype=float),
    )


def pump_period(records: Sequence[Record]) -> tuple[datetime, datetime] | None:
    """UTC span of the pump records (boluses, basal), or None without any."""
    times = [r.time_utc for r in records if isinstance(r, (Bolus, BasalSegment)) and r.time_utc]
    if not times:
        return None
    ends = [
        r.time_utc.timestamp() + r.duration_s
        for r in records
        if isinstance(r, BasalSegment) and r.time_utc and r.duration_s
    ]
    last = max([t.timestamp() for t in times] + ends)
    return min(times), datetime.fromtimestamp(last, tz=min(times).tzinfo)


def patient_insulin(
    records: Sequence[Record], *, start: datetime, end: datetime
) -> dict[str, float | None]:
    """The insulin metrics for one patient as plain values (None = not computable)."""
    data = insulin_data(records, start=start, end=end)
    patterns = insulin_patterns(data)
    # reservoir (cartridge) changes, by the same counting as site changes: a
    # ``reservoir-change`` event, or a ``rewind`` where the pump logs only that (Medtronic)
    events = [r for r in records if isinstance(r, DeviceEvent) and r.time_utc is not None]
    fills = [e for e in events if e.event_type == "reservoir-change"] or [
        e for e in events if e.event_type == "rewind"
    ]
    refills = site_changes(
        dataclasses.replace(
            data,
            site_patient=np.zeros(len(fills), dtype=np.int64),
            site_s=np.array([_utc(e) for e in fills], dtype=float),
        )
    )
    patterns["reservoir_changes"] = refills["site_changes"]
    patterns["reservoir_change_interval_h"] = refills["site_change_interval_h"]
    out: dict[str, float | None] = {}
    for name, values in patterns.items():
        value = float(values[0])
        out[name] = round(value, 3) if np.isfinite(value) else None
    return out
