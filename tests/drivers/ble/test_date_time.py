"""Date Time, Time Zone and DST Offset characteristics (GATT Specification Supplement)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers._core.errors import DecodeError
from drivers.ble.date_time import (
    ZonedLocalTime,
    encode_date_time,
    encode_zoned,
    read_date_time,
    read_zoned,
)
from drivers.ble.reader import Reader

H = bytes.fromhex


def test_date_time_example() -> None:
    # protocols.md section 3.6: "E8 07 03 0F 08 1E 00" = 2024-03-15 08:30:00.
    assert read_date_time(Reader(H("E8 07 03 0F 08 1E 00"), "x")) == datetime(2024, 3, 15, 8, 30)
    assert encode_date_time(datetime(2024, 3, 15, 8, 30)) == H("E8 07 03 0F 08 1E 00")


def test_year_zero_is_not_known() -> None:
    # Nordic DateTimeDataCallbackTest leaves the year unset for "00 00 04 18 0D 08 18".
    assert read_date_time(Reader(H("00 00 04 18 0D 08 18"), "x")) is None
    assert encode_date_time(None) == bytes(7)


def test_nordic_session_start_time_vector() -> None:
    # Nordic CGMSessionStartTimeDataCallbackTest: 2018-04-24 13:08:24, TZ +8 (UTC+2:00),
    # DST 4 (+1 h) -> local = UTC + 3 h (the CRC "E0 C2" is stripped by the CGMS codec).
    zoned = read_zoned(Reader(H("E2 07 04 18 0D 08 18 08 04"), "SST"))
    assert zoned == ZonedLocalTime(datetime(2018, 4, 24, 13, 8, 24), 120, 60)
    assert zoned.utc_offset_s == 3 * 3600
    assert zoned.to_utc(datetime(2018, 4, 24, 13, 8, 24)) == datetime(
        2018, 4, 24, 10, 8, 24, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("wire", "tz", "dst"), [("EC FF", -300, None), ("80 00", None, 0), ("38 08", 840, 120)]
)
def test_time_zone_and_dst_codes(wire: str, tz: int | None, dst: int | None) -> None:
    zoned = read_zoned(Reader(bytes(7) + H(wire), "x"))
    assert (zoned.tz_minutes, zoned.dst_minutes) == (tz, dst)
    assert zoned.utc_offset_s == (None if tz is None else (tz + (dst or 0)) * 60)


@pytest.mark.parametrize(
    "wire", ["E8 07 0D 0F 08 1E 00", "E8 07 02 1E 08 1E 00", "E8 07 03 0F 18 00 00"]
)
def test_impossible_dates_raise_decode_error(wire: str) -> None:
    with pytest.raises(DecodeError):
        read_date_time(Reader(H(wire), "x"))


@pytest.mark.parametrize("tail", ["39 00", "00 03", "C0 00"])
def test_out_of_range_zone_or_reserved_dst_raise(tail: str) -> None:
    with pytest.raises(DecodeError):
        read_zoned(Reader(bytes(7) + H(tail), "x"))


@given(
    st.datetimes(min_value=datetime(1582, 1, 1), max_value=datetime(9999, 12, 31)).map(
        lambda d: d.replace(microsecond=0)
    ),
    st.one_of(st.none(), st.integers(-48, 56).map(lambda s: s * 15)),
    st.one_of(st.none(), st.sampled_from([0, 30, 60, 120])),
)
def test_zoned_round_trip(local: datetime, tz: int | None, dst: int | None) -> None:
    zoned = ZonedLocalTime(local, tz, dst)
    assert read_zoned(Reader(encode_zoned(zoned), "x")) == zoned
