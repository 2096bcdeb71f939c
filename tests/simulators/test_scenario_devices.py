"""Synthetic patient -> virtual devices -> drivers -> records == the scenario's truth.

Scenarios: 14 days in America/Chicago from 2024-03-04, so every device crosses the US
spring-forward on 2024-03-10 08:00 UTC, and two sensor sessions. ``new_pump_start``
(seed 3) plants temp basals and many fingersticks; ``frequent_lows`` (seed 4) plants
sensor Lows and ``missed_boluses`` (seed 4) sensor Highs.

Resolutions: CGMS glucose is an SFLOAT (12-bit mantissa, so integer mg/dL up to 2047
are exact; the scenario's readings are integers) and time a uint16 minute offset;
GLS glucose is kg/L with exponent -5 (1 mg/dL), carbs kg with exponent -3 (1 g); IDS
amounts are SFLOATs sent with 0.01 U resolution; the Dexcom receiver stores integer
mg/dL and whole seconds.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from drivers._core.records import BasalSegment, Bolus, DeviceEvent, Food, GlucoseSample, Record
from drivers.ble import racp, uuids
from drivers.ble.cgms.session import CgmsReader
from drivers.ble.gls.session import GlsReader
from drivers.ble.ids.session import IdsReader
from drivers.cgm.dexcom_receiver import DexcomReceiver, TransferInterrupted
from simulators.ble import from_scenario as ble
from simulators.ble.backend import Air
from simulators.ble.gatt import Faults
from simulators.ble.pump import VirtualPump
from simulators.cgm import from_scenario as rx
from simulators.cgm.dexcom_receiver import G4, G6, Fault, VirtualReceiver
from simulators.patient.presets import preset
from simulators.patient.scenario import Scenario
from tests.drivers.ble.helpers import FAST, run

TZ, START, DAYS = "America/Chicago", date(2024, 3, 4), 14
DST_UTC = datetime(2024, 3, 10, 8, 0, tzinfo=UTC)
CUT_UTC = datetime(2024, 3, 11, 6, 0, tzinfo=UTC)  # day 7: "read the devices now"
BASAL_TOLERANCE_U = 0.05


def _scenario(name: str, seed: int) -> Scenario:
    return Scenario(preset(name), days=DAYS, seed=seed, tz=TZ, start=START)


@pytest.fixture(scope="module")
def sc() -> Scenario:
    return _scenario("new_pump_start", 3)


SPECIAL_SCENARIOS = {"lows": ("frequent_lows", 4), "highs": ("missed_boluses", 4)}


def _utc(t: np.datetime64) -> datetime:
    return datetime.fromtimestamp(int(t.astype("datetime64[s]").astype(np.int64)), UTC)


def truth_cgm(sc: Scenario) -> dict[datetime, tuple[float | None, str | None]]:
    """Every reading the sensor gave, from the truth grid (NaN = no reading)."""
    t = sc.truth
    out: dict[datetime, tuple[float | None, str | None]] = {}
    for k in np.flatnonzero(~np.isnan(t.cgm_mgdl)):
        special = "low" if t.cgm_low[k] else "high" if t.cgm_high[k] else None
        out[_utc(t.time_utc[k])] = (None if special else float(t.cgm_mgdl[k]), special)
    return out


def _at(r: Record) -> datetime:
    assert r.time_utc is not None
    return r.time_utc


def _cgm(records: Sequence[Record]) -> list[GlucoseSample]:
    return [r for r in records if isinstance(r, GlucoseSample) and r.sample_type == "cgm"]


# --------------------------------------------------------------------------- BLE CGM


def read_cgms(sc: Scenario, **kw: object) -> list[GlucoseSample]:
    cgms = ble.virtual_cgms(sc, **kw)  # type: ignore[arg-type]
    air = Air(cgms)
    out: list[GlucoseSample] = []
    for cgm in cgms:
        batch = run(
            CgmsReader(cgm.address, backend=air.client_backend(), options=FAST).read_history()
        )
        out += _cgm(batch.records)
        assert cgm.violations == [] and {u for u, _ in cgm.writes} == {uuids.RACP}
    return out


@pytest.mark.parametrize("which", ["pump_start", "lows", "highs"])
def test_ble_cgm_every_reading_and_gap_as_in_the_truth(sc: Scenario, which: str) -> None:
    scen = sc if which == "pump_start" else _scenario(*SPECIAL_SCENARIOS[which])
    got = read_cgms(scen)
    expected = truth_cgm(scen)
    assert len(got) == len(expected) == len({r.dedup_key for r in got})
    assert {r.time_utc: (r.glucose_mgdl, r.special) for r in got} == expected  # exact
    assert {r.device_id for r in got} == {scen.cgm_id}
    specials = Counter(str(r.special) for r in got)
    assert specials["low"] == int(scen.truth.cgm_low.sum())
    assert specials["high"] == int(scen.truth.cgm_high.sum())
    if which != "pump_start":
        assert specials[which[:-1]] > 0
        special = next(r for r in got if r.special)
        # CGMS: +-INF with the annunciation; no field for the 40/400 reporting limit
        assert special.reporting_limit_mgdl is None
        assert f"cgm/{special.special}-out-of-range" in special.annotations
    # gaps: warm-up after each sensor start, dropouts; none of them is filled
    sessions = ble.sensor_sessions(scen)
    assert len(sessions) == scen.truth.sensor_sessions == 2
    warmup = timedelta(minutes=scen.patient.sensor.warmup_min)
    for s in sessions:
        first = min(r.time_utc for r in s.samples if r.time_utc)
        assert first - s.start_utc >= warmup
    slots = len(scen.truth.cgm_mgdl)
    assert slots - len(got) >= scen.truth.warmup_slots + scen.truth.dropout_slots


def test_ble_cgm_time_across_dst(sc: Scenario) -> None:
    """time_utc is exact; device_time is session start + offset, so after the DST change
    inside a session it stays on the session's zone (finding, see report)."""
    got = {r.time_utc: r for r in read_cgms(sc)}
    scen = {r.time_utc: r for r in _cgm(sc.records)}
    assert got.keys() == scen.keys()
    first_session = ble.sensor_sessions(sc)[0]
    shifted = [t for t in got if got[t].device_time != scen[t].device_time]
    expected_shifted = [
        r.time_utc
        for r in first_session.samples
        if r.time_utc and r.time_utc >= DST_UTC and first_session.start_utc < DST_UTC
    ]
    assert sorted(shifted) == sorted(expected_shifted) and shifted  # type: ignore[type-var]
    assert all(scen[t].device_time - got[t].device_time == timedelta(hours=1) for t in shifted)


