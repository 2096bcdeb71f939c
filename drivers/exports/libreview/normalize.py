"""Map Abbott FreeStyle Libre rows (LibreView CSV or reader TXT) to normalized records.

One function per record type; each returns the records of one row or raises
:class:`RowSkipped` with the reason, which the caller turns into a skipped-row entry
naming the physical line. Mapping (record types verified against the real files and
``shared/reference/vendor-formats.md`` section 2):

====  ===================================  =============================================
type  meaning                              record
====  ===================================  =============================================
0     historic glucose (every 15/5 min)    ``GlucoseSample(cgm)``
1     scan glucose                         ``GlucoseSample(cgm)``, annotated ``libre/scan``
2     strip glucose (fingerstick)          ``GlucoseSample(smbg)``
3     blood ketone (mmol/L)                ``Ketone`` (0-8 mmol/L, else skipped)
4     insulin (rapid / long / calculator)  ``Injection`` (one per insulin kind)
5     food (grams, servings or a marker)   ``Food``; no gram amount -> ``carbs_g=None`` +
                                           ``food/carbs-unknown``
6     note / exercise (LibreView); time    ``Activity("exercise")`` for an exercise note,
      change (reader TXT)                  ``DeviceEvent(time-change)`` with from/to
7     sensor start (reader TXT)            ``DeviceEvent(sensor-start)``
====  ===================================  =============================================

HI/LO are kept as ``special="high"|"low"`` with the Libre limits 500/40 mg/dL, never as
numbers. Free-text notes are not imported (no record kind, and they can hold personal
text).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from drivers._core.records import (
    Activity,
    DeviceEvent,
    Food,
    GlucoseSample,
    GlucoseSampleType,
    Injection,
    Ketone,
    Record,
    make_device_id,
)
from drivers._core.units import mmoll_to_mgdl
from drivers.exports.libreview import columns as col
from drivers.exports.libreview.values import (
    CARBS_MAX_G,
    GLUCOSE_PLAUSIBLE_MGDL,
    INSULIN_MAX_U,
    number_key,
    parse_number,
    parse_stamp,
)

MANUFACTURER = "Abbott"


class RowSkipped(Exception):
    """A row that cannot become a record; ``reason`` says why (no personal data)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class LibreRow:
    """One data row by canonical field name (``time``, ``type``, ``historic`` ...)."""

    line: int
    cells: Mapping[str, str]

    def get(self, key: str) -> str:
        """The stripped cell, or "" when the layout has no such column."""
        return self.cells.get(key, "").strip()


@dataclass(frozen=True, slots=True)
class Normalized:
    """Records in device order (oldest first) and the rows left out, with reasons."""

    records: tuple[Record, ...]
    skipped: tuple[tuple[int, str], ...]


@dataclass(frozen=True, slots=True)
class Context:
    """What every row of one file shares."""

    units: str
    day_first: bool
    default_model: str = "FreeStyle Libre"
    default_serial: str = "unknown"
    key_with_id: bool = False


@dataclass(frozen=True, slots=True)
class Base:
    """The identity part of every record made from one row."""

    device_id: str
    source_index: str
    device_time: datetime

    def keyed(self, suffix: str) -> Base:
        """The same identity with ``:suffix`` appended to the source index."""
        return replace(self, source_index=f"{self.source_index}:{suffix}")


