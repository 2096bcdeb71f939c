"""Device clock to UTC: the time base every driver and importer goes through.

A driver fills ``device_time`` only (naive, exactly as the device shows it).
:func:`resolve_times` fills ``time_utc``, ``utc_offset_s``, ``clock_offset_s`` and
``time_reason`` and adds ``time/...`` annotations, as a pure function of

* the records, **in device log order** (the order is evidence: it resolves the
  repeated DST hour and places each record between the device's time changes);
* the device's time-change events among them (:class:`DeviceEvent` with
  ``event_type="time-change"`` and both ``time_from`` and ``time_to``);
* the :class:`ClockPair` read at upload, if any;
* the patient's IANA zone.

The model (firmware-notes/timebase.md has the reasoning and sources): between two
time changes a device clock is a free-running counter, so ``device_time - UTC`` is
one constant ``D`` per segment. With a clock pair the last segment's ``D`` is
``device_clock - host_utc``; walking backward over each change,
``D_before = D_after - (time_to - time_from)``. Without a clock pair the last segment
is taken as local wall time of the zone (DST resolved by order, see
:mod:`drivers._core.timebase_wall`) and the walk starts from the instant of the last
time change. Where no DST transition lies between a record and the point its
segment was anchored, this is the plain rule: ``clock_offset_s`` = host local time
minus device clock, plus ``time_to - time_from`` of each later change. Across a DST
transition the clock offset in local terms changes while ``D`` does not, which is
how a pump that was never moved for DST gets both halves of the year right.

Per record: ``device_time + clock_offset_s == true local wall time`` and
``time_utc + utc_offset_s == true local wall time``.

A time-change event gets the instant at which the clock was changed, computed from
its ``time_to`` on the clock of the segment it opens (the same instant as its
``time_from`` on the clock of the segment it closes); its reason is
``"time-change"``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from drivers._core.records import DeviceEvent, Record
from drivers._core.timebase_wall import (
    AMBIGUOUS,
    NONEXISTENT,
    NOT_FOLLOWED,
    resolve_wall_clock,
    zone_offset,
)

__all__ = ["SOURCE_UTC", "ClockPair", "resolve_times"]

R = TypeVar("R", bound=Record)

DRIFT_LIMIT_S = 15 * 60
"""Clock errors below 15 min are drift; from 15 min on the clock is wrong. Real zone
and DST steps are 30 or 60 min (15 min only between Nepal and India), while a pump
crystal drifts a few minutes a year; Tidepool's BtUTC uses the same 15 min line."""

RESET_LIMIT_S = 26 * 3600
"""Offsets beyond 26 h (UTC-12 to UTC+14) cannot be a zone: the clock was reset or
set to a wrong date (Tidepool's ``conversionOffset`` split uses the same bound)."""

EARLIEST_PLAUSIBLE = datetime(2000, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=1)

SOURCE_UTC = "source-utc"
"""``time_reason`` of a record whose file states its UTC instant and offset (Nightscout
``date``, Tidepool ``time`` + ``timezoneOffset``): the importer fills ``time_utc`` and
``utc_offset_s`` itself and the time base leaves the record untouched."""

DRIFT = "time/drift"
CLOCK_WRONG = "time/clock-wrong"
CLOCK_RESET = "time/clock-reset"
IMPLAUSIBLE = "time/implausible-year"
CHANGE_INCOMPLETE = "time/change-incomplete"
TIME_CODES = frozenset(
    {
        AMBIGUOUS,
        NONEXISTENT,
        NOT_FOLLOWED,
        DRIFT,
        CLOCK_WRONG,
        CLOCK_RESET,
        IMPLAUSIBLE,
        CHANGE_INCOMPLETE,
    }
)
"""Annotation codes this module owns; stale ones are dropped before resolving again."""

_REASON_CODES = {
    "drift": DRIFT,
    "clock-wrong": CLOCK_WRONG,
    "clock-reset": CLOCK_RESET,
    "dst-not-followed": NOT_FOLLOWED,
}