def test_ble_cgm_incremental_read_after_the_scenario_grows(sc: Scenario) -> None:
    [cgm] = ble.virtual_cgms(sc, until_utc=CUT_UTC)  # the second sensor starts later
    air = Air([cgm])
    reader = CgmsReader(cgm.address, backend=air.client_backend(), options=FAST)
    first = run(reader.read_history())
    session = ble.sensor_sessions(sc)[0]
    added = ble.grow_cgm(cgm, sc, until_utc=datetime(2024, 3, 31, tzinfo=UTC))
    second = run(reader.read_history(first.cursor))
    third = run(reader.read_history(second.cursor))
    old = [_at(r) for r in _cgm(first.records)]
    new = [_at(r) for r in _cgm(second.records)]
    assert added == len(new) > 0
    assert max(old) <= CUT_UTC < min(new)
    assert old + new == [s.time_utc for s in session.samples]
    assert third.records == []


def test_ble_cgm_disconnect_mid_transfer_resumes_without_duplicates(sc: Scenario) -> None:
    clean = read_cgms(sc)
    faulty = read_cgms(sc, faults=Faults(disconnect_after=700))
    assert [(r.time_utc, r.glucose_mgdl) for r in faulty] == [
        (r.time_utc, r.glucose_mgdl) for r in clean
    ]
    assert len({r.dedup_key for r in faulty}) == len(faulty)


# --------------------------------------------------------------------------- BLE meter


def _gls(
    records: Sequence[Record],
) -> tuple[list[tuple[int, datetime, float | None]], dict[int, float | None]]:
    samples = [
        (int(r.source_index.split("@")[0]), r.device_time, r.glucose_mgdl)
        for r in records
        if isinstance(r, GlucoseSample)
    ]
    carbs = {int(r.source_index.split("@")[0]): r.carbs_g for r in records if isinstance(r, Food)}
    return samples, carbs


