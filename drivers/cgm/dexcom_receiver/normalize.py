"""Decoded Dexcom records to normalized records (pure).

Time: every record carries ``sys`` (system time, which the user cannot change) and
``disp`` (display time, what the screen showed), u32 seconds since the Dexcom epoch
2009-01-01 00:00:00 *with no zone* (openaps/dexcom_reader ``constants.BASE_TIME``,
``util.ReceiverTimeToTime``). ``device_time`` is the display time, naive, as the
receiver showed it; the gateway's time base converts it. ``disp - sys`` is the display
offset in force when the record was written, so a change of it (by a minute or more:
one G4's records differ by +-1 s) between consecutive records *is* a clock change by
the user: it becomes a ``time-change`` DeviceEvent (``time_from``/``time_to`` on the
display clock, placed at the first record with the new offset).

``source_index`` is ``"<partition>:<system-clock second>"`` (``egv:``, ``meter:``,
``insertion:``, ``event:``, ``time-change:``), for EGVs the second the reading was
taken (``systemTimeSeconds`` on rev >= 4, as tidepool's ``index``). The system clock
never moves with the user's clock changes and is not reset by a database erase,
so the key is stable across syncs, page recycling and re-uploads; the global record
index is not (it restarts when the receiver database is erased).

Glucose (tidepool ``parseEgvRecords``): value = word & 0x3FF, always mg/dL. Below 20 a
special code (openaps/dexcom_reader ``SPECIAL_GLUCOSE_VALUES``) kept as a flagged
sensor state (``glucose_mgdl=None``, annotation ``cgm/dexcom-error-<code>-<name>``);
20-39 is "LOW" (``special="low"``, limit 40); above 400 "HIGH" (limit 400). Display-only
EGVs (bit 15) duplicate the next record's time and are dropped (counted). Backfilled
EGVs (rev 5, bit 13) get their true time from the last live reading (tidepool
``prepCBGData``): ``base.disp - (base.system_time - rec.system_time)``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from drivers._core.records import (
    Activity,
    DeviceEvent,
    DeviceEventType,
    Food,
    GlucoseSample,
    GlucoseSpecial,
    Injection,
    Record,
)
from drivers.cgm.dexcom_receiver.layouts import (
    DexcomRecord,
    EgvRecord,
    InsertionRecord,
    MeterRecord,
    SensorRecord,
    UserEventRecord,
    XmlRecord,
)

DEXCOM_EPOCH = datetime(2009, 1, 1)
LOW_LIMIT_MGDL, HIGH_LIMIT_MGDL = 40.0, 400.0
VALUE_MASK, DISPLAY_ONLY, BACKFILLED = 0x03FF, 0x8000, 0x2000
NOT_SET = 0xFFFFFFFF
TIME_CHANGE_MIN_S = 60
"""Smaller steps of ``disp - sys`` are rounding (records of one G4 differ by 1 s)."""
TRENDS = (
    None,
    "DoubleUp",
    "SingleUp",
    "FortyFiveUp",
    "Flat",
    "FortyFiveDown",
    "SingleDown",
    "DoubleDown",
    "NOT COMPUTABLE",
    "RATE OUT OF RANGE",
)
"""Trend arrow by code (dexcom_reader ``TREND_ARROW_VALUES``), in Nightscout's spelling."""
SPECIALS: dict[int, tuple[str, GlucoseSpecial]] = {
    0: ("none", "not-computable"),
    1: ("sensor-not-active", "sensor-error"),
    2: ("minimal-deviation", "sensor-error"),
    3: ("no-antenna", "sensor-error"),
    5: ("sensor-not-calibrated", "warmup"),
    6: ("counts-deviation", "sensor-error"),
    9: ("absolute-deviation", "not-computable"),
    10: ("power-deviation", "sensor-error"),
    12: ("bad-rf", "sensor-error"),
}
SESSION_STATES: dict[int, tuple[str, DeviceEventType]] = {
    1: ("removed", "sensor-stop"),
    2: ("expired", "sensor-stop"),
    3: ("residual-deviation", "sensor-stop"),
    4: ("counts-deviation", "sensor-stop"),
    5: ("second-session", "sensor-stop"),
    6: ("off-time-loss", "sensor-stop"),
    7: ("started", "sensor-start"),
    8: ("bad-transmitter", "sensor-stop"),
}
HEALTH = {
    1: "illness",
    2: "stress",
    3: "high-symptoms",
    4: "low-symptoms",
    5: "cycle",
    6: "alcohol",
}
EXERCISE = {1: "light", 2: "medium", 3: "heavy"}
PRODUCTS = {
    "G4Receiver": "G4 receiver",
    "G5MobileReceiver": "G5 Mobile receiver",
    "ScoutReceiver": "G5 touchscreen receiver",
    "OrionReceiver": "G6 touchscreen receiver",
}


