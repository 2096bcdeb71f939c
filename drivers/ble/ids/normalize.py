"""IDD history events -> Bolus, BasalSegment and DeviceEvent records.

Time: each event's Relative Offset counts seconds from the latest Reference Time event,
whose Date Time is UTC (Tidepool's ``ReferenceTimeHistoryEvent``: "always reported with
UTC time zone") and whose Time Zone + DST give the local offset. So every record gets
``time_utc`` from the pump itself (``time_reason=SOURCE_UTC``) and ``device_time`` =
local wall time. Events before the first reference in a read use the anchor carried in
the cursor; without one they cannot be placed and are counted in ``meta["unanchored"]``.

Mapping:
* Bolus Programmed + Delivered (joined by bolus ID) -> :class:`Bolus`: fast -> normal,
  extended -> extended, multiwave -> dual; a bolus ended by cancel or error is annotated.
  A bolus whose delivery is not yet recorded is *pending*: not emitted, and the cursor
  stops before it so the next read sees it whole.
* Delivered Basal Rate Changed -> scheduled :class:`BasalSegment` lasting until the next
  change (the last one: ``duration_s=None``, ``basal/unknown-duration``).
* TBR Started (+ Ended) -> temp ``BasalSegment`` (relative TBRs: percent of the current
  scheduled rate). A TBR without its end is pending like a bolus.
* Therapy Control State -> ``suspend`` (stop/pause) / ``resume`` (run); Priming Done ->
  ``prime``; Reservoir Remaining that goes *up* -> ``reservoir-change``; Annunciation
  Status Changed -> ``alarm``.
* Bolus Calculated Part 1 (recommended) + Part 2 (confirmed) -> the
  :class:`BolusCalculation` of the bolus programmed next. The events carry no bolus ID
  (four SFLOATs each: fast meal, fast correction, extended meal, extended correction),
  so the pair belongs to the next Bolus Programmed whose fast and extended amounts equal
  the confirmed ones; one that matches nothing is counted in
  ``meta["calculations_unmatched"]``. Recommended food = fast + extended meal,
  correction = fast + extended correction, total = their sum; ``user_changed`` = the
  confirmed total differs from the recommended total by more than 0.005 U. Carbs, BG,
  ratios, targets and IOB are not in the IDS history: they stay None.
* Total Daily Insulin Delivery -> ``DeviceEvent(event_type="daily-total")`` with
  ``detail="date=YYYY-MM-DD;bolus_u=..;basal_u=.."`` and the flags in ``code``; a total
  whose "date time changed" flag is set is annotated ``ids/date-time-changed``. Also
  kept in ``meta["total_daily_insulin"]``.
* Reference Time (or Reference Time Base Offset) that changes the pump's wall clock ->
  ``DeviceEvent(event_type="time-change")`` at the new reference: ``time_from`` = the
  old clock at that instant (previous reference + this event's Relative Offset, which
  counts from the previous reference; Tidepool's ``PumpHistoryEventManager``),
  ``time_to`` = the new wall time. A change is a new zone or DST offset (any recording
  reason), or a jump of the UTC reference when the reason is "set date time". A
  "date time loss" reference gives a time change without ``time_from``
  (``time/change-incomplete``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from drivers._core.records import BasalSegment, Bolus, BolusCalculation, DeviceEvent, Record
from drivers._core.timebase import CHANGE_INCOMPLETE, SOURCE_UTC
from drivers.ble.date_time import ZonedLocalTime
from drivers.ble.ids import decode as d
from drivers.ble.ids.messages import ANNUNCIATION_TYPES

_SUBTYPES = {0x33: "normal", 0x3C: "extended", 0x55: "dual"}


@dataclass
class Normalized:
    """Records, the first pending record number (or None) and meta for the batch."""

    records: list[Record] = field(default_factory=list)
    pending_from: int | None = None
    anchor: ZonedLocalTime | None = None
    meta: dict[str, Any] = field(default_factory=dict)


def _placed(anchor: ZonedLocalTime, offset_s: int) -> tuple[datetime, datetime, int]:
    """(time_utc, device_time, utc_offset_s) of an event on ``anchor``."""
    base = anchor.local or datetime(2000, 1, 1)
    utc_offset = anchor.utc_offset_s or 0
    utc = base.replace(tzinfo=UTC) + timedelta(seconds=offset_s)
    return utc, (utc + timedelta(seconds=utc_offset)).replace(tzinfo=None), utc_offset


def normalize(
    events: list[d.HistoryEvent], *, device_id: str, anchor: ZonedLocalTime | None
) -> Normalized:
    """All events of one read, in record-number order (see module docstring)."""
    out = Normalized(anchor=anchor)
    placed: list[tuple[d.HistoryEvent, datetime, datetime, int]] = []
    unanchored = 0
    changes: list[Record] = []
    for event in sorted(events, key=lambda e: e.record_number):
        if event.event_type in (d.REFERENCE_TIME, d.REFERENCE_TIME_BASE_OFFSET):
            new = anchor_of(event)
            if new is not None:
                change = _time_change(out.anchor, new, event, device_id)
                if change is not None:
                    changes.append(change)
                out.anchor = new
            continue
        if out.anchor is None:
            unanchored += 1
            continue
        placed.append((event, *_placed(out.anchor, event.relative_offset_s)))
    out.meta = {
        "unanchored": unanchored,
        "total_daily_insulin": [],
        "uninterpreted": 0,
        "calculations_unmatched": 0,
        "time_changes": len(changes),
    }
    out.records.extend(changes)
    _Builder(out, device_id).run(placed)
    return out


def anchor_of(event: d.HistoryEvent) -> ZonedLocalTime | None:
    """The (UTC date time, zone, DST) a Reference Time or Reference Time Base Offset
    event sets, or None if it carries no date. Base Offset: the base time is UTC and the
    time offset is the user's offset from it [unverified: Tidepool reads it as UTC]."""
    if event.event_type == d.REFERENCE_TIME:
        ref = event.fields.get("time")
        if isinstance(ref, ZonedLocalTime) and ref.local is not None:
            return ZonedLocalTime(ref.local, ref.tz_minutes or 0, ref.dst_minutes or 0)
        return None
    base = event.fields.get("base_time")
    if event.event_type == d.REFERENCE_TIME_BASE_OFFSET and isinstance(base, datetime):
        return ZonedLocalTime(base, event.num("offset_min"), 0)
    return None


