"""Tidepool parsing on hand-written items: wizard merge, units, bad input."""

from __future__ import annotations

import json
from typing import Any

import pytest

from drivers._core.errors import FileFormatError
from drivers._core.records import Bolus, GlucoseSample
from drivers.exports import tidepool

BASE = {
    "time": "2024-03-01T12:00:00.000Z",
    "timezoneOffset": 60,
    "uploadId": "u",
    "deviceId": "InsOmn-1",
}


def _parse(*items: dict[str, Any]) -> Any:
    return tidepool.parse(json.dumps([dict(BASE, **i) for i in items]), "t.json")


def test_wizard_merged_into_its_bolus() -> None:
    result = _parse(
        {"id": "b1", "type": "bolus", "subType": "normal", "normal": 5.0},
        {
            "id": "w1",
            "type": "wizard",
            "bolus": "b1",
            "units": "mmol/L",
            "bgInput": 10.0,
            "carbInput": 60,
            "insulinCarbRatio": 12,
            "insulinSensitivity": 2.5,
            "bgTarget.low": 5.0,
            "bgTarget.high": 6.0,
            "insulinOnBoard": 0.5,
            "recommended.carb": 5.0,
            "recommended.correction": 1.0,
            "recommended.net": 5.5,
        },
    )
    (bolus,) = result.records
    assert isinstance(bolus, Bolus) and bolus.calculation is not None
    calc = bolus.calculation
    assert calc.bg_mgdl == pytest.approx(180.1559) and calc.carbs_g == 60
    assert calc.sensitivity_mgdl_per_u == pytest.approx(2.5 * 18.01559)
    assert calc.recommended_total_u == 5.5 and calc.user_changed is True


def test_wizard_without_bolus_is_skipped() -> None:
    result = _parse({"id": "w1", "type": "wizard", "bolus": "nope", "recommended.net": 1})
    assert result.records == [] and "bolus is not in the file" in result.skipped[0].reason


def test_mmol_values_and_out_of_range_annotation() -> None:
    ann = json.dumps([{"code": "bg/out-of-range", "value": "low", "threshold": 40}])
    result = _parse(
        {"id": "c1", "type": "cbg", "value": 5.5, "units": "mmol/L"},
        {"id": "c2", "type": "cbg", "value": 39, "units": "mg/dL", "annotations": ann},
        {"id": "c3", "type": "cbg", "value": 2000, "units": "mg/dL"},
        {"id": "c4", "type": "cbg", "value": 100, "units": "mg/dL", "time": "not a time"},
        {"id": "b2", "type": "bolus", "subType": "normal", "normal": -1},
    )
    by_id = {r.source_index: r for r in result.records}
    c1, c2 = by_id["c1"], by_id["c2"]
    assert isinstance(c1, GlucoseSample) and c1.glucose_mgdl == pytest.approx(5.5 * 18.01559)
    assert isinstance(c2, GlucoseSample) and c2.glucose_mgdl is None and c2.special == "low"
    assert c2.reporting_limit_mgdl == 40
    reasons = [s.reason for s in result.skipped]
    assert any(r.startswith("item 3:") and "impossible" in r for r in reasons)
    assert any(r.startswith("item 4:") and "ISO" in r for r in reasons)
    assert any(r.startswith("item 5:") and "impossible" in r for r in reasons)


def test_truncated_export_names_the_line() -> None:
    text = (
        '[\n    {"id": "a", "type": "cbg", "value": 100, "time": "2024-03-01T12:00:00Z"},\n'
        '    {"id": "b", "ty'
    )
    with pytest.raises(FileFormatError) as err:
        tidepool.parse(text, "TidepoolExport.json")
    assert err.value.context["line"] == 3


def test_time_change_api_shape() -> None:
    result = _parse(
        {
            "id": "t1",
            "type": "deviceEvent",
            "subType": "timeChange",
            "deviceTime": "2024-03-01T12:55:00",
            "change": {
                "from": "2024-03-01T12:55:00",
                "to": "2024-03-01T13:00:00",
                "agent": "manual",
            },
        }
    )
    (event,) = result.records
    assert event.time_to is not None and event.time_to.isoformat() == "2024-03-01T13:00:00"  # type: ignore[attr-defined]
    assert event.clock_offset_s == 300