def receiver_time(seconds: int) -> datetime:
    """Receiver seconds (system or display clock) as a naive datetime."""
    return DEXCOM_EPOCH + timedelta(seconds=seconds)


def receiver_seconds(when: datetime) -> int:
    """Inverse of :func:`receiver_time` (whole seconds; naive input)."""
    return int((when - DEXCOM_EPOCH).total_seconds())


def model_name(product_id: str, product_name: str = "") -> str:
    """A readable model from the firmware header (``ProductId``, tidepool's names)."""
    return PRODUCTS.get(product_id) or product_name.removeprefix("Dexcom ") or product_id


@dataclass(frozen=True, slots=True)
class Normalized:
    """Normalized records in system-clock order, and what was left out."""

    records: list[Record]
    display_only_dropped: int
    unmapped: int
    last_offset_s: int | None


def glucose_value(word: int) -> tuple[float | None, GlucoseSpecial | None, str | None]:
    """(mg/dL, special, annotation) for an EGV glucose word."""
    value = word & VALUE_MASK
    if value < 20:
        name, special = SPECIALS.get(value, ("unknown", "sensor-error"))
        return None, special, f"cgm/dexcom-error-{value}-{name}"
    if value < LOW_LIMIT_MGDL:
        return None, "low", "cgm/low-out-of-range"
    if value > HIGH_LIMIT_MGDL:
        return None, "high", "cgm/high-out-of-range"
    return float(value), None, None


def _egv(rec: EgvRecord, device_id: str, base: EgvRecord | None) -> GlucoseSample:
    mgdl, special, note = glucose_value(rec.glucose_word)
    notes = [note] if note else []
    taken = rec.system_time_s if rec.system_time_s is not None else rec.sys_s
    disp = rec.disp_s
    if rec.predicted_word is not None and rec.glucose_word & BACKFILLED:
        notes.append("cgm/backfilled")
        if base is not None and base.system_time_s is not None:
            disp = base.disp_s - (base.system_time_s - taken)
        else:
            notes.append("cgm/backfilled-time-unknown")
    limit = {"low": LOW_LIMIT_MGDL, "high": HIGH_LIMIT_MGDL}.get(special or "")
    trend = rec.trend_byte & 0x0F
    return GlucoseSample(
        device_id=device_id,
        source_index=f"egv:{taken}",
        device_time=receiver_time(disp),
        annotations=tuple(notes),
        sample_type="cgm",
        glucose_mgdl=mgdl,
        special=special,
        reporting_limit_mgdl=limit,
        trend=TRENDS[trend] if trend < len(TRENDS) else None,
    )


def _event(rec: UserEventRecord, device_id: str) -> Record | None:
    when = receiver_time(rec.event_time_s)
    index = f"event:{rec.sys_s}"
    if rec.event_type == 1:
        return Food(
            device_id=device_id, source_index=index, device_time=when, carbs_g=float(rec.value)
        )
    if rec.event_type == 2:
        return Injection(
            device_id=device_id, source_index=index, device_time=when, insulin_u=rec.value / 100.0
        )
    if rec.event_type == 3:
        return Activity(
            device_id=device_id,
            source_index=index,
            device_time=when,
            activity_type=f"health/{HEALTH.get(rec.sub_type, 'unknown')}",
        )
    if rec.event_type == 4:
        return Activity(
            device_id=device_id,
            source_index=index,
            device_time=when,
            activity_type="exercise",
            duration_s=rec.value * 60,
            intensity=EXERCISE.get(rec.sub_type),
        )
    return None


