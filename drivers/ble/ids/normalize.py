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
  Status Changed -> ``alarm``. Total Daily Insulin goes to ``meta`` (no record kind).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from drivers._core.records import BasalSegment, Bolus, DeviceEvent, Record
from drivers._core.timebase import SOURCE_UTC
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
    for event in sorted(events, key=lambda e: e.record_number):
        if event.event_type == d.REFERENCE_TIME:
            ref = event.fields["time"]
            if isinstance(ref, ZonedLocalTime) and ref.local is not None:
                out.anchor = ZonedLocalTime(ref.local, ref.tz_minutes or 0, ref.dst_minutes or 0)
            continue
        if out.anchor is None:
            unanchored += 1
            continue
        placed.append((event, *_placed(out.anchor, event.relative_offset_s)))
    out.meta = {"unanchored": unanchored, "total_daily_insulin": [], "uninterpreted": 0}
    _Builder(out, device_id).run(placed)
    return out


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
            self.one(event, self.base(event, utc, local, offset))
        for bolus_id, prog in self.programmed.items():
            if bolus_id not in self.delivered:
                self.pend(prog.record_number)
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
        if t == d.BOLUS_PROGRAMMED_1:
            self.programmed[e.num("bolus_id")] = e
            self._bases[e.record_number] = base
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
            self.out.meta["total_daily_insulin"].append(
                {
                    "date": str(f["date"]),
                    "bolus_u": e.amount("bolus_u"),
                    "basal_u": e.amount("basal_u"),
                }
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
        return Bolus(
            **{**base, "source_index": str(src.record_number)},
            subtype=subtype,  # type: ignore[arg-type]
            programmed_u=round(fast_p + ext_p, 3),
            delivered_u=round(fast_d + ext_d, 3),
            extended_programmed_u=ext_p,
            extended_delivered_u=ext_d,
            extended_duration_s=src.num("duration_min") * 60,
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
