"""IEEE 11073-20601 SFLOAT-16 / FLOAT-32: specification vectors and round trips."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.ble.sfloat import (
    Special,
    decode_float,
    decode_sfloat,
    encode_float,
    encode_sfloat,
    float_parts,
    pack_sfloat,
    sfloat_parts,
)


def _le(hex_bytes: str) -> int:
    return int.from_bytes(bytes.fromhex(hex_bytes), "little")


# Worked examples: shared/reference/protocols.md section 3.1 (checked against the
# NordicSemiconductor/Android-BLE-Common-Library callback tests, e.g.
# ContinuousGlucoseMeasurementDataCallbackTest: "D2 E4" = 12.34, "E5 F3" = 99.7,
# "02 F0" = 0.2) and GLS meters' kg/L and mol/L encodings (GLS 1.0 section 3.106).
@pytest.mark.parametrize(
    ("wire", "mantissa", "exponent", "value"),
    [
        ("72 F0", 114, -1, 11.4),
        ("78 00", 120, 0, 120.0),
        ("0C 10", 12, 1, 120.0),
        ("D2 E4", 1234, -2, 12.34),
        ("E5 F3", 997, -1, 99.7),
        ("02 F0", 2, -1, 0.2),
        ("5F B0", 95, -5, 0.00095),
        ("35 C0", 53, -4, 0.0053),
        ("FF 0F", -1, 0, -1.0),
    ],
)
def test_sfloat_specification_examples(
    wire: str, mantissa: int, exponent: int, value: float
) -> None:
    decoded = decode_sfloat(_le(wire))
    assert (decoded.mantissa, decoded.exponent) == (mantissa, exponent)
    assert decoded.value == pytest.approx(value)
    assert pack_sfloat(decoded) == _le(wire)


# IEEE 11073-20601 special values (Annex F.8; protocols.md table in section 3.1).
@pytest.mark.parametrize(
    ("wire", "special"),
    [
        ("FF 07", Special.NAN),
        ("00 08", Special.NRES),
        ("FE 07", Special.POS_INF),
        ("02 08", Special.NEG_INF),
        ("01 08", Special.RESERVED),
    ],
)
def test_sfloat_special_values(wire: str, special: Special) -> None:
    decoded = decode_sfloat(_le(wire))
    assert decoded.special is special
    assert decoded.number() is None
    assert encode_sfloat(special) == _le(wire)


def test_special_values_map_to_float_nan_and_infinities() -> None:
    assert math.isnan(decode_sfloat(0x07FF).value)
    assert math.isnan(decode_sfloat(0x0800).value)
    assert decode_sfloat(0x07FE).value == math.inf
    assert decode_sfloat(0x0802).value == -math.inf
    assert encode_sfloat(math.inf) == 0x07FE and encode_sfloat(-math.inf) == 0x0802
    assert encode_sfloat(math.nan) == 0x07FF


def test_special_mantissa_with_nonzero_exponent_is_a_number() -> None:
    # Nordic's Data.getFloatValue compares specials only with exponent 0.
    decoded = decode_sfloat(0x17FF)
    assert decoded.special is None and decoded.value == 20470.0


# FLOAT-32 examples: protocols.md section 3.1 ("6C 01 00 FF" = 36.4, "39 05 00 FD" = 1.337).
@pytest.mark.parametrize(
    ("wire", "value"), [("6C 01 00 FF", 36.4), ("39 05 00 FD", 1.337), ("64 00 00 00", 100.0)]
)
def test_float_specification_examples(wire: str, value: float) -> None:
    assert decode_float(_le(wire)).value == pytest.approx(value)
    assert decode_float(encode_float(value)).value == pytest.approx(value)


@pytest.mark.parametrize(
    ("raw", "special"),
    [
        (0x007FFFFF, Special.NAN),
        (0x00800000, Special.NRES),
        (0x007FFFFE, Special.POS_INF),
        (0x00800002, Special.NEG_INF),
        (0x00800001, Special.RESERVED),
    ],
)
def test_float_special_values(raw: int, special: Special) -> None:
    assert decode_float(raw).special is special
    assert encode_float(special) == raw


def test_encoder_picks_the_exponent_and_trims_zeros() -> None:
    assert encode_sfloat(120) == 0x0078  # m=120, e=0 (protocols.md: "120 mg/dL -> m=120, e=0")
    assert encode_sfloat(5.5) == 0xF037  # m=55, e=-1
    assert encode_sfloat(0.0) == 0x0000
    with pytest.raises(ValueError):
        encode_sfloat(3e10)
    with pytest.raises(ValueError):
        sfloat_parts(2046, 0)  # would collide with +INF


@given(st.integers(-2045, 2045), st.integers(-8, 7))
def test_sfloat_parts_round_trip(mantissa: int, exponent: int) -> None:
    decoded = decode_sfloat(sfloat_parts(mantissa, exponent))
    assert decoded.special is None
    assert (decoded.mantissa, decoded.exponent) == (mantissa, exponent)


@given(st.integers(-8388605, 8388605), st.integers(-128, 127))
def test_float_parts_round_trip(mantissa: int, exponent: int) -> None:
    decoded = decode_float(float_parts(mantissa, exponent))
    assert (decoded.mantissa, decoded.exponent) == (mantissa, exponent)


@given(st.integers(-2045, 2045), st.integers(-8, 7))
def test_sfloat_value_round_trip(mantissa: int, exponent: int) -> None:
    value = decode_sfloat(sfloat_parts(mantissa, exponent)).value
    assert decode_sfloat(encode_sfloat(value)).value == pytest.approx(value, rel=1e-12)


@given(st.integers(0, 0xFFFF))
def test_every_sfloat_bit_pattern_decodes_and_repacks(raw: int) -> None:
    assert pack_sfloat(decode_sfloat(raw)) == raw