def _time_change(
    old: ZonedLocalTime | None, new: ZonedLocalTime, event: d.HistoryEvent, device_id: str
) -> DeviceEvent | None:
    """The wall-clock change a new reference makes (see the module docstring)."""
    assert new.local is not None
    if old is None or old.local is None:
        return None
    reason = event.num("reason")
    new_utc = new.local.replace(tzinfo=UTC)
    new_offset = new.utc_offset_s or 0
    time_to = new.local + timedelta(seconds=new_offset)
    common: dict[str, Any] = {
        "device_id": device_id,
        "source_index": str(event.record_number),
        "device_time": time_to,
        "time_utc": new_utc,
        "utc_offset_s": new_offset,
        "time_reason": SOURCE_UTC,
        "event_type": "time-change",
        "code": f"0x{reason:02X}",
        "time_to": time_to,
    }
    if reason == d.DATE_TIME_LOSS:
        return DeviceEvent(**common, detail="date-time-loss", annotations=(CHANGE_INCOMPLETE,))
    expected = old.local + timedelta(seconds=event.relative_offset_s)
    old_offset = old.utc_offset_s or 0
    zone = (old.tz_minutes, old.dst_minutes) != (new.tz_minutes, new.dst_minutes)
    clock = reason == d.SET_DATE_TIME and expected != new.local
    time_from = expected + timedelta(seconds=old_offset)
    if not (zone or clock) or time_from == time_to:
        return None
    what = "clock+zone" if zone and clock else "zone" if zone else "clock"
    return DeviceEvent(**common, time_from=time_from, detail=what)


