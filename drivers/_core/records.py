"""Normalized records: the one shape every driver and importer produces.

Frozen, slotted dataclasses with units in the field names. Every record carries

* ``device_id`` -- ``"<manufacturer>:<model>:<serial>"``, lower-case, see :func:`make_device_id`;
* ``source_index`` -- the device's own log index, sequence number or row key. Together
  with ``device_id`` and ``kind`` it is the dedup key (:attr:`Record.dedup_key`), so
  importing the same file or reading the same device twice adds nothing;
* ``device_time`` -- naive, exactly as the device or file shows it;
* ``time_utc`` (aware), ``utc_offset_s`` (local = UTC + offset) and the clock correction
  applied, ``clock_offset_s`` with ``time_reason``. A driver fills ``device_time`` only;
  :mod:`drivers._core.timebase` fills the rest and records every correction;
* ``annotations`` -- short codes such as ``cgm/high-out-of-range``.

Out-of-range glucose (a CGM's "High"/"Low") is never faked as a number: the record
has ``glucose_mgdl=None``, ``special="high"|"low"`` and the sensor's
``reporting_limit_mgdl``; analytics decide how to count it.
"""

from __future__ import annotations

import dataclasses
import gc
import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MemberDescriptorType
from typing import Any, ClassVar, Literal, Self, TypeVar

R = TypeVar("R", bound="Record")

GlucoseSampleType = Literal["cgm", "smbg", "calibration"]
GlucoseSpecial = Literal["high", "low", "warmup", "not-computable", "sensor-error"]
BolusSubtype = Literal["normal", "extended", "dual"]
BasalType = Literal["scheduled", "temp", "suspend", "automated"]
InsulinType = Literal["rapid", "long", "unknown"]
DeviceEventType = Literal[
    "prime",
    "rewind",
    "reservoir-change",
    "site-change",
    "sensor-start",
    "sensor-stop",
    "alarm",
    "battery",
    "time-change",
    "suspend",
    "resume",
    "daily-total",
]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Hold Python's cyclic garbage collector while records are built in bulk.

    Reading a 90-day export, resolving its times or storing it makes some 100 000
    objects (rows, records, copies) that are neither garbage nor in a reference cycle,
    yet their number alone sets off full collections, each walking every object of the
    process: up to a fifth of the time of an import. Reference counting frees objects
    as usual meanwhile; the collector resumes, on its usual thresholds, on the way out
    (also on an exception). Nested or concurrent uses are harmless: the collector is
    switched back on only by the use that found it on.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def make_device_id(manufacturer: str, model: str, serial: str) -> str:
    """Build a stable device id: lower-case, ``:``-separated, inner spaces as ``-``."""
    parts = (manufacturer, model, serial)
    return ":".join("-".join(p.strip().lower().split()) or "unknown" for p in parts)


@dataclass(frozen=True, slots=True, kw_only=True)
class Record:
    """Fields shared by every normalized record (see module docstring)."""

    kind: ClassVar[str] = "record"

    device_id: str
    source_index: str
    device_time: datetime
    time_utc: datetime | None = None
    utc_offset_s: int | None = None
    clock_offset_s: int = 0
    time_reason: str = ""
    annotations: tuple[str, ...] = ()

    @property
    def dedup_key(self) -> tuple[str, str, str]:
        """``(device_id, kind, source_index)``: unique across imports and uploads."""
        return (self.device_id, self.kind, self.source_index)

    def with_time(
        self,
        *,
        time_utc: datetime,
        utc_offset_s: int,
        clock_offset_s: int = 0,
        time_reason: str = "",
        annotations: tuple[str, ...] = (),
    ) -> Self:
        """Return a copy with the UTC time resolved (used by the time base)."""
        if time_utc.tzinfo is None:
            raise ValueError("time_utc must be timezone-aware")
        merged = self.annotations + tuple(a for a in annotations if a not in self.annotations)
        return self.evolve(
            time_utc=time_utc,
            utc_offset_s=utc_offset_s,
            clock_offset_s=clock_offset_s,
            time_reason=time_reason,
            annotations=merged,
        )

    def evolve(self, **changes: Any) -> Self:
        """A copy with some fields changed: ``dataclasses.replace`` without its per-call
        introspection (the time base calls it for every record of a 90-day upload)."""
        return _helpers(type(self)).evolve(self, changes)  # type: ignore[no-any-return]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: ``kind`` first, datetimes as ISO 8601, tuples as lists."""
        return _helpers(type(self)).to_dict(self)  # type: ignore[no-any-return]


