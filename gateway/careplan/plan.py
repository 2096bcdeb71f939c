"""The care plan document: agreed targets, pump-therapy agreements, language, local
resources and the owner of each follow-up (DESIGN.md section 9).

The care record owns the plans and publishes each on ``.../careplan`` (retained) as JSON
validated by ``gateway/publish/schemas/careplan.v1.json``. Every change makes a new
version (``version`` + 1, ``changed_by``, ``changed_at``); older versions are the care
record's business, the document carries only its own number.

Glycaemic target presets are the International Consensus on Time in Range (Battelino T,
et al. Diabetes Care 2019;42:1593-1603, doi:10.2337/dci19-0028; table in
shared/reference/clinical-and-landscape.md section 4.1):

=================  ============  ==========  ==================  ===================
preset             range mg/dL   TIR         below               above
=================  ============  ==========  ==================  ===================
general (T1/T2)    70-180        > 70 %      < 70: < 4 %;        > 180: < 25 %;
                                             < 54: < 1 %         > 250: < 5 %
older_high_risk    70-180        > 50 %      < 70: < 1 %         > 180: < 50 %;
                                                                 > 250: < 10 %
pregnancy (T1)     63-140        > 70 %      < 63: < 4 %;        > 140: < 25 %
                                             < 54: < 1 %
=================  ============  ==========  ==================  ===================

plus CV <= 36 % (the consensus's variability target, also on the AGP report) in the
general and older/high-risk presets; the consensus table for pregnancy sets none.
Type 2 / gestational pregnancy has no evidence-based goals (Tidepool shows "n/a"):
such a plan uses ``custom`` targets.

Pump-therapy agreements default to the site's rules in ``gateway/record/findings.py``
(not consensus numbers): CGM worn >= 70 % of the period (the consensus's data
sufficiency share), at most 20 % of meals without a bolus, a site change every <= 3
days, the bolus calculator for >= 90 % of boluses, data uploaded within 3 days before
a visit. A plan may change every number.

Validation uses the JSON Schema (``jsonschema``, the ``record`` extra that the care
record installs) and a few rules a schema cannot say (unique item ids, percentages at
most 100); every error names the field, e.g. ``targets.items[1].op``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Literal

from gateway.publish.messages import load_schema

SCHEMA = "glucogate/careplan/v1"
ROLES = ("clinician", "pharmacist", "educator", "pump_educator", "chw")
LANGUAGES = ("en", "es")
RESOURCE_KINDS = ("food_program", "pharmacy", "transport", "other")
OPS = ("<", "<=", ">", ">=")
Op = Literal["<", "<=", ">", ">="]


@dataclass(frozen=True, slots=True)
class MetricInfo:
    """What an item's metric is: unit, default label, the follow-up it belongs to, and
    the change in its value that counts as a trend (smaller changes are "same")."""

    unit: str
    label: str
    follow_up: str
    trend_step: float


METRICS: dict[str, MetricInfo] = {
    # CGM: percent of time, by 5-min grid slots (analytics.ranges)
    "tir_70_180_pct": MetricInfo("%", "Time in range 70-180 mg/dL", "low_tir", 1.0),
    "tbr_lt70_pct": MetricInfo("%", "Time below 70 mg/dL", "below_range", 1.0),
    "tbr_lt54_pct": MetricInfo("%", "Time below 54 mg/dL", "very_low", 1.0),
    "tar_gt180_pct": MetricInfo("%", "Time above 180 mg/dL", "high", 1.0),
    "tar_gt250_pct": MetricInfo("%", "Time above 250 mg/dL", "very_high", 1.0),
    "tir_63_140_pct": MetricInfo("%", "Time in range 63-140 mg/dL", "low_tir", 1.0),
    "tbr_lt63_pct": MetricInfo("%", "Time below 63 mg/dL", "below_range", 1.0),
    "tar_gt140_pct": MetricInfo("%", "Time above 140 mg/dL", "high", 1.0),
    "tir_70_140_pct": MetricInfo("%", "Time in tight range 70-140 mg/dL", "low_tir", 1.0),
    "cv_pct": MetricInfo("%", "Glucose variability (CV)", "low_tir", 1.0),
    "gmi_pct": MetricInfo("%", "GMI", "high", 0.1),
    "mean_mgdl": MetricInfo("mg/dL", "Mean glucose", "high", 5.0),
    # pump-therapy agreements
    "cgm_wear_pct": MetricInfo("%", "CGM wear", "low_wear", 1.0),
    "missed_meal_bolus_pct": MetricInfo(
        "% of meals", "Meals without a bolus", "missed_meal_boluses", 1.0
    ),
    "late_bolus_pct": MetricInfo("% of meals", "Meals bolused late", "missed_meal_boluses", 1.0),
    "calculator_use_pct": MetricInfo(
        "% of boluses", "Bolus calculator use", "missed_meal_boluses", 1.0
    ),
    "override_pct": MetricInfo(
        "% of calculator boluses", "Calculator overrides", "missed_meal_boluses", 1.0
    ),
    "site_change_interval_days": MetricInfo(
        "days", "Infusion site change interval", "site_change_overdue", 0.25
    ),
    "upload_days_before_visit": MetricInfo("days", "Upload before the visit", "no_upload", 1.0),
}
"""Metrics an item may name; the keys of the measured dicts of
:mod:`gateway.careplan.evaluate`."""

DEFAULT_OWNERS: dict[str, str] = {
    # findings rules (gateway/record/findings.py DEFAULT_OWNERS)
    "level2_hypo": "clinician",
    "below_range": "clinician",
    "missed_meal_boluses": "pump_educator",
    "site_change_overdue": "pump_educator",
    "no_upload": "chw",
    "low_wear": "chw",
    "tdd_change": "clinician",
    "refill_mismatch": "pharmacist",
    # worklist groups (gateway/record/worklist.py DEFAULT_ROLES)
    "data_issues": "chw",
    "very_low": "clinician",
    "low": "clinician",
    "very_high": "clinician",
    "high": "educator",
    "tir_drop": "educator",
    "low_tir": "educator",
    "meeting": "educator",
    # connecting the patient with the plan's local resources
    "resources": "chw",
}
"""Site default owner of each follow-up; a plan's ``follow_up`` overrides it."""


