"""Glooko (no real export exists: layouts from the formats note): CSV headers in
English/German/Swedish, the ZIP and folder readers, zip bombs and path traversal."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

import pytest

from drivers._core.errors import FileFormatError
from drivers._core.records import BasalSegment, Bolus, GlucoseSample, count_by_kind
from drivers.exports import glooko
from drivers.exports.glooko import archive

META = "Name:Test Patient,Date Range:2026-01-01 - 2026-01-02\r\n"
CGM = META + "Timestamp,CGM Glucose Value (mg/dl),Serial Number\r\n2026-01-01 00:05,120,G7X\r\n"
BOLUS = (
    META
    + "Timestamp,Insulin Type,Blood Glucose Input (mg/dl),Carbs Input (g),Carbs Ratio,"
    + "Insulin Delivered (U),Initial Delivery (U),Extended Delivery (U),Serial Number\r\n"
    + "2026-01-01 08:00,Normal,140,45,10,5.5,4.5,1.0,P1\r\n"
    + "2026-01-01 12:00,Normal,,,,-2,,,P1\r\n"
)


def _zip(files: dict[str, str | bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_single_csv_sniff_and_parse() -> None:
    assert glooko.sniff(CGM) and not glooko.sniff("Timestamp,CGM Glucose Value (mg/dl)\n")
    result = glooko.parse(CGM, "cgm_data_1.csv")
    (rec,) = result.records
    assert isinstance(rec, GlucoseSample) and rec.glucose_mgdl == 120
    assert rec.device_id == "glooko:cgm:g7x" and result.format == "glooko-csv"


def test_zip_with_bolus_bad_row_and_daily_totals() -> None:
    daily = (
        META
        + "Timestamp,Total Bolus (U),Total Insulin (U),Total Basal (U),Serial Number\r\n"
        + "2026-01-01,10,20,10,P1\r\n"
    )
    result = glooko.parse_zip(
        _zip({"cgm_data_1.csv": CGM, "bolus_data_1.csv": BOLUS, "insulin_data_1.csv": daily}),
        "export.zip",
    )
    assert count_by_kind(result.records) == {"cgm": 1, "bolus": 1}
    bolus = next(r for r in result.records if isinstance(r, Bolus))
    assert bolus.subtype == "dual" and (bolus.delivered_u, bolus.extended_delivered_u) == (4.5, 1.0)
    assert bolus.calculation is not None and bolus.calculation.carbs_g == 45
    reasons = {s.reason.split(":")[0]: (s.line, s.reason) for s in result.skipped}
    assert reasons["bolus_data_1.csv"][0] == 4 and "impossible" in reasons["bolus_data_1.csv"][1]
    assert "insulin_data_1.csv" in reasons


def test_german_and_swedish_headers() -> None:
    de = META + "Zeitstempel,CGM-Glukosewert (mg/dl),Seriennummer\r\n2026-01-01 00:05,99,X\r\n"
    sv = (
        META
        + "Tidstämpel,Insulintyp,Varaktighet (minuter),Procent (%),"
        + "Insulin tillfört (enh.),Serienummer\r\n"
        + '2026-01-01 00:00,Scheduled Basal,60,,"0,9",P\r\n'
    )
    sv_cgm = (
        META
        + "Tidstämpel,CGM-glukosvärde (mmol/l),Serienummer\r\n"
        + '2026-01-01 00:05,"5,8",X\r\n'
    )
    (d,) = glooko.parse(de, "de.csv").records
    assert isinstance(d, GlucoseSample) and d.glucose_mgdl == 99
    (b,) = glooko.parse(sv, "sv.csv").records
    assert isinstance(b, BasalSegment) and b.rate_u_per_h == pytest.approx(0.9)
    assert "basal/rate-from-delivered" in b.annotations and b.duration_s == 3600
    result = glooko.parse(sv_cgm, "sv_cgm.csv")
    assert result.units_in_file == "mmol/L"
    assert result.records[0].glucose_mgdl == pytest.approx(5.8 * 18.01559)  # type: ignore[attr-defined]


def test_folder(tmp_path: Path) -> None:
    (tmp_path / "CGM data").mkdir()
    (tmp_path / "CGM data" / "cgm_data_1.csv").write_text(CGM, encoding="utf-8")
    result = glooko.parse_folder(tmp_path)
    assert result.format == "glooko-folder" and len(result.records) == 1


@pytest.mark.parametrize("name", ["../evil.csv", "/etc/cgm.csv", "a\\..\\b.csv", "C:cgm.csv"])
def test_path_traversal_refused(name: str) -> None:
    with pytest.raises(FileFormatError, match="path traversal"):
        glooko.parse_zip(_zip({name: CGM}), "export.zip")


def test_too_many_entries_refused() -> None:
    files: dict[str, str | bytes] = {f"x{i}.txt": "" for i in range(archive.MAX_ENTRIES + 1)}
    with pytest.raises(FileFormatError, match="entries"):
        glooko.parse_zip(_zip(files), "export.zip")


def test_zip_bomb_refused_even_with_a_lying_header(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archive, "MAX_TOTAL_BYTES", 1_000_000)
    data = _zip({"cgm_data_1.csv": b"0" * 3_000_000})
    with pytest.raises(FileFormatError, match="declares"):
        glooko.parse_zip(data, "bomb.zip")
    # Rewrite the declared uncompressed size (local header and central directory) to 10.
    forged = bytearray(data)
    local = forged.index(b"PK\x03\x04")
    central = forged.index(b"PK\x01\x02")
    struct.pack_into("<I", forged, local + 22, 10)
    struct.pack_into("<I", forged, central + 24, 10)
    with pytest.raises(FileFormatError):
        glooko.parse_zip(bytes(forged), "bomb.zip")


def test_not_a_zip() -> None:
    with pytest.raises(FileFormatError, match="ZIP"):
        glooko.parse_zip(b"PK\x03\x04garbage" + zlib.compress(b"x"), "bad.zip")
    with pytest.raises(FileFormatError, match="no Glooko CSV"):
        glooko.parse_zip(_zip({"readme.txt": "hi"}), "empty.zip")
    with pytest.raises(FileFormatError) as err:
        glooko.parse("Name:Someone Private\r\nfoo,bar\r\n", "x.csv")
    assert "Private" not in str(err.value)