def _glucose(
    row: LibreRow,
    key: str,
    ctx: Context,
    stype: GlucoseSampleType,
    b: Base,
    extra: tuple[str, ...] = (),
) -> GlucoseSample:
    text = row.get(key)
    word = text.lower()
    limit_prefix = "cgm" if stype == "cgm" else "smbg"
    if word in col.HIGH_WORDS or word in col.LOW_WORDS:
        high = word in col.HIGH_WORDS
        return GlucoseSample(
            device_id=b.device_id,
            source_index=b.source_index,
            device_time=b.device_time,
            sample_type=stype,
            glucose_mgdl=None,
            special="high" if high else "low",
            reporting_limit_mgdl=col.LIBRE_HIGH_LIMIT_MGDL if high else col.LIBRE_LOW_LIMIT_MGDL,
            annotations=(*extra, f"{limit_prefix}/{'high' if high else 'low'}-out-of-range"),
        )
    value = parse_number(text)
    if value is None:
        raise RowSkipped(f"glucose value missing or not a number in {key} column")
    mgdl = mmoll_to_mgdl(value) if ctx.units == "mmol/L" else value
    low, high_limit = GLUCOSE_PLAUSIBLE_MGDL
    if not low <= mgdl <= high_limit:
        raise RowSkipped(f"impossible glucose value {text} {ctx.units}")
    return GlucoseSample(
        device_id=b.device_id,
        source_index=b.source_index,
        device_time=b.device_time,
        sample_type=stype,
        glucose_mgdl=round(mgdl, 2),
        annotations=extra,
    )


KETONE_MAX_MMOLL = 8.0
"""FreeStyle meters read blood beta-ketone up to 8.0 mmol/L; more is not a reading."""


def _amount(text: str, *, what: str, maximum: float) -> float | None:
    if not text:
        return None
    value = parse_number(text)
    if value is None:
        raise RowSkipped(f"{what} is not a number")
    if value < 0 or value > maximum:
        raise RowSkipped(f"impossible {what} {text}")
    return value


def _insulin(row: LibreRow, b: Base) -> list[Record]:
    out: list[Record] = []
    rapid = _amount(row.get("rapid"), what="rapid-acting insulin", maximum=INSULIN_MAX_U)
    if rapid is None:
        parts = [
            _amount(row.get(k), what="insulin", maximum=INSULIN_MAX_U)
            for k in ("meal_ins", "corr_ins", "user_ins")
        ]
        if any(p is not None for p in parts):
            rapid = sum(p for p in parts if p is not None)
    long_u = _amount(row.get("long"), what="long-acting insulin", maximum=INSULIN_MAX_U)
    for amount, kind in ((rapid, "rapid"), (long_u, "long")):
        if amount is None:
            continue
        k = b.keyed(f"{kind}:{amount:g}")
        out.append(
            Injection(
                device_id=k.device_id,
                source_index=k.source_index,
                device_time=k.device_time,
                insulin_u=amount,
                insulin_type="rapid" if kind == "rapid" else "long",
            )
        )
    if not out:
        raise RowSkipped("insulin entry without a dose (non-numeric insulin marker)")
    return out


def _food(row: LibreRow, b: Base) -> list[Record]:
    carbs = _amount(row.get("carbs"), what="carbohydrates", maximum=CARBS_MAX_G)
    notes: tuple[str, ...] = ()
    if carbs is not None:
        k = b.keyed(f"{carbs:g}g")
    else:
        servings = _amount(row.get("servings"), what="carbohydrate servings", maximum=100.0)
        notes = ("food/carbs-unknown",) + (("food/servings-only",) if servings is not None else ())
        k = b.keyed(f"{servings:g}srv" if servings is not None else "marker")
    return [
        Food(
            device_id=k.device_id,
            source_index=k.source_index,
            device_time=k.device_time,
            carbs_g=carbs,
            annotations=notes,
        )
    ]


def _note(row: LibreRow, ctx: Context, b: Base) -> list[Record]:
    before, after = row.get("prev_time"), row.get("updated_time")
    if before or after:
        t_from = parse_stamp(before, day_first=ctx.day_first)
        t_to = parse_stamp(after, day_first=ctx.day_first)
        if t_from is None or t_to is None:
            raise RowSkipped("time change with an unparsable previous/updated time")
        k = b.keyed(t_from.isoformat())
        return [
            DeviceEvent(
                device_id=k.device_id,
                source_index=k.source_index,
                device_time=k.device_time,
                event_type="time-change",
                time_from=t_from,
                time_to=t_to,
            )
        ]
    if row.get("notes").lower() in col.EXERCISE_WORDS:
        return [
            Activity(
                device_id=b.device_id,
                source_index=b.source_index,
                device_time=b.device_time,
                activity_type="exercise",
            )
        ]
    return []  # empty or free-text note: no record kind, not an error