@dataclass(frozen=True, slots=True)
class Item:
    """One agreed item: ``metric op value``, e.g. time in range > 70 %.

    Attributes:
        id: short key, unique in the plan (``tir``, ``site_change``).
        metric: a key of :data:`METRICS`.
        op: comparison the measured value must satisfy.
        value: agreed value, in the metric's unit.
        label: text for reports (default: the metric's label).
        owner: role owning the follow-up when not met (default: the plan's follow-up
            owner of the metric's follow-up).
    """

    id: str
    metric: str
    op: Op
    value: float
    label: str = ""
    owner: str | None = None

    @property
    def unit(self) -> str:
        return METRICS[self.metric].unit

    @property
    def title(self) -> str:
        return self.label or METRICS[self.metric].label

    @property
    def lower_is_better(self) -> bool:
        return self.op in ("<", "<=")

    def met_by(self, measured: float) -> bool:
        """Whether a measured value keeps the agreement (the op exactly as written:
        the consensus's "< 1 %" is not met by 1.0 %)."""
        if self.op == "<":
            return measured < self.value
        if self.op == "<=":
            return measured <= self.value
        if self.op == ">":
            return measured > self.value
        return measured >= self.value

    def agreed_text(self) -> str:
        """``"> 70 %"``, ``"<= 3 days"``."""
        return f"{self.op} {self.value:g} {self.unit}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "metric": self.metric,
            "op": self.op,
            "value": self.value,
        }
        if self.label:
            out["label"] = self.label
        if self.owner:
            out["owner"] = self.owner
        return out


@dataclass(frozen=True, slots=True)
class Resource:
    """A locally mapped resource: food program, pharmacy, transport or other."""

    name: str
    kind: str
    phone: str = ""
    address: str = ""
    notes: str = ""

    def to_dict(self) -> dict[str, str]:
        out = {"name": self.name, "kind": self.kind}
        for key in ("phone", "address", "notes"):
            value = getattr(self, key)
            if value:
                out[key] = value
        return out


def _t(id_: str, metric: str, op: Op, value: float) -> Item:
    return Item(id=id_, metric=metric, op=op, value=value)


