"""Glucose Measurement (+ Context) -> ``GlucoseSample(sample_type="smbg")`` and friends.

* Time: ``device_time = base time + time offset``, the meter's user-facing local time
  with no zone (GLS 1.0 section 3.106.3); the time base resolves UTC. Sensor status
  bit 11 (time fault) becomes ``smbg/time-fault``.
* Value: kg/L x 100 000 = mg/dL; mol/L x 1000 = mmol/L, converted once through
  :func:`drivers._core.units.mmoll_to_mgdl`. Status bits 5/6 (result above/below what the
  device can process) or an SFLOAT +/-INF give ``special="high"/"low"`` with no number;
  a finite value sent with them is kept as ``reporting_limit_mgdl``.
* Control-solution tests (type 10 or location 4) are kept, annotated
  ``smbg/control-solution`` so analytics can leave them out.
* Context: carbohydrate -> a :class:`Food` record (kg x 1000 = g) with the same source
  index; exercise -> an :class:`Activity`; meal, tester, health and medication ->
  annotations; HbA1c -> annotation ``smbg/hba1c`` plus ``meta`` (no record kind yet).
* ``source_index`` is ``"<sequence>@<device time>"``: sequence numbers restart after a
  meter reset, so the number alone would merge two different readings.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from drivers._core.errors import DecodeError
from drivers._core.records import Activity, Food, GlucoseSample, GlucoseSpecial, Record
from drivers._core.units import mmoll_to_mgdl
from drivers.ble.gls import messages as msg
from drivers.ble.gls.decode import GlucoseContext, GlucoseMeasurement
from drivers.ble.sfloat import Special

KG_PER_L_TO_MGDL = 100_000.0
MOL_PER_L_TO_MMOLL = 1_000.0


def concentration_mgdl(m: GlucoseMeasurement) -> float | None:
    """The concentration in mg/dL (None when absent or a special value)."""
    if m.concentration is None or not m.concentration.is_number:
        return None
    value = m.concentration.value
    if m.molar:
        return round(mmoll_to_mgdl(value * MOL_PER_L_TO_MMOLL), 3)
    return round(value * KG_PER_L_TO_MGDL, 6)


def _special(m: GlucoseMeasurement) -> GlucoseSpecial | None:
    status = m.status or 0
    special = m.concentration.special if m.concentration is not None else None
    if status & msg.STATUS_HIGH or special is Special.POS_INF:
        return "high"
    if status & msg.STATUS_LOW or special is Special.NEG_INF:
        return "low"
    if special is not None:
        return "not-computable"
    return None


def _context_notes(c: GlucoseContext) -> list[str]:
    notes = []
    if c.meal in msg.MEALS:
        notes.append(f"smbg/meal-{msg.MEALS[c.meal]}")
    if c.tester in msg.TESTERS and c.tester != 1:
        notes.append(f"smbg/tester-{msg.TESTERS[c.tester]}")
    if c.health in msg.HEALTH and c.health != 15:
        notes.append(f"smbg/health-{msg.HEALTH[c.health]}")
    if c.medication_id is not None:
        notes.append(f"smbg/medication-{msg.MEDICATIONS.get(c.medication_id, 'other')}")
    if c.hba1c_percent is not None and c.hba1c_percent.is_number:
        notes.append("smbg/hba1c")
    return notes


def to_records(
    m: GlucoseMeasurement, context: GlucoseContext | None, *, device_id: str
) -> list[Record]:
    """One measurement (and its context) as normalized records, the sample first."""
    if m.base_time is None:
        raise DecodeError("Glucose Measurement without a base time", sequence=m.sequence)
    device_time = m.base_time
    if m.time_offset_min is not None:
        device_time = device_time + timedelta(minutes=m.time_offset_min)
    index = f"{m.sequence}@{device_time:%Y%m%dT%H%M%S}"
    special = _special(m)
    value = concentration_mgdl(m)
    notes = [f"smbg/{special}-out-of-range"] if special in ("high", "low") else []
    notes += msg.status_codes(m.status or 0)
    if m.sample_type == 10 or m.location == 4:
        notes.append("smbg/control-solution")
    if context is not None:
        notes += _context_notes(context)
    base: dict[str, Any] = {
        "device_id": device_id,
        "source_index": index,
        "device_time": device_time,
    }
    out: list[Record] = [
        GlucoseSample(
            **base,
            sample_type="smbg",
            glucose_mgdl=None if special else value,
            special=special,
            reporting_limit_mgdl=value if special else None,
            annotations=tuple(dict.fromkeys(notes)),
        )
    ]
    if context is None:
        return out
    if context.carbs_kg is not None and context.carbs_kg.is_number:
        out.append(Food(**base, carbs_g=round(context.carbs_kg.value * 1000.0, 3)))
    if context.exercise_s is not None:
        duration = None if context.exercise_s == 0xFFFF else context.exercise_s
        intensity = f"{context.exercise_percent}%" if context.exercise_percent is not None else None
        out.append(
            Activity(**base, activity_type="exercise", duration_s=duration, intensity=intensity)
        )
    return out