_PLAIN = frozenset({str, int, float, bool})
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}
_TIME_FIELDS = ("time_utc", "utc_offset_s", "clock_offset_s", "time_reason", "annotations")
"""The fields :func:`time_copier` sets (the rest are copied)."""


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


class _Helpers:
    """Per-class copy and dict functions, compiled once per record class.

    A frozen dataclass sets each field through ``object.__setattr__`` and
    ``dataclasses.replace``/``asdict`` introspect the class on every call; on a 90-day
    upload (25 000 records, each copied by the time base and serialized by the store)
    that is most of the time spent. The functions here are generated from the field
    list, as ``dataclasses`` itself generates ``__init__``: straight-line code that sets
    each slot through its descriptor and reads each field once. They do exactly what
    the generic loops did (same fields, same order, same values). ``make`` is the
    class's ``__init__`` (same parameters, defaults and factories) and
    ``json_and_time`` is ``to_json`` plus ``time_utc``'s ISO text, for bulk imports.
    """

    __slots__ = ("evolve", "json_and_time", "make", "resolved", "to_dict", "to_json")

    def __init__(self, cls: type) -> None:
        names = _field_names(cls)
        env: dict[str, Any] = {
            "_new": object.__new__,
            "_cls": cls,
            "_kind": getattr(cls, "kind", "record"),
            "_PLAIN": _PLAIN,
            "_jsonable": _jsonable,
            "_esc": _json_str,
            "_value": _json_value,
            "_float": float.__repr__,
            "_int": int.__repr__,
            "_INF": _INFINITY,
            "datetime": datetime,
            "_UTC": UTC,
            "_NAIVE_EPOCH": _NAIVE_EPOCH,
            "_UTC_EPOCH": _UTC_EPOCH,
        }
        for name in names:
            env[f"_set_{name}"] = _slot_setter(cls, name)
        opening = '{"kind":' + _json_str(getattr(cls, "kind", "record"))
        keys = {n: "," + _json_str(n) + ":" for n in names}
        json_parts = {
            n: f"        {keys[n]!r}, _esc(v) if (t := type(v := self.{n})) is str"
            " else 'null' if v is None"
            " else _float(v) if t is float and -_INF < v < _INF"
            " else _int(v) if t is int"
            " else _esc(v.isoformat()) if t is datetime"
            " else '[]' if t is tuple and not v"
            " else _value(v),"
            for n in names
        }
        copy_lines = [
            "def evolve(self, changes):",
            "    new = _new(_cls)",
            *(
                f"    _set_{n}(new, changes[{n!r}] if {n!r} in changes else self.{n})"
                for n in names
            ),
            "    return new",
            "def resolved(self, time_utc, utc_offset_s, clock_offset_s, time_reason, annotations):",
            "    new = _new(_cls)",
            *(f"    _set_{n}(new, {n if n in _TIME_FIELDS else 'self.' + n})" for n in names),
            "    return new",
            "def to_dict(self):",
            "    return {",
            "        'kind': _kind,",
            *(
                f"        {n!r}: v if (v := self.{n}) is None or type(v) in _PLAIN"
                " else _jsonable(v),"
                for n in names
            ),
            "    }",
            "def to_json(self):",
            "    return ''.join((",
            f"        {opening!r},",
            *json_parts.values(),
            "        '}',",
            "    ))",
        ]
        if "time_utc" in names:  # the store's column is time_utc's ISO text: made once
            json_parts["time_utc"] = (
                f"        {keys['time_utc']!r}, 'null' if tu is None"
                " else '\"' + iso + '\"' if type(tu) is datetime else _value(tu),"
            )
            copy_lines += [
                "def json_and_time(self):",
                "    tu = self.time_utc",
                "    iso = None if tu is None else tu.isoformat() if tu.tzinfo is not _UTC"
                " or type(tu) is not datetime"
                # a UTC instant's ISO text: its naive twin's plus the offset, no utcoffset()
                " else (_NAIVE_EPOCH + (tu - _UTC_EPOCH)).isoformat() + '+00:00'",
                "    return ''.join((",
                f"        {opening!r},",
                *json_parts.values(),
                "        '}',",
                "    )), iso",
            ]
        fields = dataclasses.fields(cls)
        plain_init = all(f.init for f in fields) and not hasattr(cls, "__post_init__")
        if plain_init:  # the dataclass __init__ minus its per-field object.__setattr__
            params = []
            for f in fields:
                if f.default is not dataclasses.MISSING:
                    env[f"_default_{f.name}"] = f.default
                    params.append(f"{f.name}=_default_{f.name}")
                elif f.default_factory is not dataclasses.MISSING:
                    env[f"_factory_{f.name}"] = f.default_factory
                    params.append(f"{f.name}=_FACTORY")
                else:
                    params.append(f.name)
            env["_FACTORY"] = _FACTORY
            copy_lines += [
                f"def make(*, {', '.join(params)}):",
                "    new = _new(_cls)",
                *(
                    f"    _set_{f.name}(new, _factory_{f.name}() if {f.name} is _FACTORY"
                    f" else {f.name})"
                    if f"_factory_{f.name}" in env
                    else f"    _set_{f.name}(new, {f.name})"
                    for f in fields
                ),
                "    return new",
            ]
        exec("\n".join(copy_lines), env)  # source built from the field names only
        self.make = env.get("make")
        self.evolve = env["evolve"]
        self.resolved = env["resolved"]
        self.to_dict = env["to_dict"]
        self.to_json = env["to_json"]
        self.json_and_time = env.get("json_and_time")