PRESETS: dict[str, tuple[Item, ...]] = {
    "general": (
        _t("tir", "tir_70_180_pct", ">", 70.0),
        _t("tbr_70", "tbr_lt70_pct", "<", 4.0),
        _t("tbr_54", "tbr_lt54_pct", "<", 1.0),
        _t("tar_180", "tar_gt180_pct", "<", 25.0),
        _t("tar_250", "tar_gt250_pct", "<", 5.0),
        _t("cv", "cv_pct", "<=", 36.0),
    ),
    "older_high_risk": (
        _t("tir", "tir_70_180_pct", ">", 50.0),
        _t("tbr_70", "tbr_lt70_pct", "<", 1.0),
        _t("tar_180", "tar_gt180_pct", "<", 50.0),
        _t("tar_250", "tar_gt250_pct", "<", 10.0),
        _t("cv", "cv_pct", "<=", 36.0),
    ),
    "pregnancy": (
        _t("tir", "tir_63_140_pct", ">", 70.0),
        _t("tbr_63", "tbr_lt63_pct", "<", 4.0),
        _t("tbr_54", "tbr_lt54_pct", "<", 1.0),
        _t("tar_140", "tar_gt140_pct", "<", 25.0),
    ),
}
"""Consensus glycaemic targets by preset (module table; Battelino 2019,
doi:10.2337/dci19-0028)."""

DEFAULT_AGREEMENTS: tuple[Item, ...] = (
    _t("cgm_wear", "cgm_wear_pct", ">=", 70.0),
    _t("meal_boluses", "missed_meal_bolus_pct", "<=", 20.0),
    _t("site_change", "site_change_interval_days", "<=", 3.0),
    _t("calculator_use", "calculator_use_pct", ">=", 90.0),
    _t("upload_before_visit", "upload_days_before_visit", "<=", 3.0),
)
"""Pump-therapy agreements a new plan starts with (site defaults, module docstring)."""


@dataclass(frozen=True, slots=True)
class CarePlan:
    """One version of a patient's care plan (see the module docstring)."""

    site: str
    patient: str
    version: int
    changed_by: str
    changed_at: datetime
    language: str = "en"
    preset: str = "general"
    targets: tuple[Item, ...] = PRESETS["general"]
    agreements: tuple[Item, ...] = DEFAULT_AGREEMENTS
    follow_up: Mapping[str, str] = field(default_factory=dict)
    resources: tuple[Resource, ...] = ()
    next_visit: date | None = None

    @property
    def items(self) -> tuple[Item, ...]:
        """Targets then agreements, in plan order."""
        return self.targets + self.agreements

    def owner(self, item: Item) -> str:
        """The role owning ``item``'s follow-up: the item's own owner, else the plan's
        owner of the metric's follow-up, else the site default."""
        if item.owner:
            return item.owner
        name = METRICS[item.metric].follow_up
        return self.follow_up.get(name) or DEFAULT_OWNERS[name]

    def to_dict(self) -> dict[str, Any]:
        """The JSON document (targets always written out, so a reader needs no preset
        table)."""
        out: dict[str, Any] = {
            "schema": SCHEMA,
            "site": self.site,
            "patient": self.patient,
            "version": self.version,
            "changed_by": self.changed_by,
            "changed_at": self.changed_at.isoformat(),
            "language": self.language,
            "targets": {"preset": self.preset, "items": [t.to_dict() for t in self.targets]},
            "agreements": [a.to_dict() for a in self.agreements],
            "follow_up": dict(self.follow_up),
            "resources": [r.to_dict() for r in self.resources],
        }
        if self.next_visit is not None:
            out["next_visit"] = self.next_visit.isoformat()
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"), allow_nan=False)


