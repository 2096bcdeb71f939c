"""Map modern CareLink rows (600-series, 770G/780G, Guardian Connect) to records.

Rows arrive newest-first per section; :func:`device_order` reverses each section and
merges the sections by time, so records come out oldest first in the pump's own order
(a DST fold or a clock set back keeps its order). One row can carry several facts.

==============================================  =========================================
cells                                           record
==============================================  =========================================
Sensor Glucose                                  ``GlucoseSample(cgm)``
BG Reading / Sensor Calibration BG              ``GlucoseSample(smbg)`` / ``(calibration)``
Basal Rate                                      ``BasalSegment(scheduled)``
Temp Basal Amount/Type/Duration                 ``BasalSegment(temp)`` (percent -> rate)
Suspend (``*_SUSPEND``) / ``NORMAL_PUMPING``    ``BasalSegment(suspend)`` / ``DeviceEvent(resume)``
Bolus Type + Wizard rows (same Bolus Number)    one ``Bolus`` with ``BolusCalculation``
Prime Type / Rewind                             ``DeviceEvent(prime)`` / ``(rewind)``
Alert (780G) / Alarm (Guardian), Sensor Exc.    ``DeviceEvent(alarm, code=text)``
New Device Time                                 ``DeviceEvent(time-change)`` from -> to
Event Marker ``Insulin: 27,00`` / ``Meal: 45g`` ``Injection`` / ``Food``
Aggregated Auto Insulin (daily SmartGuard)      ``BasalSegment(automated)`` 24 h, mean rate,
                                                annotated ``basal/daily-aggregate``
==============================================  =========================================
"""

from __future__ import annotations

import heapq
from datetime import timedelta

from drivers._core.records import (
    BasalSegment,
    BolusCalculation,
    DeviceEvent,
    Record,
    make_device_id,
)
from drivers._core.units import mmoll_to_mgdl
from drivers.exports.carelink import columns as col
from drivers.exports.carelink.bolus import BolusDraft, is_square_part
from drivers.exports.carelink.events import State, Timed, auto_insulin, glucose_rows, row_events
from drivers.exports.carelink.finish import fill_basal_durations, unique_keys
from drivers.exports.carelink.parse import CareLinkTable, CLRow, Section
from drivers.exports.carelink.values import (
    RowSkipped,
    duration_s,
    glucose,
    insulin,
    number,
    row_time,
)
from drivers.exports.libreview.normalize import Normalized
from drivers.exports.libreview.values import infer_day_first

MANUFACTURER = "Medtronic"
WIZARD_WINDOW = timedelta(seconds=120)


def device_order(
    table: CareLinkTable, *, day_first: bool, skipped: list[tuple[int, str]]
) -> list[Timed]:
    """Rows oldest first: each section reversed, sections merged by device time."""
    runs: list[list[Timed]] = []
    for section in table.sections:
        run: list[Timed] = []
        device_id = _device_id(section)
        for row in reversed(section.rows):
            try:
                run.append(Timed(row_time(row, day_first=day_first), row, device_id))
            except RowSkipped as exc:
                skipped.append((row.line, exc.reason))
        runs.append(run)
    return list(heapq.merge(*runs, key=lambda t: t.time))


def _device_id(section: Section) -> str:
    return make_device_id(
        MANUFACTURER, section.model or "CareLink device", section.serial or "unknown"
    )


def _calculation(row: CLRow, units: str) -> BolusCalculation:
    def g(key: str) -> float | None:
        value = number(row.get(key), what=key, high=1e9)
        if not value:  # empty, or 0 = "no BG entered"
            return None
        return glucose(row.get(key), units=units, what=key)

    isf = number(row.get(col.BWZ_ISF), what="insulin sensitivity", high=1000.0)
    return BolusCalculation(
        carbs_g=number(row.get(col.BWZ_CARBS), what="carb input", high=2000.0),
        bg_mgdl=g(col.BWZ_BG),
        carb_ratio_g_per_u=number(row.get(col.BWZ_CARB_RATIO), what="carb ratio", high=1000.0),
        sensitivity_mgdl_per_u=None
        if isf is None
        else (mmoll_to_mgdl(isf) if units == "mmol/L" else isf),
        target_low_mgdl=g(col.BWZ_TARGET_LOW),
        target_high_mgdl=g(col.BWZ_TARGET_HIGH),
        iob_u=insulin(row.get(col.BWZ_IOB), what="active insulin"),
        recommended_food_u=insulin(row.get(col.BWZ_FOOD), what="food estimate"),
        recommended_correction_u=number(
            row.get(col.BWZ_CORRECTION), what="correction estimate", low=-250.0, high=250.0
        ),
        recommended_total_u=insulin(row.get(col.BWZ_ESTIMATE), what="bolus estimate"),
    )


