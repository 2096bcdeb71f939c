"""Single-row facts of modern CareLink exports: glucose, events, markers, auto insulin.

Helpers of :mod:`.normalize`: each takes one timed row and appends the records it
carries (see the mapping table there). Pure; raise :class:`RowSkipped` on bad cells.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import NamedTuple

from drivers._core.records import (
    Activity,
    BasalSegment,
    BolusCalculation,
    DeviceEvent,
    Food,
    GlucoseSample,
    Injection,
    Record,
)
from drivers.exports.carelink import columns as col
from drivers.exports.carelink.bolus import BolusDraft
from drivers.exports.carelink.parse import CLRow
from drivers.exports.carelink.values import RowSkipped, glucose, insulin, number
from drivers.exports.libreview.values import parse_stamp

_INSULIN_MARKER = re.compile(r"^insulin:\s*([0-9]+(?:[.,][0-9]+)?)", re.IGNORECASE)
_MEAL_MARKER = re.compile(r"^meal:\s*([0-9]+(?:[.,][0-9]+)?)", re.IGNORECASE)


class Timed(NamedTuple):
    """A row with its parsed device time and its section's device id (a named tuple:
    one per row of a long export)."""

    time: datetime
    row: CLRow
    device_id: str


class State:
    """What the mapper remembers while walking one file in device order."""

    def __init__(self, units: str, day_first: bool) -> None:
        self.units = units
        self.day_first = day_first
        self.scheduled_rate: float | None = None
        self.open_boluses: dict[str, BolusDraft] = {}
        self.drafts: list[BolusDraft] = []
        self.last_draft: BolusDraft | None = None
        self.wizard: tuple[datetime, BolusCalculation] | None = None


def row_events(t: Timed, st: State, out: list[Record]) -> None:
    row, when, dev = t.row, t.time, t.device_id
    iso = when.isoformat()
    new_time = row.get(col.NEW_DEVICE_TIME)
    if new_time:
        to = parse_stamp(new_time, day_first=st.day_first)
        if to is None:
            raise RowSkipped("unparsable New Device Time")
        out.append(
            DeviceEvent(
                device_id=dev,
                source_index=f"time-change:{iso}:{to.isoformat()}",
                device_time=when,
                event_type="time-change",
                time_from=when,
                time_to=to,
            )
        )
    prime = row.get(col.PRIME_TYPE)
    if prime:
        volume = insulin(row.get(col.PRIME_VOLUME), what="prime volume")
        out.append(
            DeviceEvent(
                device_id=dev,
                source_index=f"prime:{iso}:{prime}",
                device_time=when,
                event_type="prime",
                prime_u=volume,
                detail=prime,
            )
        )
    if row.get(col.REWIND):
        out.append(
            DeviceEvent(
                device_id=dev, source_index=f"rewind:{iso}", device_time=when, event_type="rewind"
            )
        )
    for key, prefix in ((col.ALERT, "alarm"), (col.SENSOR_EXCEPTION, "sensor-exception")):
        code = row.get(key)
        if code:
            out.append(
                DeviceEvent(
                    device_id=dev,
                    source_index=f"{prefix}:{iso}:{code}",
                    device_time=when,
                    event_type="alarm",
                    code=code,
                )
            )
    marker = row.get(col.EVENT_MARKER)
    if marker:
        out.extend(_marker(marker, dev, when))


def _marker(text: str, dev: str, when: datetime) -> Iterator[Record]:
    iso = when.isoformat()
    if m := _INSULIN_MARKER.match(text):
        units = insulin(m.group(1), what="event-marker insulin")
        if units is not None:
            yield Injection(
                device_id=dev,
                source_index=f"marker-insulin:{iso}:{units:g}",
                device_time=when,
                insulin_u=units,
            )
    elif m := _MEAL_MARKER.match(text):
        carbs = number(m.group(1), what="event-marker carbs", high=2000.0)
        if carbs is not None:
            yield Food(
                device_id=dev,
                source_index=f"marker-meal:{iso}:{carbs:g}",
                device_time=when,
                carbs_g=carbs,
            )
    elif text.lower().startswith("exercise"):
        yield Activity(
            device_id=dev,
            source_index=f"marker-exercise:{iso}",
            device_time=when,
            activity_type="exercise",
        )


def glucose_rows(t: Timed, st: State, out: list[Record]) -> None:
    row, when, dev = t.row, t.time, t.device_id
    iso = when.isoformat()
    sg = glucose(row.get(col.SG), units=st.units, what="sensor glucose")
    if sg is not None:
        isig = row.get(col.ISIG).replace(",", ".")
        out.append(
            GlucoseSample(
                device_id=dev,
                source_index=f"sg:{iso}:{sg:g}:{isig}",
                device_time=when,
                sample_type="cgm",
                glucose_mgdl=sg,
            )
        )
    bg = glucose(row.get(col.BG), units=st.units, what="BG reading")
    if bg is not None:
        out.append(
            GlucoseSample(
                device_id=dev,
                source_index=f"bg:{iso}:{bg:g}",
                device_time=when,
                sample_type="smbg",
                glucose_mgdl=bg,
            )
        )
    cal = glucose(row.get(col.CAL_BG), units=st.units, what="calibration BG")
    if cal is not None:
        out.append(
            GlucoseSample(
                device_id=dev,
                source_index=f"cal:{iso}:{cal:g}",
                device_time=when,
                sample_type="calibration",
                glucose_mgdl=cal,
            )
        )


def auto_insulin(t: Timed) -> Record | None:
    total = insulin(
        t.row.get(col.BOLUS_DELIVERED) or t.row.get(col.BOLUS_SELECTED), what="auto insulin"
    )
    if total is None:
        return None
    return BasalSegment(
        device_id=t.device_id,
        source_index=f"auto:{t.time.date().isoformat()}",
        device_time=t.time,
        basal_type="automated",
        rate_u_per_h=round(total / 24.0, 5),
        duration_s=86400,
        annotations=("basal/daily-aggregate",),
    )