class _Builder:
    def __init__(self, out: Normalized, device_id: str) -> None:
        self.out, self.device_id = out, device_id
        self.programmed: dict[int, d.HistoryEvent] = {}
        self.delivered: dict[int, d.HistoryEvent] = {}
        self.basal: list[tuple[d.HistoryEvent, dict[str, Any]]] = []
        self.tbr: tuple[d.HistoryEvent, dict[str, Any]] | None = None
        self.scheduled_rate: float | None = None
        self.reservoir: float | None = None
        self._bases: dict[int, dict[str, Any]] = {}
        self.calc: list[d.HistoryEvent] = []  # Bolus Calculated part 1 (+ part 2) waiting
        self.calculations: dict[int, tuple[list[d.HistoryEvent], int]] = {}  # bolus id ->
        self.last_record = -1

    def base(
        self, event: d.HistoryEvent, utc: datetime, local: datetime, offset: int
    ) -> dict[str, Any]:
        return {
            "device_id": self.device_id,
            "source_index": str(event.record_number),
            "device_time": local,
            "time_utc": utc,
            "utc_offset_s": offset,
            "time_reason": SOURCE_UTC,
        }

    def pend(self, record_number: int) -> None:
        current = self.out.pending_from
        self.out.pending_from = record_number if current is None else min(current, record_number)

    def run(self, placed: list[tuple[d.HistoryEvent, datetime, datetime, int]]) -> None:
        for event, utc, local, offset in placed:
            self.last_record = max(self.last_record, event.record_number)
            self.one(event, self.base(event, utc, local, offset))
        for bolus_id, prog in self.programmed.items():
            if bolus_id not in self.delivered:
                calc = self.calculations.get(bolus_id)
                self.pend(calc[1] if calc else prog.record_number)
        if self.calc:  # calculated but not (yet) programmed
            if self.calc[-1].record_number >= self.last_record:
                self.pend(self.calc[0].record_number)  # the bolus may follow: read again
            else:
                self.out.meta["calculations_unmatched"] += 1
        if self.tbr is not None:
            self.pend(self.tbr[0].record_number)
        for i, (event, base) in enumerate(self.basal):
            nxt = self.basal[i + 1][1]["time_utc"] if i + 1 < len(self.basal) else None
            duration = int((nxt - base["time_utc"]).total_seconds()) if nxt else None
            notes = () if nxt else ("basal/unknown-duration",)
            self.out.records.append(
                BasalSegment(
                    **base,
                    basal_type="scheduled",
                    rate_u_per_h=event.amount("new_rate") or 0.0,
                    duration_s=duration,
                    annotations=notes,
                )
            )
        self.out.records.sort(key=lambda r: (r.time_utc, int(r.source_index)))

    def one(self, e: d.HistoryEvent, base: dict[str, Any]) -> None:
        t, f, add = e.event_type, e.fields, self.out.records.append
        if t == d.BOLUS_CALCULATED_1:
            if self.calc:
                self.out.meta["calculations_unmatched"] += 1
            self.calc = [e]
        elif t == d.BOLUS_CALCULATED_2:
            if len(self.calc) == 1 and self.calc[0].relative_offset_s == e.relative_offset_s:
                self.calc.append(e)
            else:
                self.out.meta["calculations_unmatched"] += 1
                self.calc = []
        elif t == d.BOLUS_PROGRAMMED_1:
            self.programmed[e.num("bolus_id")] = e
            self._bases[e.record_number] = base
            if self.calc:
                if len(self.calc) == 2 and _confirms(self.calc[1], e):
                    self.calculations[e.num("bolus_id")] = (self.calc, self.calc[0].record_number)
                else:
                    self.out.meta["calculations_unmatched"] += 1
                self.calc = []
        elif t == d.BOLUS_DELIVERED_1:
            self.delivered[e.num("bolus_id")] = e
            prog = self.programmed.get(e.num("bolus_id"))
            add(self._bolus(prog, e, self._bases.get(prog.record_number, base) if prog else base))
        elif t == d.BASAL_RATE_CHANGED:
            self.scheduled_rate = e.amount("new_rate")
            self.basal.append((e, base))
        elif t == d.TBR_STARTED:
            self.tbr = (e, base)
        elif t == d.TBR_ENDED and self.tbr is not None:
            start, start_base = self.tbr
            self.tbr = None
            add(self._temp(start, start_base, e.num("effective_min") * 60))
        elif t == d.THERAPY_STATE_CHANGED:
            resumed = e.num("new") == 0x55
            add(
                DeviceEvent(
                    **base,
                    event_type="resume" if resumed else "suspend",
                    code=f"0x{e.num('new'):02X}",
                )
            )
        elif t == d.PRIMING_DONE:
            add(DeviceEvent(**base, event_type="prime", prime_u=e.amount("amount_u")))
        elif t == d.RESERVOIR_REMAINING:
            amount = e.amount("amount_u")
            if amount is not None and self.reservoir is not None and amount > self.reservoir:
                add(DeviceEvent(**base, event_type="reservoir-change", detail=f"{amount:g}"))
            self.reservoir = amount
        elif t == d.ANNUNCIATION_CHANGED_1:
            kind = ANNUNCIATION_TYPES.get(e.num("annunciation_type"), "unknown")
            add(
                DeviceEvent(
                    **base,
                    event_type="alarm",
                    code=f"0x{e.num('annunciation_type'):04X}",
                    detail=kind,
                )
            )
        elif t == d.TOTAL_DAILY_INSULIN:
            total = {
                "date": str(f["date"]),
                "bolus_u": e.amount("bolus_u"),
                "basal_u": e.amount("basal_u"),
            }
            self.out.meta["total_daily_insulin"].append(total)
            changed = bool(e.num("flags") & d.TDD_DATE_TIME_CHANGED)
            add(
                DeviceEvent(
                    **base,
                    event_type="daily-total",
                    code=f"0x{e.num('flags'):02X}",
                    detail=";".join(f"{k}={_text(v)}" for k, v in total.items()),
                    annotations=("ids/date-time-changed",) if changed else (),
                )
            )
        elif t not in (d.BOLUS_PROGRAMMED_2, d.BOLUS_DELIVERED_2, d.PRIMING_STARTED):
            self.out.meta["uninterpreted"] += 1

    def _bolus(
        self, prog: d.HistoryEvent | None, deliv: d.HistoryEvent, base: dict[str, Any]
    ) -> Bolus:
        src = prog or deliv
        subtype = _SUBTYPES.get(src.num("bolus_type"), "normal")
        fast_p, ext_p = src.amount("fast_u") or 0.0, src.amount("extended_u") or 0.0
        fast_d, ext_d = deliv.amount("fast_u") or 0.0, deliv.amount("extended_u") or 0.0
        notes = () if prog else ("bolus/programmed-unknown",)
        calc = self.calculations.get(src.num("bolus_id")) if prog else None
        return Bolus(
            **{**base, "source_index": str(src.record_number)},
            subtype=subtype,  # type: ignore[arg-type]
            programmed_u=round(fast_p + ext_p, 3),
            delivered_u=round(fast_d + ext_d, 3),
            extended_programmed_u=ext_p,
            extended_delivered_u=ext_d,
            extended_duration_s=src.num("duration_min") * 60,
            calculation=_calculation(*calc[0]) if calc else None,
            annotations=notes,
        )

    def _temp(self, start: d.HistoryEvent, base: dict[str, Any], duration_s: int) -> BasalSegment:
        rate = start.amount("rate") or 0.0
        if start.fields["tbr_type"] == 0x3C:  # relative: percent of the scheduled rate
            scheduled = self.scheduled_rate or 0.0
            return BasalSegment(
                **base,
                basal_type="temp",
                rate_u_per_h=round(scheduled * rate / 100, 3),
                duration_s=duration_s,
                percent=rate,
                scheduled_rate_u_per_h=scheduled,
            )
        return BasalSegment(
            **base,
            basal_type="temp",
            rate_u_per_h=rate,
            duration_s=duration_s,
            scheduled_rate_u_per_h=self.scheduled_rate,
        )


