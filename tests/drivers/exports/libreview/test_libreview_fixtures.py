"""Every real LibreView / reader-software file in shared/fixtures/real/libreview is read.

Expected counts were counted independently of the importer, with awk on the raw files
(record type = 4th comma field):

    awk -F, 'NR>1 && $4 ~ /^[0-9]$/ {c[$4]++} END {for (k in c) print k, c[k]}' FILE
    awk -F, '$4==6 && $14 ~ /^[Ee]xercise$/' FILE | wc -l          # exercise notes

Type 0 + 1 -> cgm, 2 -> smbg, 5 -> food, 6 "Exercise" -> activity, other type-6 notes
-> nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from drivers._core.records import GlucoseSample, count_by_kind
from drivers.exports import freestyle_reader, libreview
from tests.fixtures.golden_files import GOLDEN
from tests.fixtures.make_golden_libre_carelink import FIXTURES, decode, golden_for

EXPECTED: dict[str, dict[str, int]] = {
    # type 0: 3562, type 1: 317, type 5: 3, type 6: 102 (no "Exercise" note)
    "libreview_us_mgdl_glucose_data_ampm.csv": {"cgm": 3562 + 317, "food": 3},
    # type 0: 1500, 1: 300, 2: 153, 5: 319, 6: 1307 of which 18 "Exercise"
    "libreview_us_mgdl_patient_report_2line_preamble_TRIMMED.csv": {
        "cgm": 1500 + 300,
        "smbg": 153,
        "food": 319,
        "activity": 18,
    },
    # type 0: 6, 1: 4, 6: 4 (no "Exercise")
    "libreview_us_mgdl_excel_resaved.csv": {"cgm": 6 + 4},
    # type 0: 2000, 1: 500, 5: 16, 6: 749 of which 73 "Exercise"
    "libreview_eu_mmol_ddmmyyyy_crlf_TRIMMED.csv": {"cgm": 2000 + 500, "food": 16, "activity": 73},
    # type 6: 345 of which 71 "Exercise"
    "libreview_eu_mmol_notes_only_type6.csv": {"activity": 71},
    # type 0: 1264
    "libreview_es_localized_patient_report_mmol_decimalcomma_librepro.csv": {"cgm": 1264},
}


def _read(real_fixtures: Path, name: str) -> str:
    return decode((real_fixtures / "libreview" / name).read_bytes())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_libreview_fixture_counts(real_fixtures: Path, name: str) -> None:
    text = _read(real_fixtures, name)
    assert libreview.sniff(text) and not freestyle_reader.sniff(text)
    result = libreview.parse(text, file=name)
    assert count_by_kind(result.records) == EXPECTED[name]
    assert result.skipped == ()
    times = [r.device_time for r in result.records]
    assert times == sorted(times)
    assert all(r.time_utc is None for r in result.records)


def test_units_and_date_order(real_fixtures: Path) -> None:
    us = libreview.parse(_read(real_fixtures, "libreview_us_mgdl_glucose_data_ampm.csv"))
    assert (us.units_in_file, us.day_first) == ("mg/dL", False)
    first = us.records[0]
    assert isinstance(first, GlucoseSample)
    # "05-30-2021 04:58 PM" scan 50 (awk: first type-1 row of the file sorts first)
    assert first.device_time.isoformat() == "2021-05-30T16:58:00"
    eu = libreview.parse(_read(real_fixtures, "libreview_eu_mmol_ddmmyyyy_crlf_TRIMMED.csv"))
    assert (eu.units_in_file, eu.day_first) == ("mmol/L", True)
    es = libreview.parse(
        _read(real_fixtures, "libreview_es_localized_patient_report_mmol_decimalcomma_librepro.csv")
    )
    g = es.records[0]
    assert isinstance(g, GlucoseSample) and g.glucose_mgdl == pytest.approx(
        5.2 * 18.01559, abs=0.01
    )
    assert g.device_id == "abbott:freestyle-libre-pro:jrma246-k0330"
    assert g.source_index == "0:2024-02-13T12:51:00:5.2"


@pytest.mark.parametrize("golden", sorted(k for k in FIXTURES if k.startswith("libreview")))
def test_golden(real_fixtures: Path, golden: str) -> None:
    rel, parse = FIXTURES[golden]
    expected = json.loads((GOLDEN / f"{golden}.json").read_text(encoding="utf-8"))
    assert golden_for(real_fixtures / rel, parse) == expected


def test_identity_never_reaches_records(real_fixtures: Path) -> None:
    for name in EXPECTED:
        text = _read(real_fixtures, name)
        dumped = json.dumps([r.to_dict() for r in libreview.parse(text).records])
        assert "REDACTED" not in dumped and "Sample Person" not in dumped and "Tempus" not in dumped
        assert "01-01-1900" not in dumped and "1900" not in dumped
