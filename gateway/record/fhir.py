"""A patient's period summary as a FHIR R4 Bundle following the HL7 CGM IG.

HL7 FHIR Implementation Guide *Continuous Glucose Monitoring* (hl7.fhir.uv.cgm 1.0.0,
STU1; https://hl7.org/fhir/uv/cgm/; profiles in HL7/cgm ``input/fsh/profiles.fsh``).
The Bundle is what a CGM Data Submitter POSTs to ``[base]/$submit-cgm-bundle``: a
``transaction`` whose entries are the summary panel and its members, each created
conditionally on its identifier so that resubmitting the same period creates nothing
(the IG asks receivers to support conditional create).

=====================================  ===================  =======================
profile                                code                 value
=====================================  ===================  =======================
CGM Summary (panel, ``hasMember``)     cgm-summary (IG's    --
                                       temporary code
                                       system)
Times in Ranges (``component`` x 5)    LOINC 106793-3       % (UCUM ``%``)
  very low < 54 / low 54-69            104642-4 / 104641-6  (the IG's example
  target 70-180                        97510-2              renders 104642-4 as
  high 181-250 / very high > 250       104640-8 / 104639-0  "very low")
Mean glucose (mass)                    LOINC 97507-8        mg/dL
GMI                                    LOINC 97506-0        %
Coefficient of variation               LOINC 104638-2       %
Days of wear                           LOINC 104636-6       d
Sensor active percentage               LOINC 104637-4       %
=====================================  ===================  =======================

Every Observation: ``status`` final, ``subject`` a logical reference to the patient by
the site's pseudonym (``identifier.system`` = the site's namespace) -- never a name or
record number, which stay on the gateway -- and ``effectivePeriod`` with the period's
first and last dates (YYYY-MM-DD). GMI with its date range is also what HEDIS GSD needs.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
CGM_TEMP = "http://hl7.org/fhir/uv/cgm/CodeSystem/cgm-summary-codes-temporary"
PROFILE = "http://hl7.org/fhir/uv/cgm/StructureDefinition/"
CATEGORY = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "laboratory",
        }
    ]
}

RANGE_COMPONENTS = (
    ("tbr_lt54_pct", "104642-4", "Time below range, very low (< 54 mg/dL)"),
    ("tbr_54_69_pct", "104641-6", "Time below range, low (54-69 mg/dL)"),
    ("tir_70_180_pct", "97510-2", "Time in range (70-180 mg/dL)"),
    ("tar_181_250_pct", "104640-8", "Time above range, high (181-250 mg/dL)"),
    ("tar_gt250_pct", "104639-0", "Time above range, very high (> 250 mg/dL)"),
)
MEMBERS = (
    # (metric, profile id, LOINC, display, UCUM code, unit)
    (
        "mean_mgdl",
        "cgm-summary-mean-glucose-mass-per-volume",
        "97507-8",
        "Mean glucose",
        "mg/dL",
        "mg/dl",
    ),
    ("gmi_pct", "cgm-summary-gmi", "97506-0", "Glucose management indicator", "%", "%"),
    (
        "cv_pct",
        "cgm-summary-coefficient-of-variation",
        "104638-2",
        "Coefficient of variation of glucose",
        "%",
        "%",
    ),
    ("days_with_data", "cgm-summary-days-of-wear", "104636-6", "CGM duration of use", "d", "days"),
    (
        "wear_pct",
        "cgm-summary-sensor-active-percentage",
        "104637-4",
        "CGM sensor wear time active",
        "%",
        "%",
    ),
)


class FhirError(ValueError):
    """The summary lacks a value the IG requires."""


def _quantity(value: float, code: str, unit: str, decimals: int = 2) -> dict[str, Any]:
    return {"value": round(float(value), decimals), "unit": unit, "system": UCUM, "code": code}


def summary_bundle(
    metrics: Mapping[str, Any],
    *,
    site: str,
    pseudonym: str,
    start: date,
    end: date,
    generated: datetime,
) -> dict[str, Any]:
    """The period summary as a ``transaction`` Bundle (JSON-ready dict).

    Raises :class:`FhirError` naming the metric when one the IG requires is missing.
    """
    namespace = f"urn:glucogate:site:{site}:patient"
    subject = {"identifier": {"system": namespace, "value": pseudonym}}
    period = {"start": start.isoformat(), "end": end.isoformat()}
    ident_system = f"urn:glucogate:site:{site}:cgm-summary"

    def need(name: str) -> float:
        value = metrics.get(name)
        if not isinstance(value, (int, float)) or value != value:
            raise FhirError(f"the CGM summary needs {name!r}, which this period does not have")
        return float(value)

    def observation(key: str, profile: str, code: dict[str, Any], **rest: Any) -> dict[str, Any]:
        ident = f"{pseudonym}/{start.isoformat()}/{end.isoformat()}/{key}"
        return {
            "resourceType": "Observation",
            "meta": {"profile": [PROFILE + profile]},
            "identifier": [{"system": ident_system, "value": ident}],
            "status": "final",
            "category": [CATEGORY],
            "code": code,
            "subject": subject,
            "effectivePeriod": period,
            **rest,
        }

    entries: list[tuple[str, dict[str, Any]]] = []
    ranges = observation(
        "times-in-ranges",
        "cgm-summary-times-in-ranges",
        {
            "coding": [
                {
                    "system": LOINC,
                    "code": "106793-3",
                    "display": "Continuous glucose monitoring time in ranges panel",
                }
            ]
        },
        component=[
            {
                "code": {"coding": [{"system": LOINC, "code": code, "display": display}]},
                "valueQuantity": _quantity(need(name), "%", "%"),
            }
            for name, code, display in RANGE_COMPONENTS
        ],
    )
    entries.append(("times-in-ranges", ranges))
    for name, profile, code, display, ucum, unit in MEMBERS:
        value = need(name)
        entries.append(
            (
                profile,
                observation(
                    profile,
                    profile,
                    {"coding": [{"system": LOINC, "code": code, "display": display}]},
                    valueQuantity=_quantity(value, ucum, unit),
                ),
            )
        )

    def full_url(key: str) -> str:  # stable, so a resubmitted period has the same ids
        name = "|".join((ident_system, pseudonym, period["start"], period["end"], key))
        return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, name)}"

    full_urls = {key: full_url(key) for key, _ in entries}
    panel = observation(
        "summary",
        "cgm-summary",
        {"coding": [{"system": CGM_TEMP, "code": "cgm-summary", "display": "CGM Summary Report"}]},
        hasMember=[{"reference": full_urls[key]} for key, _ in entries],
    )
    full_urls["summary"] = full_url("summary")
    bundle_entries = []
    for key, resource in [("summary", panel), *entries]:
        ident = resource["identifier"][0]
        bundle_entries.append(
            {
                "fullUrl": full_urls[key],
                "resource": resource,
                "request": {
                    "method": "POST",
                    "url": "Observation",
                    "ifNoneExist": f"identifier={ident['system']}|{ident['value']}",
                },
            }
        )
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "timestamp": generated.isoformat(),
        "entry": bundle_entries,
    }
