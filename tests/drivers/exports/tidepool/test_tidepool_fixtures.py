"""Both real Tidepool exports in shared/fixtures/real/tidepool are read, and checked
against their golden JSON (tests/fixtures/make_golden_other.py).

Expected counts were counted independently of the importer with jq:

    jq -r '.[] | "\\(.type) \\(.subType // .deliveryType // "")"' FILE | sort | uniq -c
    jq -r '.[] | select(.type|startswith("pumpSettings")) | .id' FILE | sort -u | wc -l

2020 OmniPod: basal 80 scheduled + 60 suspend + 40 temp; bolus 80 normal + 60
dual/square + 8 square; deviceEvent 60 alarm + 60 reservoirChange + 60 status + 1
timeChange. 2026 twiist/Loop: basal 30 automated + 3 scheduled + 10 suspend + 30 temp;
45 bolus; 30 cbg; 30 smbg; 46 food; deviceEvent 1 alarm + 6 prime + 3 reservoirChange +
1 timeChange (+ 17 pumpSettingsOverride, not imported); 30 dosingDecision (not
imported); pumpSettings.* rows with 30 distinct ids.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers._core.records import (
    BasalSegment,
    Bolus,
    DeviceEvent,
    GlucoseSample,
    SettingsSnapshot,
    count_by_kind,
)
from drivers.exports import nightscout, tidepool
from tests.fixtures.golden_files import GOLDEN
from tests.fixtures.make_golden_other import FIXTURES, read, render

OMNIPOD = "tidepool_export_json_omnipod_2020_TRIMMED.json"
TWIIST = "tidepool_export_json_twiist_loop_2026_TRIMMED.json"
EXPECTED: dict[str, tuple[dict[str, int], int]] = {
    OMNIPOD: ({"basal": 80 + 60 + 40, "bolus": 80 + 60 + 8, "device-event": 60 + 60 + 60 + 1}, 0),
    TWIIST: (
        {
            "basal": 30 + 3 + 10 + 30,
            "bolus": 45,
            "cgm": 30,
            "smbg": 30,
            "food": 46,
            "device-event": 1 + 6 + 3 + 1,
            "settings": 30,
        },
        2,  # one "not imported" entry each for pumpSettingsOverride and dosingDecision
    ),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_counts(real_fixtures: Path, name: str) -> None:
    counts, skipped = EXPECTED[name]
    path = real_fixtures / "tidepool" / name
    text = path.read_text(encoding="utf-8")
    assert tidepool.sniff(text) and not nightscout.sniff(text)
    result = read(path, tidepool.parse)
    assert result.format == "tidepool-export-json"
    assert count_by_kind(result.records) == counts
    assert len(result.skipped) == skipped
    utc = [r.time_utc for r in result.records]
    assert all(t is not None for t in utc) and utc == sorted(utc)  # type: ignore[type-var]
    keys = [r.dedup_key for r in result.records]
    assert len(set(keys)) == len(keys)


def test_omnipod_details(real_fixtures: Path) -> None:
    recs = read(real_fixtures / "tidepool" / OMNIPOD, tidepool.parse).records
    by_id = {r.source_index: r for r in recs}
    # time 2020-10-18T23:00:00Z, timezoneOffset 60, deviceTime 2020-10-19T00:00:00,
    # scheduled 2.5 U/h for 480 min, annotation final-basal/fabricated-from-schedule
    basal = by_id["2l2fims6fub0mssic8lhmffg3rdnco92"]
    assert isinstance(basal, BasalSegment)
    assert (basal.rate_u_per_h, basal.duration_s, basal.utc_offset_s) == (2.5, 480 * 60, 3600)
    assert basal.device_time.isoformat() == "2020-10-19T00:00:00"
    assert "tidepool/final-basal/fabricated-from-schedule" in basal.annotations
    # normal 0.1 of expectedNormal 2.85 (interrupted)
    bolus = by_id["075pj63dcrpdn9i7mgd32231gptlm8bc"]
    assert isinstance(bolus, Bolus)
    assert (bolus.programmed_u, bolus.delivered_u) == (2.85, 0.1)
    dual = by_id["bp2u0o3j3vs3reij6r5ve9rpaf9na0tj"]
    assert isinstance(dual, Bolus) and dual.subtype == "dual"
    assert (dual.delivered_u, dual.extended_delivered_u, dual.extended_duration_s) == (
        7.3,
        7.3,
        1800,
    )
    # timeChange: from 08:13:04 to 08:20:00; time 07:20:00Z (+60 min)
    change = by_id["s8f54od7999qdkl2m4ig237bcah8adu3"]
    assert isinstance(change, DeviceEvent) and change.event_type == "time-change"
    assert change.time_from is not None and change.time_from.isoformat() == "2020-06-11T08:13:04"
    assert change.time_to is not None and change.time_to.isoformat() == "2020-06-11T08:20:00"
    assert change.clock_offset_s == 416  # 08:20:00 local - 08:13:04 device
    assert recs[0].device_id == "insulet:omnipod:130505754"


def test_twiist_details(real_fixtures: Path) -> None:
    recs = read(real_fixtures / "tidepool" / TWIIST, tidepool.parse).records
    by_id = {r.source_index: r for r in recs}
    cbg = by_id["2795ac69aaf8f162924be6f551cc7e89"]  # value 169.9999714493 mg/dL
    assert isinstance(cbg, GlucoseSample) and cbg.glucose_mgdl == pytest.approx(170, abs=1e-3)
    assert cbg.utc_offset_s == -4 * 3600 and cbg.device_time.isoformat() == "2026-06-24T08:12:02"
    settings = by_id["00aff2c5a7d9a63b08b1fa27bab456db"]
    assert isinstance(settings, SettingsSnapshot)
    rates = [(e.start_s, e.value) for e in settings.basal_schedules_u_per_h["Default"]]
    assert rates == [(0, 2), (21600, 2.6), (54000, 2.8), (66600, 2.85), (77400, 2.6)]
    assert [e.value for e in settings.carb_ratios_g_per_u] == [6.1, 5.1, 4.1]
    assert settings.sensitivities_mgdl_per_u[0].value == pytest.approx(18, abs=1e-3)
    healthkit = by_id["9cb6e28e49346c225a782ce8e20af98f"]  # smbg without deviceId/offset
    assert healthkit.device_id == "tidepool:healthkit:unknown"
    assert healthkit.utc_offset_s is None and "time/utc-offset-unknown" in healthkit.annotations


@pytest.mark.parametrize("golden", sorted(n for n in FIXTURES if n.startswith("tidepool")))
def test_golden(real_fixtures: Path, golden: str) -> None:
    rel, parse = FIXTURES[golden]
    expected = (GOLDEN / f"{golden}.json").read_text(encoding="utf-8")
    assert render(real_fixtures / rel, parse) == expected
