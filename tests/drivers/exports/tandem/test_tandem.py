"""Tandem t:connect: the real 2021 excerpt (counts, golden), calculator fields, bad input.

Counts of the real file, by grep (every row of a section starts with its type):

    grep -c '"EGV"' FILE      # 3 CGM readings
    grep -c '^"IOB"' FILE     # 3 IOB rows (not imported: one skipped entry)
    grep -c '^"Bolus"' FILE   # 4 boluses
"""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers._core.errors import FileFormatError
from drivers._core.records import BasalSegment, Bolus, GlucoseSample, count_by_kind
from drivers.exports import nightscout, tandem, tidepool
from tests.fixtures.golden_files import GOLDEN
from tests.fixtures.make_golden_other import FIXTURES, read, render

NAME = "tconnect_therapy_timeline_excerpt_from_tconnectsync_test.csv"


def test_real_excerpt(real_fixtures: Path) -> None:
    path = real_fixtures / "tandem" / NAME
    text = path.read_text(encoding="utf-8")
    assert tandem.sniff(text) and not nightscout.sniff(text) and not tidepool.sniff(text)
    result = read(path, tandem.parse)
    assert result.format == "tandem-tconnect-csv"
    assert count_by_kind(result.records) == {"cgm": 3, "bolus": 4}
    assert [s.line for s in result.skipped] == [13]  # the IOB section, not imported
    times = [r.device_time for r in result.records]
    assert times == sorted(times)
    first = next(r for r in result.records if isinstance(r, Bolus))
    # "Standard/Correction", BG 141, CarbSize 75, FoodBolusSize 12.50, Correction 1.03,
    # requested 13.53, UserOverride 0, "CF 1:30 - Carb Ratio 1:6 - Target BG 110"
    assert first.source_index == "bolus:7001" and first.delivered_u == 13.53
    calc = first.calculation
    assert calc is not None
    assert (calc.carbs_g, calc.bg_mgdl, calc.carb_ratio_g_per_u) == (75, 141, 6)
    assert (calc.sensitivity_mgdl_per_u, calc.target_low_mgdl) == (30, 110)
    assert calc.recommended_total_u == 13.53 and calc.user_changed is False
    overridden = [r for r in result.records if isinstance(r, Bolus)][1]
    # IOB 0.71 sits left of the shifted columns; UserOverride 1 and IndexID right of them
    assert overridden.calculation is not None and overridden.calculation.user_changed is True
    assert overridden.calculation.iob_u == 0.71
    assert first.device_id == "tandem:tslim-x2:11111111"


def test_golden(real_fixtures: Path) -> None:
    golden = "tandem_tconnect_therapy_timeline_excerpt"
    rel, parse = FIXTURES[golden]
    assert render(real_fixtures / rel, parse) == (GOLDEN / f"{golden}.json").read_text(
        encoding="utf-8"
    )


HEAD = (
    "Tandem Diabetes Care Inc.\nt:connect Therapy Timeline Data Export\n"
    "Patient Name, Jane Secret\nPatient DOB, 2/3/1980\n"
    "Report Generated On, 4/24/2021 7:50:04 PM\n\n"
)
READINGS = "DeviceType,SerialNumber,Description,EventDateTime,Readings (CGM / BGM)\n"


def test_bad_rows_skipped_with_lines_and_no_private_data() -> None:
    text = (
        HEAD
        + READINGS
        + '"t:slim X2 Insulin Pump","123","EGV","2021-04-01T00:01:33","0",\n'
        + '"t:slim X2 Insulin Pump","123","EGV","2021-13-01T00:06:33","120",\n'
        + '"t:slim X2 Insulin Pump","123","BG","2021-04-01T00:11:33","High",\n'
        + '"t:slim X2 Insulin Pump","123","EGV","2021-04-01T00:16:33","2000",\n\n'
        + "Type,EventDateTime,BasalRate\n"
        + '"Basal","2021-04-01T00:00:00","0.80",\n"Basal","2021-04-01T03:00:00","-1",\n'
        + '"Basal","2021-04-01T06:00:00","1.10",\n'
    )
    result = tandem.parse(text, "t.csv")
    assert [s.line for s in result.skipped] == [8, 9, 11, 15]
    assert all("Jane" not in s.reason and "1980" not in s.reason for s in result.skipped)
    high = next(r for r in result.records if isinstance(r, GlucoseSample))
    assert high.special == "high" and high.sample_type == "smbg"
    basal = [r for r in result.records if isinstance(r, BasalSegment)]
    assert [b.duration_s for b in basal] == [6 * 3600, None]
    assert "basal/unknown-duration" in basal[-1].annotations


def test_no_header_is_a_file_error() -> None:
    with pytest.raises(FileFormatError) as err:
        tandem.parse(HEAD + "nothing,here\n", "t.csv")
    assert err.value.context["line"] == 1 and "Jane" not in str(err.value)


def test_tandem_source_offset_kept() -> None:
    text = (
        "Tandem Diabetes Care\nTandem Source export\nDevice,t:slim X2\n"
        "Software,7.6\nReport,2024-05-01\nx,y\n\n"
        "DeviceType,SerialNumber,Description,EventDateTime,Readings (mg/dL)\n"
        '"t:slim X2","999","EGV","2024-05-01T08:00:00-04:00","110"\n'
    )
    assert tandem.sniff(text)
    result = tandem.parse(text, "s.csv")
    assert result.format == "tandem-source-csv"
    (rec,) = result.records
    assert rec.device_time.isoformat() == "2024-05-01T08:00:00"
    assert rec.utc_offset_s == -4 * 3600 and rec.time_utc is not None
    assert rec.device_id == "tandem:tslim-x2:999"
