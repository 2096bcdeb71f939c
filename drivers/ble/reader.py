"""Little-endian field reader for characteristic values; short data raises DecodeError.

Every decoder in the family reads through :class:`Reader`, so a truncated or garbled
notification can only ever raise :class:`~drivers._core.errors.DecodeError` (a
``ProtocolError``), never ``IndexError`` or ``struct.error``.
"""

from __future__ import annotations

from drivers._core.errors import DecodeError
from drivers.ble.sfloat import MedFloat, decode_float, decode_sfloat


class Reader:
    """Sequential reader over one characteristic value.

    Args:
        data: The value's octets.
        what: Name of the characteristic, used in error messages.
    """

    def __init__(self, data: bytes, what: str) -> None:
        self._data = bytes(data)
        self._pos = 0
        self.what = what

    @property
    def remaining(self) -> int:
        """Octets not yet read."""
        return len(self._data) - self._pos

    def take(self, n: int, field: str = "field") -> bytes:
        """The next ``n`` octets."""
        if n < 0 or self.remaining < n:
            raise DecodeError(
                f"{self.what}: {field} needs {n} octets, {self.remaining} left",
                field=field,
                frame=self._data.hex(),
            )
        out = self._data[self._pos : self._pos + n]
        self._pos += n
        return out

    def uint(self, n: int, field: str = "field") -> int:
        """An unsigned little-endian integer of ``n`` octets."""
        return int.from_bytes(self.take(n, field), "little")

    def sint(self, n: int, field: str = "field") -> int:
        """A signed (two's complement) little-endian integer of ``n`` octets."""
        return int.from_bytes(self.take(n, field), "little", signed=True)

    def u8(self, field: str = "field") -> int:
        """uint8."""
        return self.uint(1, field)

    def u16(self, field: str = "field") -> int:
        """uint16 LE."""
        return self.uint(2, field)

    def sfloat(self, field: str = "field") -> MedFloat:
        """SFLOAT-16."""
        return decode_sfloat(self.uint(2, field))

    def float32(self, field: str = "field") -> MedFloat:
        """FLOAT-32."""
        return decode_float(self.uint(4, field))

    def rest(self) -> bytes:
        """All remaining octets."""
        return self.take(self.remaining, "rest")

    def end(self) -> None:
        """Raise if octets are left over (the value is longer than its flags say)."""
        if self.remaining:
            raise DecodeError(
                f"{self.what}: {self.remaining} unexpected trailing octets",
                frame=self._data.hex(),
            )


def u8(value: int) -> bytes:
    """Encode uint8."""
    return value.to_bytes(1, "little")


def u16(value: int) -> bytes:
    """Encode uint16 LE."""
    return value.to_bytes(2, "little")


def s16(value: int) -> bytes:
    """Encode sint16 LE."""
    return value.to_bytes(2, "little", signed=True)


def u32(value: int) -> bytes:
    """Encode uint32 LE."""
    return value.to_bytes(4, "little")


def hamming_lookup(value: int, table: dict[int, str], what: str) -> str:
    """Name of a Hamming-coded IDS value; anything outside ``table`` raises DecodeError.

    IDS codes enumerations with large Hamming distance so a flipped bit cannot turn one
    valid value into another; a parser must reject unknown values, not mask bits.
    """
    try:
        return table[value]
    except KeyError:
        raise DecodeError(f"{what}: 0x{value:02X} is not a defined value", field=what) from None