def test_ble_meter_every_fingerstick_with_value_time_sequence_and_carbs(sc: Scenario) -> None:
    meter = ble.virtual_meter(sc)
    batch = run(
        GlsReader(meter.address, backend=Air([meter]).client_backend(), options=FAST).read_history()
    )
    samples, carbs = _gls(batch.records)
    sticks = ble.fingersticks(sc)
    assert len(sticks) == sc.truth.fingersticks == 55
    assert samples == [(i + 1, s.device_time, s.glucose_mgdl) for i, s in enumerate(sticks)]
    meal = ble.meal_carbs(sc)
    expected_carbs = {
        i + 1: float(round(meal[s.time_utc])) for i, s in enumerate(sticks) if s.time_utc in meal
    }
    assert carbs == expected_carbs and len(carbs) > 0  # the meal-time fingersticks
    assert meter.violations == []


def test_ble_meter_incremental_by_sequence_number(sc: Scenario) -> None:
    meter = ble.virtual_meter(sc, until_utc=CUT_UTC)
    reader = GlsReader(meter.address, backend=Air([meter]).client_backend(), options=FAST)
    first = run(reader.read_history())
    added = ble.grow_meter(meter, sc, until_utc=datetime(2024, 4, 1, tzinfo=UTC))
    second = run(reader.read_history(first.cursor))
    old, _ = _gls(first.records)
    new, _ = _gls(second.records)
    assert added == len(new) > 0 and len(old) > 0
    assert [s for s, _, _ in old + new] == list(range(1, sc.truth.fingersticks + 1))
    assert second.cursor is not None and second.cursor.value == f"gls/1;seq={sc.truth.fingersticks}"


# --------------------------------------------------------------------------- BLE pump


def _read_pump(sc: Scenario, **kw: object) -> tuple[Sequence[Record], dict[str, Any], VirtualPump]:
    pump = ble.virtual_pump(sc, **kw)  # type: ignore[arg-type]
    reader = IdsReader(pump.address, backend=Air([pump]).client_backend(), options=FAST)
    batch = run(reader.read_history())
    run(reader.read_status())
    return batch.records, batch.meta, pump


def basal_by_day(records: Sequence[Record], end_utc: datetime, zone: ZoneInfo) -> dict[date, float]:
    """Insulin (U) by local day: scheduled segments (an open last one runs to
    ``end_utc``), with temp segments replacing the scheduled rate where they run."""
    edges: list[tuple[datetime, datetime, float, bool]] = []
    for r in records:
        if isinstance(r, BasalSegment) and r.time_utc is not None:
            end = r.time_utc + timedelta(seconds=r.duration_s) if r.duration_s else end_utc
            edges.append((r.time_utc, end, r.rate_u_per_h, r.basal_type == "temp"))
    cuts = sorted({t for a, b, _, _ in edges for t in (a, b)})
    out: dict[date, float] = {}
    for a, b in itertools.pairwise(cuts):
        live = [(temp, rate) for s, e, rate, temp in edges if s <= a and b <= e]
        if not live:
            continue
        rate = max(live)[1]  # a temp wins over the scheduled rate
        t = a
        while t < b:  # split at local midnights
            local = t.astimezone(zone)
            midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), zone)
            step = min(b, midnight.astimezone(UTC))
            out[local.date()] = (
                out.get(local.date(), 0.0) + rate * (step - t).total_seconds() / 3600
            )
            t = step
    return out