def _text(value: object) -> str:
    return "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def _sum(event: d.HistoryEvent, *names: str) -> float | None:
    """Sum of SFLOAT fields (None when none of them is a number)."""
    values = [v for v in (event.amount(n) for n in names) if v is not None]
    return round(sum(values), 3) if values else None


def _close(a: float | None, b: float | None) -> bool:
    """Equal within the SFLOAT resolution an amount travels with (0.01 U up to 20.45 U)."""
    return math.isclose(a or 0.0, b or 0.0, rel_tol=0.003, abs_tol=0.015)


def _confirms(confirmed: d.HistoryEvent, programmed: d.HistoryEvent) -> bool:
    """The confirmed fast and extended amounts are the bolus programmed."""
    fast = _sum(confirmed, "fast_meal_u", "fast_correction_u")
    extended = _sum(confirmed, "extended_meal_u", "extended_correction_u")
    return _close(fast, programmed.amount("fast_u")) and _close(
        extended, programmed.amount("extended_u")
    )


def _calculation(recommended: d.HistoryEvent, confirmed: d.HistoryEvent) -> BolusCalculation:
    food = _sum(recommended, "fast_meal_u", "extended_meal_u")
    correction = _sum(recommended, "fast_correction_u", "extended_correction_u")
    total = (
        None if food is None and correction is None else round((food or 0) + (correction or 0), 3)
    )
    chosen = _sum(
        confirmed, "fast_meal_u", "fast_correction_u", "extended_meal_u", "extended_correction_u"
    )
    changed = None if total is None or chosen is None else abs(chosen - total) > 0.005
    return BolusCalculation(
        recommended_food_u=food,
        recommended_correction_u=correction,
        recommended_total_u=total,
        user_changed=changed,
    )
