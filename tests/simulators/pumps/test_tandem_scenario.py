"""Synthetic patient -> virtual t:slim X2 on a pty -> the Tandem driver -> records, equal
to the scenario's truth.

Scenario: ``missed_boluses`` (its pump is a t:slim X2), seed 4, 14 days in
America/Chicago from 2024-03-04, so the pump clock is moved by the user at the US
spring-forward (2024-03-10 08:00 UTC) and the driver's time-change record and the time
base must put every record back on its true UTC.

Resolutions (stated, and what the comparisons use): times whole seconds (the scenario's
are on the 5-minute grid, so exact); doses, rates, IOB are f32 rounded by the driver to
5 decimals, so every 0.01 U value comes back exact; carbs, BG, ISF, targets are whole
numbers on the pump (the scenario's are too). Basal per day is compared within 0.05 U
(the brief's bar) and in fact agrees to 1e-6 U.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from drivers._core.capabilities import HistoryBatch
from drivers._core.errors import TransportError
from drivers._core.records import (
    BasalSegment,
    Bolus,
    DeviceEvent,
    Food,
    GlucoseSample,
    Record,
    SettingsSnapshot,
)
from drivers._core.timebase import ClockPair, resolve_times
from drivers.pumps.tandem import TandemPump
from drivers.pumps.tandem import events as ev
from drivers.pumps.tandem.events import pump_time
from gateway.analyze.insulin import insulin_data, patient_insulin
from simulators.patient.presets import preset
from simulators.patient.scenario import Scenario
from simulators.patient.therapy import schedule_value
from simulators.pumps.tandem import Fault, VirtualPump
from simulators.pumps.tandem.scenario import ScenarioPump, net_correction, pump_log, pump_records

TZ, START, DAYS = "America/Chicago", date(2024, 3, 4), 14
DST_UTC = datetime(2024, 3, 10, 8, 0, tzinfo=UTC)
BASAL_TOLERANCE_U = 0.05
FAST: dict[str, Any] = {"settle_s": 0.02, "gap_s": 0.0, "timeout_s": 0.5, "stall_s": 0.3}


@pytest.fixture(scope="module")
def sc() -> Scenario:
    return Scenario(preset("missed_boluses"), days=DAYS, seed=4, tz=TZ, start=START)


@pytest.fixture(scope="module")
def log(sc: Scenario) -> ScenarioPump:
    return pump_log(sc, first_seq=70_001)


def serve(log: ScenarioPump, **kw: Any) -> VirtualPump:
    return VirtualPump(
        log.events, serial=log.serial, profiles=log.profiles, clock=log.fixed_clock(), **kw
    )


def resolved(log: ScenarioPump, batch: HistoryBatch) -> list[Record]:
    """What the gateway does at upload: the clock pair, then the time base."""
    clock = ClockPair(device_time=pump_time(log.clock_at(log.end_utc)), host_utc=log.end_utc)
    return resolve_times(batch.records, TZ, clock=clock)


@pytest.fixture(scope="module")
def read(log: ScenarioPump) -> Iterator[tuple[HistoryBatch, list[Record], VirtualPump]]:
    with serve(log) as pump, TandemPump(pump.port, **FAST) as drv:
        batch = drv.read_history()
        again = drv.read_history(since=batch.cursor)
    batch.meta["again"] = again
    yield batch, resolved(log, batch), pump


def _of(records: Sequence[Record], kind: type[Record]) -> list[Any]:
    return [r for r in records if isinstance(r, kind)]


def test_net_correction_matches_the_real_export_row() -> None:
    """tconnectsync's t:connect fixture row: BG 168, target 110, CF 30 (gross 1.93 U),
    IOB 1.71 -> CorrectionBolusSize 0.22 ("Pump calculated Bolus = 0.2 units")."""
    assert net_correction(round((168 - 110) / 30, 2), 1.71) == 0.22
    assert net_correction(round((220 - 110) / 30, 2), 3.98) == 0.0  # the row with 0.00


def test_log_is_written_with_the_drivers_codecs_and_a_clock_change(log: ScenarioPump) -> None:
    seqs = [e.seq for e in log.events]
    assert seqs == list(range(70_001, 70_001 + len(seqs)))
    # the log's records are in time order on the true clock; the user sets the clock
    # forward at the DST change (02:00 CST -> 03:00 CDT)
    [change] = [e for e in log.events if isinstance(e, ev.TimeChanged)]
    assert (change.time_prior_ms, change.time_after_ms) == (2 * 3600_000, 3 * 3600_000)
    assert pump_time(change.timestamp) == datetime(2024, 3, 10, 3, 0)
    for e in log.events:  # every record is a typed, valid 36-byte entry (no NaN doses)
        wire = ev.encode_event(e)
        assert type(ev.decode_event(wire)) is type(e)


def test_round_trip_boluses_with_calculator(sc: Scenario, read: Any) -> None:
    _, records, pump = read
    assert pump.violations == []
    want = _of(pump_records(sc), Bolus)
    got = _of(records, Bolus)
    assert len(got) == len(want) == 36
    for g, w in zip(got, want, strict=True):
        assert (g.time_utc, g.device_time) == (w.time_utc, w.device_time)
        assert (g.programmed_u, g.delivered_u, g.subtype) == (
            w.programmed_u,
            w.delivered_u,
            w.subtype,
        )
        gc, wc = g.calculation, w.calculation
        assert gc is not None and wc is not None
        assert (gc.carbs_g, gc.bg_mgdl, gc.carb_ratio_g_per_u, gc.sensitivity_mgdl_per_u) == (
            wc.carbs_g,
            wc.bg_mgdl,
            wc.carb_ratio_g_per_u,
            wc.sensitivity_mgdl_per_u,
        )
        # one target on a t:slim X2: the one the correction aimed at (BG above range here)
        assert gc.target_low_mgdl == gc.target_high_mgdl
        assert gc.target_high_mgdl in (wc.target_low_mgdl, wc.target_high_mgdl)
        assert (gc.iob_u, gc.recommended_food_u, gc.recommended_total_u, gc.user_changed) == (
            wc.iob_u,
            wc.recommended_food_u,
            wc.recommended_total_u,
            wc.user_changed,
        )
        # the pump records the correction net of IOB; food + net correction is the
        # recommendation, rounded down to the 0.05 U increment
        assert gc.recommended_correction_u is not None and gc.recommended_food_u is not None
        assert gc.recommended_correction_u <= (wc.recommended_correction_u or 0) + 1e-9
        assert (
            0
            <= gc.recommended_food_u + gc.recommended_correction_u - (gc.recommended_total_u or 0)
            < 0.05 + 1e-6
        )
    assert sum(bool(b.calculation and b.calculation.user_changed) for b in got) == 9


def test_round_trip_basal_segments_and_daily_totals(sc: Scenario, read: Any) -> None:
    _, records, _ = read
    want = _of(pump_records(sc), BasalSegment)
    got = _of(records, BasalSegment)

    def key(s: BasalSegment) -> tuple[object, ...]:
        return (s.time_utc, s.duration_s, s.rate_u_per_h, s.basal_type, s.percent)

    assert [key(s) for s in got] == [key(s) for s in want]
    zone = ZoneInfo(TZ)

    def per_day(segs: Sequence[BasalSegment]) -> dict[date, float]:
        out: dict[date, float] = {}
        for s in segs:
            assert s.time_utc is not None
            t, end = s.time_utc, s.time_utc + timedelta(seconds=s.duration_s or 0)
            while t < end:
                local = t.astimezone(zone)
                midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time())
                stop = min(end, midnight.replace(tzinfo=zone).astimezone(UTC))
                out[local.date()] = out.get(local.date(), 0.0) + s.rate_u_per_h * (
                    (stop - t).total_seconds() / 3600
                )
                t = stop
        return out

    got_days, want_days = per_day(got), per_day(want)
    # 14 x 288 slots from local midnight end at 01:00 on day 15 (the DST day has 23 h)
    assert sorted(got_days) == sorted(want_days) and len(got_days) == DAYS + 1
    for day, total in want_days.items():
        assert got_days[day] == pytest.approx(total, abs=BASAL_TOLERANCE_U)
        assert got_days[day] == pytest.approx(total, abs=1e-6)


def test_round_trip_site_changes_events_glucose_and_settings(sc: Scenario, read: Any) -> None:
    batch, records, _ = read
    truth = pump_records(sc)

    def events(recs: Sequence[Record], kind: str) -> list[datetime | None]:
        return [r.time_utc for r in _of(recs, DeviceEvent) if r.event_type == kind]

    for kind in ("site-change", "prime", "reservoir-change"):
        assert events(records, kind) == events(truth, kind), kind
    assert len(events(records, "site-change")) == len(sc.truth.site_change_slots) == 4
    [change] = [r for r in _of(records, DeviceEvent) if r.event_type == "time-change"]
    assert change.time_to - change.time_from == timedelta(hours=1)
    assert change.time_utc == DST_UTC

    def glucose(recs: Sequence[Record], sample: str) -> list[tuple[object, ...]]:
        return [
            (r.time_utc, r.glucose_mgdl, r.special)
            for r in _of(recs, GlucoseSample)
            if r.sample_type == sample
        ]

    assert glucose(records, "cgm") == glucose(truth, "cgm")  # Lows/Highs as flags
    assert glucose(records, "smbg") == glucose(truth, "smbg")
    assert {r.special for r in _of(records, GlucoseSample)} >= {"high", None}
    [snap] = _of(records, SettingsSnapshot)
    s = sc.patient.settings
    assert snap.insulin_action_s == s.insulin_action_min * 60
    assert snap.active_schedule == s.schedule_name
    for field, entries in (
        ("carb_ratios_g_per_u", s.carb_ratio_g_per_u),
        ("sensitivities_mgdl_per_u", s.sensitivity_mgdl_per_u),
        ("target_high_mgdl", s.target_high_mgdl),
    ):
        for e in getattr(snap, field):
            assert e.value == float(schedule_value(entries, [e.start_s])[0]), field
    for e in snap.basal_schedules_u_per_h[s.schedule_name]:
        assert e.value == pytest.approx(float(schedule_value(s.basal_u_per_h, [e.start_s])[0]))
    assert batch.meta["skipped"] == {} and len({r.dedup_key for r in records}) == len(records)


def test_planted_rates_visible_through_the_pump_path(sc: Scenario, read: Any) -> None:
    """Override rate from the pump's own calculator records; missed meal boluses with
    the patient's meal log (the scenario's ``Food``: a meal without a bolus never reaches
    the pump) -- both within 3 points of what was planted, and equal to what the
    scenario's own records give."""
    _, records, _ = read
    meals = [r for r in sc.records if isinstance(r, Food)]
    start = datetime(2024, 3, 4, tzinfo=ZoneInfo(TZ))
    end = datetime(2024, 3, 4 + DAYS, tzinfo=ZoneInfo(TZ))
    m = patient_insulin([*records, *meals], start=start, end=end)
    direct = patient_insulin(sc.records, start=start, end=end)
    t = sc.truth
    assert m["override_pct"] is not None and m["underride_pct"] is not None
    assert m["override_pct"] + m["underride_pct"] == pytest.approx(100 * t.override_rate, abs=3)
    n_bolus = insulin_data(records, start=start, end=end).bolus_s.size
    assert m["override_pct"] == pytest.approx(100 * t.overrides_up / n_bolus, abs=3)
    assert m["missed_meal_bolus_pct"] == pytest.approx(100 * t.missed_bolus_rate, abs=3)
    for name in ("override_pct", "underride_pct", "missed_meal_bolus_pct", "site_changes"):
        assert m[name] == direct[name], name
    assert m["tdd_u"] == pytest.approx(direct["tdd_u"], abs=1e-3)


