"""Glucose Service enumerations and the Glucose Feature characteristic (GLS 1.0).

Values from GLS 1.0 sections 3.106-3.109 as tabulated in shared/reference/protocols.md
section 4 and NordicSemiconductor/Android-BLE-Common-Library ``profile/glucose``.
Sensor status bits 5/6 follow the nRF5 SDK ``ble_gls.h`` (0x0020 = result higher than
the device can process), not Nordic's Android library, which names them the other way.
"""

from __future__ import annotations

from drivers._core.errors import DecodeError
from drivers.ble.e2e_crc import split_crc
from drivers.ble.reader import u16

SAMPLE_TYPES = {
    1: "capillary-whole-blood",
    2: "capillary-plasma",
    3: "venous-whole-blood",
    4: "venous-plasma",
    5: "arterial-whole-blood",
    6: "arterial-plasma",
    7: "undetermined-whole-blood",
    8: "undetermined-plasma",
    9: "interstitial-fluid",
    10: "control-solution",
}
LOCATIONS = {
    1: "finger",
    2: "alternate-site",
    3: "earlobe",
    4: "control-solution",
    5: "subcutaneous",
}
STATUS_BITS = {
    0: "battery-low",
    1: "sensor-malfunction",
    2: "sample-size-insufficient",
    3: "strip-insertion-error",
    4: "strip-type-incorrect",
    5: "above-device-range",
    6: "below-device-range",
    7: "temperature-too-high",
    8: "temperature-too-low",
    9: "read-interrupted",
    10: "general-device-fault",
    11: "time-fault",
}
STATUS_HIGH, STATUS_LOW = 1 << 5, 1 << 6
CARB_IDS = {
    1: "breakfast",
    2: "lunch",
    3: "dinner",
    4: "snack",
    5: "drink",
    6: "supper",
    7: "brunch",
}
MEALS = {1: "preprandial", 2: "postprandial", 3: "fasting", 4: "casual", 5: "bedtime"}
TESTERS = {1: "self", 2: "health-care-professional", 3: "lab-test", 15: "not-available"}
HEALTH = {
    1: "minor-issues",
    2: "major-issues",
    3: "during-menses",
    4: "under-stress",
    5: "no-issues",
    15: "not-available",
}
MEDICATIONS = {
    1: "rapid-acting",
    2: "short-acting",
    3: "intermediate-acting",
    4: "long-acting",
    5: "pre-mixed",
}
FEATURE_MULTIPLE_BOND = 1 << 10


def status_codes(bits: int) -> tuple[str, ...]:
    """``smbg/...`` annotation codes for Sensor Status Annunciation bits."""
    return tuple(
        f"smbg/{STATUS_BITS.get(bit, f'status-bit-{bit}')}" for bit in range(16) if bits >> bit & 1
    )


def decode_feature(value: bytes) -> int:
    """Glucose Feature: uint16 flags (GLS 1.1 may append an E2E-CRC [unverified]; a
    4-octet value is accepted and its CRC checked)."""
    if len(value) == 4:
        value = split_crc(value, what="Glucose Feature")
    if len(value) != 2:
        raise DecodeError(f"Glucose Feature is {len(value)} octets, not 2", frame=value.hex())
    return int.from_bytes(value, "little")


def encode_feature(bits: int) -> bytes:
    """Glucose Feature value."""
    return u16(bits)
