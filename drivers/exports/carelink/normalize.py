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
from collections.abc import Callable
from datetime import timedelta
from operator import attrgetter, itemgetter
from typing import Any, cast

from drivers._core.records import (
    BasalSegment,
    BolusCalculation,
    DeviceEvent,
    GlucoseSample,
    Record,
    constructor,
    make_device_id,
)
from drivers._core.units import mmoll_to_mgdl
from drivers.exports.carelink import columns as col
from drivers.exports.carelink.bolus import BolusDraft, is_square_part
from drivers.exports.carelink.events import State, Timed, auto_insulin, glucose_rows, row_events
from drivers.exports.carelink.finish import Content, fill_basal_durations, unique_keys
from drivers.exports.carelink.parse import CareLinkTable, CLRow, Section
from drivers.exports.carelink.values import (
    RowSkipped,
    RowTimes,
    duration_s,
    glucose,
    insulin,
    number,
)
from drivers.exports.libreview.normalize import Normalized
from drivers.exports.libreview.values import infer_day_first

MANUFACTURER = "Medtronic"
WIZARD_WINDOW = timedelta(seconds=120)
_new_sample = constructor(GlucoseSample)  # GlucoseSample(...) without object.__setattr__
_new_tuple = tuple.__new__  # Timed(...) without the named tuple's Python-level __new__


def device_order(
    table: CareLinkTable, *, day_first: bool, skipped: list[tuple[int, str]]
) -> list[Timed]:
    """Rows oldest first: each section reversed, sections merged by device time."""
    runs: list[list[Timed]] = []
    times = RowTimes(day_first=day_first)
    for section in table.sections:
        run: list[Timed] = []
        device_id = _device_id(section)
        time_of = times.reader(section.header)
        for row in reversed(section.rows):
            try:
                run.append(_new_tuple(Timed, (time_of(row), row, device_id)))
            except RowSkipped as exc:
                skipped.append((row.line, exc.reason))
        runs.append(run)
    return _merge(runs)


def _merge(runs: list[list[Timed]]) -> list[Timed]:
    """``heapq.merge(*runs, key=time)``. When every run is in time order (no clock set
    back, no DST fold) that is a stable sort of the runs one after the other -- ties
    from an earlier run first, each run in its own order -- which ``list.sort`` does
    in C; otherwise the merge itself decides (its order for unsorted runs is kept)."""
    in_order = True
    for run in runs:
        run_times = [t.time for t in run]
        if run_times != sorted(run_times):
            in_order = False
            break
    if not in_order:
        return list(heapq.merge(*runs, key=attrgetter("time")))
    merged = [t for run in runs for t in run]
    merged.sort(key=attrgetter("time"))
    return merged


_Plan = tuple[int, Callable[[tuple[str, ...]], tuple[str, ...]]]
"""Width of a section's rows and the getter of its Index, Date, Time, SG and ISIG cells."""


class _SensorRows:
    """The one record of a sensor-glucose row, without the general per-column walk.

    Nine rows in ten of a CGM-wearing pump's export fill Index, Date, Time, Sensor
    Glucose and ISIG and nothing else. For such a row :func:`_row_records` yields
    exactly one CGM sample (or nothing without a glucose value) and changes no
    state, so :meth:`record` builds that sample directly, with each distinct glucose
    and ISIG cell converted once. A row with any other cell filled -- even a blank
    one (``" "``) -- goes the general way, and so does a section whose header names a
    column twice.
    """

    NAMES = (col.INDEX, col.DATE, col.TIME, col.SG, col.ISIG)

    def __init__(self, units: str) -> None:
        self.units = units
        self._plans: dict[int, _Plan | None] = {}
        self._last: tuple[tuple[str, ...], _Plan | None] = ((), None)  # rows come by section
        self._glucose: dict[str, tuple[float, str] | str] = {}
        self._isig: dict[str, str] = {}

    def _plan(self, header: tuple[str, ...]) -> _Plan | None:
        key = id(header)
        if key not in self._plans:
            plan = None
            if len(set(header)) == len(header) and all(n in header for n in self.NAMES):
                positions = [header.index(n) for n in self.NAMES]
                plan = (len(header), cast(Any, itemgetter(*positions)))
            self._plans[key] = plan
        return self._plans[key]

    def cells(self, row: CLRow) -> tuple[str, ...] | None:
        """Index, Date, Time, Sensor Glucose and ISIG of a plain sensor-glucose row
        (see the class docstring); None for any other row."""
        if row.section == "auto":
            return None
        header = row.header
        last_header, plan = self._last
        if header is not last_header:
            plan = self._plan(header)
            self._last = (header, plan)
        if plan is None:
            return None
        fields = row.fields
        width, cells_of = plan
        if len(fields) != width:
            return None
        known = cells_of(fields)
        if width - fields.count("") != len(known) - known.count(""):
            return None  # another cell is filled
        return known

    def sample(self, t: Timed, cells: tuple[str, ...]) -> Record | None:
        """The one record :func:`_row_records` yields for a row whose :meth:`cells`
        are known (None: it yields none).

        Raises:
            RowSkipped: The glucose cell is not a plausible number.
        """
        sg_cell, isig_cell = cells[3], cells[4]
        got = self._glucose.get(sg_cell)
        if got is None:
            try:
                value = glucose(sg_cell.strip(), units=self.units, what="sensor glucose")
            except RowSkipped as exc:
                got = exc.reason
            else:
                got = "" if value is None else (value, f"{value:g}")
            self._glucose[sg_cell] = got
        if isinstance(got, str):
            if got:
                raise RowSkipped(got)
            return None
        isig = self._isig.get(isig_cell)
        if isig is None:
            isig = self._isig[isig_cell] = isig_cell.strip().replace(",", ".")
        value, text = got
        return _new_sample(
            device_id=t.device_id,
            source_index=f"sg:{t.time.isoformat()}:{text}:{isig}",
            device_time=t.time,
            sample_type="cgm",
            glucose_mgdl=value,
        )


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
    sensor = _SensorRows(table.units)
    items: list[tuple[int, Content, Record | BolusDraft]] = []
    drafts_at: list[int] = []  # where the bolus drafts are among the items
    for t in device_order(table, day_first=day_first, skipped=skipped):
        row = t.row
        cells = sensor.cells(row)
        try:
            if cells is not None:  # the row stands for its content (asked for on a repeated key)
                sample = sensor.sample(t, cells)
                if sample is not None:
                    items.append((row.line, row, sample))
                continue
            produced = _row_records(t, st)
        except RowSkipped as exc:
            skipped.append((row.line, exc.reason))
            continue
        for rec in produced:
            if isinstance(rec, BolusDraft):
                drafts_at.append(len(items))
            items.append((row.line, row, rec))
    for i in drafts_at:  # drafts are complete now
        line, content, draft = items[i]
        items[i] = (line, content, cast(BolusDraft, draft).build())
    records, dupes = unique_keys(cast(list[tuple[int, Content, Record]], items))
    return Normalized(tuple(fill_basal_durations(records)), tuple(sorted(skipped + dupes)))