@dataclass(frozen=True, slots=True)
class ClockPair:
    """The device clock and the host's UTC clock, read at the same instant at upload.

    Attributes:
        device_time: Naive; the device clock as read at upload.
        host_utc: Aware; the host's clock at the same instant (any zone, compared in UTC).
    """

    device_time: datetime
    host_utc: datetime

    def __post_init__(self) -> None:
        if self.device_time.tzinfo is not None:
            raise ValueError("ClockPair.device_time must be naive (the device's own clock)")
        if self.host_utc.tzinfo is None:
            raise ValueError("ClockPair.host_utc must be timezone-aware")

    @property
    def device_minus_utc_s(self) -> int:
        """``device_time - host_utc`` in whole seconds (the last segment's ``D``)."""
        host = self.host_utc.astimezone(UTC).replace(tzinfo=None)
        return _round_s(self.device_time - host)


@dataclass(frozen=True, slots=True)
class _Timed:
    utc: datetime
    annotations: tuple[str, ...]
    anchored_by_clock: bool  # False: by time changes or by the wall-clock assumption


def _round_s(delta: timedelta) -> int:
    """Whole seconds, halves away from zero (not banker's rounding)."""
    seconds = delta.total_seconds()
    return int(math.copysign(math.floor(abs(seconds) + 0.5), seconds))


def _is_change(rec: Record) -> bool:
    return isinstance(rec, DeviceEvent) and rec.event_type == "time-change"


def _stated(rec: Record) -> bool:
    """A record whose source states its UTC instant (Nightscout, Tidepool) is kept as is."""
    return rec.time_reason == SOURCE_UTC and rec.time_utc is not None


def _with_zone_offset(rec: R, zone: ZoneInfo) -> R:
    """A stated-UTC record whose file gave no UTC offset (iAPS writes ``Z`` times with
    ``utcOffset: 0``) gets the patient's zone offset at that instant, annotated
    ``time/offset-from-zone``; a stated offset is kept."""
    if rec.utc_offset_s is not None or rec.time_utc is None:
        return rec
    offset = _round_s(zone_offset(rec.time_utc, zone))
    return rec.evolve(utc_offset_s=offset, annotations=(*rec.annotations, "time/offset-from-zone"))


def _complete_change(rec: Record) -> tuple[datetime, datetime] | None:
    """``(time_from, time_to)`` of a time-change event that has both, else None."""
    if not (_is_change(rec) and isinstance(rec, DeviceEvent)):
        return None
    if rec.time_from is None or rec.time_to is None:
        return None
    return rec.time_from, rec.time_to


def _effective_time(rec: Record) -> datetime:
    """The device time that places a record: ``time_to`` for a complete time change."""
    change = _complete_change(rec)
    return change[1] if change is not None else rec.device_time


def _reason(rec: Record, clock_offset_s: int, timed: _Timed, has_clock: bool) -> str:
    if _complete_change(rec) is not None:
        return "time-change"
    if abs(clock_offset_s) > RESET_LIMIT_S:
        return "clock-reset"
    if clock_offset_s == 0:
        return "none" if has_clock else "assumed-local"
    if NOT_FOLLOWED in timed.annotations or NONEXISTENT in timed.annotations:
        return "dst-not-followed"
    if abs(clock_offset_s) < DRIFT_LIMIT_S:
        return "drift"
    return "clock-wrong" if timed.anchored_by_clock else "time-change"


