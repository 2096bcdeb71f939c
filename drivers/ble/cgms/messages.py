"""CGMS characteristic codecs other than the measurement: Feature, Status, Session
Start Time, Session Run Time (CGMS 1.0.1 sections 3.2-3.6; protocols.md 3.3-3.6).

Each ``decode_*`` is the collector's parser, each ``encode_*`` the simulator's writer.
CGM Feature always carries its CRC field (0xFFFF when E2E-CRC is not supported); the
other characteristics carry one only when Feature bit 12 is set.
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers._core.errors import DecodeError
from drivers.ble.date_time import ZonedLocalTime, encode_zoned, read_zoned
from drivers.ble.e2e_crc import CRC_NOT_SUPPORTED, append_crc, split_crc
from drivers.ble.reader import Reader, u16

FEATURE_E2E_CRC = 1 << 12
FEATURE_TREND = 1 << 15
FEATURE_QUALITY = 1 << 16

ANNUNCIATIONS: dict[int, str] = {
    0: "session-stopped",
    1: "battery-low",
    2: "sensor-type-incorrect",
    3: "sensor-malfunction",
    4: "device-specific-alert",
    5: "general-device-fault",
    8: "time-sync-required",
    9: "calibration-not-allowed",
    10: "calibration-recommended",
    11: "calibration-required",
    12: "temperature-too-high",
    13: "temperature-too-low",
    16: "below-patient-low",
    17: "above-patient-high",
    18: "below-hypo",
    19: "above-hyper",
    20: "rate-of-decrease-exceeded",
    21: "rate-of-increase-exceeded",
    22: "below-device-range",
    23: "above-device-range",
}
"""Sensor Status Annunciation bits (24 bits; CGMS 1.0.1 section 3.1.1.4, Nordic's
``CGMTypes``), as the suffix of ``cgm/...`` annotation codes."""


def annunciation_codes(bits: int) -> tuple[str, ...]:
    """Annotation codes for the set annunciation bits (reserved bits as ``status-bit-N``)."""
    return tuple(
        f"cgm/{ANNUNCIATIONS.get(bit, f'status-bit-{bit}')}" for bit in range(24) if bits >> bit & 1
    )


@dataclass(frozen=True, slots=True)
class CgmFeature:
    """CGM Feature (0x2AA8): feature bits, sample type and location."""

    features: int
    sample_type: int = 0x9
    sample_location: int = 0x5

    @property
    def e2e_crc(self) -> bool:
        """Whether CGMS characteristics carry a checked E2E-CRC (bit 12)."""
        return bool(self.features & FEATURE_E2E_CRC)


def decode_feature(value: bytes) -> CgmFeature:
    """Exactly 6 octets; the CRC is checked only when the feature bits claim E2E-CRC."""
    if len(value) != 6:
        raise DecodeError(f"CGM Feature is {len(value)} octets, not 6", frame=value.hex())
    reader = Reader(value[:4], "CGM Feature")
    features = reader.uint(3, "features")
    type_location = reader.u8("type/location")
    if features & FEATURE_E2E_CRC:
        split_crc(value, what="CGM Feature")
    return CgmFeature(features, type_location & 0x0F, type_location >> 4)


def encode_feature(feature: CgmFeature) -> bytes:
    """CGM Feature value (CRC 0xFFFF unless E2E-CRC is claimed)."""
    body = feature.features.to_bytes(3, "little")
    body += bytes(((feature.sample_location << 4) | feature.sample_type,))
    return append_crc(body) if feature.e2e_crc else body + u16(CRC_NOT_SUPPORTED)


def _body(value: bytes, e2e: bool, what: str, sizes: tuple[int, ...]) -> Reader:
    if len(value) not in sizes:
        raise DecodeError(f"{what} is {len(value)} octets", frame=value.hex())
    if len(value) == sizes[-1]:
        value = split_crc(value, what=what, check=e2e)
    elif e2e:
        raise DecodeError(f"{what}: E2E-CRC missing", frame=value.hex())
    return Reader(value, what)


@dataclass(frozen=True, slots=True)
class CgmStatus:
    """CGM Status (0x2AA9): the current time offset and annunciation bits."""

    time_offset_min: int
    annunciation: int


def decode_status(value: bytes, *, e2e: bool) -> CgmStatus:
    """5 octets, or 7 with the E2E-CRC."""
    reader = _body(value, e2e, "CGM Status", (5, 7))
    return CgmStatus(reader.u16("time offset"), reader.uint(3, "status"))


def encode_status(status: CgmStatus, *, e2e: bool) -> bytes:
    """CGM Status value."""
    body = u16(status.time_offset_min) + status.annunciation.to_bytes(3, "little")
    return append_crc(body) if e2e else body


def decode_session_start(value: bytes, *, e2e: bool) -> ZonedLocalTime:
    """Session Start Time (0x2AAA): Date Time + Time Zone + DST, 9 or 11 octets.
    Year 0 ("never set") decodes to ``local=None``."""
    reader = _body(value, e2e, "CGM Session Start Time", (9, 11))
    return read_zoned(reader)


def encode_session_start(start: ZonedLocalTime, *, e2e: bool) -> bytes:
    """Session Start Time value."""
    body = encode_zoned(start)
    return append_crc(body) if e2e else body


def decode_run_time(value: bytes, *, e2e: bool) -> int:
    """Session Run Time (0x2AAB): expected session length in hours, 2 or 4 octets."""
    return _body(value, e2e, "CGM Session Run Time", (2, 4)).u16("run time")


def encode_run_time(hours: int, *, e2e: bool) -> bytes:
    """Session Run Time value."""
    return append_crc(u16(hours)) if e2e else u16(hours)