class CarePlanError(ValueError):
    """An invalid care plan document; ``field`` is the dotted path of the bad value."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"care plan {field}: {reason}")
        self.field = field
        self.reason = reason


def new_plan(
    *,
    site: str,
    patient: str,
    changed_by: str,
    changed_at: datetime,
    preset: str = "general",
    language: str = "en",
    **changes: Any,
) -> CarePlan:
    """Version 1 of a plan with a consensus preset and the default agreements."""
    if preset not in PRESETS:
        raise CarePlanError("targets.preset", f"unknown preset {preset!r}")
    plan = CarePlan(
        site=site,
        patient=patient,
        version=1,
        changed_by=changed_by,
        changed_at=changed_at,
        language=language,
        preset=preset,
        targets=PRESETS[preset],
        **changes,
    )
    return from_dict(plan.to_dict())  # the same checks as a received document


def revise(plan: CarePlan, *, changed_by: str, changed_at: datetime, **changes: Any) -> CarePlan:
    """The next version of ``plan`` with ``changes`` (dataclass fields) applied."""
    if changed_at < plan.changed_at:
        raise CarePlanError("changed_at", "earlier than the version it replaces")
    new = replace(
        plan, version=plan.version + 1, changed_by=changed_by, changed_at=changed_at, **changes
    )
    return from_dict(new.to_dict())


def _path(parts: Any) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(document)"


def validate(doc: Any) -> None:
    """Raise :class:`CarePlanError` naming the field when ``doc`` is not a valid plan."""
    from jsonschema import Draft202012Validator, FormatChecker

    validator = Draft202012Validator(load_schema("careplan"), format_checker=FormatChecker())
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        err = errors[0]
        where = list(err.absolute_path)
        if err.validator == "required":  # name the missing field itself
            missing = str(err.message).split("'")[1]
            where.append(missing)
        elif err.validator == "additionalProperties" and "'" in str(err.message):
            where.append(str(err.message).split("'")[1])
        reason = err.message
        if where == ["patient"]:  # never echo what may be a name or record number
            reason = "not a site-scoped pseudonym (p- and 16 base32 letters)"
        raise CarePlanError(_path(where), reason)
    try:
        changed_at = _parse_time(doc["changed_at"])
    except ValueError as exc:
        raise CarePlanError("changed_at", f"not an ISO 8601 date-time: {exc}") from exc
    if changed_at.tzinfo is None:
        raise CarePlanError("changed_at", "needs a UTC offset")
    if "next_visit" in doc:
        try:
            date.fromisoformat(doc["next_visit"])
        except ValueError as exc:
            raise CarePlanError("next_visit", f"not an ISO 8601 date: {exc}") from exc
    targets = doc["targets"].get("items")
    lists = [("targets.items", targets or []), ("agreements", doc.get("agreements", []))]
    seen: set[str] = set()
    for name, items in lists:
        for i, item in enumerate(items):
            if item["id"] in seen:
                raise CarePlanError(f"{name}[{i}].id", f"duplicate id {item['id']!r}")
            seen.add(item["id"])
            if METRICS[item["metric"]].unit.startswith("%") and item["value"] > 100:
                raise CarePlanError(f"{name}[{i}].value", "a percentage above 100")


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _item(d: Mapping[str, Any]) -> Item:
    return Item(
        id=d["id"],
        metric=d["metric"],
        op=d["op"],
        value=float(d["value"]),
        label=d.get("label", ""),
        owner=d.get("owner"),
    )


def from_dict(doc: Any) -> CarePlan:
    """A validated :class:`CarePlan` from its JSON document (parsed).

    Targets default to the preset's when ``targets.items`` is absent, agreements to
    :data:`DEFAULT_AGREEMENTS` when ``agreements`` is absent (an empty list means none).
    """
    validate(doc)
    preset = doc["targets"]["preset"]
    items = doc["targets"].get("items")
    targets = tuple(map(_item, items)) if items is not None else PRESETS[preset]
    agreements = doc.get("agreements")
    return CarePlan(
        site=doc["site"],
        patient=doc["patient"],
        version=doc["version"],
        changed_by=doc["changed_by"],
        changed_at=_parse_time(doc["changed_at"]),
        language=doc["language"],
        preset=preset,
        targets=targets,
        agreements=DEFAULT_AGREEMENTS if agreements is None else tuple(map(_item, agreements)),
        follow_up=dict(doc.get("follow_up", {})),
        resources=tuple(Resource(**r) for r in doc.get("resources", [])),
        next_visit=date.fromisoformat(doc["next_visit"]) if "next_visit" in doc else None,
    )


def loads(text: str | bytes) -> CarePlan:
    """A plan from its JSON text (an MQTT payload or a file's contents)."""
    try:
        doc = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CarePlanError("(document)", f"not JSON: {exc}") from exc
    return from_dict(doc)


def finding_agreements(plan: CarePlan) -> dict[str, float]:
    """The plan's numbers as the ``agreements`` mapping of
    :func:`gateway.record.findings.evaluate` (only those the plan sets)."""
    keys = {
        "tbr_lt70_pct": "below_range_max_pct",
        "missed_meal_bolus_pct": "missed_meal_bolus_max_pct",
        "site_change_interval_days": "site_change_max_days",
        "cgm_wear_pct": "wear_min_pct",
    }
    return {keys[i.metric]: i.value for i in plan.items if i.metric in keys}


def finding_owners(plan: CarePlan) -> dict[str, str]:
    """Owner role of every follow-up: the plan's choices over the site defaults."""
    return {**DEFAULT_OWNERS, **plan.follow_up}
