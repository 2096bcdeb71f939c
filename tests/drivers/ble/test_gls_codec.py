"""Glucose Service codecs: worked examples byte for byte, round trips, normalization."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers._core.errors import DecodeError
from drivers._core.records import Activity, Food, GlucoseSample
from drivers.ble.gls import messages
from drivers.ble.gls.decode import (
    GlucoseContext,
    GlucoseMeasurement,
    decode_context,
    decode_measurement,
    encode_context,
    encode_measurement,
)
from drivers.ble.gls.normalize import to_records
from drivers.ble.sfloat import decode_sfloat, sfloat_parts

H = bytes.fromhex
EXAMPLE_A = H("03 01 00 E8 07 03 0F 08 1E 00 00 00 5F B0 11")
EXAMPLE_B = H("0F 2A 00 E8 07 03 0F 08 1E 00 3C 00 35 C0 11 01 00")
NORDIC_C = H("1B 01 00 E3 07 02 1B 0B 0A 1E FB FF 1E 00 12 05 01")
CONTEXT = H("5F 2A 00 01 32 D0 01 51 08 07 3C 01 05 A0 3E F0")


def test_example_a_kg_per_litre() -> None:
    # protocols.md section 4.2 worked example A: seq 1, 2024-03-15 08:30, 95 mg/dL (5F B0).
    m = decode_measurement(EXAMPLE_A)
    assert (m.sequence, m.base_time, m.time_offset_min) == (1, datetime(2024, 3, 15, 8, 30), 0)
    assert (m.sample_type, m.location, m.molar) == (1, 1, False)
    [sample] = to_records(m, None, device_id="x")
    assert isinstance(sample, GlucoseSample) and sample.glucose_mgdl == pytest.approx(95.0)
    assert encode_measurement(m) == EXAMPLE_A


def test_example_b_mol_per_litre_with_status() -> None:
    # Worked example B: seq 42, offset +60 min, 5.3 mmol/L (35 C0), status battery low.
    m = decode_measurement(EXAMPLE_B)
    [sample] = to_records(m, None, device_id="x")
    assert sample.device_time == datetime(2024, 3, 15, 9, 30)
    assert sample.glucose_mgdl == pytest.approx(5.3 * 18.01559, abs=1e-3)  # type: ignore[attr-defined]
    assert "smbg/battery-low" in sample.annotations
    assert encode_measurement(m) == EXAMPLE_B


def test_nordic_measurement_vector_negative_offset_and_context_flag() -> None:
    # NordicSemiconductor/Android-BLE-Common-Library GlucoseMeasurementDataCallbackTest.
    m = decode_measurement(NORDIC_C)
    assert (m.sequence, m.base_time, m.time_offset_min) == (
        1,
        datetime(2019, 2, 27, 11, 10, 30),
        -5,
    )
    assert (m.status, m.context_follows, m.sample_type, m.location) == (0x0105, True, 2, 1)
    assert encode_measurement(m) == NORDIC_C


def test_context_example() -> None:
    # protocols.md section 4.3 worked example: breakfast 50 g, preprandial, self / no issues,
    # 1800 s at 60 %, rapid-acting insulin 5 mg, HbA1c 6.2 %.
    c = decode_context(CONTEXT)
    assert (c.sequence, c.carb_id, c.meal, c.tester, c.health) == (42, 1, 1, 1, 5)
    assert c.carbs_kg is not None and c.carbs_kg.value == pytest.approx(0.05)
    assert (c.exercise_s, c.exercise_percent, c.medication_id) == (1800, 60, 1)
    assert c.hba1c_percent is not None and c.hba1c_percent.value == pytest.approx(6.2)
    assert encode_context(c) == CONTEXT
    m = decode_measurement(EXAMPLE_A)
    records = to_records(m, c, device_id="x")
    food = next(r for r in records if isinstance(r, Food))
    activity = next(r for r in records if isinstance(r, Activity))
    assert food.carbs_g == 50.0 and activity.duration_s == 1800 and activity.intensity == "60%"
    assert {"smbg/meal-preprandial", "smbg/medication-rapid-acting", "smbg/hba1c"} <= set(
        records[0].annotations
    )


def test_high_status_is_a_special_never_a_number() -> None:
    m = GlucoseMeasurement(
        3,
        datetime(2024, 1, 1),
        0,
        decode_sfloat(sfloat_parts(600, -5)),
        status=messages.STATUS_HIGH,
    )
    [sample] = to_records(m, None, device_id="x")
    assert isinstance(sample, GlucoseSample)
    assert (sample.glucose_mgdl, sample.special, sample.reporting_limit_mgdl) == (
        None,
        "high",
        600.0,
    )


def test_feature_and_short_values() -> None:
    assert messages.decode_feature(H("FF 03")) == 0x03FF  # bits 0-9, single bond
    with pytest.raises(DecodeError):
        messages.decode_feature(H("FF"))
    with pytest.raises(DecodeError):
        decode_measurement(EXAMPLE_A[:12])
    with pytest.raises(DecodeError):
        decode_context(CONTEXT[:-1])


_sf = st.builds(
    lambda m, e: decode_sfloat(sfloat_parts(m, e)), st.integers(-2045, 2045), st.integers(-8, 7)
)
_dt = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 1, 1)).map(
    lambda d: d.replace(microsecond=0)
)


@given(
    st.integers(0, 0xFFFF),
    _dt,
    st.one_of(st.none(), st.integers(-32768, 32767)),
    st.one_of(st.none(), _sf),
    st.booleans(),
    st.integers(0, 15),
    st.integers(0, 15),
    st.one_of(st.none(), st.integers(0, 0xFFFF)),
    st.booleans(),
)
def test_measurement_round_trip(
    seq: int,
    base: datetime,
    offset: int | None,
    conc: object,
    molar: bool,
    kind: int,
    loc: int,
    status: int | None,
    ctx: bool,
) -> None:
    m = GlucoseMeasurement(
        seq,
        base,
        offset,
        conc,
        molar,
        kind if conc else 0,
        loc if conc else 0,  # type: ignore[arg-type]
        status,
        ctx,
    )
    assert decode_measurement(encode_measurement(m)) == m


@given(
    st.integers(0, 0xFFFF),
    st.one_of(st.none(), st.integers(0, 255)),
    st.one_of(st.none(), st.tuples(st.integers(1, 7), _sf)),
    st.one_of(st.none(), st.integers(1, 5)),
    st.one_of(st.none(), st.tuples(st.integers(1, 15), st.integers(1, 15))),
    st.one_of(st.none(), st.tuples(st.integers(0, 0xFFFF), st.integers(0, 100))),
    st.one_of(st.none(), st.tuples(st.integers(1, 5), _sf, st.booleans())),
    st.one_of(st.none(), _sf),
)
def test_context_round_trip(
    seq: int,
    ext: int | None,
    carbs: tuple | None,
    meal: int | None,
    th: tuple | None,  # type: ignore[type-arg]
    ex: tuple | None,
    med: tuple | None,
    hba1c: object,  # type: ignore[type-arg]
) -> None:
    c = GlucoseContext(
        seq,
        ext,
        carbs[0] if carbs else None,
        carbs[1] if carbs else None,
        meal,
        th[0] if th else None,
        th[1] if th else None,
        ex[0] if ex else None,
        ex[1] if ex else None,
        med[0] if med else None,
        med[1] if med else None,
        med[2] if med else False,
        hba1c,  # type: ignore[arg-type]
    )
    assert decode_context(encode_context(c)) == c
