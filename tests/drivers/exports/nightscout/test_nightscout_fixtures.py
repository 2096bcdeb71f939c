"""Every real Nightscout file in shared/fixtures/real/nightscout is read, and checked
against its golden JSON (tests/fixtures/make_golden_other.py).

Expected counts were counted independently of the importer:

    jq 'length' FILE                                         # JSON items
    jq -r '.[].type' iaps_nightscout_entries.json | sort | uniq -c        # 1000 sgv
    awk 'END{print NR}' iaps_nightscout_entries.csv                      # 1000 rows
    jq '[.[] | select(.sgv|tonumber < 39)] | length' legacy_...json     # 12 code "5"
    awk -F'\t' '$3<39' legacy_2014_entries_example.tsv | wc -l          # 11 code "5"
    jq -r '.[].eventType' iaps_nightscout_treatments.json | sort | uniq -c
      # 18 Bolus, 155 SMB, 342 Temp Basal, 462 Sensor Start, 2 Site Change,
      # 1 Insulin Change, 9 Carb Correction, 11 Temporary Target (= 1000)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers._core.records import GlucoseSample, SettingsSnapshot, count_by_kind
from drivers._core.timebase import SOURCE_UTC
from drivers.exports import nightscout, tidepool
from tests.fixtures.golden_files import GOLDEN
from tests.fixtures.make_golden_other import FIXTURES, read, render

EXPECTED: dict[str, tuple[str, dict[str, int], int]] = {
    "iaps_nightscout_entries.json": ("nightscout-entries-json", {"cgm": 1000}, 0),
    "iaps_nightscout_entries.csv": ("nightscout-entries-csv", {"cgm": 1000}, 0),
    "legacy_2014_entries_example.json": ("nightscout-entries-json", {"cgm": 30}, 0),
    "legacy_2014_entries_example.tsv": ("nightscout-entries-tsv", {"cgm": 30}, 0),
    # 18 + 155 boluses, 342 temp basals, 462 + 2 + 1 events, 9 carbs; the 11 Temporary
    # Targets are one skipped entry ("not imported").
    "iaps_nightscout_treatments.json": (
        "nightscout-treatments-json",
        {"bolus": 18 + 155, "basal": 342, "device-event": 462 + 2 + 1, "food": 9},
        1,
    ),
    "iaps_nightscout_profile.json": ("nightscout-profile-json", {"settings": 9}, 0),
}
SPECIALS = {"legacy_2014_entries_example.json": 12, "legacy_2014_entries_example.tsv": 11}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_counts(real_fixtures: Path, name: str) -> None:
    fmt, counts, skipped = EXPECTED[name]
    path = real_fixtures / "nightscout" / name
    text = path.read_text(encoding="utf-8")
    assert nightscout.sniff(text) and not tidepool.sniff(text)
    result = read(path, nightscout.parse)
    assert result.format == fmt
    assert count_by_kind(result.records) == counts
    assert len(result.skipped) == skipped
    utc = [r.time_utc for r in result.records]
    assert all(t is not None for t in utc) and utc == sorted(utc)  # type: ignore[type-var]
    assert all(r.time_reason == SOURCE_UTC for r in result.records)
    keys = [r.dedup_key for r in result.records]
    assert len(set(keys)) == len(keys)
    flagged = [r for r in result.records if isinstance(r, GlucoseSample) and r.special]
    assert len(flagged) == SPECIALS.get(name, 0)
    assert all(r.glucose_mgdl is None for r in flagged)


def test_legacy_offset_and_error_code(real_fixtures: Path) -> None:
    result = read(
        real_fixtures / "nightscout" / "legacy_2014_entries_example.json", nightscout.parse
    )
    last = result.records[-1]
    assert isinstance(last, GlucoseSample)
    # "2014-07-19T10:49:15.000-07:00", date 1405792155000, sgv "5", NOT COMPUTABLE
    assert last.device_time.isoformat() == "2014-07-19T10:49:15"
    assert last.time_utc is not None and last.time_utc.isoformat() == "2014-07-19T17:49:15+00:00"
    assert last.utc_offset_s == -7 * 3600
    assert last.special == "not-computable"
    assert "cgm/dexcom-error-5-sensor-not-calibrated" in last.annotations
    assert last.source_index == "sgv:1405792155000"


def test_json_and_csv_share_keys(real_fixtures: Path) -> None:
    """The same site's entries.json and entries.csv give the same dedup keys."""
    a = read(real_fixtures / "nightscout" / "iaps_nightscout_entries.json", nightscout.parse)
    b = read(real_fixtures / "nightscout" / "iaps_nightscout_entries.csv", nightscout.parse)
    assert [r.to_dict() for r in a.records] == [r.to_dict() for r in b.records]


def test_profile_converted_from_mmol(real_fixtures: Path) -> None:
    result = read(real_fixtures / "nightscout" / "iaps_nightscout_profile.json", nightscout.parse)
    assert result.units_in_file == "mmol/L"
    newest = result.records[-1]
    assert isinstance(newest, SettingsSnapshot)
    # jq '.[0].store.default': sens 8 mmol/L/U, target_low 7.5/8/7.5, dia 6, 5 basal steps
    assert newest.sensitivities_mgdl_per_u[0].value == pytest.approx(8 * 18.01559)
    assert [e.start_s for e in newest.target_low_mgdl] == [0, 10800, 32400]
    assert newest.insulin_action_s == 6 * 3600
    assert len(newest.basal_schedules_u_per_h["default"]) == 5
    assert "tz/Europe/Moscow" in newest.annotations
    template = result.records[0]  # startDate 1970, sens 100 under "mmol": mg/dL template
    assert "settings/units-mismatch" in template.annotations
    assert "settings/start-date-missing" in template.annotations


@pytest.mark.parametrize("golden", sorted(n for n in FIXTURES if n.startswith("nightscout")))
def test_golden(real_fixtures: Path, golden: str) -> None:
    rel, parse = FIXTURES[golden]
    expected = (GOLDEN / f"{golden}.json").read_text(encoding="utf-8")
    assert render(real_fixtures / rel, parse) == expected
