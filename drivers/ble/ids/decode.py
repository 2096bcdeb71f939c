"""IDD History Data (0x2B28): ``Event Type uint16 | Record Number uint32 | Relative
Offset uint16 s | Event Data | [E2E-CRC]``.

Event payloads follow tidepool-org/InsulinDeliveryServiceKit
``Service/PumpHistoryEvents/*.swift`` [unverified against the IDS text]; insulin amounts
are SFLOAT IU there, as here. Bolus Calculated, Reference Time Base Offset and Total
Daily Insulin Delivery agree with ehealthinnovation/AndroidBLEParser
(``idd/historydata/*.kt``), a second reading of the specification (see
firmware-notes/ble-ids.md). With E2E protection Tidepool's server appends a CRC only
(no counter) to history records; so do we. Events this driver does not interpret are
kept as :class:`HistoryEvent` with their raw payload and counted in the batch meta.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from drivers._core.errors import DecodeError
from drivers.ble.date_time import (
    ZonedLocalTime,
    encode_date_time,
    encode_zoned,
    read_date_time,
    read_zoned,
)
from drivers.ble.e2e_crc import append_crc, split_crc
from drivers.ble.reader import Reader, u16, u32
from drivers.ble.sfloat import MedFloat, pack_sfloat

REFERENCE_TIME = 0x000F
REFERENCE_TIME_BASE_OFFSET = 0x0033
BOLUS_CALCULATED_1, BOLUS_CALCULATED_2 = 0x003C, 0x0055
BOLUS_PROGRAMMED_1, BOLUS_PROGRAMMED_2 = 0x005A, 0x0066
BOLUS_DELIVERED_1, BOLUS_DELIVERED_2 = 0x0069, 0x0096
BASAL_RATE_CHANGED = 0x0099
TBR_STARTED, TBR_ENDED, TBR_CHANGED = 0x00A5, 0x00AA, 0x00C3
TOTAL_DAILY_INSULIN = 0x00FF
THERAPY_STATE_CHANGED = 0x0303
RESERVOIR_REMAINING = 0x0330
ANNUNCIATION_CHANGED_1 = 0x033F
PRIMING_STARTED, PRIMING_DONE = 0x0395, 0x039A

BOLUS_TYPES = {0x0F: "undetermined", 0x33: "fast", 0x3C: "extended", 0x55: "multiwave"}
TBR_TYPES = {0x0F: "undetermined", 0x33: "absolute", 0x3C: "relative"}
END_REASONS = {0x0F: "undetermined", 0x33: "completed", 0x3C: "canceled", 0x55: "error-abort"}
SET_DATE_TIME, PERIODIC, DATE_TIME_LOSS = 0x33, 0x3C, 0x55
TDD_DATE_TIME_CHANGED = 0x01
"""Total Daily Insulin Delivery flag: the pump's date time changed since the last total."""
RECORDING_REASONS = {
    0x0F: "undetermined",
    0x33: "set-date-time",
    0x3C: "periodic",
    0x55: "date-time-loss",
}


@dataclass(frozen=True, slots=True)
class HistoryEvent:
    """One history record: header fields and the decoded payload (``fields``)."""

    event_type: int
    record_number: int
    relative_offset_s: int
    data: bytes
    fields: dict[str, object] = field(default_factory=dict, compare=False)

    def num(self, name: str) -> int:
        """A decoded integer field (0 when the payload did not carry it)."""
        value = self.fields.get(name, 0)
        return value if isinstance(value, int) else 0

    def amount(self, name: str) -> float | None:
        """A decoded SFLOAT field as a number (None if absent or special)."""
        value = self.fields.get(name)
        return value.number() if isinstance(value, MedFloat) else None


