"""Wall-clock times to UTC through an IANA zone, with DST resolved by log order.

The helper behind :func:`drivers._core.timebase.resolve_times` for the part of a log
that is taken as local wall time (no clock pair was read, so nothing but the zone
says how the device's clock relates to UTC). It is pure: it takes naive local times
in device log order and returns instants and annotation codes.

* **Fall back (repeated hour).** A time inside the repeated interval is the first
  occurrence (``fold=0``) until the sequence *steps back* into that interval by about
  its length (from a time in the interval, or up to :data:`STEP_TOLERANCE` after it);
  from then on every time in that interval is the second occurrence (``fold=1``).
  Every record in the interval is annotated ``time/dst-ambiguous``.
* **Spring forward (skipped hour).** A time that does not exist gets the offset in
  force *before* the transition (``fold=0`` in :mod:`zoneinfo`) and is annotated
  ``time/dst-nonexistent``. Such a time proves the clock did not spring forward, so
  the rest of the run keeps that fixed pre-transition offset; records whose instant
  then differs from the zone's reading of their wall time are annotated
  ``time/dst-not-followed``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

AMBIGUOUS = "time/dst-ambiguous"
NONEXISTENT = "time/dst-nonexistent"
NOT_FOLLOWED = "time/dst-not-followed"

STEP_TOLERANCE = timedelta(minutes=15)
"""How far past the repeated interval a step back may start and still count as the
clock falling back (a user setting 02:10 back to 01:10 by hand)."""


@dataclass(frozen=True, slots=True)
class WallTime:
    """One resolved wall time: the instant and the annotation codes it earned."""

    utc: datetime
    annotations: tuple[str, ...] = ()


def zone_offset(utc: datetime, zone: ZoneInfo) -> timedelta:
    """The zone's UTC offset (local = UTC + offset) at an aware instant."""
    offset = utc.astimezone(zone).utcoffset()
    if offset is None:  # pragma: no cover - a ZoneInfo always answers
        raise ValueError(f"zone {zone.key} has no offset at {utc.isoformat()}")
    return offset


def _offsets(local: datetime, zone: ZoneInfo) -> tuple[timedelta, timedelta]:
    # the zone reads a naive time's wall clock and fold itself (what the aware copy's
    # utcoffset() asks it): no aware copies, twice per hour of an upload
    first = local.replace(fold=0) if local.fold else local
    off0 = zone.utcoffset(first)
    off1 = zone.utcoffset(first.replace(fold=1))
    if off0 is None or off1 is None:  # pragma: no cover - a ZoneInfo always answers
        raise ValueError(f"zone {zone.key} has no offset at {local.isoformat()}")
    return off0, off1


def repeated_interval(
    local: datetime, zone: ZoneInfo, off0: timedelta, off1: timedelta
) -> tuple[datetime, datetime]:
    """The local ``[start, end)`` interval that repeats around an ambiguous ``local``.

    Finds the transition instant by bisection between the two readings of ``local``
    (transitions fall on whole seconds), to the second.
    """
    first = (local - off0).replace(tzinfo=UTC, microsecond=0)  # still the old offset
    lo, hi = 0, math.ceil((off0 - off1).total_seconds()) + 1  # seconds after ``first``
    while hi - lo > 1:  # invariant: old offset at first + lo, new offset at first + hi
        mid = (lo + hi) // 2
        if zone_offset(first + timedelta(seconds=mid), zone) == off0:
            lo = mid
        else:
            hi = mid
    transition = (first + timedelta(seconds=hi)).replace(tzinfo=None)
    return transition + off1, transition + off0


_HOUR = timedelta(hours=1)
_LAST_SECOND = timedelta(seconds=3599)


