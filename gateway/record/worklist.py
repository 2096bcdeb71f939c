"""The care team's worklist: every patient in exactly one priority group, with the reason.

Modelled on Tidepool's TIDE dashboard (tidepool-org/clinic ``patients/repository``,
``defaultOrderedCategoryNames``; summarised in shared/reference/clinical-and-landscape.md
section 1.4): groups are evaluated **in priority order and are mutually exclusive** -- a
patient lands in the first group whose rule matches. Our order:

===  =================  ==========================================================
 #   group              rule (on the period's metrics; thresholds from the patient's
                        care plan where it sets them, else the consensus defaults)
===  =================  ==========================================================
 0   ``data_issues``    no CGM data in the period, or the last data older than the
                        recency cutoff (TIDE lists these apart: nothing else can be
                        judged without current data)
 1   ``very_low``       time < 54 mg/dL >= 1 %
 2   ``low``            time < 70 mg/dL >= 4 %
 3   ``very_high``      time > 250 mg/dL >= 5 %
 4   ``high``           time > 180 mg/dL >= 25 %
 5   ``tir_drop``       time in 70-180 fell >= 15 points against the previous period
 6   ``low_wear``       CGM wear < 70 %
 7   ``low_tir``        time in range below target (TIDE's optional "Low Time in Range")
 8   ``meeting``        everything within target
===  =================  ==========================================================

Boundaries: TIDE's server compares with ``>`` while its UI labels say ``>=``; the
consensus targets read "< 1 %", so 1.00 % is *not* meeting the target and we use ``>=``
for every "at least" rule (tested at the boundary). ``low_tir`` makes the groups cover
every patient (TIDE leaves such patients out of its capped report).

Targets: the 2019 consensus (Battelino et al., Diabetes Care 2019;42:1593-1603,
doi:10.2337/dci19-0028): general adult T1/T2 and older/high-risk. Pregnancy targets
use the 63-140 mg/dL range, which the gateways' summary does not carry yet: a plan with
that preset gets its own thresholds given explicitly, or is judged on the general ones
with a note in the reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gateway.careplan.plan import DEFAULT_OWNERS as SITE_DEFAULT_OWNERS

FloatArray = NDArray[np.float64]

GROUPS = (
    "data_issues",
    "very_low",
    "low",
    "very_high",
    "high",
    "tir_drop",
    "low_wear",
    "low_tir",
    "meeting",
)
"""Worklist groups in priority order (index = priority)."""

GROUP_TITLES = {
    "data_issues": "Data issues",
    "very_low": "Very low",
    "low": "Low",
    "very_high": "Very high",
    "high": "High",
    "tir_drop": "Large drop in time in range",
    "low_wear": "Low CGM wear",
    "low_tir": "Low time in range",
    "meeting": "Meeting targets",
}

DEFAULT_ROLES = {group: SITE_DEFAULT_OWNERS[group] for group in GROUPS}
"""Site default owner of each group's follow-up (one role each, so no work is done twice);
a care plan may override it per patient."""


@dataclass(frozen=True, slots=True)
class Targets:
    """Agreed glycaemic targets (percent of time) and worklist cut-offs."""

    very_low_max_pct: float = 1.0  # time < 54 mg/dL below this
    low_max_pct: float = 4.0  # time < 70 mg/dL (incl. < 54) below this
    very_high_max_pct: float = 5.0  # time > 250 mg/dL below this
    high_max_pct: float = 25.0  # time > 180 mg/dL (incl. > 250) below this
    tir_min_pct: float = 70.0  # time in 70-180 above this
    wear_min_pct: float = 70.0  # CGM wear at least this
    tir_drop_points: float = 15.0  # a fall of this many points is flagged
    recency_days: float = 14.0  # last data older than this is a data issue
    note: str = ""


THRESHOLDS = (
    "very_low_max_pct",
    "low_max_pct",
    "very_high_max_pct",
    "high_max_pct",
    "tir_min_pct",
    "wear_min_pct",
    "tir_drop_points",
    "recency_days",
)
"""The numeric fields of :class:`Targets` (those :func:`classify` takes)."""

PRESETS: dict[str, Targets] = {
    "general": Targets(),
    # older / high-risk: < 1 % below 70, < 10 % above 250, > 50 % in range; the
    # consensus sets no separate < 54 target (it is inside < 70 < 1 %) nor a > 180 one
    # beyond "< 50 %" (Battelino 2019, table 4)
    "older_high_risk": Targets(
        very_low_max_pct=1.0,
        low_max_pct=1.0,
        very_high_max_pct=10.0,
        high_max_pct=50.0,
        tir_min_pct=50.0,
    ),
    "pregnancy": Targets(note="pregnancy targets (63-140 mg/dL) judged on 70-180 metrics"),
}


@dataclass(frozen=True, slots=True)
class PatientMetrics:
    """One patient's period metrics as the gateways publish them (catalogue names)."""

    pseudonym: str
    tbr_lt54_pct: float = np.nan
    tbr_54_69_pct: float = np.nan
    tar_181_250_pct: float = np.nan
    tar_gt250_pct: float = np.nan
    tir_70_180_pct: float = np.nan
    wear_pct: float = np.nan
    previous_tir_70_180_pct: float = np.nan
    days_since_data: float = np.nan
    targets: Targets = field(default_factory=Targets)
    roles: Mapping[str, str] = field(default_factory=dict)
    contact: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_summary(
        cls,
        pseudonym: str,
        metrics: Mapping[str, Any],
        *,
        previous: Mapping[str, Any] | None = None,
        days_since_data: float = np.nan,
        targets: Targets | None = None,
        roles: Mapping[str, str] | None = None,
        contact: Mapping[str, str] | None = None,
    ) -> PatientMetrics:
        def num(source: Mapping[str, Any] | None, name: str) -> float:
            value = None if source is None else source.get(name)
            return float(value) if isinstance(value, (int, float)) else np.nan

        return cls(
            pseudonym=pseudonym,
            tbr_lt54_pct=num(metrics, "tbr_lt54_pct"),
            tbr_54_69_pct=num(metrics, "tbr_54_69_pct"),
            tar_181_250_pct=num(metrics, "tar_181_250_pct"),
            tar_gt250_pct=num(metrics, "tar_gt250_pct"),
            tir_70_180_pct=num(metrics, "tir_70_180_pct"),
            wear_pct=num(metrics, "wear_pct"),
            previous_tir_70_180_pct=(
                num(previous, "tir_70_180_pct")
                if previous is not None or not np.isfinite(num(metrics, "tir_change_14d_points"))
                # the gateway's own comparison: the last 14 days against the 14 before
                else num(metrics, "tir_70_180_pct") - num(metrics, "tir_change_14d_points")
            ),
            days_since_data=days_since_data,
            targets=targets or Targets(),
            roles=dict(roles or {}),
            contact=dict(contact or {}),
        )