def test_ble_pump_boluses_basal_temps_and_events(sc: Scenario) -> None:
    got, meta, pump = _read_pump(sc)
    truth = sc.truth
    want = ble.pump_records(sc)
    # boluses: programmed and delivered, time (UTC and local across the DST change)
    boluses = [r for r in got if isinstance(r, Bolus)]
    planted = [r for r in want if isinstance(r, Bolus)]
    assert len(boluses) == truth.meal_boluses + truth.correction_boluses == len(planted)
    # amounts: the scenario's 0.05 U increments are exact in an SFLOAT of 0.01 U
    assert [(b.time_utc, b.device_time, b.programmed_u, b.delivered_u) for b in boluses] == [
        (b.time_utc, b.device_time, b.programmed_u, b.delivered_u) for b in planted
    ]
    assert {r.device_id for r in got} == {sc.pump_id}
    # temp basals: start, duration, percent exact; the rate of a relative TBR is the
    # driver's scheduled x percent, while the pump delivers it rounded to its 0.05 U/h
    # increment (finding: 0.36 vs 0.35 U/h for 50 % of 0.72)
    temps = [r for r in got if isinstance(r, BasalSegment) and r.basal_type == "temp"]
    planted_temps = [r for r in want if isinstance(r, BasalSegment) and r.basal_type == "temp"]
    assert [(r.time_utc, r.duration_s, r.percent) for r in temps] == [
        (r.time_utc, r.duration_s, r.percent) for r in planted_temps
    ]
    assert len(temps) >= truth.temp_basals == 2
    assert [r.rate_u_per_h for r in temps] == pytest.approx(
        [r.rate_u_per_h for r in planted_temps], abs=0.025
    )
    assert [r.rate_u_per_h for r in temps] != [r.rate_u_per_h for r in planted_temps]
    # basal delivered per local day within 0.05 U
    segments = [r for r in want if isinstance(r, BasalSegment)]
    end = max(_at(r) + timedelta(seconds=r.duration_s or 0) for r in segments)
    zone = ZoneInfo(TZ)
    expected = basal_by_day(want, end, zone)
    assert sum(expected.values()) == pytest.approx(truth.basal_insulin_u, abs=1e-6)
    measured = basal_by_day(got, end, zone)
    assert measured.keys() == expected.keys()
    for day in expected:
        assert measured[day] == pytest.approx(expected[day], abs=BASAL_TOLERANCE_U), day
    # site and reservoir events: tubing + cannula primes at each site change
    kinds = Counter(r.event_type for r in got if isinstance(r, DeviceEvent))
    assert kinds["prime"] == 2 * truth.n_site_changes
    assert kinds["reservoir-change"] == truth.cartridge_changes
    assert kinds["suspend"] == kinds["resume"] == 0  # the scenario plants no suspend
    assert "site-change" not in kinds  # IDD has no site-change event (finding)
    # the pump's own daily totals add up to what the scenario delivered; an SFLOAT
    # carries 0.01 U up to 20.47 U and 0.1 U above (12-bit mantissa): +-0.05 U a day
    tdd = meta["total_daily_insulin"]
    assert isinstance(tdd, list) and len(tdd) == DAYS + 1  # UTC days
    bolus_sum, basal_sum = sum(d["bolus_u"] for d in tdd), sum(d["basal_u"] for d in tdd)
    assert bolus_sum == pytest.approx(truth.bolus_insulin_u, abs=0.05 * len(tdd))
    assert basal_sum == pytest.approx(truth.basal_insulin_u, abs=0.05 * len(tdd))
    # read-only: only the IDD RACP was written, with read-only op codes
    assert {u for u, _ in pump.writes} == {uuids.IDD_RACP} and pump.violations == []
    assert {data[0] for _, data in pump.writes} <= {racp.IDD.ops[op] for op in racp.READ_ONLY_OPS}


def test_ble_pump_planted_suspend_comes_back(sc: Scenario) -> None:
    at = datetime(2024, 3, 12, 15, 0, tzinfo=UTC)
    local = at.astimezone(ZoneInfo(TZ))
    suspend = BasalSegment(
        device_id=sc.pump_id,
        source_index="planted-suspend",
        device_time=local.replace(tzinfo=None),
        time_utc=at,
        utc_offset_s=int(local.utcoffset().total_seconds()),  # type: ignore[union-attr]
        basal_type="suspend",
        rate_u_per_h=0.0,
        duration_s=1800,
    )
    records = sorted([*ble.pump_records(sc), suspend], key=lambda r: r.time_utc)  # type: ignore[arg-type,return-value]
    got, _, _ = _read_pump(sc, records=records)
    events = [
        (r.event_type, r.time_utc, r.device_time)
        for r in got
        if isinstance(r, DeviceEvent) and r.event_type in ("suspend", "resume")
    ]
    assert events == [
        ("suspend", at, local.replace(tzinfo=None)),
        (
            "resume",
            at + timedelta(minutes=30),
            (local + timedelta(minutes=30)).replace(tzinfo=None),
        ),
    ]


