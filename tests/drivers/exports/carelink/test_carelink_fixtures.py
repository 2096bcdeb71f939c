"""Every real CareLink file in shared/fixtures/real/medtronic-carelink is read.

Expected counts were counted independently with awk/grep on the raw files (780G: pump
section = lines 8-391, auto section 394-402, sensor section from 406; Guardian: pump
8-908, sensor from 911; fields are ``;``-separated, numbered as in the header):

780G  cgm    2122  awk -F';' 'NR>405 && $35!=""' | wc -l
      bolus    48  awk -F';' 'NR>7 && NR<392 && $12!="" && $14==""'   (programmed rows)
      smbg     22  ... $6!=""     calibration 5: ... $34!=""
      basal   118  112 Basal Rate rows without Rewind ($8!="" && $22=="") - 3 repeated
                   rows (sort | uniq -d) + 9 daily auto-insulin rows
      events   90  35 Alert + 6 NORMAL_PUMPING + 6 Prime + 3 Rewind + 40 Sensor Exception
      skipped   3  the 3 repeated Basal Rate rows
Guardian cgm 1499 ($32 in the sensor section), smbg 87 ($5), alarms 613 ($17, no
      repeats), injection 115 / food 53 (unique "Insulin:"/"Meal:" Event Markers, $34;
      196 marker rows - 168 unique = 28 repeated rows -> skipped 28)
iPro2 cgm 300 (Raw-Type SGReceivedIPro), calibration 5 (LogbookDatum with BG, Used in
      Calibration True), food 4 (Meal markers), device-event 1 (SENSOR_IN)
Classic: grep -c ',<Raw-Type>,"' per file (see CLASSIC below).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from drivers._core.records import Bolus, count_by_kind
from drivers.exports import carelink
from tests.fixtures.golden_files import GOLDEN
from tests.fixtures.make_golden_libre_carelink import FIXTURES, decode, golden_for

MODERN: dict[str, tuple[str, dict[str, int], int]] = {
    "carelink_780g_eu_semicolon_decimalcomma_bom_crlf_7d.csv": (
        "carelink-csv",
        {
            "cgm": 2122,
            "bolus": 48,
            "smbg": 22,
            "calibration": 5,
            "basal": 112 - 3 + 9,
            "device-event": 90,
        },
        3,
    ),
    "carelink_guardian_connect_eu_semicolon_decimalcomma_TRIMMED.csv": (
        "carelink-guardian-connect-csv",
        {"cgm": 1499, "smbg": 87, "device-event": 613, "injection": 115, "food": 53},
        28,
    ),
    "ipro2_professional_cgm_export_utf16le_tab_TRIMMED.csv": (
        "carelink-ipro2-csv",
        {"cgm": 300, "calibration": 5, "food": 4, "device-event": 1},
        0,
    ),
}

CLASSIC: dict[str, dict[str, int]] = {
    "basal_scheduled_normal": {"basal": 3},  # BasalProfileStart=3
    "basal_temp_percent": {"basal": 3},  # BasalProfileStart=2, ChangeTempBasalPercent=2 (1 cancel)
    "basal_temp_rate": {"basal": 3},  # BasalProfileStart=2, ChangeTempBasal=1
    "bolus_dual_withWizard": {"bolus": 1},  # BolusNormal=1 + BolusSquare=1 (one dual)
    "bolus_normal_withOverride": {"bolus": 1},
    "bolus_normal_withWizardInterveningBG": {"bolus": 1, "smbg": 1},
    "bolus_square_withWizard": {"bolus": 1},
    "cbg": {"cgm": 1},
    "overlaps_overlap": {"cgm": 6, "calibration": 2, "bolus": 1, "basal": 5},
    "overlaps_unsupported": {"cgm": 6, "calibration": 2, "bolus": 1, "basal": 5},
    "settings_withChanges": {"cgm": 1, "settings": 1},  # CurrentBasalProfilePattern in 1 upload
    "settings_withSameTimeChanges": {"basal": 1, "smbg": 2, "settings": 2},
    "smbg": {"smbg": 5},  # BGCapturedOnPump=5; the 2 BGReceived are the same readings
    "suspend": {"basal": 4, "device-event": 3},  # ChangeSuspendState=7: 4 suspend, 3 resume
}


def _read(real_fixtures: Path, rel: str) -> str:
    return decode((real_fixtures / "medtronic-carelink" / rel).read_bytes())


@pytest.mark.parametrize("name", sorted(MODERN))
def test_modern_fixture_counts(real_fixtures: Path, name: str) -> None:
    fmt, counts, skipped = MODERN[name]
    text = _read(real_fixtures, name)
    assert carelink.sniff(text)
    result = carelink.parse(text, file=name)
    assert result.format == fmt
    assert count_by_kind(result.records) == counts
    assert len(result.skipped) == skipped
    assert all(reason.startswith("duplicate of line") for _, reason in result.skipped)
    dumped = json.dumps([r.to_dict() for r in result.records])
    assert "REDACTED" not in dumped and "999999" not in dumped


@pytest.mark.parametrize("name", sorted(CLASSIC))
def test_classic_fixture_counts(real_fixtures: Path, name: str) -> None:
    result = carelink.parse(_read(real_fixtures, f"classic_2014_tidepool_uploader/{name}.csv"))
    assert result.format == "carelink-classic-csv"
    assert count_by_kind(result.records) == CLASSIC[name]
    assert result.skipped == ()
    assert all(r.source_index.startswith(("raw:", "settings:upload:")) for r in result.records)


def test_780g_device_order_and_bolus_wizard(real_fixtures: Path) -> None:
    result = carelink.parse(
        _read(real_fixtures, "carelink_780g_eu_semicolon_decimalcomma_bom_crlf_7d.csv")
    )
    assert result.records[0].device_time < result.records[-1].device_time
    bolus = next(
        r for r in result.records if isinstance(r, Bolus) and r.source_index.endswith(":89")
    )
    # lines 13-15: wizard 1,175 U for 10 g at BG 184, programmed 1,175, delivered 1,175
    assert (bolus.programmed_u, bolus.delivered_u) == (1.175, 1.175)
    calc = bolus.calculation
    assert calc is not None
    assert (calc.carbs_g, calc.bg_mgdl, calc.carb_ratio_g_per_u) == (10.0, 184.0, 8.5)
    assert calc.recommended_total_u == 1.175 and calc.user_changed is False
    assert bolus.device_time.isoformat() == "2025-11-07T22:25:45"


def test_classic_override_and_dual(real_fixtures: Path) -> None:
    over = carelink.parse(
        _read(real_fixtures, "classic_2014_tidepool_uploader/bolus_normal_withOverride.csv")
    )
    (b,) = over.records
    assert isinstance(b, Bolus) and b.calculation is not None
    assert (b.programmed_u, b.calculation.recommended_total_u, b.calculation.user_changed) == (
        2.0,
        1.15,
        True,
    )
    dual = carelink.parse(
        _read(real_fixtures, "classic_2014_tidepool_uploader/bolus_dual_withWizard.csv")
    )
    (d,) = dual.records
    assert isinstance(d, Bolus)
    assert (d.subtype, d.programmed_u, d.extended_programmed_u, d.extended_duration_s) == (
        "dual",
        3.0,
        2.0,
        7200,
    )


@pytest.mark.parametrize("golden", sorted(k for k in FIXTURES if k.startswith("carelink")))
def test_golden(real_fixtures: Path, golden: str) -> None:
    rel, parse = FIXTURES[golden]
    expected = json.loads((GOLDEN / f"{golden}.json").read_text(encoding="utf-8"))
    assert golden_for(real_fixtures / rel, parse) == expected