def _insertion(rec: InsertionRecord, device_id: str) -> DeviceEvent | None:
    state = SESSION_STATES.get(rec.session_state)
    if state is None:
        return None
    at = rec.disp_s if rec.insertion_s == NOT_SET else rec.insertion_s + rec.disp_s - rec.sys_s
    tx = (rec.transmitter_id or b"").rstrip(b"\x00").decode("ascii", "replace")
    return DeviceEvent(
        device_id=device_id,
        source_index=f"insertion:{rec.sys_s}",
        device_time=receiver_time(at),
        event_type=state[1],
        code=state[0],
        detail=f"transmitter {tx}" if tx else None,
    )


def _time_change(rec: DexcomRecord, old_offset_s: int, device_id: str) -> DeviceEvent:
    return DeviceEvent(
        device_id=device_id,
        source_index=f"time-change:{rec.sys_s}",
        device_time=receiver_time(rec.disp_s),
        event_type="time-change",
        code="display-offset",
        time_from=receiver_time(rec.sys_s + old_offset_s),
        time_to=receiver_time(rec.disp_s),
    )


def _sort_key(rec: DexcomRecord) -> tuple[int, int]:
    """Write order (system time), then reading time: tidepool's ``prepCBGData`` order,
    which puts each backfilled reading after the live reading it is timed from."""
    if isinstance(rec, EgvRecord) and rec.system_time_s is not None:
        return rec.sys_s, rec.system_time_s
    return rec.sys_s, rec.sys_s


def normalize(
    records: Iterable[DexcomRecord], *, device_id: str, last_offset_s: int | None = None
) -> Normalized:
    """Map decoded records (any partitions, any order) to normalized records.

    Args:
        records: Decoded EGV, meter, insertion and user-event records; others ignored.
        device_id: :func:`drivers._core.records.make_device_id` of the receiver.
        last_offset_s: The display offset (``disp - sys``) at the end of the previous
            sync, so a clock change between two syncs is not missed.
    """
    ordered = sorted(records, key=_sort_key)
    out: list[Record] = []
    seen: set[tuple[str, str]] = set()
    dropped = unmapped = 0
    offset = last_offset_s
    base: EgvRecord | None = None
    for rec in ordered:
        if isinstance(rec, (SensorRecord, XmlRecord)):
            continue
        backfilled = (
            isinstance(rec, EgvRecord)
            and rec.predicted_word is not None
            and bool(rec.glucose_word & BACKFILLED)
        )
        new_offset = rec.disp_s - rec.sys_s
        if not backfilled and (offset is None or abs(new_offset - offset) >= TIME_CHANGE_MIN_S):
            if offset is not None:
                out.append(_time_change(rec, offset, device_id))
            offset = new_offset
        mapped: Record | None
        if isinstance(rec, EgvRecord):
            if rec.glucose_word & DISPLAY_ONLY:
                dropped += 1
                continue
            mapped = _egv(rec, device_id, base)
            if not backfilled:
                base = rec
        elif isinstance(rec, MeterRecord):
            mapped = GlucoseSample(
                device_id=device_id,
                source_index=f"meter:{rec.sys_s}",
                device_time=receiver_time(rec.disp_s),
                sample_type="calibration",
                glucose_mgdl=float(rec.glucose_mgdl),
            )
        elif isinstance(rec, InsertionRecord):
            mapped = _insertion(rec, device_id)
        elif isinstance(rec, UserEventRecord):
            mapped = _event(rec, device_id)
        else:
            continue
        if mapped is None:
            unmapped += 1
        elif (mapped.kind, mapped.source_index) not in seen:
            seen.add((mapped.kind, mapped.source_index))
            out.append(mapped)
    return Normalized(out, dropped, unmapped, offset)
