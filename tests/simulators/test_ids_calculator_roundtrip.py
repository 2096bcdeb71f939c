"""Scenario -> virtual IDS pump -> IdsReader -> records: bolus calculator, daily totals
and time changes come back.

Scenario: ``missed_boluses`` (seed 4), 7 days in America/Chicago from 2024-03-04, so
the pump crosses the US spring-forward (2024-03-10 08:00 UTC, 02:00 CST -> 03:00 CDT).
Two clock changes are planted: the user sets the pump 10 minutes ahead on 2024-03-05 at
09:00 CST and back on 2024-03-07 at 09:10 (pump clock).

What the IDS format can carry (firmware-notes/ble-ids.md): Bolus Calculated holds the
recommended and confirmed amounts as SFLOAT IU (sent with 0.01 U resolution up to
20.45 U, 0.1 U above), split meal/correction and fast/extended. It has no carbs, BG,
ratios, targets or IOB, so those come back as None, and its correction part is the
recommendation less the food part (net of IOB and the pump's rounding).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from drivers._core.capabilities import HistoryBatch
from drivers._core.records import Bolus, DeviceEvent, Record
from drivers._core.timebase import SOURCE_UTC, resolve_times
from drivers.ble.ids.session import IdsReader
from gateway.analyze.insulin import patient_insulin
from simulators.ble import from_scenario as ble
from simulators.ble.backend import Air
from simulators.patient.presets import preset
from simulators.patient.scenario import Scenario
from tests.drivers.ble.helpers import FAST, run

TZ, START, DAYS = "America/Chicago", date(2024, 3, 4), 7
CST = timedelta(hours=-6)
SET_AHEAD_UTC = datetime(2024, 3, 5, 15, 0, tzinfo=UTC)  # 09:00 CST
SET_BACK_UTC = datetime(2024, 3, 7, 15, 0, tzinfo=UTC)  # 09:00 CST, 09:10 on the pump
AHEAD = timedelta(minutes=10)


def _sfloat_tolerance(units: float) -> float:
    """Half a step of the SFLOAT the amount travels in (0.01 U below 20.45 U)."""
    return 0.0051 if units <= 20.45 else 0.051


def _clock_change(sc: Scenario, at: datetime, wall_from: datetime, shift: timedelta) -> DeviceEvent:
    return DeviceEvent(
        device_id=sc.pump_id,
        source_index=f"clock:{at.isoformat()}",
        device_time=wall_from + shift,
        time_utc=at,
        utc_offset_s=int(CST.total_seconds()),
        event_type="time-change",
        time_from=wall_from,
        time_to=wall_from + shift,
    )


@pytest.fixture(scope="module")
def sc() -> Scenario:
    return Scenario(preset("missed_boluses"), days=DAYS, seed=4, tz=TZ, start=START)


@pytest.fixture(scope="module")
def planted(sc: Scenario) -> list[DeviceEvent]:
    ahead_wall = (SET_AHEAD_UTC + CST).replace(tzinfo=None)
    back_wall = (SET_BACK_UTC + CST).replace(tzinfo=None) + AHEAD
    return [
        _clock_change(sc, SET_AHEAD_UTC, ahead_wall, AHEAD),
        _clock_change(sc, SET_BACK_UTC, back_wall, -AHEAD),
    ]


@pytest.fixture(scope="module")
def batch(sc: Scenario, planted: list[DeviceEvent]) -> HistoryBatch:
    pump = ble.virtual_pump(sc, records=[*ble.pump_records(sc), *planted])
    reader = IdsReader(pump.address, backend=Air([pump]).client_backend(), options=FAST)
    return run(reader.read_history())


def _boluses(records: list[Record] | tuple[Record, ...]) -> list[Bolus]:
    return sorted((r for r in records if isinstance(r, Bolus)), key=lambda b: b.source_index)


def test_every_calculator_bolus_brings_back_its_recommendation(
    sc: Scenario, batch: HistoryBatch
) -> None:
    truth = sorted(
        (r for r in ble.pump_records(sc) if isinstance(r, Bolus)),
        key=lambda b: b.time_utc or datetime.min.replace(tzinfo=UTC),
    )
    got = sorted(
        _boluses(batch.records), key=lambda b: int(b.source_index)
    )  # record order = time order on the pump
    assert len(got) == len(truth) > 20
    assert batch.meta["calculations_unmatched"] == 0
    for want, have in zip(truth, got, strict=True):
        assert want.calculation is not None and have.calculation is not None
        w, h = want.calculation, have.calculation
        assert have.programmed_u == pytest.approx(want.programmed_u, abs=0.011)
        food, total = w.recommended_food_u or 0.0, w.recommended_total_u or 0.0
        assert h.recommended_food_u == pytest.approx(food, abs=_sfloat_tolerance(food))
        assert h.recommended_total_u == pytest.approx(total, abs=_sfloat_tolerance(total) * 2)
        # IDS's correction part is what the recommendation adds to the food part (net of
        # IOB and rounding), not the scenario's gross correction
        assert h.recommended_correction_u == pytest.approx(
            total - food, abs=_sfloat_tolerance(total) * 2
        )
        if abs(want.programmed_u - (w.recommended_total_u or 0.0)) >= 0.02:
            assert h.user_changed is True
        elif w.user_changed is False:
            assert h.user_changed is False
        # not in the IDS history: never invented
        assert (h.carbs_g, h.bg_mgdl, h.iob_u, h.carb_ratio_g_per_u) == (None, None, None, None)
    assert sum(1 for b in got if b.calculation and b.calculation.recommended_food_u) > 10
    assert sum(1 for b in got if b.calculation and b.calculation.recommended_correction_u) > 3


def test_planted_override_rate_is_visible_through_the_insulin_analysis(
    sc: Scenario, batch: HistoryBatch
) -> None:
    boluses = _boluses(batch.records)
    start = datetime.combine(START, datetime.min.time(), tzinfo=UTC) - CST
    m = patient_insulin(batch.records, start=start, end=start + timedelta(days=DAYS))
    measured = (m["override_pct"] or 0.0) + (m["underride_pct"] or 0.0)
    assert sc.truth.override_rate > 0.05
    assert measured == pytest.approx(100 * sc.truth.override_rate, abs=3.0)
    assert m["calculator_use_pct"] == pytest.approx(100.0)
    changed = sum(1 for b in boluses if b.calculation and b.calculation.user_changed)
    assert changed / len(boluses) == pytest.approx(sc.truth.override_rate, abs=0.03)


def test_daily_totals_equal_the_delivered_insulin_per_day(
    sc: Scenario, batch: HistoryBatch
) -> None:
    totals = [
        r for r in batch.records if isinstance(r, DeviceEvent) and r.event_type == "daily-total"
    ]
    by_day: dict[str, float] = {}
    for b in ble.pump_records(sc):
        if isinstance(b, Bolus) and b.time_utc is not None:
            key = str(b.time_utc.date())
            by_day[key] = by_day.get(key, 0.0) + b.delivered_u
    parsed = [dict(kv.split("=") for kv in (t.detail or "").split(";")) for t in totals]
    # one total per UTC day the pump ran (7 local days span 8 UTC dates)
    assert [p["date"] for p in parsed] == [str(date(2024, 3, 4 + i)) for i in range(8)]
    assert set(by_day) <= {p["date"] for p in parsed}
    for p in parsed:
        want = by_day.get(p["date"], 0.0)
        assert float(p["bolus_u"]) == pytest.approx(want, abs=_sfloat_tolerance(want) + 0.01)
        assert float(p["basal_u"]) > 0
    assert batch.meta["total_daily_insulin"] == [
        {"date": p["date"], "bolus_u": float(p["bolus_u"]), "basal_u": float(p["basal_u"])}
        for p in parsed
    ]


def test_clock_and_zone_changes_come_back_as_time_changes(
    batch: HistoryBatch, planted: list[DeviceEvent]
) -> None:
    changes = [
        r for r in batch.records if isinstance(r, DeviceEvent) and r.event_type == "time-change"
    ]
    got = [(c.time_from, c.time_to, c.detail) for c in changes]
    dst_from = datetime(2024, 3, 10, 2, 0)  # the first pump event after 08:00 UTC
    assert [(p.time_from, p.time_to, "clock") for p in planted] == got[:2]
    assert len(got) == 3 and got[2][2] == "zone"
    zone_from, zone_to, _ = got[2]
    assert zone_from is not None and zone_to is not None
    assert zone_to - zone_from == timedelta(hours=1) and zone_from >= dst_from
    assert changes[2].utc_offset_s == -5 * 3600
    # between the two planted changes the pump's clock ran 10 minutes ahead
    inside = [
        b
        for b in _boluses(batch.records)
        if changes[0].time_utc
        and changes[1].time_utc
        and changes[0].time_utc < b.time_utc < changes[1].time_utc  # type: ignore[operator]
    ]
    assert inside
    # the time base keeps the pump-stated events and their clock fields
    resolved = [
        r
        for r in resolve_times(batch.records, TZ)
        if isinstance(r, DeviceEvent) and r.event_type == "time-change"
    ]
    assert [(r.time_from, r.time_to, r.time_reason) for r in resolved] == [
        (f, t, SOURCE_UTC) for f, t, _ in got
    ]
