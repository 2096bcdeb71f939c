"""Tandem sections -> records: CGM/BG readings, boluses with calculator data, basal.

Readings (``EGV`` -> CGM, ``BG`` -> smbg; ``High``/``Low`` kept as flagged samples);
bolus rows -> :class:`Bolus` with a :class:`BolusCalculation` (carbs ``CarbSize``, BG,
IOB, ``CorrectionFactor`` mg/dL/U, ``TargetBG``, carb ratio parsed from
``EventHistoryReportDetails`` ``Carb Ratio 1:6``, recommended food/correction;
``user_changed`` is the pump's ``UserOverride`` flag); basal rows -> segments whose
duration runs to the next basal row (``basal/unknown-duration`` for the last). IOB rows
have no record kind (the bolus rows carry IOB) and are counted as not imported.

The bolus data rows of the 2021 export hold one more field than the header, after
``IsQuickBolus``: columns from there on are read one position further right when a
row has that extra field. Extended boluses (``Description`` containing "Extended")
are read from the ``Bolex*`` columns: ``StandardPercent`` of the requested total now,
the rest over ``Duration`` minutes [Inferred: no real extended bolus row seen].

Dedup keys: bolus ``bolus:<BolusRequestID>`` (the pump's own request id), readings
``<egv|bg>:<time>:<value>``, basal ``basal:<time>:<rate>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from drivers._core.records import (
    BasalSegment,
    Bolus,
    BolusCalculation,
    GlucoseSample,
    Record,
    make_device_id,
)
from drivers._core.timebase import SOURCE_UTC
from drivers._core.units import mmoll_to_mgdl
from drivers.exports.nightscout import times
from drivers.exports.tandem import columns as col
from drivers.exports.tandem.parse import Section

GLUCOSE_RANGE_MGDL = (10.0, 1000.0)
HIGH_LIMIT_MGDL = 400.0
LOW_LIMIT_MGDL = 40.0
BOLUS_MAX_U = 250.0
BASAL_MAX_U_PER_H = 50.0
CARBS_MAX_G = 2000.0
MAX_SEGMENT = timedelta(hours=24)
MODEL = "tslim X2"
"""Model part of the device id: ``t:slim X2`` without its colon (ids are ``:``-separated)."""
_CARB_RATIO = re.compile(r"Carb Ratio 1:(\d+(?:\.\d+)?)")


class RowError(ValueError):
    """A row that cannot become a record (skipped with this reason)."""


@dataclass(frozen=True, slots=True)
class Cells:
    """A data row with the header's positions, shifted for the bolus extra field."""

    section: Section
    cells: list[str]
    shift_from: int | None

    def get(self, name: str) -> str:
        pos = self.section.header.pos(name)
        if pos is None:
            return ""
        if self.shift_from is not None and pos >= self.shift_from:
            pos += 1
        return self.cells[pos].strip() if pos < len(self.cells) else ""


def cells_of(section: Section, cells: list[str]) -> Cells:
    """Wrap a row; a bolus row one field longer than its header is shifted after
    ``IsQuickBolus`` (observed in the 2021 export)."""
    shift = None
    names = len(section.header.index)
    quick = section.header.pos(col.IS_QUICK)
    if section.header.kind == "bolus" and len(cells) == names + 1 and quick is not None:
        shift = quick + 1
    return Cells(section, cells, shift)


def number(text: str, what: str, low: float, high: float) -> float | None:
    """A numeric cell within [low, high]; None when empty."""
    if not text:
        return None
    try:
        value = float(text.replace(",", "."))
    except ValueError:
        raise RowError(f"{what} {text[:20]!r} is not a number") from None
    if not low <= value <= high:
        raise RowError(f"{what} {value:g} is impossible")
    return value


def time_fields(text: str, what: str = "EventDateTime") -> dict[str, Any]:
    """``2021-04-01T00:01:33`` -> naive ``device_time``; with an offset (Tandem Source),
    the stated UTC is kept too (``time_reason`` = source-utc)."""
    if not text:
        raise RowError(f"no {what}")
    try:
        wall, offset = times.parse_iso(text)
    except times.TimeError:
        raise RowError(f"{what} {text[:30]!r} is not YYYY-MM-DDThh:mm:ss") from None
    fields: dict[str, Any] = {"device_time": wall}
    if offset is not None:
        utc = (wall - timedelta(seconds=offset)).replace(tzinfo=UTC)
        fields.update(time_utc=utc, utc_offset_s=offset, time_reason=SOURCE_UTC)
    return fields