def resolve_times(
    records: Sequence[R], tz: str | ZoneInfo, *, clock: ClockPair | None = None
) -> list[R]:
    """Resolve every record's device time to UTC and record the correction.

    Args:
        records: Records in device log order, time-change events among them.
            Records that carry their own clock (e.g. a Clarity export that
            interleaves the repeated DST hour) must be put in device order by the
            caller first; the order decides which occurrence of a repeated hour is meant.
        tz: The patient's IANA zone (``"America/Chicago"``) or a ``ZoneInfo``.
        clock: The device clock and host UTC clock read at upload; ``None`` for a
            vendor file, in which case the device's latest clock is taken as local
            wall time.

    Returns:
        Copies in the same order with ``time_utc``, ``utc_offset_s``,
        ``clock_offset_s`` (seconds added to ``device_time`` to get true local time)
        and ``time_reason`` set: ``"none"``, ``"assumed-local"``, ``"drift"``,
        ``"clock-wrong"``, ``"time-change"``, ``"clock-reset"`` or
        ``"dst-not-followed"``. Annotations from :data:`TIME_CODES` are replaced.

    Raises:
        ValueError: A ``device_time`` is timezone-aware.
    """
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    recs = list(records)
    if any(_stated(rec) for rec in recs):
        done = iter(resolve_times([r for r in recs if not _stated(r)], zone, clock=clock))
        return [_with_zone_offset(rec, zone) if _stated(rec) else next(done) for rec in recs]
    for rec in recs:
        if rec.device_time.tzinfo is not None:
            raise ValueError(f"device_time must be naive: {rec.dedup_key}")
    timed = _place(recs, zone, clock)
    latest = clock.host_utc + FUTURE_SLACK if clock is not None else None
    out: list[R] = []
    for rec, placed in zip(recs, timed, strict=True):
        offset_s = _round_s(zone_offset(placed.utc, zone))
        local = placed.utc.replace(tzinfo=None) + timedelta(seconds=offset_s)
        clock_offset_s = _round_s(local - rec.device_time)
        reason = _reason(rec, clock_offset_s, placed, clock is not None)
        notes = list(placed.annotations)
        if reason in _REASON_CODES:
            notes.append(_REASON_CODES[reason])
        if _is_change(rec) and _complete_change(rec) is None:
            notes.append(CHANGE_INCOMPLETE)
        if placed.utc < EARLIEST_PLAUSIBLE or (latest is not None and placed.utc > latest):
            notes.append(IMPLAUSIBLE)
        kept = tuple(a for a in rec.annotations if a not in TIME_CODES)
        resolved = rec.evolve(
            time_utc=placed.utc,
            utc_offset_s=offset_s,
            clock_offset_s=clock_offset_s,
            time_reason=reason,
            annotations=kept + tuple(n for n in dict.fromkeys(notes) if n not in kept),
        )
        out.append(resolved)
    return out


def _place(recs: Sequence[Record], zone: ZoneInfo, clock: ClockPair | None) -> list[_Timed]:
    """Place every record in UTC, segment by segment, from the last one backward."""
    if not recs:
        return []
    deltas: dict[int, int] = {}  # index of each complete time change -> time_to - time_from
    for i, rec in enumerate(recs):
        change = _complete_change(rec)
        if change is not None:
            deltas[i] = _round_s(change[1] - change[0])
    changes = sorted(deltas)
    bounds = [0, *changes, len(recs)]
    placed: list[_Timed | None] = [None] * len(recs)
    effective = [_effective_time(rec) for rec in recs]

    last = range(bounds[-2], bounds[-1])
    if clock is not None:
        d_next = clock.device_minus_utc_s
        for i in last:
            placed[i] = _fixed(effective[i], d_next, anchored_by_clock=True)
    else:
        opening = _complete_change(recs[last.start]) if changes else None
        walls = resolve_wall_clock(
            (effective[i] for i in last), zone, previous=opening[0] if opening else None
        )
        for i, wall in zip(last, walls, strict=True):
            placed[i] = _Timed(wall.utc, wall.annotations, anchored_by_clock=False)
        d_next = 0
        if changes:  # the last change's instant anchors every earlier segment
            anchor_utc = walls[0].utc.replace(tzinfo=None)  # the change opens the segment
            d_next = _round_s(effective[changes[-1]] - anchor_utc)

    for seg in reversed(range(len(bounds) - 2)):
        d_here = d_next - deltas[bounds[seg + 1]]
        for i in range(bounds[seg], bounds[seg + 1]):
            placed[i] = _fixed(effective[i], d_here, anchored_by_clock=False)
        d_next = d_here
    return [p for p in placed if p is not None]


def _fixed(device_time: datetime, device_minus_utc_s: int, *, anchored_by_clock: bool) -> _Timed:
    utc = (device_time - timedelta(seconds=device_minus_utc_s)).replace(tzinfo=UTC)
    return _Timed(utc, (), anchored_by_clock)
