"""The E2E-CRC of the CGM Service and the Insulin Delivery Service.

CRC-16/MCRF4XX: polynomial 0x1021 processed reflected (0x8408), initial value 0xFFFF,
input and output reflected, no final XOR; check value ``crc("123456789") == 0x6F91``.
CGMS 1.0.1 section 2.4 names it "CRC-CCITT"; Nordic's ``CRC16.MCRF4XX``
(NordicSemiconductor/Android-BLE-Common-Library ``util/CRC16.java``) is documented as
the CGMS E2E-CRC, and Tidepool's BluetoothCommonKit uses the same for IDS. The CRC is
sent little-endian after the octets it covers. A server that does not support E2E-CRC
still sends the field in CGM Feature, as 0xFFFF (:data:`CRC_NOT_SUPPORTED`).
"""

from __future__ import annotations

from drivers._core.errors import ChecksumError, DecodeError

CRC_NOT_SUPPORTED = 0xFFFF
"""The CRC field's value when a server does not support E2E-CRC (CGM Feature, IDD Features)."""


def _table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_TABLE = _table()


def crc16_mcrf4xx(data: bytes, crc: int = 0xFFFF) -> int:
    """CRC-16/MCRF4XX of ``data`` (``crc`` continues an earlier computation).

    >>> hex(crc16_mcrf4xx(b"123456789"))
    '0x6f91'
    """
    for octet in data:
        crc = (crc >> 8) ^ _TABLE[(crc ^ octet) & 0xFF]
    return crc


def append_crc(payload: bytes) -> bytes:
    """``payload`` followed by its E2E-CRC, little-endian (what a server sends)."""
    return payload + crc16_mcrf4xx(payload).to_bytes(2, "little")


def split_crc(value: bytes, *, what: str, check: bool = True) -> bytes:
    """Strip a trailing E2E-CRC from ``value`` and return the octets it covers.

    Args:
        value: A characteristic value ending in a 2-octet CRC.
        what: The characteristic's name, for the error message.
        check: Verify the CRC (False when the device's features say it has none and
            the field is only a placeholder).

    Raises:
        DecodeError: ``value`` is too short to hold a CRC.
        ChecksumError: the CRC does not match (``wire`` and ``calculated`` attached).
    """
    if len(value) < 2:
        raise DecodeError(f"{what}: {len(value)} octets cannot hold an E2E-CRC", frame=value.hex())
    payload, wire = value[:-2], int.from_bytes(value[-2:], "little")
    if check:
        calculated = crc16_mcrf4xx(payload)
        if wire != calculated:
            raise ChecksumError(
                f"{what}: E2E-CRC mismatch", wire=wire, calculated=calculated, frame=value.hex()
            )
    return payload
