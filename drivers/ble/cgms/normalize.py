"""CGM Measurement records -> :class:`GlucoseSample` (``sample_type="cgm"``).

Time: a measurement's time offset counts minutes from the Session Start Time, which
carries its own time zone and DST offset, so the device states the UTC instant itself:
``device_time = start.local + offset`` and ``time_utc = device_time - (zone + DST)``.
Such records get ``time_reason=SOURCE_UTC`` and the time base leaves them alone. If the
session start was never set (year 0) the session anchors offset 0 on the host clock
(``host_now - status.time_offset``) and passes it in as ``anchor_utc``; the records are
then in UTC and annotated ``time/host-anchored``. If the start is set but its zone is
unknown, only ``device_time`` is filled and the time base resolves the rest.

Values: SFLOAT +INF/-INF become ``special="high"/"low"`` with no number (never a fake
400/40; CGMS states no reporting limit); NaN/NRes become ``special="not-computable"``.
Annunciation bits become ``cgm/...`` annotations (:data:`messages.ANNUNCIATIONS`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from drivers._core.records import GlucoseSample, GlucoseSpecial
from drivers._core.timebase import SOURCE_UTC
from drivers.ble.cgms.decode import CgmMeasurement
from drivers.ble.cgms.messages import annunciation_codes
from drivers.ble.date_time import ZonedLocalTime
from drivers.ble.sfloat import Special

_SPECIALS: dict[Special, GlucoseSpecial] = {
    Special.POS_INF: "high",
    Special.NEG_INF: "low",
    Special.NAN: "not-computable",
    Special.NRES: "not-computable",
    Special.RESERVED: "sensor-error",
}


def session_key(start: ZonedLocalTime, anchor_utc: datetime | None) -> str:
    """Names the sensor session (offsets restart at 0 in each): its start time."""
    if start.local is not None:
        return start.local.strftime("%Y%m%dT%H%M%S")
    if anchor_utc is None:
        return "unset"
    return "anchor-" + anchor_utc.strftime("%Y%m%dT%H%M")


def to_sample(
    m: CgmMeasurement,
    *,
    device_id: str,
    start: ZonedLocalTime,
    anchor_utc: datetime | None = None,
) -> GlucoseSample:
    """One measurement as a normalized CGM sample (see module docstring)."""
    special = _SPECIALS.get(m.glucose.special) if m.glucose.special else None
    notes = list(annunciation_codes(m.annunciation))
    if special in ("high", "low"):
        notes.insert(0, f"cgm/{special}-out-of-range")
    trend = m.trend.number() if m.trend is not None else None
    offset = timedelta(minutes=m.time_offset_min)
    sample = GlucoseSample(
        device_id=device_id,
        source_index=f"{session_key(start, anchor_utc)}/{m.time_offset_min}",
        device_time=(start.local or (anchor_utc or datetime.min).replace(tzinfo=None)) + offset,
        sample_type="cgm",
        glucose_mgdl=m.glucose.number(),
        special=special,
        trend_rate_mgdl_per_min=trend,
        annotations=tuple(notes),
    )
    if start.local is not None:
        utc = start.to_utc(sample.device_time)
        if utc is None or start.utc_offset_s is None:
            return sample
        return sample.with_time(
            time_utc=utc,
            utc_offset_s=start.utc_offset_s,
            time_reason=SOURCE_UTC,
            annotations=("time/cgms-session-start",),
        )
    if anchor_utc is None:
        return sample.evolve(annotations=(*sample.annotations, "time/unknown"))
    return sample.with_time(
        time_utc=anchor_utc + offset,
        utc_offset_s=0,
        time_reason=SOURCE_UTC,
        annotations=("time/host-anchored",),
    )


def to_samples(
    measurements: Iterable[CgmMeasurement],
    *,
    device_id: str,
    start: ZonedLocalTime,
    anchor_utc: datetime | None = None,
) -> list[GlucoseSample]:
    """Every measurement, in time-offset order."""
    ordered = sorted(measurements, key=lambda m: m.time_offset_min)
    return [to_sample(m, device_id=device_id, start=start, anchor_utc=anchor_utc) for m in ordered]