class ZoneOffsets:
    """A zone's UTC offsets, looked up once per hour of the times asked about.

    A 90-day upload asks the zone about 25 000 times that fall into some 2 000 hours;
    zone rules only change at transitions, so an hour whose first and last second have
    the same offsets has that offset throughout, and every time in it is answered from
    the cache. This rests on no zone having two transitions within one hour (the
    closest pair in the IANA database is four days apart: Africa/Freetown, 1939). An
    hour that holds a transition is never cached: its times are computed one by one,
    exactly as :mod:`zoneinfo` answers them.
    """

    __slots__ = ("_local", "_utc", "zone")

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self._utc: dict[int, timedelta | None] = {}
        self._local: dict[int, timedelta | None] = {}

    def at_utc(self, utc: datetime) -> timedelta:
        """:func:`zone_offset` of an instant given as a *naive* UTC time."""
        key = utc.toordinal() * 24 + utc.hour
        try:
            offset = self._utc[key]
        except KeyError:
            start = utc.replace(minute=0, second=0, microsecond=0, tzinfo=UTC)
            first = zone_offset(start, self.zone)
            offset = first if zone_offset(start + _LAST_SECOND, self.zone) == first else None
            self._utc[key] = offset
        if offset is None:
            return zone_offset(utc.replace(tzinfo=UTC), self.zone)
        return offset

    def unambiguous(self, local: datetime) -> timedelta | None:
        """The offset of a naive local time that exists once, from the cache, or None
        when its hour holds a transition (the caller then asks :func:`_offsets`)."""
        key = local.toordinal() * 24 + local.hour
        try:
            return self._local[key]
        except KeyError:
            start = local.replace(minute=0, second=0, microsecond=0, fold=0)
            first = _offsets(start, self.zone)
            same = first[0] == first[1] and _offsets(start + _LAST_SECOND, self.zone) == first
            offset = self._local[key] = first[0] if same else None
            return offset


def resolve_wall_clock(
    local_times: Iterable[datetime], zone: ZoneInfo, *, previous: datetime | None = None
) -> list[WallTime]:
    """Resolve naive wall times, given in device log order, to UTC instants.

    Args:
        local_times: Naive local wall times in the order the device logged them.
        zone: The patient's zone.
        previous: The clock reading just before the first time, if known: the
            ``time_from`` of a time change that opens the run, so that a user setting
            the clock back an hour in the repeated interval counts as a step back.

    Returns:
        One :class:`WallTime` per input, same order.
    """
    utcs, notes = resolve_wall_clock_lists(local_times, zone, previous=previous)
    return [
        WallTime(utc=utc.replace(tzinfo=UTC), annotations=codes)
        for utc, codes in zip(utcs, notes, strict=True)
    ]


def resolve_wall_clock_lists(
    local_times: Iterable[datetime],
    zone: ZoneInfo,
    *,
    previous: datetime | None = None,
    offsets: ZoneOffsets | None = None,
) -> tuple[list[datetime], list[tuple[str, ...]]]:
    """:func:`resolve_wall_clock` as two lists -- the instants as *naive* UTC times, and
    the annotation codes -- without a :class:`WallTime` per record (a 90-day upload has
    25 000); ``offsets`` is a cache to share with the caller."""
    cache = offsets if offsets is not None and offsets.zone is zone else ZoneOffsets(zone)
    unambiguous = cache.unambiguous
    utcs: list[datetime] = []
    notes_out: list[tuple[str, ...]] = []
    fixed: timedelta | None = None  # set once the clock is seen not to spring forward
    repeating: datetime | None = None  # start of the interval known to be repeating
    prev = previous
    for local in local_times:
        plain = unambiguous(local)
        if plain is not None:  # the common case: a time that exists once
            if fixed is None:
                utcs.append(local - plain)
                notes_out.append(())
            else:
                utc = local - fixed
                utcs.append(utc)
                notes_out.append((NOT_FOLLOWED,) if cache.at_utc(utc) != fixed else ())
            prev = local
            continue
        off0, off1 = _offsets(local, zone)
        notes: list[str] = []
        if off0 < off1:  # skipped by spring forward
            notes.append(NONEXISTENT)
        if fixed is not None:
            utc = local - fixed
            if zone_offset(utc.replace(tzinfo=UTC), zone) != fixed:
                notes.append(NOT_FOLLOWED)
        elif off0 < off1:
            fixed = off0
            utc = local - off0
        elif off0 > off1:  # repeated by fall back
            start, end = repeated_interval(local, zone, off0, off1)
            stepped_back = (
                prev is not None
                and local < prev
                and start <= prev
                and prev - local <= (end - start) + STEP_TOLERANCE
            )
            if stepped_back:
                repeating = start
            fold = 1 if repeating == start else 0
            utc = local.replace(tzinfo=zone, fold=fold).astimezone(UTC).replace(tzinfo=None)
            notes.append(AMBIGUOUS)
        else:
            utc = local.replace(tzinfo=zone).astimezone(UTC).replace(tzinfo=None)
        utcs.append(utc)
        notes_out.append(tuple(notes))
        prev = local
    return utcs, notes_out
