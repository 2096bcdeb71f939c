"""The FHIR summary Bundle against the HL7 CGM IG's profiles (structure, codes, units)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from gateway.record.fhir import FhirError, summary_bundle

METRICS = {
    "tbr_lt54_pct": 0.83,
    "tbr_54_69_pct": 3.1,
    "tir_70_180_pct": 71.456,
    "tar_181_250_pct": 18.2,
    "tar_gt250_pct": 6.407,
    "mean_mgdl": 154.2,
    "gmi_pct": 7.0,
    "cv_pct": 35.1,
    "days_with_data": 14,
    "wear_pct": 93.4,
}


def bundle() -> dict:
    return summary_bundle(
        METRICS,
        site="clinic-a",
        pseudonym="p-abcdefghijklmnop",
        start=date(2026, 3, 1),
        end=date(2026, 3, 14),
        generated=datetime(2026, 3, 15, 9, 0, tzinfo=UTC),
    )


def by_code(b: dict) -> dict[str, dict]:
    return {e["resource"]["code"]["coding"][0]["code"]: e["resource"] for e in b["entry"]}


def test_bundle_shape_follows_the_ig() -> None:
    b = bundle()
    assert b["resourceType"] == "Bundle" and b["type"] == "transaction"
    assert b["timestamp"] == "2026-03-15T09:00:00+00:00"
    obs = by_code(b)
    assert set(obs) == {
        "cgm-summary",
        "106793-3",
        "97507-8",
        "97506-0",
        "104638-2",
        "104636-6",
        "104637-4",
    }
    for entry in b["entry"]:
        r = entry["resource"]
        assert r["resourceType"] == "Observation" and r["status"] == "final"
        assert r["effectivePeriod"] == {"start": "2026-03-01", "end": "2026-03-14"}
        assert r["subject"] == {
            "identifier": {
                "system": "urn:glucogate:site:clinic-a:patient",
                "value": "p-abcdefghijklmnop",
            }
        }
        assert r["meta"]["profile"][0].startswith("http://hl7.org/fhir/uv/cgm/StructureDefinition/")
        assert entry["request"]["method"] == "POST"
        assert entry["request"]["ifNoneExist"].startswith("identifier=")
        assert entry["fullUrl"].startswith("urn:uuid:")
    # the panel's members are exactly the six other observations (IG: hasMember 6..*)
    members = {m["reference"] for m in obs["cgm-summary"]["hasMember"]}
    others = {
        e["fullUrl"]
        for e in b["entry"]
        if e["resource"]["code"]["coding"][0]["code"] != "cgm-summary"
    }
    assert members == others and len(members) == 6


def test_values_codes_and_units() -> None:
    obs = by_code(bundle())
    tir = obs["106793-3"]["component"]
    assert [c["code"]["coding"][0]["code"] for c in tir] == [
        "104642-4",
        "104641-6",
        "97510-2",
        "104640-8",
        "104639-0",
    ]
    # percent with two decimals (IG: "at least two decimal places")
    assert [c["valueQuantity"]["value"] for c in tir] == [0.83, 3.1, 71.46, 18.2, 6.41]
    assert {c["valueQuantity"]["code"] for c in tir} == {"%"}
    assert obs["97507-8"]["valueQuantity"] == {
        "value": 154.2,
        "unit": "mg/dl",
        "system": "http://unitsofmeasure.org",
        "code": "mg/dL",
    }
    assert obs["97506-0"]["valueQuantity"]["value"] == 7.0
    assert obs["104636-6"]["valueQuantity"]["code"] == "d"
    assert obs["104637-4"]["valueQuantity"]["value"] == 93.4


def test_resubmission_is_idempotent_and_carries_no_identity() -> None:
    a, b = bundle(), bundle()
    assert [e["fullUrl"] for e in a["entry"]] == [e["fullUrl"] for e in b["entry"]]
    text = json.dumps(a)
    for forbidden in ("name", "birthDate", "MRN", "telecom"):
        assert forbidden not in text


def test_a_missing_required_metric_is_named() -> None:
    partial = {k: v for k, v in METRICS.items() if k != "gmi_pct"}
    with pytest.raises(FhirError, match="'gmi_pct'"):
        summary_bundle(
            partial,
            site="s",
            pseudonym="p-abcdefghijklmnop",
            start=date(2026, 3, 1),
            end=date(2026, 3, 14),
            generated=datetime(2026, 3, 15, tzinfo=UTC),
        )


def test_bundle_parses_as_a_valid_fhir_resource() -> None:
    """fhir.resources (pydantic models of the FHIR spec) accepts the Bundle. Its R4B
    models are the closest to R4 it ships; Bundle and Observation are unchanged there."""
    r4b = pytest.importorskip("fhir.resources.R4B.bundle")
    parsed = r4b.Bundle.model_validate(bundle())
    assert parsed.type == "transaction"
    assert len(parsed.entry) == 7
    broken = bundle()
    broken["entry"][1]["resource"]["valueQuantity"] = {"value": "seventy"}  # not a decimal
    with pytest.raises(ValueError):
        r4b.Bundle.model_validate(broken)
