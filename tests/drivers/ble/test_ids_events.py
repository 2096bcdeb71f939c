"""IDD history events added for the bolus calculator, daily totals and time changes:
byte vectors, round trips, and how the normalizer joins and places them.

Vectors: Total Daily Insulin Delivery and Reference Time Base Offset payloads are the
ones in ehealthinnovation/AndroidBLEParser's parser tests
(``TotalDailyInsulinDeliveryEventParserTest``: flags 0b01, bolus 3, basal 4,
2018-12-21; ``ReferenceTimeBaseOffsetEventParserTest``: periodic, 2018-01-02 03:04:05,
offset 3 min); Bolus Calculated uses the amounts of Tidepool's ``MockIDPump``
``loadHistoryEvents`` (recommended 1.1/1.2/1.3/1.4 U), SFLOAT 1.1 U = mantissa 11,
exponent -1 = ``0B F0``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from drivers._core.records import Bolus, DeviceEvent
from drivers._core.timebase import CHANGE_INCOMPLETE
from drivers.ble.date_time import ZonedLocalTime
from drivers.ble.ids import decode as d
from drivers.ble.ids.normalize import normalize
from drivers.ble.sfloat import decode_sfloat, encode_sfloat

H = bytes.fromhex
REF = datetime(2024, 3, 4, 12, 0)


def m(units: float):  # type: ignore[no-untyped-def]
    return decode_sfloat(encode_sfloat(units))


def test_total_daily_insulin_vector() -> None:
    data = H("01 03 00 04 00 E2 07 0C 15")
    assert d.total_daily_data(1, m(3), m(4), date(2018, 12, 21)) == data
    event = d.decode_event(d.encode_event(d.TOTAL_DAILY_INSULIN, 7, 0, data, e2e=False), e2e=False)
    assert (event.num("flags"), event.amount("bolus_u"), event.amount("basal_u")) == (1, 3.0, 4.0)
    assert event.fields["date"] == date(2018, 12, 21)


def test_reference_time_base_offset_vector() -> None:
    data = H("3C E2 07 01 02 03 04 05 03 00")
    assert d.base_offset_data(d.PERIODIC, datetime(2018, 1, 2, 3, 4, 5), 3) == data
    event = d.decode_event(d.encode_event(0x0033, 9, 0, data, e2e=True), e2e=True)
    assert event.fields == {
        "reason": 0x3C,
        "base_time": datetime(2018, 1, 2, 3, 4, 5),
        "offset_min": 3,
    }
    negative = d.decode_event(
        d.encode_event(0x0033, 9, 0, data[:-2] + H("FF FF"), e2e=False), e2e=False
    )
    assert negative.fields["offset_min"] == -1


def test_bolus_calculated_vector() -> None:
    data = d.bolus_calculated_data(m(1.1), m(1.2), m(1.3), m(1.4))
    assert data == H("0B F0 0C F0 0D F0 0E F0")
    event = d.decode_event(H("3C 00 01 00 00 00 00 00") + data, e2e=False)
    assert event.event_type == d.BOLUS_CALCULATED_1
    assert [
        event.amount(k)
        for k in ("fast_meal_u", "fast_correction_u", "extended_meal_u", "extended_correction_u")
    ] == [1.1, 1.2, 1.3, 1.4]


amounts = st.integers(min_value=0, max_value=2045).map(lambda n: n / 100)


@given(st.tuples(amounts, amounts, amounts, amounts))
def test_bolus_calculated_round_trip(values: tuple[float, float, float, float]) -> None:
    data = d.bolus_calculated_data(*(m(v) for v in values))
    event = d.decode_event(d.encode_event(d.BOLUS_CALCULATED_2, 1, 5, data, e2e=True), e2e=True)
    names = ("fast_meal_u", "fast_correction_u", "extended_meal_u", "extended_correction_u")
    assert tuple(event.amount(k) for k in names) == values


# --- normalizer --------------------------------------------------------------------


def ev(kind: int, number: int, offset_s: int, data: bytes) -> d.HistoryEvent:
    return d.decode_event(d.encode_event(kind, number, offset_s, data, e2e=False), e2e=False)


def ref(number: int, offset_s: int, at: datetime, tz: int, dst: int, reason: int) -> d.HistoryEvent:
    return ev(
        d.REFERENCE_TIME,
        number,
        offset_s,
        d.reference_time_data(reason, ZonedLocalTime(at, tz, dst)),
    )


def bolus(number: int, offset_s: int, bolus_id: int, fast: float) -> list[d.HistoryEvent]:
    p1 = d.bolus_part1_data(bolus_id, 0x33, m(fast), m(0), 0)
    return [
        ev(d.BOLUS_PROGRAMMED_1, number, offset_s, p1),
        ev(d.BOLUS_DELIVERED_1, number + 1, offset_s + 60, p1),
    ]


def calc(
    number: int, offset_s: int, rec: tuple[float, float], conf: tuple[float, float]
) -> list[d.HistoryEvent]:
    return [
        ev(
            d.BOLUS_CALCULATED_1,
            number,
            offset_s,
            d.bolus_calculated_data(m(rec[0]), m(rec[1]), m(0), m(0)),
        ),
        ev(
            d.BOLUS_CALCULATED_2,
            number + 1,
            offset_s,
            d.bolus_calculated_data(m(conf[0]), m(conf[1]), m(0), m(0)),
        ),
    ]


def test_calculation_joins_the_bolus_it_confirms() -> None:
    events = [
        ref(1, 0, REF, -360, 0, d.PERIODIC),
        *calc(2, 100, (4.5, 1.25), (4.0, 1.0)),  # user lowered 5.75 -> 5.0
        *bolus(4, 100, 7, 5.0),
        *calc(6, 200, (2.0, 0.0), (2.0, 0.0)),  # confirms 2.0 U, but 3.0 U is programmed
        *bolus(8, 200, 8, 3.0),
    ]
    out = normalize(events, device_id="x", anchor=None)
    first, second = (r for r in out.records if isinstance(r, Bolus))
    assert first.calculation is not None
    c = first.calculation
    assert (c.recommended_food_u, c.recommended_correction_u, c.recommended_total_u) == (
        4.5,
        1.25,
        5.75,
    )
    assert c.user_changed is True and c.carbs_g is None and c.bg_mgdl is None
    assert second.calculation is None and out.meta["calculations_unmatched"] == 1
    assert out.pending_from is None


def test_calculation_at_the_end_of_a_read_waits_for_its_bolus() -> None:
    events = [
        ref(1, 0, REF, 0, 0, d.PERIODIC),
        *bolus(2, 10, 1, 1.0),
        *calc(4, 50, (1.0, 0.0), (1.0, 0.0)),
    ]
    out = normalize(events, device_id="x", anchor=None)
    assert out.pending_from == 4  # the cursor stops before the calculation
    programmed_only = [
        ref(1, 0, REF, 0, 0, d.PERIODIC),
        *calc(2, 50, (1.0, 0.0), (1.0, 0.0)),
        *bolus(4, 50, 1, 1.0)[:1],
    ]
    assert normalize(programmed_only, device_id="x", anchor=None).pending_from == 2


def test_daily_total_is_a_device_event() -> None:
    events = [
        ref(1, 0, REF, 0, 0, d.PERIODIC),
        ev(
            d.TOTAL_DAILY_INSULIN, 2, 60, d.total_daily_data(1, m(12.5), m(20.25), date(2024, 3, 3))
        ),
    ]
    (total,) = normalize(events, device_id="x", anchor=None).records
    assert isinstance(total, DeviceEvent) and total.event_type == "daily-total"
    assert total.detail == "date=2024-03-03;bolus_u=12.5;basal_u=20.25"
    assert total.annotations == ("ids/date-time-changed",)
    assert total.time_utc == datetime(2024, 3, 4, 12, 1, tzinfo=UTC)


def test_time_changes_from_references() -> None:
    events = [
        ref(1, 0, REF, -360, 0, d.PERIODIC),
        # 600 s later the user sets the clock 1 h ahead (UTC reference jumps)
        ref(2, 600, REF + timedelta(seconds=600 + 3600), -360, 0, d.SET_DATE_TIME),
        # periodic reference, consistent: no change
        ref(3, 1200, REF + timedelta(seconds=1800 + 3600), -360, 0, d.PERIODIC),
        # DST starts: zone fields change, the UTC reference continues
        ref(4, 60, REF + timedelta(seconds=1860 + 3600), -360, 60, d.SET_DATE_TIME),
        # battery out: date time loss, offset 0
        ref(5, 0, datetime(2000, 1, 1), 0, 0, d.DATE_TIME_LOSS),
    ]
    out = normalize(events, device_id="x", anchor=None)
    changes = sorted(
        (r for r in out.records if isinstance(r, DeviceEvent)), key=lambda r: int(r.source_index)
    )
    local = REF - timedelta(hours=6)
    assert [(c.time_from, c.time_to, c.detail) for c in changes] == [
        (local + timedelta(seconds=600), local + timedelta(seconds=4200), "clock"),
        (local + timedelta(seconds=5460), local + timedelta(seconds=5460 + 3600), "zone"),
        (None, datetime(2000, 1, 1), "date-time-loss"),
    ]
    assert changes[2].annotations == (CHANGE_INCOMPLETE,)
    assert out.meta["time_changes"] == 3


def test_base_offset_reference_places_events_and_reports_offset_changes() -> None:
    base = datetime(2024, 3, 4, 12, 0)
    events = [
        ev(0x0033, 1, 0, d.base_offset_data(d.PERIODIC, base, 60)),
        *bolus(2, 30, 1, 1.0),
        ev(0x0033, 4, 100, d.base_offset_data(d.SET_DATE_TIME, base + timedelta(seconds=100), 120)),
    ]
    out = normalize(events, device_id="x", anchor=None)
    (b,) = (r for r in out.records if isinstance(r, Bolus))
    assert b.time_utc == datetime(2024, 3, 4, 12, 0, 30, tzinfo=UTC) and b.utc_offset_s == 3600
    (change,) = (r for r in out.records if isinstance(r, DeviceEvent))
    assert (change.time_from, change.time_to) == (
        datetime(2024, 3, 4, 13, 1, 40),
        datetime(2024, 3, 4, 14, 1, 40),
    )


@given(
    st.sampled_from([0x0033, d.BOLUS_CALCULATED_1, d.BOLUS_CALCULATED_2, d.TOTAL_DAILY_INSULIN]),
    st.binary(max_size=14),
)
def test_garbage_payloads_of_the_new_events_raise_only_protocol_errors(
    kind: int, payload: bytes
) -> None:
    from drivers._core.errors import ProtocolError

    try:
        event = d.decode_event(d.encode_event(kind, 1, 0, payload, e2e=False), e2e=False)
    except ProtocolError:
        return
    normalize([ref(0, 0, REF, 0, 0, d.PERIODIC), event], device_id="x", anchor=None)