@dataclass(frozen=True, slots=True)
class WorklistEntry:
    pseudonym: str
    group: str
    priority: int
    role: str
    reason: str
    contact: Mapping[str, str]


def classify(
    *,
    very_low: FloatArray,
    low: FloatArray,
    very_high: FloatArray,
    high: FloatArray,
    tir: FloatArray,
    wear: FloatArray,
    previous_tir: FloatArray,
    days_since_data: FloatArray,
    targets: Mapping[str, FloatArray],
) -> NDArray[np.int64]:
    """Group index (into :data:`GROUPS`) of every patient, vectorized.

    Parameters
    ----------
    very_low, low, very_high, high : (patients,) percent of time < 54, < 70 (including
        < 54), > 250 and > 180 (including > 250) mg/dL.
    tir, previous_tir : (patients,) percent of time in 70-180 mg/dL now and in the
        previous period (NaN: no previous period, no drop).
    wear : (patients,) percent of the period with CGM data.
    days_since_data : (patients,) days from the last reading to the report date.
    targets : arrays (or scalars) named like the :class:`Targets` fields.

    Returns
    -------
    (patients,) int64, the first matching group in priority order.

    Examples
    --------
    >>> a = lambda *v: np.array(v, dtype=float)
    >>> g = classify(very_low=a(1.0, 0.99), low=a(2, 3.9), very_high=a(0, 0), high=a(5, 5),
    ...              tir=a(90, 90), wear=a(95, 95), previous_tir=a(np.nan, 92),
    ...              days_since_data=a(0, 0), targets={})
    >>> [GROUPS[i] for i in g]  # 1.00 % < 54 is not meeting "< 1 %"
    ['very_low', 'meeting']
    """
    t = {
        name: np.asarray(targets.get(name, getattr(Targets(), name)), dtype=float)
        for name in THRESHOLDS
    }
    no_data = ~np.isfinite(tir) | ~(days_since_data <= t["recency_days"])
    with np.errstate(invalid="ignore"):
        rules = [
            no_data,
            very_low >= t["very_low_max_pct"],
            low >= t["low_max_pct"],
            very_high >= t["very_high_max_pct"],
            high >= t["high_max_pct"],
            (previous_tir - tir) >= t["tir_drop_points"],
            wear < t["wear_min_pct"],
            tir <= t["tir_min_pct"],
            np.ones(tir.shape, dtype=bool),
        ]
    matched = np.stack(rules)  # (groups, patients); the last row always matches
    out: NDArray[np.int64] = np.argmax(matched, axis=0).astype(np.int64)
    return out


