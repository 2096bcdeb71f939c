"""The compiled per-class helpers in ``drivers._core.records`` (``evolve``,
``to_dict``, ``record_json``, ``time_copier``) must do exactly what the generic
``dataclasses`` operations do, for every record kind and any field values: the store's
bytes and the time base's copies depend on it. Expected values come from
``dataclasses.replace`` / ``dataclasses.fields`` and ``json.dumps``, not from the
helpers' own code."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from drivers._core.records import (
    RECORD_TYPES,
    Bolus,
    BolusCalculation,
    GlucoseSample,
    ScheduleEntry,
    SettingsSnapshot,
    record_from_dict,
    record_json,
    time_copier,
)

naive = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2040, 1, 1))
aware = st.builds(
    lambda d, m: d.replace(tzinfo=timezone(timedelta(minutes=m))),
    naive,
    st.integers(-14 * 60, 14 * 60),
)
text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
floats = st.floats(allow_nan=True, allow_infinity=True)
entries = st.lists(
    st.builds(ScheduleEntry, start_s=st.integers(0, 86_399), value=st.floats(0, 50)),
    max_size=3,
).map(tuple)


def _value_for(name: str, annotation: str) -> st.SearchStrategy[Any]:
    if name in ("device_time", "time_from", "time_to", "device_clock"):
        return naive if "None" not in annotation else st.none() | naive
    if name == "time_utc":
        return st.none() | aware
    if name == "annotations":
        return st.lists(text, max_size=3).map(tuple)
    if name == "calculation":
        return st.none() | st.builds(
            BolusCalculation,
            carbs_g=st.none() | floats,
            bg_mgdl=st.none() | floats,
            iob_u=st.none() | floats,
            user_changed=st.none() | st.booleans(),
        )
    if name == "basal_schedules_u_per_h":
        return st.dictionaries(text, entries, max_size=2)
    if "ScheduleEntry" in annotation:
        return entries
    if annotation.startswith("int") or "int |" in annotation or annotation == "int":
        return (st.none() | st.integers()) if "None" in annotation else st.integers()
    if "float" in annotation:
        return (st.none() | floats) if "None" in annotation else floats
    if "bool" in annotation:
        return st.none() | st.booleans()
    return (st.none() | text) if "None" in annotation else text


def _record(cls: type) -> st.SearchStrategy[Any]:
    fields = {f.name: _value_for(f.name, str(f.type)) for f in dataclasses.fields(cls)}
    return st.fixed_dictionaries(fields).map(lambda kw: cls(**kw))


any_record = st.one_of(*(_record(cls) for cls in RECORD_TYPES.values()))


def _generic_dict(rec: Any) -> dict[str, Any]:
    def plain(v: Any) -> Any:
        if isinstance(v, datetime):
            return v.isoformat()
        if dataclasses.is_dataclass(v):
            return {f.name: plain(getattr(v, f.name)) for f in dataclasses.fields(v)}
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        if isinstance(v, (tuple, list)):
            return [plain(x) for x in v]
        return v

    out = {"kind": rec.kind}
    out.update({f.name: plain(getattr(rec, f.name)) for f in dataclasses.fields(rec)})
    return out


@settings(max_examples=300, deadline=None)
@given(any_record)
def test_to_dict_and_json_match_the_generic_serialization(rec: Any) -> None:
    expected = _generic_dict(rec)
    assert json.dumps(rec.to_dict()) == json.dumps(expected)
    assert record_json(rec) == json.dumps(expected, separators=(",", ":"))


@settings(max_examples=300, deadline=None)
@given(any_record, st.data())
def test_evolve_and_time_copier_match_dataclasses_replace(rec: Any, data: Any) -> None:
    other = data.draw(_record(type(rec)))
    names = [f.name for f in dataclasses.fields(rec)]
    picked = data.draw(st.lists(st.sampled_from(names), unique=True))
    changes = {n: getattr(other, n) for n in picked}
    assert _generic_dict(rec.evolve(**changes)) == _generic_dict(
        dataclasses.replace(rec, **changes)
    )
    when = datetime(2024, 3, 31, 1, 30, tzinfo=UTC)
    copied = time_copier(type(rec))(rec, when, 3600, -5, "tz", ("a",))
    assert copied == dataclasses.replace(
        rec,
        time_utc=when,
        utc_offset_s=3600,
        clock_offset_s=-5,
        time_reason="tz",
        annotations=("a",),
    ) or _generic_dict(copied) == _generic_dict(
        dataclasses.replace(
            rec,
            time_utc=when,
            utc_offset_s=3600,
            clock_offset_s=-5,
            time_reason="tz",
            annotations=("a",),
        )
    )


def test_json_round_trips_through_record_from_dict() -> None:
    rec = Bolus(
        device_id="d",
        source_index="1",
        device_time=datetime(2024, 1, 1, 8),
        subtype="normal",
        programmed_u=1.25,
        delivered_u=1.0,
        calculation=BolusCalculation(carbs_g=30.0, user_changed=True),
    )
    assert record_from_dict(json.loads(record_json(rec))) == rec
    glucose = GlucoseSample(
        device_id="d",
        source_index="2",
        device_time=datetime(2024, 1, 1, 8),
        sample_type="cgm",
        glucose_mgdl=None,
        special="high",
        reporting_limit_mgdl=400.0,
    )
    assert json.loads(record_json(glucose))["special"] == "high"
    settings_rec = SettingsSnapshot(
        device_id="d",
        source_index="3",
        device_time=datetime(2024, 1, 1),
        basal_schedules_u_per_h={"Weekday": (ScheduleEntry(start_s=0, value=0.8),)},
    )
    assert record_from_dict(json.loads(record_json(settings_rec))) == settings_rec
