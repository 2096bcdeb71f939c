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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from drivers._core.records import DeviceEvent, Record, collector_paused, time_copier
from drivers._core.timebase_wall import (
    AMBIGUOUS,
    NONEXISTENT,
    NOT_FOLLOWED,
    ZoneOffsets,
    resolve_wall_clock_lists,
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


def _change_of(rec: Record) -> tuple[datetime, datetime] | None:
    """``(time_from, time_to)`` of a complete time change, :data:`_INCOMPLETE` for a
    time change without both times, None for any other record."""
    if not _is_change(rec):
        return None
    return _complete_change(rec) or _INCOMPLETE


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
    with collector_paused():  # a copy of every record: no garbage, no cycles
        return _resolve(list(records), zone, clock)


def _resolve(recs: list[R], zone: ZoneInfo, clock: ClockPair | None) -> list[R]:
    if any(rec.time_reason == SOURCE_UTC and rec.time_utc is not None for rec in recs):
        done = iter(_resolve([r for r in recs if not _stated(r)], zone, clock))
        return [_with_zone_offset(rec, zone) if _stated(rec) else next(done) for rec in recs]
    for rec in recs:
        if rec.device_time.tzinfo is not None:
            raise ValueError(f"device_time must be naive: {rec.dedup_key}")
    changes = [_change_of(rec) for rec in recs]
    offsets = ZoneOffsets(zone)
    utcs, placed_notes, by_clock = _place(recs, changes, zone, clock, offsets)
    # Instants are naive UTC until the record is built (fewer conversions per record).
    earliest = EARLIEST_PLAUSIBLE.replace(tzinfo=None)
    latest = None
    if clock is not None:
        latest = (clock.host_utc + FUTURE_SLACK).astimezone(UTC).replace(tzinfo=None)
    has_clock = clock is not None
    zero_reason = "none" if has_clock else "assumed-local"  # a clock that shows local time
    at_utc = offsets.at_utc
    shifts: dict[timedelta, tuple[int, timedelta]] = {}  # zone offset -> (whole s, as delta)
    copiers: dict[type, Callable[..., Record]] = {}
    out: list[R] = []
    rows = zip(recs, utcs, placed_notes, changes, strict=True)
    for i, (rec, utc, notes, change) in enumerate(rows):
        offset = at_utc(utc)
        known = shifts.get(offset)
        if known is None:
            offset_s = _whole_s(offset)
            known = shifts[offset] = (offset_s, timedelta(seconds=offset_s))
        offset_s, shift = known
        gap = utc + shift - rec.device_time  # _whole_s, inlined for whole seconds:
        clock_offset_s = _round_s(gap) if gap.microseconds else gap.days * 86400 + gap.seconds
        # why the clock differs from true local time (see the Returns section)
        if change is None and clock_offset_s == 0:  # nearly every record: the chain's
            reason = zero_reason  # third branch, and no reason code
        else:
            if change is not None and change is not _INCOMPLETE:
                reason = "time-change"
            elif abs(clock_offset_s) > RESET_LIMIT_S:
                reason = "clock-reset"
            elif clock_offset_s == 0:
                reason = zero_reason
            elif NOT_FOLLOWED in notes or NONEXISTENT in notes:
                reason = "dst-not-followed"
            elif abs(clock_offset_s) < DRIFT_LIMIT_S:
                reason = "drift"
            else:
                reason = "clock-wrong" if by_clock[i] else "time-change"
            code = _REASON_CODES.get(reason)
            if code is not None:
                notes = (*notes, code)
            if change is _INCOMPLETE:
                notes = (*notes, CHANGE_INCOMPLETE)
        if utc < earliest or (latest is not None and utc > latest):
            notes = (*notes, IMPLAUSIBLE)
        kept = tuple(a for a in rec.annotations if a not in TIME_CODES) if rec.annotations else ()
        if notes:
            kept = kept + tuple(n for n in dict.fromkeys(notes) if n not in kept)
        cls = type(rec)
        copy = copiers.get(cls)
        if copy is None:
            copy = copiers[cls] = time_copier(cls)
        # aware UTC by arithmetic from an aware epoch: ``utc.replace(tzinfo=UTC)``, the
        # same value (fold 0, as every instant here), without replace's slow keywords
        aware = _UTC_EPOCH + (utc - _NAIVE_EPOCH)
        out.append(copy(rec, aware, offset_s, clock_offset_s, reason, kept))  # type: ignore[arg-type]
    return out


_NAIVE_EPOCH = datetime(1970, 1, 1)
_UTC_EPOCH = _NAIVE_EPOCH.replace(tzinfo=UTC)
_INCOMPLETE = (_NAIVE_EPOCH, _NAIVE_EPOCH)
"""Marks a time-change event without both times in the per-record change list."""


def _whole_s(delta: timedelta) -> int:
    """:func:`_round_s`, with a shortcut for whole seconds (every offset and nearly
    every clock difference)."""
    if delta.microseconds:
        return _round_s(delta)
    return delta.days * 86400 + delta.seconds


def _place(
    recs: Sequence[Record],
    changes: Sequence[tuple[datetime, datetime] | None],
    zone: ZoneInfo,
    clock: ClockPair | None,
    offsets: ZoneOffsets,
) -> tuple[list[datetime], list[tuple[str, ...]], list[bool]]:
    """Place every record in UTC, segment by segment, from the last one backward.

    Returns the instants (naive UTC), the annotation codes of the wall-clock resolution and
    whether each record was anchored by the clock pair (not by time changes or by the
    wall-clock assumption)."""
    n = len(recs)
    if not n:
        return [], [], []
    deltas: dict[int, int] = {}  # index of each complete time change -> time_to - time_from
    effective = [rec.device_time for rec in recs]  # the device time that places a record
    for i, change in enumerate(changes):
        if change is not None and change is not _INCOMPLETE:
            deltas[i] = _round_s(change[1] - change[0])
            effective[i] = change[1]
    change_at = sorted(deltas)
    bounds = [0, *change_at, n]
    utcs: list[datetime] = [_NAIVE_EPOCH] * n
    notes: list[tuple[str, ...]] = [()] * n
    by_clock = [False] * n

    last = range(bounds[-2], bounds[-1])
    if clock is not None:
        d_next = clock.device_minus_utc_s
        utcs[last.start :] = _fixed(effective[last.start :], d_next)
        by_clock[last.start :] = [True] * len(last)
    else:
        opening = changes[last.start] if change_at else None
        walls, codes = resolve_wall_clock_lists(
            effective[last.start :], zone, previous=opening[0] if opening else None, offsets=offsets
        )
        utcs[last.start :] = walls
        notes[last.start :] = codes
        d_next = 0
        if change_at:  # the last change's instant anchors every earlier segment
            anchor_utc = walls[0]  # the change opens the segment
            d_next = _round_s(effective[change_at[-1]] - anchor_utc)

    for seg in reversed(range(len(bounds) - 2)):
        d_here = d_next - deltas[bounds[seg + 1]]
        lo, hi = bounds[seg], bounds[seg + 1]
        utcs[lo:hi] = _fixed(effective[lo:hi], d_here)
        d_next = d_here
    return utcs, notes, by_clock


def _fixed(device_times: Sequence[datetime], device_minus_utc_s: int) -> list[datetime]:
    """Naive UTC of device times on a clock ``device_minus_utc_s`` ahead of UTC."""
    shift = timedelta(seconds=device_minus_utc_s)
    return [t - shift for t in device_times]
