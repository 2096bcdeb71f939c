"""E2E-CRC (CRC-16/MCRF4XX) check values from the specifications and reference code."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers._core.errors import ChecksumError, DecodeError
from drivers.ble.e2e_crc import append_crc, crc16_mcrf4xx, split_crc


# Vectors: "123456789" -> 0x6F91 is the CRC-16/MCRF4XX check value of the CRC catalogue
# (also FrankBoesing/FastCRC "check=0x6f91"). NordicSemiconductor/Android-BLE-Common-Library
# ble-common/src/test/.../util/CRC16Test.java asserts it too, with "A" -> 0x5C0A, Microchip
# AN752's "58 25 1F 98" -> 0x07F1, and the CGMS 1.0.1 section 3.11 example "3E 01 .. 09"
# -> 0x2F01 (printed byte-swapped as 0x012F in the CGMS PDF). The characteristic
# examples are the CRCs of Nordic's CGM callback test vectors (protocols.md 3.2-3.6).
@pytest.mark.parametrize(
    ("data", "crc"),
    [
        (b"123456789", 0x6F91),
        (b"A", 0x5C0A),
        (bytes.fromhex("58 25 1F 98"), 0x07F1),
        (bytes.fromhex("3E 01 02 03 04 05 06 07 08 09"), 0x2F01),
        (bytes.fromhex("0F E3 D2 E4 05 00 02 14 FF 02 F0 E5 F3"), 0x3F8E),  # CGM Measurement
        (bytes.fromhex("6E 9E 01 16"), 0xC18A),  # CGM Feature
        (bytes.fromhex("05 00 3F 3F FF"), 0xE0A7),  # CGM Status
        (bytes.fromhex("E2 07 04 18 0D 08 18 08 04"), 0xC2E0),  # Session Start Time
        (bytes.fromhex("02 00"), 0xC308),  # Session Run Time
        (b"", 0xFFFF),
    ],
)
def test_check_values(data: bytes, crc: int) -> None:
    assert crc16_mcrf4xx(data) == crc


def test_crc_is_sent_little_endian() -> None:
    assert append_crc(bytes.fromhex("3E 01 02 03 04 05 06 07 08 09"))[-2:] == bytes((0x01, 0x2F))


def test_mismatch_carries_wire_and_calculated() -> None:
    with pytest.raises(ChecksumError) as info:
        split_crc(bytes.fromhex("02 00 08 C4"), what="CGM Session Run Time")
    assert (info.value.wire, info.value.calculated) == (0xC408, 0xC308)
    assert "wire=0xC408" in str(info.value) and info.value.retryable


def test_placeholder_crc_is_ignored_when_not_checked() -> None:
    assert split_crc(bytes.fromhex("02 00 FF FF"), what="x", check=False) == b"\x02\x00"
    with pytest.raises(DecodeError):
        split_crc(b"\x01", what="x")


@given(st.binary(max_size=64))
def test_append_then_split_round_trip(payload: bytes) -> None:
    assert split_crc(append_crc(payload), what="x") == payload


@given(st.binary(min_size=1, max_size=32), st.integers(0, 255), st.integers(1, 255))
def test_any_single_octet_error_is_detected(payload: bytes, index: int, flip: int) -> None:
    framed = bytearray(append_crc(payload))
    framed[index % len(framed)] ^= flip
    with pytest.raises(ChecksumError):
        split_crc(bytes(framed), what="x")
