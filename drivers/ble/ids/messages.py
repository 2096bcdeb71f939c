"""IDD status characteristics: Features, Status, Status Changed, Annunciation Status.

Layouts from tidepool-org/InsulinDeliveryServiceKit (``IDFeature.swift``,
``IDStatus.swift``, ``IDStatusChanged.swift``, ``IDAnnunciationStatus.swift``; client
and simulated server), as tabulated in protocols.md section 5; the IDS 1.0 text itself
was not available, so these are [unverified against the specification].

E2E protection (Features bit 0): every value except IDD Features ends in
``E2E-Counter uint8 | E2E-CRC uint16`` with the CRC over everything before it; IDD
Features always starts with ``CRC | Counter`` (CRC 0xFFFF without E2E) and is 8 octets.
Enumerations are Hamming-coded; unknown values raise ``DecodeError``.
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers._core.errors import DecodeError
from drivers.ble.e2e_crc import CRC_NOT_SUPPORTED, append_crc, crc16_mcrf4xx, split_crc
from drivers.ble.reader import Reader, hamming_lookup, u8, u16
from drivers.ble.sfloat import MedFloat, decode_sfloat, encode_sfloat, pack_sfloat

FEATURE_E2E = 1 << 0
THERAPY_STATES = {0x0F: "undetermined", 0x33: "stop", 0x3C: "pause", 0x55: "run"}
OPERATIONAL_STATES = {
    0x0F: "undetermined",
    0x33: "off",
    0x3C: "standby",
    0x55: "preparing",
    0x5A: "priming",
    0x66: "waiting",
    0x96: "ready",
}
ANNUNCIATION_STATUS = {0x0F: "undetermined", 0x33: "pending", 0x3C: "snoozed", 0x55: "confirmed"}
ANNUNCIATION_TYPES = {
    0x000F: "system-issue",
    0x0033: "mechanical-issue",
    0x003C: "occlusion",
    0x0055: "reservoir-issue",
    0x005A: "reservoir-empty",
    0x0066: "reservoir-low",
    0x0069: "priming-issue",
    0x0096: "infusion-set-incomplete",
    0x0099: "infusion-set-detached",
    0x00A5: "power-source-insufficient",
    0x00AA: "battery-empty",
    0x00C3: "battery-low",
    0x00CC: "battery-medium",
    0x00F0: "battery-full",
    0x00FF: "temperature-out-of-range",
    0x0303: "air-pressure-out-of-range",
    0x030C: "bolus-canceled",
    0x0330: "tbr-over",
    0x033F: "tbr-canceled",
    0x0356: "max-delivery",
    0x0359: "date-time-issue",
    0x0365: "temperature",
}


def strip_e2e(value: bytes, *, e2e: bool, what: str) -> bytes:
    """Remove ``counter | CRC`` (checking the CRC) when E2E protection is on."""
    if not e2e:
        return value
    return split_crc(value, what=what)[:-1]


def add_e2e(body: bytes, *, e2e: bool, counter: int = 1) -> bytes:
    """Append ``counter | CRC`` when E2E protection is on (the server's side)."""
    return append_crc(body + u8(counter & 0xFF)) if e2e else body


@dataclass(frozen=True, slots=True)
class IddFeatures:
    """IDD Features: flags (24 bits) and insulin concentration in IU/mL."""

    flags: int
    concentration: MedFloat

    @property
    def e2e(self) -> bool:
        """E2E protection supported (bit 0)."""
        return bool(self.flags & FEATURE_E2E)


def decode_features(value: bytes) -> IddFeatures:
    """8 octets: ``CRC | counter | concentration SFLOAT | flags uint24``."""
    if len(value) != 8:
        raise DecodeError(f"IDD Features is {len(value)} octets, not 8", frame=value.hex())
    r = Reader(value, "IDD Features")
    wire = r.u16("E2E-CRC")
    r.u8("E2E-counter")
    concentration = r.sfloat("insulin concentration")
    flags = r.uint(3, "flags")
    if flags & FEATURE_E2E:
        split_crc(value[2:] + u16(wire), what="IDD Features")
    return IddFeatures(flags, concentration)


def encode_features(f: IddFeatures, counter: int = 0) -> bytes:
    """IDD Features value (CRC 0xFFFF without E2E)."""
    body = u8(counter) + u16(pack_sfloat(f.concentration)) + f.flags.to_bytes(3, "little")
    crc = crc16_mcrf4xx(body) if f.e2e else CRC_NOT_SUPPORTED
    return u16(crc) + body


@dataclass(frozen=True, slots=True)
class IddStatus:
    """IDD Status: therapy and operational state, reservoir in IU, reservoir attached."""

    therapy_state: str
    operational_state: str
    reservoir_u: float | None
    reservoir_attached: bool


def decode_status(value: bytes, *, e2e: bool) -> IddStatus:
    """5 octets (+ counter and CRC)."""
    r = Reader(strip_e2e(value, e2e=e2e, what="IDD Status"), "IDD Status")
    therapy = hamming_lookup(r.u8("therapy state"), THERAPY_STATES, "therapy control state")
    operational = hamming_lookup(r.u8("operational state"), OPERATIONAL_STATES, "operational state")
    reservoir = r.sfloat("reservoir remaining").number()
    flags = r.u8("flags")
    r.end()
    return IddStatus(therapy, operational, reservoir, bool(flags & 1))


def encode_status(s: IddStatus, *, e2e: bool) -> bytes:
    """IDD Status value."""
    code = {v: k for k, v in THERAPY_STATES.items()}[s.therapy_state]
    op = {v: k for k, v in OPERATIONAL_STATES.items()}[s.operational_state]
    body = (
        u8(code)
        + u8(op)
        + u16(encode_sfloat(s.reservoir_u if s.reservoir_u is not None else float("nan")))
    )
    return add_e2e(body + u8(int(s.reservoir_attached)), e2e=e2e)


def decode_status_changed(value: bytes, *, e2e: bool) -> int:
    """IDD Status Changed: uint16 flags of what changed since the last reset."""
    r = Reader(strip_e2e(value, e2e=e2e, what="IDD Status Changed"), "IDD Status Changed")
    flags = r.u16("flags")
    r.end()
    return flags


@dataclass(frozen=True, slots=True)
class Annunciation:
    """The current annunciation (alarm/alert/reminder) of IDD Annunciation Status."""

    annunciation_id: int
    kind: str
    status: str


def decode_annunciation(value: bytes, *, e2e: bool) -> Annunciation | None:
    """``Flags | [ID uint16 | Type uint16 | Status uint8 | AuxInfo ...]``; None if no
    annunciation is present (flags bit 0 clear). AuxInfo octets are skipped."""
    r = Reader(strip_e2e(value, e2e=e2e, what="IDD Annunciation Status"), "IDD Annunciation Status")
    if not r.u8("flags") & 1:
        return None
    ident = r.u16("annunciation id")
    kind = hamming_lookup(r.u16("annunciation type"), ANNUNCIATION_TYPES, "annunciation type")
    status = hamming_lookup(r.u8("annunciation status"), ANNUNCIATION_STATUS, "annunciation status")
    return Annunciation(ident, kind, status)


def concentration(units_per_ml: float) -> MedFloat:
    """Insulin concentration as it travels (U100 = ``64 00``)."""
    return decode_sfloat(encode_sfloat(units_per_ml))