def _slot_setter(cls: type, name: str) -> Callable[[object, object], None]:
    """Set one field on a new instance: the slot's own descriptor (what
    ``object.__setattr__`` ends up calling), or ``object.__setattr__`` for a field
    that is not a slot (a subclass declared without ``slots=True``)."""
    slot = getattr(cls, name, None)
    if isinstance(slot, MemberDescriptorType):
        return slot.__set__

    def setter(obj: object, value: object) -> None:
        object.__setattr__(obj, name, value)

    return setter


_HELPERS: dict[type, _Helpers] = {}


def _helpers(cls: type) -> _Helpers:
    helpers = _HELPERS.get(cls)
    if helpers is None:
        helpers = _HELPERS[cls] = _Helpers(cls)
    return helpers


def time_copier(cls: type[R]) -> Callable[[R, datetime, int, int, str, tuple[str, ...]], R]:
    """For the time base's hot loop: ``copy(rec, time_utc, utc_offset_s, clock_offset_s,
    time_reason, annotations)``, which is ``rec.evolve(time_utc=..., ...)`` with the
    five time fields set and every other field kept, for records of class ``cls``
    (no checks: the caller's values are final)."""
    return _helpers(cls).resolved  # type: ignore[no-any-return]


def constructor(cls: Callable[..., R]) -> Callable[..., R]:
    """``cls`` itself, or for a record class an equivalent keyword-only constructor
    that sets each slot through its descriptor (a frozen dataclass's ``__init__`` goes
    through ``object.__setattr__`` per field): for building records in bulk."""
    make = _helpers(cls).make if isinstance(cls, type) and dataclasses.is_dataclass(cls) else None
    return cls if make is None else make  # type: ignore[no-any-return]


def json_and_time(cls: type[R]) -> Callable[[R], tuple[str, str | None]]:
    """For the store's hot loop: ``f(rec) -> (record_json(rec), iso)`` for records of
    class ``cls``, ``iso`` being ``rec.time_utc.isoformat()`` (None when ``time_utc``
    is None), the ISO text made once for both the JSON and the store's column."""
    writer = _helpers(cls).json_and_time
    if writer is None:
        raise TypeError(f"{cls.__name__} has no time_utc field")
    return writer  # type: ignore[no-any-return]


