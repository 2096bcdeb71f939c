"""The care plan against what the devices measured: one row per agreed item.

Two steps, so that each can be used alone:

1. :func:`measure` turns one patient's records for a period [start, end) into a plain
   dict of numbers (the keys of :data:`gateway.careplan.plan.METRICS` plus the counts
   the evidence quotes: ``cgm_days``, ``meals``, ``meals_without_bolus`` ...). CGM
   metrics come from :func:`analytics.catalogue.metrics` on the period's 5-min grid,
   insulin ones from :func:`analytics.insulin.insulin_patterns` via
   :mod:`gateway.analyze.insulin`.
2. :func:`evaluate` compares a plan with the current period's dict and, when given,
   the previous period's: agreed, measured, met, trend, evidence and owner per item.

Rules stated once:

* **Time below 70 / above 180** are the consensus's combined bands: < 54 plus 54-69,
  181-250 plus > 250 (Battelino 2019, doi:10.2337/dci19-0028).
* **Pregnancy ranges** (< 63, 63-140, > 140 mg/dL) are counted on the same grid with
  the same half-mg/dL edges as :data:`analytics.ranges.RANGES` (62.5, 140.5).
* **CGM wear** is real readings over the readings possible in the whole period
  (``data_sufficiency_pct`` with the period's length), not first-to-last reading: a
  sensor left off for the last week counts against it. 0 % when the period has other
  records but no CGM; unknown (None) without any record.
* **Meals without a bolus**, **late boluses**, **calculator use**, **overrides**: the
  rules of :mod:`analytics.insulin` (meal = carb entry; bolus from 30 min before to
  90 min after).
* **Site change interval** is counted in local calendar days between consecutive
  changes (an evening change on the third day is "3 days", whatever the hour); the
  measured value is the mean interval. With fewer than two changes in the period, the
  days of pump data since the last change (or since the period start) are a lower
  bound, used only when it already exceeds the agreement.
* **Upload before the visit**: days from the last upload (when the store's upload
  times are given) or else the last record at or before the visit, to the visit.
* **Met** uses the item's operator as written; None when nothing was measured.
* **Trend** compares with the previous period: "same" when the change is smaller than
  the metric's step (1 point for percentages, 0.1 for GMI, 5 mg/dL, 0.25 day for the
  site interval, 1 day for uploads), else "better"/"worse" in the item's direction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import numpy as np

from analytics.catalogue import metrics
from analytics.grid import Grid, to_grid
from analytics.insulin import insulin_patterns, match_meals
from drivers._core.records import BasalSegment, Bolus, DeviceEvent, Food, Record
from gateway.analyze.insulin import insulin_data
from gateway.analyze.summary import cgm_series
from gateway.careplan.plan import METRICS, CarePlan, Item

Measured = dict[str, float | None]
Trend = Literal["better", "worse", "same"]

PREGNANCY_RANGES = {
    "tbr_lt63_pct": (-np.inf, 62.5),
    "tir_63_140_pct": (62.5, 140.5),
    "tar_gt140_pct": (140.5, np.inf),
}
"""Half-open [lo, hi) mg/dL edges of the pregnancy ranges (63-140 includes 63 and 140)."""

_CGM_KEYS = (
    "tir_70_180_pct",
    "tbr_lt70_pct",
    "tbr_lt54_pct",
    "tar_gt180_pct",
    "tar_gt250_pct",
    "tir_70_140_pct",
    "cv_pct",
    "gmi_pct",
    "mean_mgdl",
    "sufficient_data",
    *PREGNANCY_RANGES,
)


@dataclass(frozen=True, slots=True)
class ItemResult:
    """One plan item against the period.

    Attributes:
        id, label, kind: the item (``kind`` is ``"target"`` or ``"agreement"``).
        metric, op, value, unit: what was agreed (``agreed`` gives it as text).
        measured: the period's value in ``unit``; None without data.
        met: whether ``measured op value`` holds; None without data.
        trend: against the previous period; None without both values.
        previous: the previous period's value.
        evidence: what the value rests on (days, counts), for the report.
        owner: the role following up when the item is not met.
    """

    id: str
    label: str
    kind: Literal["target", "agreement"]
    metric: str
    op: str
    value: float
    unit: str
    measured: float | None
    met: bool | None
    trend: Trend | None
    previous: float | None
    evidence: str
    owner: str

    @property
    def agreed(self) -> str:
        return f"{self.op} {self.value:g} {self.unit}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "kind": self.kind,
            "metric": self.metric,
            "agreed": {"op": self.op, "value": self.value, "unit": self.unit},
            "measured": self.measured,
            "met": self.met,
            "trend": self.trend,
            "previous": self.previous,
            "evidence": self.evidence,
            "owner": self.owner,
        }


# ----------------------------------------------------------------------------- measure


def _t(rec: Record) -> float | None:
    return rec.time_utc.timestamp() if rec.time_utc is not None else None


def _pct_in(grid: Grid, lo: float, hi: float) -> float:
    v = grid.mgdl[0]
    valid = np.isfinite(v)
    n = int(valid.sum())
    return float(100.0 * (valid & (v >= lo) & (v < hi)).sum() / n) if n else float("nan")


def _num(value: Any) -> float | None:
    x = float(value)
    return round(x, 3) if np.isfinite(x) else None


def _cgm(records: Sequence[Record], start_s: float, end_s: float, any_records: bool) -> Measured:
    series = cgm_series(records)
    inside = (series.time_s >= start_s) & (series.time_s < end_s)
    t, g = series.time_s[inside], series.mgdl[inside]
    period_days = (end_s - start_s) / 86400.0
    out: Measured = dict.fromkeys(_CGM_KEYS)
    out["cgm_readings"] = float(t.size)
    out["cgm_days"] = float(np.unique(np.floor((t - start_s) / 86400.0)).size)
    if t.size == 0:
        out["cgm_wear_pct"] = 0.0 if any_records else None
        return out
    grid = to_grid(
        np.zeros(t.size, dtype=np.int64),
        t,
        g,
        n_patients=1,
        utc_offset_s=np.asarray([series.utc_offset_s], dtype=np.float64),
        reading_offset_s=series.offset_s[inside],
    )
    m = {name: np.asarray(v)[0] for name, v in metrics(grid, period_days=period_days).items()}
    out["tbr_lt70_pct"] = _num(m["tbr_lt54_pct"] + m["tbr_54_69_pct"])
    out["tar_gt180_pct"] = _num(m["tar_181_250_pct"] + m["tar_gt250_pct"])
    for name in ("tir_70_180_pct", "tbr_lt54_pct", "tar_gt250_pct", "tir_70_140_pct"):
        out[name] = _num(m[name])
    for name in ("cv_pct", "gmi_pct", "mean_mgdl", "sufficient_data"):
        out[name] = _num(m[name])
    out["cgm_wear_pct"] = _num(m["data_sufficiency_pct"])
    for name, (lo, hi) in PREGNANCY_RANGES.items():
        out[name] = _num(_pct_in(grid, lo, hi))
    return out


def _site_events(records: Sequence[Record]) -> list[DeviceEvent]:
    """Site changes by the rule of :func:`gateway.analyze.insulin.insulin_data`:
    ``site-change`` events, or cannula primes when the device reports none."""
    events = [r for r in records if isinstance(r, DeviceEvent) and r.time_utc is not None]
    sites = [e for e in events if e.event_type == "site-change"] or [
        e for e in events if e.event_type == "prime" and (e.detail or "").startswith("cannula")
    ]
    return sorted(sites, key=lambda e: e.device_time)


def _insulin(in_period: Sequence[Record], start: datetime, end: datetime) -> Measured:
    out: Measured = dict.fromkeys(
        (
            "missed_meal_bolus_pct",
            "late_bolus_pct",
            "calculator_use_pct",
            "override_pct",
            "site_change_interval_days",
            "site_change_longest_days",
        )
    )
    pump = [r for r in in_period if isinstance(r, (Bolus, BasalSegment, Food))]
    times = [r.time_utc for r in pump if r.time_utc is not None]
    out["pump_days"] = 0.0
    if not times:
        return out
    data = insulin_data(in_period, start=start, end=end)
    pat = {name: float(v[0]) for name, v in insulin_patterns(data).items()}
    chosen, late = match_meals(data)
    n_calc = int(np.isfinite(data.bolus_recommended_u).sum())
    out.update(
        meals=float(data.meal_s.size),
        meals_without_bolus=float((chosen < 0).sum()),
        late_boluses=float(late.sum()),
        boluses=float(data.bolus_s.size),
        calculator_boluses=float(n_calc),
        overrides=float(round(pat["override_pct"] * n_calc / 100.0)) if n_calc else 0.0,
    )
    for name in ("missed_meal_bolus_pct", "late_bolus_pct", "calculator_use_pct", "override_pct"):
        out[name] = _num(pat[name])
    first, last = min(times), max(times)
    pump_days = (last - first).total_seconds() / 86400.0
    out["pump_days"] = round(pump_days, 3)
    sites = _site_events(in_period)
    out["site_changes"] = float(len(sites))
    days = [e.device_time.date().toordinal() for e in sites]
    gaps = np.diff(days).astype(float)
    if gaps.size:
        out["site_change_interval_days"] = _num(gaps.mean())
        out["site_change_longest_days"] = float(gaps.max())
    else:  # no complete interval: the time without a change is a lower bound
        since = (sites[-1].time_utc if sites else None) or first
        out["site_change_open_days"] = round((last - since).total_seconds() / 86400.0, 3)
    return out


def measure(
    records: Sequence[Record],
    *,
    start: datetime,
    end: datetime,
    visit: datetime | None = None,
    uploads: Sequence[datetime] = (),
) -> Measured:
    """One patient's measured values for the period [start, end) (module docstring).

    Args:
        records: the patient's normalized records (any period; filtered here).
        start, end: the period, aware datetimes.
        visit: the clinic visit, for ``upload_days_before_visit`` (None: not measured).
        uploads: when the store knows them, the times uploads arrived; else the last
            record's time stands for the last upload.

    Returns:
        metric name -> value (None = not measurable), plus the evidence counts
        ``period_days``, ``cgm_days``, ``cgm_readings``, ``sufficient_data``, ``meals``,
        ``meals_without_bolus``, ``late_boluses``, ``boluses``, ``calculator_boluses``,
        ``overrides``, ``pump_days``, ``site_changes``, ``site_change_longest_days``,
        ``site_change_open_days``, ``last_upload_s`` and ``visit_s`` (UTC seconds).
    """
    start_s, end_s = start.timestamp(), end.timestamp()
    in_period = [
        r
        for r in records
        if (t := _t(r)) is not None
        and (
            start_s <= t < end_s
            or (  # a basal segment running into the period
                isinstance(r, BasalSegment)
                and r.duration_s is not None
                and t < start_s < t + r.duration_s
            )
        )
    ]
    out: Measured = {"period_days": round((end_s - start_s) / 86400.0, 3)}
    out.update(_cgm(records, start_s, end_s, any_records=bool(in_period)))
    out.update(_insulin(in_period, start, end))
    out["upload_days_before_visit"] = out["last_upload_s"] = out["visit_s"] = None
    if visit is not None:
        vs = visit.timestamp()
        candidates = [u.timestamp() for u in uploads] or [t for r in records if (t := _t(r))]
        before = [t for t in candidates if t <= vs]
        out["visit_s"] = vs
        if before:
            out["last_upload_s"] = max(before)
            out["upload_days_before_visit"] = round((vs - max(before)) / 86400.0, 3)
    return out


def measure_periods(
    records: Sequence[Record],
    *,
    end: datetime,
    days: int = 14,
    visit: datetime | None = None,
    uploads: Sequence[datetime] = (),
) -> tuple[Measured, Measured]:
    """The last ``days`` before ``end`` and the ``days`` before them, for
    :func:`evaluate` (the visit is measured in the current period only)."""
    span = timedelta(days=days)
    current = measure(records, start=end - span, end=end, visit=visit, uploads=uploads)
    previous = measure(records, start=end - 2 * span, end=end - span)
    return current, previous


# ---------------------------------------------------------------------------- evaluate


def _n(m: Mapping[str, float | None], key: str) -> int:
    value = m.get(key)
    return 0 if value is None else round(value)


def _evidence(item: Item, m: Mapping[str, float | None]) -> str:
    metric = item.metric
    period = _n(m, "period_days")
    if metric == "missed_meal_bolus_pct":
        return f"{_n(m, 'meals_without_bolus')} of {_n(m, 'meals')} meals without a bolus"
    if metric == "late_bolus_pct":
        return f"{_n(m, 'late_boluses')} of {_n(m, 'meals')} meals bolused more than 15 min late"
    if metric == "calculator_use_pct":
        return f"{_n(m, 'calculator_boluses')} of {_n(m, 'boluses')} boluses with the calculator"
    if metric == "override_pct":
        return f"{_n(m, 'overrides')} of {_n(m, 'calculator_boluses')} calculator boluses changed"
    if metric == "site_change_interval_days":
        changes = _n(m, "site_changes")
        mean = m.get("site_change_interval_days")
        if mean is not None and m.get("site_change_longest_days") is not None:
            return (
                f"{changes} site changes, every {mean:.1f} days on average,"
                f" longest {m['site_change_longest_days']:g} d"
            )
        open_days = m.get("site_change_open_days")
        if open_days is not None:
            return f"{changes} site change(s) in the period, {open_days:.1f} days without a change"
        return "no pump data in the period"
    if metric == "upload_days_before_visit":
        if m.get("visit_s") is None:
            return "no visit date given"
        visit = datetime.fromtimestamp(m["visit_s"] or 0.0, tz=UTC).date().isoformat()
        if m.get("upload_days_before_visit") is None:
            return f"no data before the visit on {visit}"
        return f"last data {m['upload_days_before_visit']:.1f} days before the visit on {visit}"
    text = f"days with CGM {_n(m, 'cgm_days')}/{period}, {_n(m, 'cgm_readings')} readings"
    if metric != "cgm_wear_pct" and m.get("sufficient_data") == 0.0:
        text += " (less than the consensus's 14 days with 70 % of readings)"
    return text


def _measured(item: Item, m: Mapping[str, float | None]) -> float | None:
    value = m.get(item.metric)
    if item.metric == "site_change_interval_days" and value is None:
        open_days = m.get("site_change_open_days")
        if open_days is not None and open_days > item.value:
            return open_days  # a lower bound that already breaks the agreement
    return value


def _trend(item: Item, now: float | None, before: float | None) -> Trend | None:
    if now is None or before is None:
        return None
    diff = now - before
    if abs(diff) < METRICS[item.metric].trend_step:
        return "same"
    return "better" if (diff < 0) == item.lower_is_better else "worse"


def evaluate(
    plan: CarePlan,
    current: Mapping[str, float | None],
    previous: Mapping[str, float | None] | None = None,
) -> list[ItemResult]:
    """Every plan item (targets, then agreements) against the measured dicts of
    :func:`measure` for the current and, optionally, the previous period."""
    out: list[ItemResult] = []
    for kind, items in (("target", plan.targets), ("agreement", plan.agreements)):
        for item in items:
            now = _measured(item, current)
            before = None if previous is None else _measured(item, previous)
            out.append(
                ItemResult(
                    id=item.id,
                    label=item.title,
                    kind=kind,  # type: ignore[arg-type]
                    metric=item.metric,
                    op=item.op,
                    value=item.value,
                    unit=item.unit,
                    measured=now,
                    met=None if now is None else item.met_by(now),
                    trend=_trend(item, now, before),
                    previous=before,
                    evidence=_evidence(item, current),
                    owner=plan.owner(item),
                )
            )
    return out
