"""Glucose Measurement (0x2A18) and Glucose Measurement Context (0x2A34) codecs.

Measurement (GLS 1.0 section 3.106; protocols.md 4.2): ``Flags | Sequence uint16 |
Base Time (Date Time, 7) | [Time Offset sint16 min] | [Concentration SFLOAT + Type/Location
uint8] | [Sensor Status uint16]``; flags 0x01 offset, 0x02 concentration, 0x04 mol/L
(else kg/L), 0x08 status, 0x10 context follows.

Context (section 3.107; protocols.md 4.3): ``Flags | Sequence | [Extended Flags] |
[Carbohydrate ID + SFLOAT kg] | [Meal] | [Tester/Health] | [Exercise uint16 s + uint8 %] |
[Medication ID + SFLOAT kg or L] | [HbA1c SFLOAT %]``, in that wire order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from drivers.ble.date_time import encode_date_time, read_date_time
from drivers.ble.reader import Reader, s16, u8, u16
from drivers.ble.sfloat import MedFloat, pack_sfloat

F_OFFSET, F_CONC, F_MOLAR, F_STATUS, F_CONTEXT = 0x01, 0x02, 0x04, 0x08, 0x10
C_CARBS, C_MEAL, C_TESTER, C_EXERCISE, C_MED, C_MED_LITERS, C_HBA1C, C_EXTENDED = (
    0x01,
    0x02,
    0x04,
    0x08,
    0x10,
    0x20,
    0x40,
    0x80,
)


@dataclass(frozen=True, slots=True)
class GlucoseMeasurement:
    """One Glucose Measurement as sent. ``molar`` = concentration in mol/L, else kg/L."""

    sequence: int
    base_time: datetime | None
    time_offset_min: int | None = None
    concentration: MedFloat | None = None
    molar: bool = False
    sample_type: int = 0
    location: int = 0
    status: int | None = None
    context_follows: bool = False


@dataclass(frozen=True, slots=True)
class GlucoseContext:
    """One Glucose Measurement Context (units as on the wire: kg, kg or L, %)."""

    sequence: int
    extended_flags: int | None = None
    carb_id: int | None = None
    carbs_kg: MedFloat | None = None
    meal: int | None = None
    tester: int | None = None
    health: int | None = None
    exercise_s: int | None = None
    exercise_percent: int | None = None
    medication_id: int | None = None
    medication: MedFloat | None = None
    medication_liters: bool = False
    hba1c_percent: MedFloat | None = None


def decode_measurement(value: bytes) -> GlucoseMeasurement:
    """Decode one Glucose Measurement notification (at least 10 octets)."""
    r = Reader(value, "Glucose Measurement")
    flags = r.u8("flags")
    seq = r.u16("sequence number")
    base = read_date_time(r, "base time")
    offset = r.sint(2, "time offset") if flags & F_OFFSET else None
    conc, type_loc = (
        (r.sfloat("concentration"), r.u8("type/location")) if flags & F_CONC else (None, 0)
    )
    status = r.u16("sensor status") if flags & F_STATUS else None
    r.end()
    return GlucoseMeasurement(
        seq,
        base,
        offset,
        conc,
        bool(flags & F_MOLAR),
        type_loc & 0x0F,
        type_loc >> 4,
        status,
        bool(flags & F_CONTEXT),
    )


def encode_measurement(m: GlucoseMeasurement) -> bytes:
    """A Glucose Measurement as a meter sends it."""
    flags = (F_OFFSET if m.time_offset_min is not None else 0) | (F_MOLAR if m.molar else 0)
    flags |= (F_CONC if m.concentration is not None else 0) | (
        F_STATUS if m.status is not None else 0
    )
    flags |= F_CONTEXT if m.context_follows else 0
    out = u8(flags) + u16(m.sequence) + encode_date_time(m.base_time)
    if m.time_offset_min is not None:
        out += s16(m.time_offset_min)
    if m.concentration is not None:
        out += u16(pack_sfloat(m.concentration)) + u8(m.location << 4 | m.sample_type)
    if m.status is not None:
        out += u16(m.status)
    return out


def decode_context(value: bytes) -> GlucoseContext:
    """Decode one Glucose Measurement Context notification."""
    r = Reader(value, "Glucose Measurement Context")
    flags = r.u8("flags")
    seq = r.u16("sequence number")
    ext = r.u8("extended flags") if flags & C_EXTENDED else None
    carb_id, carbs = (
        (r.u8("carbohydrate id"), r.sfloat("carbohydrate")) if flags & C_CARBS else (None, None)
    )
    meal = r.u8("meal") if flags & C_MEAL else None
    tester = health = None
    if flags & C_TESTER:
        octet = r.u8("tester/health")
        tester, health = octet & 0x0F, octet >> 4
    ex_s, ex_pct = (
        (r.u16("exercise duration"), r.u8("exercise intensity"))
        if flags & C_EXERCISE
        else (None, None)
    )
    med_id, med = (r.u8("medication id"), r.sfloat("medication")) if flags & C_MED else (None, None)
    hba1c = r.sfloat("HbA1c") if flags & C_HBA1C else None
    r.end()
    return GlucoseContext(
        seq,
        ext,
        carb_id,
        carbs,
        meal,
        tester,
        health,
        ex_s,
        ex_pct,
        med_id,
        med,
        bool(flags & C_MED_LITERS),
        hba1c,
    )


def encode_context(c: GlucoseContext) -> bytes:
    """A Glucose Measurement Context as a meter sends it."""
    flags, body = 0, b""
    if c.extended_flags is not None:
        flags, body = flags | C_EXTENDED, body + u8(c.extended_flags)
    if c.carb_id is not None and c.carbs_kg is not None:
        flags, body = flags | C_CARBS, body + u8(c.carb_id) + u16(pack_sfloat(c.carbs_kg))
    if c.meal is not None:
        flags, body = flags | C_MEAL, body + u8(c.meal)
    if c.tester is not None or c.health is not None:
        octet = (c.health or 0) << 4 | (c.tester or 0)
        flags, body = flags | C_TESTER, body + u8(octet)
    if c.exercise_s is not None:
        flags, body = flags | C_EXERCISE, body + u16(c.exercise_s) + u8(c.exercise_percent or 0)
    if c.medication_id is not None and c.medication is not None:
        flags, body = flags | C_MED, body + u8(c.medication_id) + u16(pack_sfloat(c.medication))
        flags |= C_MED_LITERS if c.medication_liters else 0
    if c.hba1c_percent is not None:
        flags, body = flags | C_HBA1C, body + u16(pack_sfloat(c.hba1c_percent))
    return u8(flags) + u16(c.sequence) + body