def _device(row: Cells, fallback_serial: str) -> str:
    model = row.get(col.DEVICE_TYPE).replace(" Insulin Pump", "").replace(":", "") or MODEL
    return make_device_id("Tandem", model, row.get(col.SERIAL) or fallback_serial)


def reading(row: Cells, serial: str) -> GlucoseSample:
    """A readings/BG row as a CGM or smbg sample."""
    section = row.section
    fields = time_fields(row.get(col.EVENT_TIME))
    pos = section.header.glucose_column
    raw = row.cells[pos].strip() if pos is not None and pos < len(row.cells) else ""
    description = row.get(col.DESCRIPTION)
    sample = "cgm" if description.upper() == "EGV" and section.header.kind == "readings" else "smbg"
    word = raw.lower()
    if word in ("high", "low"):
        return GlucoseSample(
            **fields,
            device_id=_device(row, serial),
            source_index=f"{'egv' if sample == 'cgm' else 'bg'}:{raw_time(row)}:{word}",
            sample_type=sample,  # type: ignore[arg-type]
            glucose_mgdl=None,
            special=word,  # type: ignore[arg-type]
            reporting_limit_mgdl=HIGH_LIMIT_MGDL if word == "high" else LOW_LIMIT_MGDL,
            annotations=(f"cgm/{word}-out-of-range",),
        )
    value = number(raw, "glucose", -1e9, 1e9)
    if value is None:
        raise RowError("no glucose value")
    mgdl = mmoll_to_mgdl(value) if section.header.units == "mmol/L" else value
    if not GLUCOSE_RANGE_MGDL[0] <= mgdl <= GLUCOSE_RANGE_MGDL[1]:
        raise RowError(f"glucose {raw} {section.header.units} is impossible")
    return GlucoseSample(
        **fields,
        device_id=_device(row, serial),
        source_index=f"{'egv' if sample == 'cgm' else 'bg'}:{raw_time(row)}:{raw}",
        sample_type=sample,  # type: ignore[arg-type]
        glucose_mgdl=mgdl,
    )


def raw_time(row: Cells) -> str:
    """The row's EventDateTime as written (for keys)."""
    return row.get(col.EVENT_TIME) or row.get(col.COMPLETION_TIME)


def _calculation(row: Cells, units: str, programmed: float) -> BolusCalculation | None:
    def bg(name: str) -> float | None:
        value = number(row.get(name), name, 0.0, 2000.0)
        if value is None or value == 0:
            return None
        return mmoll_to_mgdl(value) if units == "mmol/L" else value

    food = number(row.get(col.FOOD_BOLUS), "FoodBolusSize", 0.0, BOLUS_MAX_U)
    corr = number(row.get(col.CORRECTION_BOLUS), "CorrectionBolusSize", -BOLUS_MAX_U, BOLUS_MAX_U)
    carbs = number(row.get(col.CARB_SIZE), "CarbSize", 0.0, CARBS_MAX_G)
    ratio = _CARB_RATIO.search(row.get(col.DETAILS))
    target = bg(col.TARGET_BG)
    override = row.get(col.USER_OVERRIDE)
    total = None if food is None and corr is None else (food or 0.0) + (corr or 0.0)
    if all(v is None for v in (food, corr, carbs, target)):
        return None
    changed: bool | None
    if override in ("0", "1"):
        changed = override == "1"
    else:
        changed = None if total is None else abs(total - programmed) > 0.001
    glucose, sensitivity = bg(col.BG), bg(col.CORRECTION_FACTOR)
    # CorrectionBolusSize is net of insulin on board (the real t:connect row: BG 168,
    # target 110, CF 30 -> 1.93 U, IOB 1.71, CorrectionBolusSize 0.22); the normalized
    # field is the correction before IOB, as Medtronic's wizard reports it, so it is
    # recomputed from BG, target and CF where the row has them (the total stays food +
    # the file's net correction: what the pump recommended)
    gross = corr
    if corr is not None and glucose is not None and target is not None and sensitivity:
        gross = round((glucose - target) / sensitivity, 2)
    return BolusCalculation(
        carbs_g=carbs,
        bg_mgdl=glucose,
        carb_ratio_g_per_u=float(ratio.group(1)) if ratio else None,
        sensitivity_mgdl_per_u=sensitivity,
        target_low_mgdl=target,
        target_high_mgdl=target,
        iob_u=number(row.get(col.IOB), "IOB", 0.0, BOLUS_MAX_U),
        recommended_food_u=food,
        recommended_correction_u=gross,
        recommended_total_u=None if total is None else round(total, 4),
        user_changed=changed,
    )