def record_json(rec: Record) -> str:
    """``json.dumps(rec.to_dict(), separators=(",", ":"))``, the same text, without the
    dict: how the store writes a record (a 90-day upload has 25 000 of them)."""
    return _helpers(type(rec)).to_json(rec)  # type: ignore[no-any-return]


_json_str: Callable[[str], str] = json.encoder.encode_basestring_ascii  # type: ignore[attr-defined]
"""The string escaper ``json.dumps`` uses (``ensure_ascii=True``), quotes included."""
_json_dumps = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode
_INFINITY = float("inf")
_NAIVE_EPOCH = datetime(1970, 1, 1)
_UTC_EPOCH = _NAIVE_EPOCH.replace(tzinfo=UTC)
_FACTORY = object()
"""Default of a ``default_factory`` field in :meth:`_Helpers` constructors (as the
dataclass ``__init__`` marks it): the factory is called when nothing is passed."""


def _json_value(value: Any) -> str:
    """JSON text of one field, exactly as ``json.dumps`` writes its ``to_dict`` value
    (``record_json`` handles ``str`` and ``None`` itself)."""
    kind = type(value)
    if kind is float:  # json's C encoder: float repr, and NaN/Infinity spelled out
        if value != value:
            return "NaN"
        if value == _INFINITY:
            return "Infinity"
        if value == -_INFINITY:
            return "-Infinity"
        return float.__repr__(value)
    if kind is int:
        return int.__repr__(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is datetime:
        return _json_str(value.isoformat())
    if kind is tuple and all(type(v) is str for v in value):
        return "[" + ",".join(map(_json_str, value)) + "]"
    return _json_dumps(value if value is None or kind in _PLAIN else _jsonable(value))


def _jsonable(value: Any) -> Any:
    kind = type(value)
    if kind is datetime:
        return value.isoformat()
    if kind is tuple or kind is list:
        return [v if v is None or type(v) in _PLAIN else _jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class GlucoseSample(Record):
    """A CGM reading, a fingerstick (smbg) or a calibration entered into a CGM.

    ``glucose_mgdl`` is None when the device reported a special value instead of a
    number (``special``); for High/Low, ``reporting_limit_mgdl`` is the sensor's limit
    (Dexcom 400/40, Libre 500/40).
    """

    kind: ClassVar[str] = "glucose"

    sample_type: GlucoseSampleType
    glucose_mgdl: float | None
    special: GlucoseSpecial | None = None
    reporting_limit_mgdl: float | None = None
    trend: str | None = None
    trend_rate_mgdl_per_min: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BolusCalculation:
    """The bolus calculator (wizard) inputs and recommendation behind a bolus."""

    carbs_g: float | None = None
    bg_mgdl: float | None = None
    carb_ratio_g_per_u: float | None = None
    sensitivity_mgdl_per_u: float | None = None
    target_low_mgdl: float | None = None
    target_high_mgdl: float | None = None
    iob_u: float | None = None
    recommended_food_u: float | None = None
    recommended_correction_u: float | None = None
    recommended_total_u: float | None = None
    user_changed: bool | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Bolus(Record):
    """A pump bolus: normal, extended (square) or dual (normal + extended part).

    ``programmed_*`` is what was requested, ``delivered_*`` what the pump delivered
    (less when cancelled or interrupted by a suspend).
    """

    kind: ClassVar[str] = "bolus"

    subtype: BolusSubtype
    programmed_u: float
    delivered_u: float
    extended_programmed_u: float = 0.0
    extended_delivered_u: float = 0.0
    extended_duration_s: int = 0
    calculation: BolusCalculation | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Injection(Record):
    """Insulin given by pen or syringe, logged in an app (e.g. Clarity "Insulin" rows)."""

    kind: ClassVar[str] = "injection"

    insulin_u: float
    insulin_type: InsulinType = "unknown"


@dataclass(frozen=True, slots=True, kw_only=True)
class BasalSegment(Record):
    """A period at one basal rate. ``duration_s`` None = unknown (annotated)."""

    kind: ClassVar[str] = "basal"

    basal_type: BasalType
    rate_u_per_h: float
    duration_s: int | None
    scheduled_rate_u_per_h: float | None = None
    percent: float | None = None
    schedule_name: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Food(Record):
    """Carbohydrate entered by the user (pump, app or export).

    ``carbs_g`` is None for a meal marker without an amount (LibreView's non-numeric
    food entry, an iPro2 meal marker): the meal happened, its size is unknown.
    """

    kind: ClassVar[str] = "food"

    carbs_g: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Ketone(Record):
    """A blood (or urine) ketone reading, beta-hydroxybutyrate in mmol/L."""

    kind: ClassVar[str] = "ketone"

    ketone_mmoll: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Activity(Record):
    """Exercise or a health event logged by the user."""

    kind: ClassVar[str] = "activity"

    activity_type: str
    duration_s: int | None = None
    intensity: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceEvent(Record):
    """Prime, rewind, site/sensor change, alarm, battery, time change ...

    For ``time-change``: ``time_from``/``time_to`` are the device clock before and after
    (naive, device time). ``prime_u`` is the insulin used priming, ``code`` the device's
    own alarm or event code.
    """

    kind: ClassVar[str] = "device-event"

    event_type: DeviceEventType
    code: str | None = None
    prime_u: float | None = None
    time_from: datetime | None = None
    time_to: datetime | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleEntry:
    """One entry of a daily schedule: starts ``start_s`` seconds after midnight."""

    start_s: int
    value: float


@dataclass(frozen=True, slots=True, kw_only=True)
class SettingsSnapshot(Record):
    """Pump therapy settings as read at one time. Schedules map name -> entries."""

    kind: ClassVar[str] = "settings"

    active_schedule: str | None = None
    basal_schedules_u_per_h: Mapping[str, tuple[ScheduleEntry, ...]] = field(default_factory=dict)
    carb_ratios_g_per_u: tuple[ScheduleEntry, ...] = ()
    sensitivities_mgdl_per_u: tuple[ScheduleEntry, ...] = ()
    target_low_mgdl: tuple[ScheduleEntry, ...] = ()
    target_high_mgdl: tuple[ScheduleEntry, ...] = ()
    insulin_action_s: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceInfo(Record):
    """What the device says about itself at upload."""

    kind: ClassVar[str] = "device-info"

    manufacturer: str
    model: str
    serial: str
    firmware: str | None = None
    device_clock: datetime | None = None


RECORD_TYPES: dict[str, type[Record]] = {
    cls.kind: cls
    for cls in (
        GlucoseSample,
        Bolus,
        Injection,
        BasalSegment,
        Food,
        Ketone,
        Activity,
        DeviceEvent,
        SettingsSnapshot,
        DeviceInfo,
    )
}
"""Every record kind by its ``kind`` string (the dedup key's middle part)."""


def count_by_kind(records: list[Record] | tuple[Record, ...]) -> dict[str, int]:
    """Count records per kind; glucose samples are counted per ``sample_type``."""
    counts: dict[str, int] = {}
    for rec in records:
        key = rec.sample_type if isinstance(rec, GlucoseSample) else rec.kind
        counts[key] = counts.get(key, 0) + 1
    return counts


_DATETIME_FIELDS = frozenset({"device_time", "time_utc", "time_from", "time_to", "device_clock"})
_SCHEDULE_FIELDS = frozenset(
    {"carb_ratios_g_per_u", "sensitivities_mgdl_per_u", "target_low_mgdl", "target_high_mgdl"}
)


def _entries(items: Any) -> tuple[ScheduleEntry, ...]:
    return tuple(ScheduleEntry(**e) for e in items)


def record_from_dict(data: Mapping[str, Any]) -> Record:
    """Inverse of :meth:`Record.to_dict` (used by the store and the care record)."""
    cls = RECORD_TYPES[data["kind"]]
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        if value is not None and f.name in _DATETIME_FIELDS:
            value = datetime.fromisoformat(value)
        elif f.name == "annotations":
            value = tuple(value)
        elif f.name == "calculation" and value is not None:
            value = BolusCalculation(**value)
        elif f.name in _SCHEDULE_FIELDS:
            value = _entries(value)
        elif f.name == "basal_schedules_u_per_h":
            value = {name: _entries(entries) for name, entries in value.items()}
        kwargs[f.name] = value
    return cls(**kwargs)