def test_ble_pump_incremental_and_resume_after_disconnect(sc: Scenario) -> None:
    pump = ble.virtual_pump(sc, until_utc=CUT_UTC, faults=Faults(disconnect_after=150))
    reader = IdsReader(pump.address, backend=Air([pump]).client_backend(), options=FAST)
    first = run(reader.read_history())
    assert first.meta["retries"] == 1
    ble.grow_pump(pump, sc, after_utc=CUT_UTC, until_utc=datetime(2024, 4, 1, tzinfo=UTC))
    second = run(reader.read_history(first.cursor))
    both = [*first.records, *second.records]
    assert len({r.dedup_key for r in both}) == len(both)
    boluses = [r.time_utc for r in both if isinstance(r, Bolus)]
    assert boluses == [r.time_utc for r in ble.pump_records(sc) if isinstance(r, Bolus)]
    # the second read holds the boluses written after the cut, and the one whose
    # delivery (2 min after programming) was still pending at the cut
    pending_from = CUT_UTC - timedelta(minutes=2)
    assert [r.time_utc for r in second.records if isinstance(r, Bolus)] == [
        t for t in boluses if t is not None and t > pending_from
    ]


# --------------------------------------------------------------------------- Dexcom receiver


def _dexcom_keys(records: Sequence[Record]) -> list[tuple[object, ...]]:
    return sorted(
        (r.sample_type, r.device_time, r.glucose_mgdl, r.special, r.reporting_limit_mgdl)
        for r in records
        if isinstance(r, GlucoseSample)
    )


@pytest.mark.parametrize("which", ["pump_start", "lows", "highs"])
def test_dexcom_receiver_round_trip(sc: Scenario, which: str) -> None:
    scen = sc if which == "pump_start" else _scenario(*SPECIAL_SCENARIOS[which])
    db = rx.receiver_database(scen, G6 if which != "highs" else G4)
    with VirtualReceiver(db) as virtual, DexcomReceiver(virtual.port) as receiver:
        batch = receiver.read_history()
    assert virtual.violations == []
    want = rx.receiver_records(scen)
    assert _dexcom_keys(batch.records) == _dexcom_keys(want)  # display time, mg/dL, specials
    assert len({r.dedup_key for r in batch.records}) == len(batch.records)
    assert len(_cgm(batch.records)) == len(truth_cgm(scen))
    cal = [
        r for r in batch.records if isinstance(r, GlucoseSample) and r.sample_type == "calibration"
    ]
    assert len(cal) == scen.truth.calibrations
    events = [(r.event_type, r.device_time) for r in batch.records if isinstance(r, DeviceEvent)]
    sensor = [e for e in events if e[0].startswith("sensor")]
    assert sensor == [(r.event_type, r.device_time) for r in want if isinstance(r, DeviceEvent)]
    [change] = [
        r for r in batch.records if isinstance(r, DeviceEvent) and r.event_type == "time-change"
    ]
    assert change.time_to is not None and change.time_from is not None
    assert change.time_to - change.time_from == timedelta(hours=1)  # spring forward
    assert datetime(2024, 3, 10, 3, 0) <= change.device_time < datetime(2024, 3, 10, 4, 0)


def test_dexcom_receiver_incremental_and_disconnect_resume(sc: Scenario) -> None:
    db = rx.receiver_database(sc, G6, until_utc=CUT_UTC)
    virtual = VirtualReceiver(db, faults=[Fault("disconnect", nth=8)]).start()
    try:
        with (
            DexcomReceiver(virtual.port, timeout_s=0.5, retries=1) as r1,
            pytest.raises(TransferInterrupted) as err,
        ):
            r1.read_history()
        partial = err.value.partial
        port = virtual.replug()
        with DexcomReceiver(port) as r2:
            rest = r2.read_history(since=partial.cursor)
            rx.grow_database(db, sc, after_utc=CUT_UTC, until_utc=datetime(2024, 4, 1, tzinfo=UTC))
            newer = r2.read_history(since=rest.cursor)
    finally:
        virtual.stop()
    assert 0 < len(partial.records) < len(rx.receiver_records(sc))
    parts = [partial.records, rest.records, newer.records]
    keys = [r.dedup_key for part in parts for r in part]
    assert len(keys) == len(set(keys))
    want = rx.receiver_records(sc)
    assert _dexcom_keys([r for part in parts for r in part]) == _dexcom_keys(want)
    assert min(r.device_time for r in _cgm(newer.records)) > max(
        r.device_time for r in _cgm(rest.records)
    )