def bolus(row: Cells, serial: str) -> Bolus:
    """A bolus row as a bolus with its calculation."""
    stamp = row.get(col.EVENT_TIME) or row.get(col.REQUEST_TIME) or row.get(col.COMPLETION_TIME)
    fields = time_fields(stamp)
    request = row.get(col.BOLUS_REQUEST_ID)
    key_id = request.split(".")[0] if request.replace(".", "").isdigit() else ""
    delivered = number(row.get(col.INSULIN_DELIVERED), "InsulinDelivered", 0.0, BOLUS_MAX_U)
    requested = number(row.get(col.TOTAL_REQUESTED), "ActualTotalBolusRequested", 0.0, BOLUS_MAX_U)
    if delivered is None and requested is None:
        raise RowError("bolus without InsulinDelivered or ActualTotalBolusRequested")
    total = requested if requested is not None else delivered or 0.0
    notes: list[str] = []
    extended = "extended" in row.get(col.DESCRIPTION).lower()
    now_u, ext_u, ext_del, duration_s = total, 0.0, 0.0, 0
    if extended:
        percent = number(row.get(col.STANDARD_PERCENT), "StandardPercent", 0.0, 100.0)
        now_u = total * (percent if percent is not None else 0.0) / 100
        ext_u = total - now_u
        ext_del = (
            number(row.get(col.BOLEX_DELIVERED), "BolexInsulinDelivered", 0.0, BOLUS_MAX_U) or 0.0
        )
        minutes = number(row.get(col.DURATION), "Duration", 0.0, 24 * 60)
        duration_s = round((minutes or 0) * 60)
    now_del = delivered if delivered is not None else now_u
    status = row.get(col.COMPLETION_STATUS)
    if status and status.lower() != "completed":
        notes.append(f"bolus/status-{status.lower().replace(' ', '-')[:24]}")
    if (
        "automatic" in row.get(col.DESCRIPTION).lower()
        or row.get(col.BOLUS_TYPE).lower() == "automatic"
    ):
        notes.append("bolus/automatic")
    return Bolus(
        **fields,
        device_id=make_device_id("Tandem", MODEL, row.get(col.SERIAL) or serial),
        source_index=f"bolus:{key_id}" if key_id else f"bolus:{stamp}:{total:g}",
        subtype=("dual" if now_u > 0 else "extended") if extended else "normal",
        programmed_u=now_u,
        delivered_u=now_del,
        extended_programmed_u=ext_u,
        extended_delivered_u=ext_del,
        extended_duration_s=duration_s if extended else 0,
        calculation=_calculation(row, row.section.header.units, total),
        annotations=tuple(notes),
    )


def basal(row: Cells, serial: str) -> BasalSegment:
    """A basal row as a segment (duration filled later by :func:`fill_durations`)."""
    fields = time_fields(row.get(col.EVENT_TIME))
    rate = number(row.get(col.BASAL_RATE), "BasalRate", 0.0, BASAL_MAX_U_PER_H)
    if rate is None:
        raise RowError("basal row without BasalRate")
    return BasalSegment(
        **fields,
        device_id=make_device_id("Tandem", MODEL, row.get(col.SERIAL) or serial),
        source_index=f"basal:{raw_time(row)}:{rate:g}",
        basal_type="suspend" if rate == 0 else "scheduled",
        rate_u_per_h=rate,
        duration_s=None,
    )


def fill_durations(records: list[Record]) -> list[Record]:
    """Each basal segment lasts until the next one (records oldest first)."""
    out = list(records)
    nxt: datetime | None = None
    for i in range(len(out) - 1, -1, -1):
        rec = out[i]
        if not isinstance(rec, BasalSegment):
            continue
        gap = None if nxt is None else nxt - rec.device_time
        if gap is not None and timedelta(0) <= gap <= MAX_SEGMENT:
            out[i] = rec.evolve(duration_s=int(gap.total_seconds()))
        else:
            out[i] = rec.evolve(annotations=(*rec.annotations, "basal/unknown-duration"))
        nxt = rec.device_time
    return out
