"""IEEE 11073-20601 SFLOAT-16 and FLOAT-32: the "medical floats" of the SIG profiles.

``value = mantissa x 10**exponent``, both two's complement, packed into one
little-endian integer: SFLOAT has a 4-bit exponent over a 12-bit mantissa, FLOAT an
8-bit exponent over a 24-bit mantissa. With exponent 0, five mantissas are special
values (NaN, NRes, +INF, -INF, reserved); see :class:`Special`. Decoding treats those
codes as special only when the exponent is 0, as Nordic's ``Data.getFloatValue`` does
(NordicSemiconductor/Android-BLE-Library); encoding never produces a mantissa beyond
+/-2045 (SFLOAT) or +/-8388605 (FLOAT), so a number can never collide with a special.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum


class Special(Enum):
    """The special values of IEEE 11073-20601 (section F.8)."""

    NAN = "nan"
    NRES = "nres"
    POS_INF = "+inf"
    NEG_INF = "-inf"
    RESERVED = "reserved"


@dataclass(frozen=True, slots=True)
class _Format:
    exp_bits: int
    man_bits: int
    specials: dict[int, Special]

    @property
    def man_limit(self) -> int:
        """Largest mantissa magnitude a number may use (the top 3 codes are special)."""
        return (1 << (self.man_bits - 1)) - 3

    @property
    def exp_range(self) -> tuple[int, int]:
        half = 1 << (self.exp_bits - 1)
        return -half, half - 1


SFLOAT = _Format(
    4,
    12,
    {
        0x07FF: Special.NAN,
        0x0800: Special.NRES,
        0x07FE: Special.POS_INF,
        0x0802: Special.NEG_INF,
        0x0801: Special.RESERVED,
    },
)
FLOAT = _Format(
    8,
    24,
    {
        0x007FFFFF: Special.NAN,
        0x00800000: Special.NRES,
        0x007FFFFE: Special.POS_INF,
        0x00800002: Special.NEG_INF,
        0x00800001: Special.RESERVED,
    },
)


@dataclass(frozen=True, slots=True)
class MedFloat:
    """A decoded SFLOAT/FLOAT: either ``mantissa x 10**exponent`` or a special value."""

    mantissa: int
    exponent: int
    special: Special | None = None

    @property
    def is_number(self) -> bool:
        """True unless this is one of the special values."""
        return self.special is None

    @property
    def value(self) -> float:
        """As a float: NaN for NaN/NRes/reserved, +/-inf for the infinities.

        >>> decode_sfloat(0xF072).value
        11.4
        """
        if self.special is Special.POS_INF:
            return math.inf
        if self.special is Special.NEG_INF:
            return -math.inf
        if self.special is not None:
            return math.nan
        return float(Decimal(self.mantissa).scaleb(self.exponent))

    def number(self) -> float | None:
        """The value when it is a number, else None (never a fake 0)."""
        return self.value if self.special is None else None


def _signed(raw: int, bits: int) -> int:
    return raw - (1 << bits) if raw & (1 << (bits - 1)) else raw


def _decode(raw: int, fmt: _Format) -> MedFloat:
    man_raw = raw & ((1 << fmt.man_bits) - 1)
    exp_raw = raw >> fmt.man_bits
    if exp_raw == 0 and man_raw in fmt.specials:
        return MedFloat(0, 0, fmt.specials[man_raw])
    return MedFloat(_signed(man_raw, fmt.man_bits), _signed(exp_raw, fmt.exp_bits))


def decode_sfloat(raw: int) -> MedFloat:
    """Decode a 16-bit SFLOAT read as an unsigned little-endian integer."""
    return _decode(raw & 0xFFFF, SFLOAT)


def decode_float(raw: int) -> MedFloat:
    """Decode a 32-bit FLOAT read as an unsigned little-endian integer."""
    return _decode(raw & 0xFFFFFFFF, FLOAT)


def _pack(mantissa: int, exponent: int, fmt: _Format) -> int:
    lo, hi = fmt.exp_range
    if not lo <= exponent <= hi:
        raise ValueError(f"exponent {exponent} outside {lo}..{hi}")
    if abs(mantissa) > fmt.man_limit:
        raise ValueError(f"mantissa {mantissa} outside +/-{fmt.man_limit}")
    man = mantissa & ((1 << fmt.man_bits) - 1)
    exp = exponent & ((1 << fmt.exp_bits) - 1)
    return (exp << fmt.man_bits) | man


def _special_raw(special: Special, fmt: _Format) -> int:
    return next(raw for raw, s in fmt.specials.items() if s is special)


def _encode(value: float | Special, fmt: _Format) -> int:
    if isinstance(value, Special):
        return _special_raw(value, fmt)
    if math.isnan(value):
        return _special_raw(Special.NAN, fmt)
    if math.isinf(value):
        return _special_raw(Special.POS_INF if value > 0 else Special.NEG_INF, fmt)
    lo, hi = fmt.exp_range
    exact = Decimal(repr(value))
    for exponent in range(lo, hi + 1):
        mantissa = int(exact.scaleb(-exponent).to_integral_value())
        if abs(mantissa) <= fmt.man_limit:
            while exponent < 0 and mantissa != 0 and mantissa % 10 == 0:
                mantissa //= 10
                exponent += 1
            if mantissa == 0:
                exponent = 0
            return _pack(mantissa, exponent, fmt)
    raise ValueError(f"{value} is too large for a {fmt.man_bits + fmt.exp_bits}-bit medical float")


def encode_sfloat(value: float | Special) -> int:
    """Encode a number (most precise exponent that fits, trailing zeros trimmed) or a special.

    >>> hex(encode_sfloat(12.34)), hex(encode_sfloat(120)), hex(encode_sfloat(math.inf))
    ('0xe4d2', '0x78', '0x7fe')
    """
    return _encode(value, SFLOAT)


def encode_float(value: float | Special) -> int:
    """Encode a number or a special as a 32-bit FLOAT (see :func:`encode_sfloat`)."""
    return _encode(value, FLOAT)


def sfloat_parts(mantissa: int, exponent: int) -> int:
    """Pack an exact SFLOAT (e.g. 95 mg/dL as 95 x 10**-5 kg/L, the way meters send it)."""
    return _pack(mantissa, exponent, SFLOAT)


def float_parts(mantissa: int, exponent: int) -> int:
    """Pack an exact FLOAT from its mantissa and exponent."""
    return _pack(mantissa, exponent, FLOAT)


def pack_sfloat(value: MedFloat) -> int:
    """Re-encode a decoded SFLOAT bit for bit (mantissa and exponent kept as sent)."""
    if value.special is not None:
        return _special_raw(value.special, SFLOAT)
    return (value.exponent & 0xF) << 12 | (value.mantissa & 0xFFF)


def pack_float(value: MedFloat) -> int:
    """Re-encode a decoded FLOAT bit for bit."""
    if value.special is not None:
        return _special_raw(value.special, FLOAT)
    return (value.exponent & 0xFF) << 24 | (value.mantissa & 0xFFFFFF)
