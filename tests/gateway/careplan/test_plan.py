"""The care plan document: schema, presets from the consensus, validation, versions."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from gateway.careplan.plan import (
    DEFAULT_OWNERS,
    PRESETS,
    CarePlan,
    CarePlanError,
    finding_agreements,
    finding_owners,
    from_dict,
    loads,
    new_plan,
    revise,
)
from gateway.publish.messages import load_schema
from gateway.record import findings, worklist

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "careplan.example.json"
NOW = datetime(2024, 3, 20, 12, 0, tzinfo=UTC)
PATIENT = "p-abcdefghijklmnop"


def example() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(EXAMPLE.read_text())
    return doc


def plan(preset: str = "general", **changes: Any) -> CarePlan:
    return new_plan(
        site="clinic-a",
        patient=PATIENT,
        changed_by="staff-1",
        changed_at=NOW,
        preset=preset,
        **changes,
    )


def test_the_example_is_valid_by_the_json_schema_and_loads() -> None:
    doc = example()
    jsonschema.Draft202012Validator(load_schema("careplan")).validate(doc)
    p = loads(EXAMPLE.read_text())
    assert (p.version, p.language, p.preset) == (3, "es", "general")
    assert [r.kind for r in p.resources] == ["food_program", "pharmacy", "transport"]
    assert p.resources[0].phone == "+1 (555) 010-2030"
    # the plan's own choices: meal boluses at most 10 %, GMI < 7 % added to the preset
    assert {i.id: i.value for i in p.items}["meal_boluses"] == 10.0
    assert p.targets[-1].metric == "gmi_pct"
    # the example round-trips through the model unchanged
    assert from_dict(p.to_dict()) == p


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_preset_plan_is_valid_by_the_json_schema(preset: str) -> None:
    doc = plan(preset).to_dict()
    jsonschema.Draft202012Validator(load_schema("careplan")).validate(doc)
    assert doc["schema"] == "glucogate/careplan/v1"
    assert from_dict(json.loads(json.dumps(doc))) == plan(preset)


def _targets(preset: str) -> dict[str, tuple[str, str, float]]:
    return {t.id: (t.metric, t.op, t.value) for t in PRESETS[preset]}


def test_presets_are_the_2019_consensus_targets() -> None:
    # Battelino et al., Diabetes Care 2019;42:1593, doi:10.2337/dci19-0028, as tabled in
    # shared/reference/clinical-and-landscape.md section 4.1; CV <= 36 % from the same
    # consensus (and the AGP report, section 1.2)
    assert _targets("general") == {
        "tir": ("tir_70_180_pct", ">", 70.0),
        "tbr_70": ("tbr_lt70_pct", "<", 4.0),
        "tbr_54": ("tbr_lt54_pct", "<", 1.0),
        "tar_180": ("tar_gt180_pct", "<", 25.0),
        "tar_250": ("tar_gt250_pct", "<", 5.0),
        "cv": ("cv_pct", "<=", 36.0),
    }
    assert _targets("older_high_risk") == {
        "tir": ("tir_70_180_pct", ">", 50.0),
        "tbr_70": ("tbr_lt70_pct", "<", 1.0),
        "tar_180": ("tar_gt180_pct", "<", 50.0),
        "tar_250": ("tar_gt250_pct", "<", 10.0),
        "cv": ("cv_pct", "<=", 36.0),
    }
    # pregnancy (type 1): the 63-140 mg/dL range
    assert _targets("pregnancy") == {
        "tir": ("tir_63_140_pct", ">", 70.0),
        "tbr_63": ("tbr_lt63_pct", "<", 4.0),
        "tbr_54": ("tbr_lt54_pct", "<", 1.0),
        "tar_140": ("tar_gt140_pct", "<", 25.0),
    }


def test_a_target_is_met_by_its_operator_as_written() -> None:
    tbr54 = {t.id: t for t in PRESETS["general"]}["tbr_54"]
    cv = {t.id: t for t in PRESETS["general"]}["cv"]
    assert tbr54.met_by(0.99) and not tbr54.met_by(1.0)  # "< 1 %": 1.00 % is not met
    assert cv.met_by(36.0) and not cv.met_by(36.1)  # "<= 36 %"
    assert tbr54.agreed_text() == "< 1 %"


def _set(doc: dict[str, Any], path: list[Any], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    node = out
    for key in path[:-1]:
        node = node[key]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return out


_DELETE = object()
INVALID = [
    (["targets", "items", 0, "op"], "approx", "targets.items[0].op"),
    (["targets", "items", 2, "metric"], "tbr_lt60_pct", "targets.items[2].metric"),
    (["targets", "preset"], "athlete", "targets.preset"),
    (["language"], "fr", "language"),
    (["patient"], "Maria Lopez", "patient"),
    (["version"], 0, "version"),
    (["changed_at"], _DELETE, "changed_at"),
    (["changed_at"], "2024-03-20T16:45:00", "changed_at"),  # no UTC offset
    (["changed_at"], "last tuesday", "changed_at"),
    (["next_visit"], "2024-02-30", "next_visit"),
    (["follow_up", "low_wear"], "nurse", "follow_up.low_wear"),
    (["follow_up", "paging"], "chw", "follow_up"),
    (["resources", 1, "kind"], "bank", "resources[1].kind"),
    (["resources", 0, "name"], "", "resources[0].name"),
    (["agreements", 1, "id"], "cgm_wear", "agreements[1].id"),  # duplicate id
    (["agreements", 0, "value"], 170, "agreements[0].value"),  # a percentage > 100
    (["agreements", 2, "owner"], "janitor", "agreements[2].owner"),
    (["mrn"], "12345", "mrn"),  # no place for a record number
]


@pytest.mark.parametrize(("path", "value", "field"), INVALID, ids=[f for _, _, f in INVALID])
def test_an_invalid_document_is_rejected_naming_the_field(
    path: list[Any], value: Any, field: str
) -> None:
    doc = _set(example(), path, value)
    with pytest.raises(CarePlanError) as err:
        from_dict(doc)
    assert err.value.field == field
    assert field in str(err.value)


def test_custom_targets_need_their_items() -> None:
    doc = example()
    doc["targets"] = {"preset": "custom"}
    with pytest.raises(CarePlanError) as err:
        from_dict(doc)
    assert err.value.field == "targets.items"
    assert not jsonschema.Draft202012Validator(load_schema("careplan")).is_valid(doc)


def test_targets_and_agreements_default_to_the_preset_and_the_site_agreements() -> None:
    doc = example()
    doc["targets"] = {"preset": "older_high_risk"}
    del doc["agreements"]
    p = from_dict(doc)
    assert p.targets == PRESETS["older_high_risk"]
    assert {a.id for a in p.agreements} == {
        "cgm_wear",
        "meal_boluses",
        "site_change",
        "calculator_use",
        "upload_before_visit",
    }


def test_not_json_is_rejected() -> None:
    with pytest.raises(CarePlanError) as err:
        loads(b"{not json")
    assert err.value.field == "(document)"


def test_a_revision_is_the_next_version_by_its_author() -> None:
    p1 = plan("general", language="es")
    later = datetime(2024, 4, 2, 15, 0, tzinfo=UTC)
    p2 = revise(
        p1,
        changed_by="staff-2",
        changed_at=later,
        preset="older_high_risk",
        targets=PRESETS["older_high_risk"],
    )
    assert (p1.version, p2.version) == (1, 2)
    assert (p2.changed_by, p2.changed_at, p2.language) == ("staff-2", later, "es")
    assert p2.to_dict()["targets"]["preset"] == "older_high_risk"
    with pytest.raises(CarePlanError) as err:
        revise(p2, changed_by="staff-3", changed_at=NOW)
    assert err.value.field == "changed_at"


def test_owners_follow_the_plan_then_the_site_defaults() -> None:
    p = from_dict(example())
    owner = {i.id: p.owner(i) for i in p.items}
    assert owner["tbr_54"] == "clinician"  # very_low: site default
    assert owner["tar_180"] == "educator"  # high: the plan's follow_up
    assert owner["meal_boluses"] == "pump_educator"
    assert owner["upload_before_visit"] == "chw"  # the item's own owner
    changed = from_dict({**example(), "follow_up": {"very_low": "pump_educator"}})
    assert changed.owner(changed.targets[2]) == "pump_educator"
    assert finding_owners(changed)["refill_mismatch"] == "pharmacist"


def test_site_default_owners_agree_with_findings_and_worklist() -> None:
    for name, role in {**findings.DEFAULT_OWNERS, **worklist.DEFAULT_ROLES}.items():
        assert DEFAULT_OWNERS[name] == role, name


def test_the_plans_agreements_drive_the_findings_thresholds() -> None:
    p = from_dict(example())  # meal boluses: at most 10 % without
    assert finding_agreements(p) == {
        "below_range_max_pct": 4.0,
        "missed_meal_bolus_max_pct": 10.0,
        "site_change_max_days": 3.0,
        "wear_min_pct": 70.0,
    }
    insulin = {"missed_meal_bolus_pct": 15.0}
    common: dict[str, Any] = {"metrics": {}, "insulin": insulin, "last_data": NOW, "now": NOW}
    by_default = findings.evaluate(**common)
    by_plan = findings.evaluate(**common, agreements=finding_agreements(p))
    assert "missed_meal_boluses" not in {f.rule for f in by_default}  # 15 <= 20 (default)
    assert "missed_meal_boluses" in {f.rule for f in by_plan}  # 15 > 10 (agreed)