def row_records(row: LibreRow, ctx: Context) -> list[Record]:
    """The records of one row (possibly none).

    Raises:
        RowSkipped: The row is malformed or holds an impossible value.
    """
    raw_type = row.get("type")
    plain = raw_type.isascii() and raw_type.isdigit() and len(raw_type) < 10  # int()-safe
    if not plain or int(raw_type) not in col.KNOWN_RECORD_TYPES:
        raise RowSkipped("unknown record type")
    rtype = int(raw_type)
    when = parse_stamp(row.get("time"), day_first=ctx.day_first)
    if when is None:
        raise RowSkipped("unparsable timestamp")
    model = row.get("device") or ctx.default_model
    serial = row.get("serial") or ctx.default_serial
    value_col = {0: "historic", 1: "scan", 2: "strip", 3: "ketone"}.get(rtype)
    value = number_key(row.get(value_col)) if value_col else ""
    key = f"{rtype}:{when.isoformat()}:{value}" if value else f"{rtype}:{when.isoformat()}"
    if ctx.key_with_id and row.get("id"):
        key = f"{row.get('id')}:{key}"
    base = Base(make_device_id(MANUFACTURER, model, serial), key, when)
    if rtype == col.HISTORIC:
        return [_glucose(row, "historic", ctx, "cgm", base)]
    if rtype == col.SCAN:
        return [_glucose(row, "scan", ctx, "cgm", base, ("libre/scan",))]
    if rtype == col.STRIP:
        return [_glucose(row, "strip", ctx, "smbg", base)]
    if rtype == col.KETONE:
        ketone = _amount(row.get("ketone"), what="ketone", maximum=KETONE_MAX_MMOLL)
        if ketone is None:
            raise RowSkipped("ketone row without a value")
        return [
            Ketone(
                device_id=base.device_id,
                source_index=base.source_index,
                device_time=base.device_time,
                ketone_mmoll=ketone,
            )
        ]
    if rtype == col.INSULIN:
        return _insulin(row, base)
    if rtype == col.FOOD:
        return _food(row, base)
    if rtype == col.NOTE:
        return _note(row, ctx, base)
    return [
        DeviceEvent(
            device_id=base.device_id,
            source_index=base.source_index,
            device_time=base.device_time,
            event_type="sensor-start",
        )
    ]


def normalize_rows(rows: Iterable[LibreRow], ctx: Context) -> Normalized:
    """Normalize every row; records sorted by device time (stable).

    Abbott timestamps have minute resolution and no sequence number, so two identical
    rows (a double scan in one minute, or the repeated hour of a DST fall-back) cannot
    be told from an export glitch: both are kept, the second with ``#2`` appended to its
    dedup key and the annotation ``libre/repeated-row`` (the same rows in the next
    export get the same keys).
    """
    found: list[tuple[datetime, int, Record]] = []
    skipped: list[tuple[int, str]] = []
    repeats: dict[tuple[str, str], int] = {}
    for row in rows:
        try:
            records = row_records(row, ctx)
        except RowSkipped as exc:
            skipped.append((row.line, exc.reason))
            continue
        for rec in records:
            dedup = (rec.kind, rec.source_index)
            count = repeats[dedup] = repeats.get(dedup, 0) + 1
            if count > 1:
                rec = replace(
                    rec,
                    source_index=f"{rec.source_index}#{count}",
                    annotations=(*rec.annotations, "libre/repeated-row"),
                )
            found.append((rec.device_time, len(found), rec))
    found.sort(key=lambda item: (item[0], item[1]))
    return Normalized(tuple(r for _, _, r in found), tuple(sorted(skipped)))