def test_second_sync_reads_nothing(read: Any) -> None:
    batch, _, _ = read
    again: HistoryBatch = batch.meta["again"]
    assert list(again.records) == [] and again.meta["read"]["count"] == 0
    assert again.cursor == batch.cursor


def test_disconnect_mid_log_then_resume_gives_the_same_records(
    log: ScenarioPump, read: Any
) -> None:
    batch, records, _ = read
    mid = log.events[len(log.events) // 2].seq
    pump = serve(log, faults=[Fault("disconnect", seq=mid)]).start()
    try:
        with TandemPump(pump.port, **FAST) as drv, pytest.raises(TransportError):
            drv.read_history()
        port = pump.replug()
        with TandemPump(port, **FAST) as drv:
            retry = drv.read_history()
    finally:
        pump.stop()
    assert pump.violations == []
    assert resolved(log, retry) == records
    assert retry.cursor == batch.cursor


def test_incremental_syncs_equal_one_read(sc: Scenario, log: ScenarioPump, read: Any) -> None:
    """Upload on day 7 at 18:00 local (a basal segment running, maybe a bolus in flight),
    then the pump logs on and the next upload reads only what came after."""
    _, records, _ = read
    cut = datetime(2024, 3, 11, 18, 0, tzinfo=ZoneInfo(TZ)).astimezone(UTC)
    first_part = pump_log(sc, first_seq=70_001, until_utc=cut)
    rest = [e for e in log.events if e.seq > first_part.events[-1].seq]
    assert first_part.events == log.events[: len(first_part.events)]
    with serve(first_part) as pump, TandemPump(pump.port, **FAST) as drv:
        one = drv.read_history()
        pump.append(rest)
        two = drv.read_history(since=one.cursor)
    assert two.meta["read"]["first"] == rest[0].seq and one.meta["carried_out"] >= 1
    both = [*one.records, *(r for r in two.records if not isinstance(r, SettingsSnapshot))]
    assert Counter(r.dedup_key for r in both) == Counter(r.dedup_key for r in records)
    got = {r.dedup_key: r for r in resolved(log, HistoryBatch(both, b"", None))}
    # (the settings snapshot is timed by the pump clock at each upload)
    assert [got[r.dedup_key] for r in records if not isinstance(r, SettingsSnapshot)] == [
        r for r in records if not isinstance(r, SettingsSnapshot)
    ]


def test_log_counts_match_the_scenario(sc: Scenario, log: ScenarioPump) -> None:
    kinds = Counter(type(e).__name__ for e in log.events)
    truth = pump_records(sc)
    assert kinds["CgmDataGxb"] == int(np.isfinite(sc.truth.cgm_mgdl).sum())
    assert (
        kinds["BolusCompleted"]
        == len(_of(truth, Bolus))
        == sc.truth.meal_boluses + (sc.truth.correction_boluses)
    )
    assert kinds["CannulaFilled"] == len(sc.truth.site_change_slots)
    assert kinds["CartridgeFilled"] == sc.truth.cartridge_changes


def test_fall_back_keeps_every_cgm_reading() -> None:
    sc = Scenario(preset("missed_boluses"), days=DAYS, seed=4, tz=TZ, start=date(2024, 10, 28))
    log = pump_log(sc, first_seq=1)
    with serve(log) as pump, TandemPump(pump.port, **FAST) as drv:
        batch = drv.read_history()
    records, truth = resolved(log, batch), pump_records(sc)
    # boluses and basal come back exact across the set-back clock ...
    for kind in (Bolus, BasalSegment):
        assert [r.time_utc for r in _of(records, kind)] == [r.time_utc for r in _of(truth, kind)]

    # ... and so do the CGM readings of the repeated hour: the same pump time names two
    # readings after the clock is set back, and both are kept
    def cgm(recs: Sequence[Record]) -> list[datetime | None]:
        return [r.time_utc for r in _of(recs, GlucoseSample) if r.sample_type == "cgm"]

    assert cgm(records) == cgm(truth)
    assert "cgm-duplicate" not in batch.meta["skipped"]
