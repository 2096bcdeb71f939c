"""The same event arriving by two paths: recognise it, keep one record, note both sources.

A bolus reaches the gateway from the pump over USB and again from a Nightscout or
t:connect export; a CGM reading from the sensor over BLE and again in a Clarity file.
The two copies have different device ids and source indexes (each path names the
device its own way), so the store's unique key cannot see that they are one event --
and counting both would double the insulin totals and the readings.

Rule (per patient): a new record is the same event as a stored record of **another
device id** when the kind is the same, the times are within the kind's tolerance and
the values agree:

=============  ===========  ======================================================
kind           tolerance    values agree when
=============  ===========  ======================================================
glucose        150 s        same sample type; mg/dL within 2 (mmol/L exports round
                            to 0.1 mmol/L = 1.8 mg/dL), or both the same High/Low
                            special
bolus          120 s        delivered units within 0.05 U (a pump increment) and
                            the same subtype
injection      120 s        units within 0.05 U
food           120 s        carbs within 1 g
=============  ===========  ======================================================

Basal segments, settings and device events are left alone: their boundaries and
identities differ by source in ways a time-and-value match cannot settle (a pump
export splits a temp basal where the pump's own log does not), and they never sum to
a double count the way boluses would. One stored record is matched at most once per
upload (the nearest in time), so two real readings a minute apart in one source are
never folded into one of the other source. The tolerances are documented choices:
the clock pair puts device times within seconds of UTC, and vendor exports round to
the minute (Clarity, t:connect) -- 150 s keeps two 5-min readings apart.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from drivers._core.records import Bolus, Food, GlucoseSample, Injection, Record

TOLERANCE_S = {"glucose": 150.0, "bolus": 120.0, "injection": 120.0, "food": 120.0}
KINDS = tuple(TOLERANCE_S)


@dataclass(frozen=True, slots=True)
class Stored:
    """What the matcher needs of a stored record."""

    record_id: int
    device_id: str
    time_s: float
    record: Record


def _agree(a: Record, b: Record) -> bool:
    if isinstance(a, GlucoseSample) and isinstance(b, GlucoseSample):
        if a.sample_type != b.sample_type:
            return False
        if a.glucose_mgdl is None or b.glucose_mgdl is None:
            return a.glucose_mgdl is None and b.glucose_mgdl is None and a.special == b.special
        return abs(a.glucose_mgdl - b.glucose_mgdl) <= 2.0
    if isinstance(a, Bolus) and isinstance(b, Bolus):
        return (
            a.subtype == b.subtype
            and abs(
                (a.delivered_u + a.extended_delivered_u) - (b.delivered_u + b.extended_delivered_u)
            )
            <= 0.05 + 1e-9
        )
    if isinstance(a, Injection) and isinstance(b, Injection):
        return abs(a.insulin_u - b.insulin_u) <= 0.05 + 1e-9
    if isinstance(a, Food) and isinstance(b, Food):
        if a.carbs_g is None or b.carbs_g is None:
            return a.carbs_g is None and b.carbs_g is None
        return abs(a.carbs_g - b.carbs_g) <= 1.0
    return False


def match(new: Sequence[Record], stored: Iterable[Stored]) -> dict[int, int]:
    """Index in ``new`` -> record id of the stored record it duplicates.

    Only records of :data:`KINDS` with a UTC time take part; a new record never matches
    a stored record of its own device id (the unique key handles those)."""
    by_kind: dict[str, list[Stored]] = {}
    for s in stored:
        by_kind.setdefault(s.record.kind, []).append(s)
    for group in by_kind.values():
        group.sort(key=lambda s: s.time_s)
    times = {k: [s.time_s for s in g] for k, g in by_kind.items()}
    used: set[int] = set()
    out: dict[int, int] = {}
    for i, rec in enumerate(new):
        if rec.kind not in TOLERANCE_S or rec.time_utc is None or rec.kind not in by_kind:
            continue
        t = rec.time_utc.timestamp()
        tol = TOLERANCE_S[rec.kind]
        group, keys = by_kind[rec.kind], times[rec.kind]
        lo, hi = bisect.bisect_left(keys, t - tol), bisect.bisect_right(keys, t + tol)
        best: Stored | None = None
        for s in group[lo:hi]:
            if s.record_id in used or s.device_id == rec.device_id or not _agree(rec, s.record):
                continue
            if best is None or abs(s.time_s - t) < abs(best.time_s - t):
                best = s
        if best is not None:
            used.add(best.record_id)
            out[i] = best.record_id
    return out
