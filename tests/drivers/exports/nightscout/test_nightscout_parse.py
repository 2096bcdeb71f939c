"""Nightscout parsing on hand-written input: times, treatments, bad input."""

from __future__ import annotations

import json

import pytest

from drivers._core.errors import FileFormatError
from drivers._core.records import BasalSegment, Bolus, DeviceEvent, Food, GlucoseSample
from drivers.exports import nightscout


def _entries(*items: dict[str, object]) -> str:
    return json.dumps(list(items))


def test_offset_from_date_string_and_utc_offset_field() -> None:
    text = _entries(
        {
            "type": "sgv",
            "sgv": 120,
            "date": 1700000000000,
            "dateString": "2023-11-14T23:13:20.000+0100",
        },
        {
            "type": "sgv",
            "sgv": 121,
            "date": 1700000300000,
            "dateString": "2023-11-14T22:18:20Z",
            "utcOffset": 120,
        },
        {
            "type": "sgv",
            "sgv": 122,
            "date": 1700000600000.5488,
            "dateString": "2023-11-14T22:23:20Z",
        },
    )
    recs = nightscout.parse(text, "e.json").records
    assert [r.utc_offset_s for r in recs] == [3600, 7200, None]
    assert recs[0].device_time.isoformat() == "2023-11-14T23:13:20"
    assert recs[1].device_time.isoformat() == "2023-11-15T00:18:20"
    assert "time/utc-offset-unknown" in recs[2].annotations
    assert recs[2].source_index == "sgv:1700000600000"


def test_bad_items_are_skipped_with_item_and_line() -> None:
    text = (
        "[\n"
        '{"type": "sgv", "sgv": 0, "date": 1700000000000},\n'
        '{"type": "sgv", "sgv": 2000, "date": 1700000300000},\n'
        '{"type": "sgv", "sgv": 100, "dateString": "yesterday"},\n'
        '{"type": "sgv", "sgv": 100, "date": 1700000900000}\n'
        "]"
    )
    result = nightscout.parse(text, "e.json")
    assert len(result.records) == 1
    assert [(s.line, s.reason.split(":")[0]) for s in result.skipped] == [
        (2, "item 1"),
        (3, "item 2"),
        (4, "item 3"),
    ]
    assert "impossible" in result.skipped[0].reason


def test_duplicate_upload_is_skipped_and_different_value_kept() -> None:
    item = {"type": "sgv", "sgv": 100, "date": 1700000000000}
    text = _entries(item, dict(item, _id="x"), dict(item, sgv=101))
    result = nightscout.parse(text, "e.json")
    keys = sorted(r.source_index for r in result.records)
    assert keys == ["sgv:1700000000000", "sgv:1700000000000#2"]
    assert [s.reason for s in result.skipped] == ["item 1: duplicate of item 2"]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('[{"type": "sgv", "sgv": 100, "date": 1700000000000},\n{"type": "sg', 2),
        ('[\n{"type": "sgv", "sgv": 100, "date": 1700000000000}\n', 3),
        ("[1, 2]", 1),
        ("", 1),
        ("hello,world\n", 1),
    ],
)
def test_invalid_or_truncated_json(text: str, line: int) -> None:
    with pytest.raises(FileFormatError) as err:
        nightscout.parse(text, "bad.json")
    assert err.value.context["file"] == "bad.json"
    assert err.value.context["line"] == line


def test_headerless_csv_with_trailing_empty_device() -> None:
    text = (
        '"2026-04-05T20:30:29.000Z",1775421029000,162,"Flat",\r\n'
        '"2026-04-05T20:25:28.000Z",1775420728000,x,"Flat",'
    )
    result = nightscout.parse(text, "e.csv")
    assert result.format == "nightscout-entries-csv" and len(result.records) == 1
    assert result.skipped[0].line == 2 and "not a number" in result.skipped[0].reason


def test_treatments_map_to_records() -> None:
    base = {"created_at": "2026-04-05T20:00:00.000Z", "enteredBy": "Loop", "utcOffset": -240}
    items = [
        dict(base, _id="a", eventType="Meal Bolus", insulin=4.5, carbs=40),
        dict(base, _id="b", eventType="SMB", insulin=0.2),
        dict(base, _id="c", eventType="Temp Basal", absolute=1.25, duration=29.5),
        dict(base, _id="d", eventType="Temp Basal", rate=140, duration=30),  # AAPS percent
        dict(base, _id="e", eventType="Site Change"),
        dict(
            base,
            _id="f",
            eventType="Combo Bolus",
            enteredinsulin=6,
            splitNow=50,
            splitExt=50,
            duration=120,
        ),
        dict(base, _id="g", eventType="BG Check", glucose=6.2, units="mmol"),
        dict(base, _id="h", eventType="Bolus", insulin=-1),
        dict(base, _id="i", eventType="Note", notes="hello"),
    ]
    result = nightscout.parse(json.dumps(items), "t.json")
    by_key = {r.source_index: r for r in result.records}
    meal = by_key["a"]
    assert isinstance(meal, Bolus) and meal.delivered_u == 4.5
    assert isinstance(by_key["a:carbs"], Food) and by_key["a:carbs"].carbs_g == 40
    assert "bolus/smb" in by_key["b"].annotations
    temp = by_key["c"]
    assert isinstance(temp, BasalSegment) and temp.duration_s == 1770
    assert temp.utc_offset_s == -4 * 3600 and temp.device_time.isoformat() == "2026-04-05T16:00:00"
    assert isinstance(by_key["e"], DeviceEvent) and by_key["e"].event_type == "site-change"
    combo = by_key["f"]
    assert isinstance(combo, Bolus) and combo.subtype == "dual" and combo.extended_programmed_u == 3
    bg = by_key["g"]
    assert isinstance(bg, GlucoseSample) and bg.glucose_mgdl == pytest.approx(6.2 * 18.01559)
    reasons = " ".join(s.reason for s in result.skipped)
    assert "item 4" in reasons and "percent" in reasons
    assert "item 8" in reasons and "impossible" in reasons
    assert "'Note'" in reasons
