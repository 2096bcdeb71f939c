"""CGM Service characteristics: Nordic's test vectors byte for byte, and round trips."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers._core.errors import ChecksumError, DecodeError
from drivers.ble.cgms import messages
from drivers.ble.cgms.decode import (
    CgmMeasurement,
    decode_measurements,
    encode_measurement,
)
from drivers.ble.date_time import ZonedLocalTime
from drivers.ble.sfloat import Special, decode_sfloat, sfloat_parts

H = bytes.fromhex
NORDIC_MEASUREMENT = H("0F E3 D2 E4 05 00 02 14 FF 02 F0 E5 F3 8E 3F")


def test_nordic_measurement_vector_with_crc() -> None:
    # NordicSemiconductor/Android-BLE-Common-Library ContinuousGlucoseMeasurementDataCallbackTest
    # (protocols.md section 3.2, worked example 1).
    [m] = decode_measurements(NORDIC_MEASUREMENT, e2e=True)
    assert m.glucose.value == pytest.approx(12.34)
    assert m.time_offset_min == 5
    assert m.annunciation == 0xFF1402  # battery low; cal. recommended + temp high; bits 16-23
    assert m.trend is not None and m.trend.value == pytest.approx(0.2)
    assert m.quality is not None and m.quality.value == pytest.approx(99.7)
    assert encode_measurement(m, e2e=True) == NORDIC_MEASUREMENT
    assert messages.annunciation_codes(0x000402)[:2] == (
        "cgm/battery-low",
        "cgm/calibration-recommended",
    )


def test_minimal_record_without_crc_and_several_records_per_notification() -> None:
    # Nordic encodes 120 mg/dL as mantissa 12, exponent 1 ("06 00 0C 10 06 00").
    value = H("06 00 0C 10 06 00") + H("06 00 78 00 0B 00")
    first, second = decode_measurements(value, e2e=False)
    assert (first.glucose.value, first.time_offset_min) == (120.0, 6)
    assert (second.glucose.value, second.time_offset_min) == (120.0, 11)


def test_silicon_labs_placeholder_crc_accepted_without_e2e_feature() -> None:
    # Silicon Labs sl_bt_cgm_measurement.c sends CRC 0xFFFF (protocols.md section 3.2).
    [m] = decode_measurements(H("0F E3 04 00 00 00 01 01 01 00 00 00 00 FF FF"), e2e=False)
    assert m.glucose.value == 4.0
    with pytest.raises(ChecksumError):
        decode_measurements(H("0F E3 04 00 00 00 01 01 01 00 00 00 00 FF FF"), e2e=True)


def test_corrupt_crc_and_bad_sizes() -> None:
    with pytest.raises(ChecksumError):
        decode_measurements(NORDIC_MEASUREMENT[:-1] + b"\x00", e2e=True)
    with pytest.raises(DecodeError):
        decode_measurements(H("07 00 78 00 06 00 00"), e2e=False)  # size fits no layout
    with pytest.raises(DecodeError):
        decode_measurements(H("06 00 78 00 06"), e2e=False)  # truncated
    with pytest.raises(DecodeError):
        decode_measurements(H("06 00 78 00 06 00"), e2e=True)  # CRC promised by Feature, absent


def test_feature_status_session_vectors() -> None:
    # Nordic CGMFeatureDataCallbackTest, CGMStatusDataCallbackTest,
    # CGMSessionStartTimeDataCallbackTest, CGMSessionRunTimeDataCallbackTest.
    feature = messages.decode_feature(H("6E 9E 01 16 8A C1"))
    assert (feature.features, feature.sample_type, feature.sample_location) == (0x019E6E, 6, 1)
    assert feature.e2e_crc
    assert messages.encode_feature(feature) == H("6E 9E 01 16 8A C1")
    status = messages.decode_status(H("05 00 3F 3F FF A7 E0"), e2e=True)
    assert status == messages.CgmStatus(5, 0xFF3F3F)
    start = messages.decode_session_start(H("E2 07 04 18 0D 08 18 08 04 E0 C2"), e2e=True)
    assert start == ZonedLocalTime(datetime(2018, 4, 24, 13, 8, 24), 120, 60)
    assert messages.decode_run_time(H("02 00 08 C3"), e2e=True) == 2


def test_feature_without_e2e_sends_ffff_and_must_be_six_octets() -> None:
    feature = messages.CgmFeature(messages.FEATURE_TREND)
    assert messages.encode_feature(feature)[-2:] == H("FF FF")
    assert messages.decode_feature(messages.encode_feature(feature)) == feature
    with pytest.raises(DecodeError):
        messages.decode_feature(H("6E 9E 01 16"))  # Nordic requires exactly 6 octets


def test_out_of_range_glucose_is_infinity() -> None:
    m = CgmMeasurement(10, decode_sfloat(0x07FE), 1 << 23)
    [back] = decode_measurements(encode_measurement(m, e2e=False), e2e=False)
    assert back.glucose.special is Special.POS_INF and back.annunciation == 1 << 23


_sfloats = st.builds(
    lambda m, e: decode_sfloat(sfloat_parts(m, e)), st.integers(-2045, 2045), st.integers(-8, 7)
)


@given(
    st.integers(0, 0xFFFF),
    _sfloats,
    st.integers(0, 0xFFFFFF),
    st.one_of(st.none(), _sfloats),
    st.one_of(st.none(), _sfloats),
    st.booleans(),
)
def test_measurement_round_trip(
    offset: int, glucose: object, annunciation: int, trend: object, quality: object, e2e: bool
) -> None:
    m = CgmMeasurement(offset, glucose, annunciation, trend, quality)  # type: ignore[arg-type]
    assert decode_measurements(encode_measurement(m, e2e=e2e), e2e=e2e) == [m]


@given(st.integers(0, 0xFFFF), st.integers(0, 0xFFFFFF), st.booleans())
def test_status_round_trip(offset: int, bits: int, e2e: bool) -> None:
    status = messages.CgmStatus(offset, bits)
    assert messages.decode_status(messages.encode_status(status, e2e=e2e), e2e=e2e) == status