def _fmt(value: float) -> str:
    return f"{value:.1f}"


def _reason(group: str, p: PatientMetrics, low: float, high: float) -> str:
    t = p.targets
    note = f" ({t.note})" if t.note else ""
    if group == "data_issues":
        if not np.isfinite(p.tir_70_180_pct):
            return "no CGM data in the period"
        return f"last CGM data {p.days_since_data:.0f} days ago (cutoff {t.recency_days:.0f})"
    texts = {
        "very_low": f"time < 54 mg/dL {_fmt(p.tbr_lt54_pct)} % (target < {t.very_low_max_pct:g} %)",
        "low": f"time < 70 mg/dL {_fmt(low)} % (target < {t.low_max_pct:g} %)",
        "very_high": f"time > 250 mg/dL {_fmt(p.tar_gt250_pct)} %"
        f" (target < {t.very_high_max_pct:g} %)",
        "high": f"time > 180 mg/dL {_fmt(high)} % (target < {t.high_max_pct:g} %)",
        "tir_drop": f"time in range {_fmt(p.tir_70_180_pct)} %, down"
        f" {_fmt(p.previous_tir_70_180_pct - p.tir_70_180_pct)} points"
        f" (flag at {t.tir_drop_points:g})",
        "low_wear": f"CGM wear {_fmt(p.wear_pct)} % (target >= {t.wear_min_pct:g} %)",
        "low_tir": f"time in range {_fmt(p.tir_70_180_pct)} % (target > {t.tir_min_pct:g} %)",
        "meeting": f"time in range {_fmt(p.tir_70_180_pct)} %, all targets met",
    }
    return texts[group] + note


def worklist(
    patients: Sequence[PatientMetrics], *, site_roles: Mapping[str, str] | None = None
) -> list[WorklistEntry]:
    """Every patient's group, owning role and reason, sorted by priority, then by the
    group's measure (worst first, as TIDE sorts)."""
    if not patients:
        return []

    def col(name: str) -> FloatArray:
        return np.array([getattr(p, name) for p in patients], dtype=float)

    low = col("tbr_lt54_pct") + col("tbr_54_69_pct")
    high = col("tar_181_250_pct") + col("tar_gt250_pct")
    targets = {
        name: np.array([getattr(p.targets, name) for p in patients], dtype=float)
        for name in THRESHOLDS
    }
    groups = classify(
        very_low=col("tbr_lt54_pct"),
        low=low,
        very_high=col("tar_gt250_pct"),
        high=high,
        tir=col("tir_70_180_pct"),
        wear=col("wear_pct"),
        previous_tir=col("previous_tir_70_180_pct"),
        days_since_data=col("days_since_data"),
        targets=targets,
    )
    roles = {**DEFAULT_ROLES, **(site_roles or {})}
    sort_key = {
        "data_issues": -col("days_since_data"),
        "very_low": -col("tbr_lt54_pct"),
        "low": -low,
        "very_high": -col("tar_gt250_pct"),
        "high": -high,
        "tir_drop": col("tir_70_180_pct") - col("previous_tir_70_180_pct"),
        "low_wear": col("wear_pct"),
        "low_tir": col("tir_70_180_pct"),
        "meeting": -col("tir_70_180_pct"),
    }
    entries = []
    for i, p in enumerate(patients):
        group = GROUPS[int(groups[i])]
        entries.append(
            (
                int(groups[i]),
                float(np.nan_to_num(sort_key[group][i], nan=np.inf)),
                p.pseudonym,
                WorklistEntry(
                    pseudonym=p.pseudonym,
                    group=group,
                    priority=int(groups[i]),
                    role=p.roles.get(group, roles[group]),
                    reason=_reason(group, p, float(low[i]), float(high[i])),
                    contact=p.contact,
                ),
            )
        )
    entries.sort(key=lambda e: e[:3])
    return [e[3] for e in entries]


def for_role(entries: Sequence[WorklistEntry], role: str) -> list[WorklistEntry]:
    """The part of the worklist a role owns (each patient appears for one role only)."""
    return [e for e in entries if e.role == role]


def with_targets(p: PatientMetrics, preset: str, **overrides: Any) -> PatientMetrics:
    """``p`` judged on a consensus preset, with the care plan's own numbers on top."""
    return replace(p, targets=replace(PRESETS[preset], **overrides))
