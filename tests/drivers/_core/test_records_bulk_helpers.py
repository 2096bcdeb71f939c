"""The bulk-import helpers of ``drivers._core.records``: ``constructor`` must build
exactly what the dataclass ``__init__`` builds, and ``json_and_time`` must give exactly
``json.dumps`` of the generic dict and ``time_utc.isoformat()`` (what the store wrote
before). Expected values come from the dataclass, ``json.dumps`` and ``isoformat``."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings

from drivers._core.records import (
    RECORD_TYPES,
    GlucoseSample,
    SettingsSnapshot,
    constructor,
    json_and_time,
)
from tests.drivers._core.test_records_fast_paths import _generic_dict, any_record


@settings(max_examples=300, deadline=None)
@given(any_record)
def test_constructor_builds_what_the_dataclass_init_builds(rec: Any) -> None:
    cls = type(rec)
    given_fields = {f.name: getattr(rec, f.name) for f in dataclasses.fields(cls)}
    built = constructor(cls)(**given_fields)
    assert type(built) is cls
    assert built == cls(**given_fields)
    assert _generic_dict(built) == _generic_dict(rec)


@pytest.mark.parametrize("cls", list(RECORD_TYPES.values()))
def test_constructor_defaults_and_required_fields_are_the_dataclass_ones(cls: type) -> None:
    required = {
        f.name: getattr(_EXAMPLE, f.name, None)
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }
    make = constructor(cls)
    assert make(**required) == cls(**required)
    with pytest.raises(TypeError):
        make(**{k: v for k, v in required.items() if k != "device_time"})
    with pytest.raises(TypeError):
        make(**required, no_such_field=1)


_EXAMPLE = GlucoseSample(
    device_id="a:b:c",
    source_index="1",
    device_time=datetime(2024, 1, 1),
    sample_type="cgm",
    glucose_mgdl=100.0,
)


def test_constructor_calls_default_factories_per_record() -> None:
    make = constructor(SettingsSnapshot)
    first = make(device_id="a:b:c", source_index="1", device_time=datetime(2024, 1, 1))
    second = make(device_id="a:b:c", source_index="2", device_time=datetime(2024, 1, 1))
    assert first.basal_schedules_u_per_h == {}
    assert first.basal_schedules_u_per_h is not second.basal_schedules_u_per_h


@settings(max_examples=300, deadline=None)
@given(any_record)
def test_json_and_time_is_the_json_text_and_the_iso_time(rec: Any) -> None:
    payload, iso = json_and_time(type(rec))(rec)
    assert payload == json.dumps(_generic_dict(rec), separators=(",", ":"))
    assert iso == (None if rec.time_utc is None else rec.time_utc.isoformat())


@pytest.mark.parametrize(
    ("time_utc", "iso"),
    [
        (datetime(2024, 3, 31, 1, 30, tzinfo=UTC), "2024-03-31T01:30:00+00:00"),
        (datetime(2024, 3, 31, 1, 30, 0, 250000, tzinfo=UTC), "2024-03-31T01:30:00.250000+00:00"),
        (datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC), "1969-12-31T23:59:59+00:00"),
        (
            datetime(2024, 3, 31, 3, 30, tzinfo=timezone(timedelta(hours=2))),
            "2024-03-31T03:30:00+02:00",
        ),
        (None, None),
    ],
)
def test_json_and_time_writes_utc_and_other_offsets_as_isoformat(
    time_utc: datetime | None, iso: str | None
) -> None:
    rec = dataclasses.replace(_EXAMPLE, time_utc=time_utc)
    payload, got = json_and_time(GlucoseSample)(rec)
    assert got == iso
    assert json.loads(payload)["time_utc"] == iso
