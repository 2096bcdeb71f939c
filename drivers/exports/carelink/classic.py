"""Map classic CareLink Personal rows (2008-2018, ``Raw-Type``/``Raw-Values``) to records.

Each row carries the pump's own history record: ``Raw-Type`` names it and ``Raw-Values``
holds its fields as ``KEY=value, KEY=value``; ``Raw-ID`` is CareLink's id of that datum
(the same in every export of the same upload) and is the dedup key. Device order: the
export is sorted by time; rows of one second keep the pump's order (descending
``Raw-Seq Num`` within an upload). Mapping, after Tidepool's CareLink driver
(tidepool-org/uploader ``lib/drivers/carelink``, BSD-2) and the real files:

==================================  ======================================================
Raw-Type                            record
==================================  ======================================================
GlucoseSensorData                   ``GlucoseSample(cgm)`` (``AMOUNT``; 0 = no reading)
BGCapturedOnPump                    ``GlucoseSample(smbg)``; a ``BGReceived`` (meter link)
                                    followed by a capture within 10 min is the same reading
CalBGForPH                          ``GlucoseSample(calibration)``
BolusNormal / BolusSquare           ``Bolus`` (dual halves joined), wizard attached from
BolusWizardBolusEstimate            the estimate of the same second
BasalProfileStart                   ``BasalSegment(scheduled)`` with pattern name
ChangeTempBasal / ...Percent        ``BasalSegment(temp)``; ``DURATION=0`` = cancel
ChangeSuspendState / ...Enable      ``BasalSegment(suspend)`` / ``DeviceEvent(resume)``
Prime / Rewind columns, Alarm       ``DeviceEvent(prime|rewind|alarm)``
New Device Time column              ``DeviceEvent(time-change)``
Current* (settings at upload)       one ``SettingsSnapshot`` per upload (:mod:`.settings`)
==================================  ======================================================
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from drivers._core.records import (
    BasalSegment,
    BolusCalculation,
    DeviceEvent,
    GlucoseSample,
    GlucoseSampleType,
    Record,
    make_device_id,
)
from drivers._core.units import mmoll_to_mgdl
from drivers.exports.carelink import columns as col
from drivers.exports.carelink.bolus import BolusDraft
from drivers.exports.carelink.finish import fill_basal_durations, unique_keys
from drivers.exports.carelink.parse import CareLinkTable, CLRow
from drivers.exports.carelink.settings import SettingsCollector
from drivers.exports.carelink.values import RowSkipped, glucose, insulin, number, row_time
from drivers.exports.libreview.normalize import Normalized
from drivers.exports.libreview.values import infer_day_first, parse_stamp

MANUFACTURER = "Medtronic"
_PAIR = re.compile(r"([A-Z][A-Z0-9_]*)=([^,]*)(?:,\s*|$)")
PAIR_WINDOW = timedelta(minutes=10)


def raw_values(text: str) -> dict[str, str]:
    """``"AMOUNT=120, ISIG=16.54"`` -> ``{"AMOUNT": "120", "ISIG": "16.54"}``."""
    return {k: v.strip() for k, v in _PAIR.findall(text)}


class _Walk:
    """State while walking one classic file in device order."""

    def __init__(self, units: str, day_first: bool) -> None:
        self.units = units
        self.day_first = day_first
        self.scheduled: float | None = None
        self.wizard: tuple[datetime, str, BolusCalculation] | None = None
        self.dual: tuple[str, BolusDraft] | None = None
        self.received: list[tuple[int, datetime, str, Record]] = []
        self.settings = SettingsCollector()


def _calc(v: dict[str, str], units: str) -> BolusCalculation:
    bg_units = "mmol/L" if "mmol" in v.get("BG_UNITS", "").lower() else units

    def g(key: str) -> float | None:
        value = number(v.get(key, ""), what=key, high=1e9)
        return None if not value else (mmoll_to_mgdl(value) if bg_units == "mmol/L" else value)

    return BolusCalculation(
        carbs_g=number(v.get("CARB_INPUT", ""), what="carb input", high=2000.0),
        bg_mgdl=g("BG_INPUT"),
        carb_ratio_g_per_u=number(v.get("CARB_RATIO", ""), what="carb ratio", high=1000.0),
        sensitivity_mgdl_per_u=g("INSULIN_SENSITIVITY"),
        target_low_mgdl=g("BG_TARGET_LOW"),
        target_high_mgdl=g("BG_TARGET_HIGH"),
        iob_u=insulin(v.get("UNABSORBED_INSULIN_TOTAL", ""), what="active insulin"),
        recommended_food_u=insulin(v.get("FOOD_ESTIMATE", ""), what="food estimate"),
        recommended_correction_u=number(
            v.get("CORRECTION_ESTIMATE", ""), what="correction estimate", low=-250.0, high=250.0
        ),
        recommended_total_u=insulin(v.get("BOLUS_ESTIMATE", ""), what="bolus estimate"),
    )


def _bolus(
    row: CLRow, raw: str, v: dict[str, str], when: datetime, dev: str, w: _Walk
) -> list[Record | BolusDraft]:
    upload = row.get(col.RAW_UPLOAD_ID)
    square = raw == "BolusSquare"
    programmed = insulin(v.get("PROGRAMMED_AMOUNT", ""), what="programmed bolus")
    delivered = insulin(v.get("AMOUNT", ""), what="delivered bolus")
    duration_ms = number(v.get("DURATION", ""), what="bolus duration", high=1e9)
    duration = int(duration_ms / 1000) if duration_ms is not None else None
    dual = v.get("IS_DUAL_COMPONENT", "").lower() == "true"
    if (
        square
        and dual
        and w.dual is not None
        and w.dual[0] == upload
        and when - w.dual[1].time <= PAIR_WINDOW
    ):
        w.dual[1].add_part(
            square=True, programmed=programmed, delivered=delivered, duration_s=duration
        )
        w.dual = None
        return []
    draft = BolusDraft(dev, f"raw:{row.get(col.RAW_ID)}", when, row.line)
    draft.add_part(square=square, programmed=programmed, delivered=delivered, duration_s=duration)
    if (
        w.wizard is not None
        and w.wizard[1] == upload
        and timedelta(0) <= when - w.wizard[0] <= PAIR_WINDOW
    ):
        draft.calculation, w.wizard = w.wizard[2], None
    if dual and not square:
        w.dual = (upload, draft)
    return [draft]


def _basal(
    raw: str, v: dict[str, str], dev: str, key: str, when: datetime, w: _Walk
) -> list[Record | BolusDraft]:
    if raw == "BasalProfileStart":
        rate = number(v.get("RATE", ""), what="basal rate", high=50.0)
        if rate is None:
            raise RowSkipped("basal profile start without a rate")
        w.scheduled = rate
        return [
            BasalSegment(
                device_id=dev,
                source_index=key,
                device_time=when,
                basal_type="scheduled",
                rate_u_per_h=rate,
                duration_s=None,
                schedule_name=v.get("PATTERN_NAME") or None,
            )
        ]
    duration_ms = number(v.get("DURATION", ""), what="temp basal duration", high=1e9) or 0
    if duration_ms == 0:
        return []  # a cancelled temp basal: the next segment starts here
    percent = None
    if raw == "ChangeTempBasalPercent":
        percent = number(v.get("PERCENT_OF_RATE", ""), what="temp basal percent", high=1000.0)
        if percent is None or w.scheduled is None:
            raise RowSkipped("percent temp basal without a known scheduled rate")
        rate = round(w.scheduled * percent / 100.0, 4)
    else:
        rate_or_none = number(v.get("RATE", ""), what="temp basal rate", high=50.0)
        if rate_or_none is None:
            raise RowSkipped("temp basal without a rate")
        rate = rate_or_none
    return [
        BasalSegment(
            device_id=dev,
            source_index=key,
            device_time=when,
            basal_type="temp",
            rate_u_per_h=rate,
            duration_s=int(duration_ms / 1000),
            scheduled_rate_u_per_h=w.scheduled,
            percent=percent,
        )
    ]


def _suspend(raw: str, v: dict[str, str], dev: str, key: str, when: datetime, w: _Walk) -> Record:
    state = v.get("STATE", "").lower()
    suspended = (
        v.get("ENABLE", "").lower() == "true"
        if raw == "ChangeSuspendEnable"
        else (state not in ("normal_pumping", "") and not state.startswith("auto_resume"))
    )
    if suspended:
        return BasalSegment(
            device_id=dev,
            source_index=key,
            device_time=when,
            basal_type="suspend",
            rate_u_per_h=0.0,
            duration_s=None,
            scheduled_rate_u_per_h=w.scheduled,
            annotations=(f"carelink/{state or 'suspend'}",),
        )
    return DeviceEvent(
        device_id=dev,
        source_index=key,
        device_time=when,
        event_type="resume",
        code=state.upper() or None,
    )


def _row(row: CLRow, when: datetime, w: _Walk) -> list[Record | BolusDraft]:
    raw = row.get(col.RAW_TYPE)
    v = raw_values(row.get(col.RAW_VALUES))
    model = re.sub(r"\s+-\s+", " ", row.get(col.RAW_DEVICE_TYPE)) or "Paradigm"
    dev = make_device_id(MANUFACTURER, model, "unknown")
    key = f"raw:{row.get(col.RAW_ID) or row.get(col.RAW_SEQ)}"
    out: list[Record | BolusDraft] = []
    if raw == "GlucoseSensorData":
        sg = number(v.get("AMOUNT", ""), what="sensor glucose", high=1e9)
        if sg:  # 0/empty: no reading in that slot
            value = glucose(str(sg), units="mg/dL", what="sensor glucose")
            out.append(
                GlucoseSample(
                    device_id=dev,
                    source_index=key,
                    device_time=when,
                    sample_type="cgm",
                    glucose_mgdl=value,
                )
            )
    elif raw in ("BGCapturedOnPump", "BGReceived", "CalBGForPH"):
        bg = glucose(v.get("AMOUNT", ""), units=w.units, what="BG")
        if bg is not None:
            stype: GlucoseSampleType = "calibration" if raw == "CalBGForPH" else "smbg"
            sample = GlucoseSample(
                device_id=dev,
                source_index=key,
                device_time=when,
                sample_type=stype,
                glucose_mgdl=bg,
            )
            if raw == "BGReceived":
                w.received.append((row.line, when, row.get(col.RAW_UPLOAD_ID), sample))
            else:
                if raw == "BGCapturedOnPump":
                    _drop_received(w, when, row.get(col.RAW_UPLOAD_ID))
                out.append(sample)
    elif raw == "BolusWizardBolusEstimate":
        w.wizard = (when, row.get(col.RAW_UPLOAD_ID), _calc(v, w.units))
    elif raw in ("BolusNormal", "BolusSquare"):
        out.extend(_bolus(row, raw, v, when, dev, w))
    elif raw in ("BasalProfileStart", "ChangeTempBasal", "ChangeTempBasalPercent"):
        out.extend(_basal(raw, v, dev, key, when, w))
    elif raw in ("ChangeSuspendState", "ChangeSuspendEnable"):
        out.append(_suspend(raw, v, dev, key, when, w))
    elif raw.startswith("Current"):
        w.settings.add(row, raw, v, dev, when)
    out.extend(_columns_events(row, dev, key, when, w))
    return out


def _drop_received(w: _Walk, when: datetime, upload: str) -> None:
    w.received = [
        r for r in w.received if not (r[2] == upload and timedelta(0) <= when - r[1] <= PAIR_WINDOW)
    ]


def _columns_events(
    row: CLRow, dev: str, key: str, when: datetime, w: _Walk
) -> list[Record | BolusDraft]:
    out: list[Record | BolusDraft] = []
    if row.get(col.PRIME_TYPE):
        out.append(
            DeviceEvent(
                device_id=dev,
                source_index=key,
                device_time=when,
                event_type="prime",
                prime_u=insulin(row.get(col.PRIME_VOLUME), what="prime volume"),
                detail=row.get(col.PRIME_TYPE),
            )
        )
    if row.get(col.REWIND):
        out.append(
            DeviceEvent(device_id=dev, source_index=key, device_time=when, event_type="rewind")
        )
    if row.get(col.ALERT):
        out.append(
            DeviceEvent(
                device_id=dev,
                source_index=key,
                device_time=when,
                event_type="alarm",
                code=row.get(col.ALERT),
            )
        )
    if row.get(col.NEW_DEVICE_TIME):
        to = parse_stamp(row.get(col.NEW_DEVICE_TIME), day_first=w.day_first)
        if to is None:
            raise RowSkipped("unparsable New Device Time")
        out.append(
            DeviceEvent(
                device_id=dev,
                source_index=key,
                device_time=when,
                event_type="time-change",
                time_from=when,
                time_to=to,
            )
        )
    return out


def _order_key(row: CLRow, when: datetime) -> tuple[datetime, str, int]:
    seq = row.get(col.RAW_SEQ)
    plain = seq.isascii() and seq.isdigit() and len(seq) < 19  # int()-safe
    return (when, row.get(col.RAW_UPLOAD_ID), -int(seq) if plain else 0)


def normalize_classic(table: CareLinkTable) -> Normalized:
    """Normalize a classic CareLink table (see module docstring)."""
    rows = [r for s in table.sections for r in s.rows]
    stamps = [r.get(col.TIMESTAMP) or f"{r.get(col.DATE)} {r.get(col.TIME)}" for r in rows[:500]]
    w = _Walk(table.units, infer_day_first(stamps, default=False))
    skipped: list[tuple[int, str]] = []
    timed: list[tuple[tuple[datetime, str, int], CLRow]] = []
    for row in rows:
        try:
            timed.append((_order_key(row, row_time(row, day_first=w.day_first)), row))
        except RowSkipped as exc:
            skipped.append((row.line, exc.reason))
    timed.sort(key=lambda item: item[0])
    items: list[tuple[int, tuple[str, ...], Record | BolusDraft]] = []
    for order, row in timed:
        try:
            produced = _row(row, order[0], w)
        except RowSkipped as exc:
            skipped.append((row.line, exc.reason))
            continue
        content = tuple(v for k, v in sorted(row.cells.items()) if k != col.INDEX)
        items.extend((row.line, content, rec) for rec in produced)
    items.extend((line, (), rec) for line, _, _, rec in w.received)
    items.extend((line, (), rec) for line, rec in w.settings.snapshots())
    built = [(ln, c, r.build() if isinstance(r, BolusDraft) else r) for ln, c, r in items]
    built.sort(key=lambda item: item[2].device_time)  # stable: received BGs / settings in place
    records, dupes = unique_keys(built)
    return Normalized(tuple(fill_basal_durations(records)), tuple(sorted(skipped + dupes)))