def _payload(event_type: int, r: Reader) -> dict[str, object]:
    if event_type == REFERENCE_TIME:
        return {"reason": r.u8("recording reason"), "time": read_zoned(r)}
    if event_type == REFERENCE_TIME_BASE_OFFSET:
        return {
            "reason": r.u8("recording reason"),
            "base_time": read_date_time(r, "base time"),
            "offset_min": r.sint(2, "time offset"),
        }
    if event_type in (BOLUS_CALCULATED_1, BOLUS_CALCULATED_2):
        return {
            "fast_meal_u": r.sfloat("fast amount meal"),
            "fast_correction_u": r.sfloat("fast amount correction"),
            "extended_meal_u": r.sfloat("extended amount meal"),
            "extended_correction_u": r.sfloat("extended amount correction"),
        }
    if event_type in (BOLUS_PROGRAMMED_1, BOLUS_DELIVERED_1):
        return {
            "bolus_id": r.u16("bolus id"),
            "bolus_type": r.u8("bolus type"),
            "fast_u": r.sfloat("fast amount"),
            "extended_u": r.sfloat("extended amount"),
            "duration_min": r.u16("duration"),
        }
    if event_type == BOLUS_PROGRAMMED_2:
        return {"flags": r.u8("flags"), "delay_min": r.u16("delay time")}
    if event_type == BOLUS_DELIVERED_2:
        return {
            "flags": r.u8("flags"),
            "start_offset_s": r.uint(4, "start offset"),
            "end_reason": r.u8("end reason"),
        }
    if event_type == BASAL_RATE_CHANGED:
        flags = r.u8("flags")
        out: dict[str, object] = {
            "flags": flags,
            "old_rate": r.sfloat("old rate"),
            "new_rate": r.sfloat("new rate"),
        }
        if flags & 1:
            out["context"] = r.u8("delivery context")
        return out
    if event_type in (TBR_STARTED, TBR_CHANGED):
        return {
            "flags": r.u8("flags"),
            "tbr_type": r.u8("TBR type"),
            "rate": r.sfloat("TBR rate"),
            "duration_min": r.u16("programmed duration"),
        }
    if event_type == TBR_ENDED:
        return {
            "flags": r.u8("flags"),
            "tbr_type": r.u8("TBR type"),
            "effective_min": r.u16("effective duration"),
            "end_reason": r.u8("end reason"),
        }
    if event_type == TOTAL_DAILY_INSULIN:
        flags, bolus, basal = r.u8("flags"), r.sfloat("bolus total"), r.sfloat("basal total")
        year, month, day = r.u16("year"), r.u8("month"), r.u8("day")
        try:
            day_of = date(year, month, day)
        except ValueError as exc:
            raise DecodeError(f"IDD total daily insulin: bad date {year}-{month}-{day}") from exc
        return {"flags": flags, "bolus_u": bolus, "basal_u": basal, "date": day_of}
    if event_type == THERAPY_STATE_CHANGED:
        return {"old": r.u8("old state"), "new": r.u8("new state")}
    if event_type in (RESERVOIR_REMAINING, PRIMING_STARTED):
        return {"amount_u": r.sfloat("amount")}
    if event_type == PRIMING_DONE:
        return {
            "flags": r.u8("flags"),
            "amount_u": r.sfloat("delivered amount"),
            "reason": r.u8("termination reason"),
        }
    if event_type == ANNUNCIATION_CHANGED_1:
        return {
            "flags": r.u8("flags"),
            "annunciation_id": r.u16("annunciation id"),
            "annunciation_type": r.u16("annunciation type"),
            "status": r.u8("status"),
        }
    r.rest()
    return {}


def decode_event(value: bytes, *, e2e: bool) -> HistoryEvent:
    """One History Data notification."""
    if e2e:
        value = split_crc(value, what="IDD History Data")
    r = Reader(value, "IDD History Data")
    event_type, number, offset = (
        r.u16("event type"),
        r.uint(4, "record number"),
        r.u16("relative offset"),
    )
    data = value[8:]
    fields = _payload(event_type, r)
    r.end()
    return HistoryEvent(event_type, number, offset, data, fields)


def encode_event(
    event_type: int, record_number: int, offset_s: int, data: bytes, *, e2e: bool
) -> bytes:
    """A History Data record as the pump sends it."""
    value = u16(event_type) + u32(record_number) + u16(offset_s) + data
    return append_crc(value) if e2e else value


def reference_time_data(reason: int, time: ZonedLocalTime) -> bytes:
    """Payload of a Reference Time event."""
    return bytes((reason,)) + encode_zoned(time)


def bolus_part1_data(
    bolus_id: int, bolus_type: int, fast: MedFloat, extended: MedFloat, duration_min: int
) -> bytes:
    """Payload of Bolus Programmed / Delivered Part 1."""
    return (
        u16(bolus_id)
        + bytes((bolus_type,))
        + u16(pack_sfloat(fast))
        + u16(pack_sfloat(extended))
        + u16(duration_min)
    )


def base_offset_data(reason: int, base_time: datetime | None, offset_min: int) -> bytes:
    """Payload of a Reference Time Base Offset event: ``reason | Date Time | sint16 min``."""
    return (
        bytes((reason,))
        + encode_date_time(base_time)
        + offset_min.to_bytes(2, "little", signed=True)
    )


def bolus_calculated_data(
    fast_meal: MedFloat,
    fast_correction: MedFloat,
    extended_meal: MedFloat,
    extended_correction: MedFloat,
) -> bytes:
    """Payload of Bolus Calculated Part 1 (recommended) or Part 2 (confirmed): four
    SFLOAT IU in the order fast meal, fast correction, extended meal, extended correction."""
    return b"".join(
        u16(pack_sfloat(v))
        for v in (fast_meal, fast_correction, extended_meal, extended_correction)
    )


def total_daily_data(flags: int, bolus: MedFloat, basal: MedFloat, day: date) -> bytes:
    """Payload of Total Daily Insulin Delivery: ``flags | bolus SFLOAT | basal SFLOAT |
    year uint16 | month | day``."""
    return (
        bytes((flags,))
        + u16(pack_sfloat(bolus))
        + u16(pack_sfloat(basal))
        + u16(day.year)
        + bytes((day.month, day.day))
    )
