"""Bad Clarity input: a clear error naming file and line, or a skipped row; never a crash."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers._core.errors import DriverError, FileFormatError, UnsupportedDevice
from drivers.exports import read_export
from drivers.transports.files import MAX_EXPORT_BYTES

HEADER = (
    "Index,Timestamp (YYYY-MM-DDThh:mm:ss),Event Type,Event Subtype,Patient Info,Device Info,"
    "Source Device ID,Glucose Value (mg/dL),Insulin Value (u),Carb Value (grams),"
    "Duration (hh:mm:ss),Glucose Rate of Change (mg/dL/min),Transmitter Time (Long Integer),"
    "Transmitter ID\n"
)
GOOD = "1,2024-01-01T00:00:00,EGV,,,,Android G6,100,,,,,300,ABC123\n"


def test_impossible_values_are_skipped_with_line_and_reason() -> None:
    text = (
        HEADER
        + GOOD
        + (
            "2,2024-01-01T00:05:00,EGV,,,,Android G6,0,,,,,600,ABC123\n"
            "3,2024-01-01T00:10:00,EGV,,,,Android G6,2000,,,,,900,ABC123\n"
            "4,2024-01-01T00:12:00,Insulin,Fast-Acting,,,Android G6,,-2.00,,,\n"
            "5,2024-13-01T00:15:00,EGV,,,,Android G6,100,,,,,1200,ABC123\n"
            "6,2024-01-01T00:20:00,Bogus,,,,Android G6,,,,,,,\n"
        )
    )
    result = read_export("e.csv", data=text.encode())
    assert len(result.records) == 1
    assert [(s.line, s.reason.split(" ")[0]) for s in result.skipped] == [
        (3, "glucose"),
        (4, "glucose"),
        (5, "insulin"),
        (6, "Timestamp"),
        (7, "unknown"),
    ]


def test_header_cut_short_names_the_file() -> None:
    with pytest.raises(UnsupportedDevice, match=r"cut\.csv"):
        read_export("cut.csv", data=HEADER[:60].encode())


def test_wrong_encoding_names_file_and_line() -> None:
    data = (HEADER + GOOD).encode() + b"2,2024-01-01T00:05:00,EGV,,,,\xff\xfe\xfd\n"
    with pytest.raises(FileFormatError, match=r"latin\.csv:3"):
        read_export("latin.csv", data=data)


def test_oversized_file_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.csv"
    with big.open("wb") as f:
        f.truncate(MAX_EXPORT_BYTES + 1)
    with pytest.raises(FileFormatError, match="larger than"):
        read_export(big)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_random_bytes_raise_only_driver_errors(data: bytes) -> None:
    with contextlib.suppress(DriverError):
        read_export("fuzz.csv", data=data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_exports_raise_only_driver_errors(data: st.DataObject) -> None:
    body = (
        HEADER + GOOD * 3 + "5,2024-01-01T00:12:00,Insulin,Long-Acting,,,Android G6,,14.00,,,\n"
    ).encode("utf-8")
    pos = data.draw(st.integers(0, len(body) - 1))
    chunk = data.draw(st.binary(min_size=0, max_size=8))
    cut = data.draw(st.booleans())
    mutated = body[:pos] + chunk + (b"" if cut else body[pos + len(chunk) :])
    try:
        result = read_export("mut.csv", data=mutated)
    except DriverError:
        return
    assert all(s.line >= 1 for s in result.skipped)