def _bolus(t: Timed, st: State) -> None:
    row = t.row
    number_text = row.get(col.BOLUS_NUMBER)
    programmed = insulin(row.get(col.BOLUS_SELECTED), what="bolus volume selected")
    delivered = insulin(row.get(col.BOLUS_DELIVERED), what="bolus volume delivered")
    square = is_square_part(row.get(col.BOLUS_TYPE))
    draft = st.open_boluses.get(number_text) if number_text else None
    if draft is None:
        key = f"bolus:{t.time.isoformat()}:{number_text or row.get(col.BOLUS_SELECTED)}"
        draft = BolusDraft(t.device_id, key, t.time, row.line)
        if st.wizard is not None and timedelta(0) <= t.time - st.wizard[0] <= WIZARD_WINDOW:
            draft.calculation, st.wizard = st.wizard[1], None
        st.drafts.append(draft)
        st.last_draft = draft
        if number_text:
            st.open_boluses[number_text] = draft
    draft.dual = draft.dual or "dual" in row.get(col.BOLUS_TYPE).lower()
    draft.add_part(
        square=square,
        programmed=programmed,
        delivered=delivered,
        duration_s=duration_s(row.get(col.BOLUS_DURATION)),
    )
    if number_text and draft.complete and delivered is not None:
        st.open_boluses.pop(number_text, None)


def _wizard(t: Timed, st: State) -> None:
    calc = _calculation(t.row, st.units)
    last = st.last_draft
    if (
        last is not None
        and last.calculation is None
        and abs(last.time - t.time) <= timedelta(seconds=2)
    ):
        last.calculation = calc
    else:
        st.wizard = (t.time, calc)


def _basal(t: Timed, st: State, out: list[Record]) -> None:
    row, when, dev = t.row, t.time, t.device_id
    iso = when.isoformat()
    suspend = row.get(col.SUSPEND).upper()
    if suspend:
        if suspend in col.RESUME_STATES or "RESUME" in suspend:
            out.append(
                DeviceEvent(
                    device_id=dev,
                    source_index=f"resume:{iso}",
                    device_time=when,
                    event_type="resume",
                    code=suspend,
                )
            )
        else:
            out.append(
                BasalSegment(
                    device_id=dev,
                    source_index=f"suspend:{iso}",
                    device_time=when,
                    basal_type="suspend",
                    rate_u_per_h=0.0,
                    duration_s=None,
                    scheduled_rate_u_per_h=st.scheduled_rate,
                    annotations=(f"carelink/{suspend.lower()}",),
                )
            )
        return
    rate = number(row.get(col.BASAL_RATE), what="basal rate", high=50.0)
    if rate is not None and not row.get(col.REWIND):
        st.scheduled_rate = rate
        out.append(
            BasalSegment(
                device_id=dev,
                source_index=f"basal:{iso}:{rate:g}",
                device_time=when,
                basal_type="scheduled",
                rate_u_per_h=rate,
                duration_s=None,
            )
        )
    amount = number(row.get(col.TEMP_AMOUNT), what="temp basal amount", high=1000.0)
    if amount is None:
        return
    percent = None
    if "percent" in row.get(col.TEMP_TYPE).lower():
        if st.scheduled_rate is None:
            raise RowSkipped("percent temp basal before any known scheduled rate")
        percent, amount = amount, round(st.scheduled_rate * amount / 100.0, 4)
    out.append(
        BasalSegment(
            device_id=dev,
            source_index=f"temp:{iso}",
            device_time=when,
            basal_type="temp",
            rate_u_per_h=amount,
            duration_s=duration_s(row.get(col.TEMP_DURATION)),
            scheduled_rate_u_per_h=st.scheduled_rate,
            percent=percent,
        )
    )


def _row_records(t: Timed, st: State) -> list[Record | BolusDraft]:
    out: list[Record] = []
    row = t.row
    if row.section == "auto":
        auto = auto_insulin(t)
        return [auto] if auto is not None else []
    drafts_before = len(st.drafts)
    glucose_rows(t, st, out)
    _basal(t, st, out)
    row_events(t, st, out)
    if row.get(col.BOLUS_TYPE):
        _bolus(t, st)
    elif row.get(col.BWZ_ESTIMATE) or row.get(col.BWZ_STATUS):
        _wizard(t, st)
    return [*out, *st.drafts[drafts_before:]]


def normalize_modern(table: CareLinkTable) -> Normalized:
    """Normalize a modern or Guardian Connect table (see module docstring)."""
    skipped: list[tuple[int, str]] = []
    dates = [r.get(col.DATE) + " 00:00" for s in table.sections for r in s.rows[:200]]
    day_first = infer_day_first(dates, default=False)
    st = State(table.units, day_first)
    items: list[tuple[int, tuple[str, ...], Record | BolusDraft]] = []
    for t in device_order(table, day_first=day_first, skipped=skipped):
        try:
            produced = _row_records(t, st)
        except RowSkipped as exc:
            skipped.append((t.row.line, exc.reason))
            continue
        content = tuple(v.strip() for k, v in sorted(t.row.cells.items()) if k != col.INDEX)
        items.extend((t.row.line, content, rec) for rec in produced)
    built = [
        (line, content, rec.build() if isinstance(rec, BolusDraft) else rec)
        for line, content, rec in items
    ]
    records, dupes = unique_keys(built)
    return Normalized(tuple(fill_basal_durations(records)), tuple(sorted(skipped + dupes)))
