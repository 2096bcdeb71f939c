"""Events -> normalized records, against the truth the log writer kept (no device)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from drivers._core.records import BasalSegment, Bolus, DeviceEvent, GlucoseSample, Record
from drivers._core.timebase import ClockPair, resolve_times
from drivers.pumps.tandem import events as ev
from drivers.pumps.tandem.messages import LogEntry
from drivers.pumps.tandem.normalize import normalize, pump_device_id, settings_snapshot
from simulators.pumps.tandem import (
    Bolus as PlannedBolus,
)
from simulators.pumps.tandem import (
    CgmReading,
    ClockChange,
    HistoryEvent,
    PumpLog,
    ScheduledRate,
    Truth,
    build_log,
    default_profiles,
    generate,
)

START = datetime(2025, 3, 1)
DEVICE = pump_device_id(90000123)


def wire(events: list[ev.Event]) -> list[ev.Event]:
    """Through the 36-byte wrapper and back, as the driver sees them."""
    return [ev.decode_event(LogEntry.decode(ev.encode_event(e).encode())) for e in events]


@pytest.fixture(scope="module")
def log() -> PumpLog:
    return build_log(
        generate(3, start=START, days=4), first_seq=7000, until=START + timedelta(days=3, hours=23)
    )


def boluses_match(records: list[Record], truth: Truth) -> None:
    got = {r.device_time: r for r in records if isinstance(r, Bolus)}
    assert sorted(got) == sorted(t.device_time for t in truth.boluses)
    for t in truth.boluses:
        b, plan = got[t.device_time], t.event
        assert (b.programmed_u, b.delivered_u) == (t.programmed_u, t.delivered_u)
        assert (b.extended_programmed_u, b.extended_delivered_u) == (
            t.extended_programmed_u,
            t.extended_delivered_u,
        )
        assert b.subtype == (
            "dual"
            if plan.normal_u and plan.extended_u
            else "extended"
            if plan.extended_u
            else "normal"
        )
        assert b.extended_duration_s == plan.extended_min * 60
        calc = b.calculation
        assert calc is not None
        assert calc.carbs_g == plan.carbs_g
        assert calc.bg_mgdl == plan.bg_mgdl
        assert calc.carb_ratio_g_per_u == plan.carb_ratio
        assert calc.sensitivity_mgdl_per_u == plan.isf
        assert calc.target_low_mgdl == calc.target_high_mgdl == plan.target_mgdl
        assert calc.iob_u == plan.iob_u
        assert calc.recommended_food_u == plan.food_u
        assert calc.recommended_correction_u == plan.correction_u
        assert calc.recommended_total_u == plan.recommended_u
        assert calc.user_changed is plan.user_override
        assert ("bolus/cancelled" in b.annotations) is (plan.delivered_fraction < 1)


def test_boluses_with_calculator_data(log: PumpLog) -> None:
    result = normalize(wire(log.events), device_id=DEVICE)
    boluses_match(result.records, log.truth)
    assert any(t.event.user_override for t in log.truth.boluses)
    assert any(t.event.extended_u and t.event.normal_u for t in log.truth.boluses)
    assert any(t.event.extended_u and not t.event.normal_u for t in log.truth.boluses)
    assert any(t.event.delivered_fraction < 1 for t in log.truth.boluses)


def test_basal_segments_and_daily_totals(log: PumpLog) -> None:
    result = normalize(wire(log.events), device_id=DEVICE)
    segs = [r for r in result.records if isinstance(r, BasalSegment)]
    got = [(s.device_time, s.duration_s, s.rate_u_per_h, s.basal_type, s.percent) for s in segs]
    want = [
        (s.device_time, s.duration_s, s.rate_u_per_h, s.basal_type, s.percent)
        for s in log.truth.segments
    ]
    assert got == want
    assert {"scheduled", "temp", "suspend"} <= {s.basal_type for s in segs}
    # the pump's own daily totals (event 81) equal the truth's, day by day
    truth_days = log.truth.basal_by_day()
    assert result.daily_basal_u
    for day, total in result.daily_basal_u.items():
        assert total == pytest.approx(truth_days[day], abs=1e-4)
    # and so do the segments' totals
    per_day: dict[str, float] = {}
    for s in segs:
        assert s.duration_s is not None
        per_day[s.device_time.date().isoformat()] = (
            per_day.get(s.device_time.date().isoformat(), 0.0)
            + s.rate_u_per_h * s.duration_s / 3600
        )
    for day in result.daily_basal_u:  # segments never cross midnight here (00:00 rate)
        assert per_day[day] == pytest.approx(truth_days[day], abs=1e-6)


def test_site_changes_and_device_events(log: PumpLog) -> None:
    records = normalize(wire(log.events), device_id=DEVICE).records
    sites = [
        r.device_time
        for r in records
        if isinstance(r, DeviceEvent) and r.event_type == "site-change"
    ]
    assert sites == log.truth.site_changes
    kinds = {r.event_type for r in records if isinstance(r, DeviceEvent)}
    assert {"site-change", "prime", "reservoir-change", "alarm", "suspend", "resume"} <= kinds
    alarm = next(r for r in records if isinstance(r, DeviceEvent) and r.code == "alarm-2")
    assert alarm.detail == "occlusion"


def test_cgm_readings_use_the_egv_time(log: PumpLog) -> None:
    records = normalize(wire(log.events), device_id=DEVICE).records
    cgm = [r for r in records if isinstance(r, GlucoseSample) and r.sample_type == "cgm"]
    assert [r.device_time for r in cgm] == [t for t, _ in log.truth.cgm]
    for rec, (_, mgdl) in zip(cgm, log.truth.cgm, strict=True):
        if mgdl > 400:
            assert (rec.glucose_mgdl, rec.special) == (None, "high")
        elif mgdl < 40:
            assert (rec.glucose_mgdl, rec.special) == (None, "low")
        else:
            assert rec.glucose_mgdl == mgdl
    assert len({r.dedup_key for r in records}) == len(records)


def test_records_are_in_log_order(log: PumpLog) -> None:
    records = normalize(list(reversed(wire(log.events))), device_id=DEVICE).records
    seqs = [
        int(r.source_index.split(":")[1]) for r in records if not r.source_index.startswith("cgm")
    ]
    assert seqs == sorted(seqs)


def test_split_anywhere_with_carry_gives_the_same_records(log: PumpLog) -> None:
    events = wire(log.events)
    whole = normalize(events, device_id=DEVICE)
    for cut in (37, len(events) // 3, len(events) // 2, len(events) - 5):
        first = normalize(events[:cut], device_id=DEVICE)
        second = normalize(events[cut:], device_id=DEVICE, carry=first.carry)
        both = first.records + second.records
        assert len({r.dedup_key for r in both}) == len(both) == len(whole.records), cut
        assert sorted(both, key=lambda r: r.dedup_key) == sorted(
            whole.records, key=lambda r: r.dedup_key
        )
        assert second.carry == whole.carry


def test_running_extended_bolus_waits_for_its_completion() -> None:
    bolus = PlannedBolus(START + timedelta(hours=8), 1.0, 2.0, 120, carbs_g=30, food_u=3.0)
    log = build_log([bolus, ScheduledRate(START, 0.8)], first_seq=1)
    events = wire(log.events)
    cut = next(i for i, e in enumerate(events) if isinstance(e, ev.BolexCompleted))
    first = normalize(events[:cut], device_id=DEVICE)
    assert not [r for r in first.records if isinstance(r, Bolus)]
    assert {type(e) for e in first.carry} >= {
        ev.BolusRequested1,
        ev.BolusCompleted,
        ev.BolexActivated,
    }
    second = normalize(events[cut:], device_id=DEVICE, carry=first.carry)
    [done] = [r for r in second.records if isinstance(r, Bolus)]
    assert (done.subtype, done.programmed_u, done.extended_programmed_u) == ("dual", 1.0, 2.0)
    first_request = next(e for e in events if isinstance(e, ev.BolusRequested1))
    assert done.source_index == f"bolus:{first_request.seq}"


def test_time_change_resolves_through_the_time_base() -> None:
    """Pump clock 1 h slow for a day, then set right: records before the change land
    at their true instant once the time base walks back over the change."""
    history: list[HistoryEvent] = [
        CgmReading(START + timedelta(minutes=5 * k), 100 + k % 50) for k in range(24 * 12 * 2)
    ]
    history.append(ClockChange(START + timedelta(hours=24, minutes=2), 0))
    log = build_log(history, first_seq=1, initial_clock_offset_s=-3600)
    result = normalize(wire(log.events), device_id=DEVICE)
    [change] = [r for r in result.records if isinstance(r, DeviceEvent)]
    assert change.event_type == "time-change"
    assert (change.time_from, change.time_to) == log.truth.clock_changes[0]
    assert change.time_to is not None and change.time_from is not None
    assert (change.time_to - change.time_from) == timedelta(hours=1)
    newest = max(t for t, _ in log.truth.cgm)
    clock = ClockPair(
        device_time=newest + timedelta(minutes=1),
        host_utc=(newest + timedelta(minutes=1)).replace(tzinfo=UTC),
    )
    resolved = resolve_times(result.records, "UTC", clock=clock)
    for rec, k in zip(
        [r for r in resolved if isinstance(r, GlucoseSample)], range(576), strict=True
    ):
        assert rec.time_utc == (START + timedelta(minutes=5 * k)).replace(tzinfo=UTC)


def test_lone_date_change_and_pairing_window() -> None:
    base = ev.pump_seconds(datetime(2025, 5, 2, 9, 0))
    events = [
        ev.DateChanged(seq=10, timestamp=base, date_prior_days=6330, date_after_days=6331),
        ev.TimeChanged(
            seq=20, timestamp=base + 60, time_prior_ms=3_600_000, time_after_ms=7_200_000
        ),
    ]
    changes = [r for r in normalize(events, device_id=DEVICE).records if isinstance(r, DeviceEvent)]
    assert [(c.time_to - c.time_from) for c in changes if c.time_to and c.time_from] == [
        timedelta(days=1),
        timedelta(hours=1),
    ]
    paired = normalize(
        [
            ev.TimeChanged(seq=1, timestamp=base, time_prior_ms=3_600_000, time_after_ms=7_200_000),
            ev.DateChanged(seq=2, timestamp=base, date_prior_days=6330, date_after_days=6331),
        ],
        device_id=DEVICE,
    ).records
    [pair] = paired
    assert isinstance(pair, DeviceEvent)
    assert pair.time_from == ev.TANDEM_EPOCH + timedelta(days=6330, hours=1)
    assert pair.time_to == ev.TANDEM_EPOCH + timedelta(days=6331, hours=2)


def test_settings_snapshot_from_profiles() -> None:
    profiles = default_profiles()
    snap = settings_snapshot(profiles, 0, device_id=DEVICE, clock=START)
    assert snap.active_schedule == "Weekday"
    assert [(e.start_s, e.value) for e in snap.basal_schedules_u_per_h["Weekday"]] == [
        (0, 0.8),
        (6 * 3600, 1.05),
        (12 * 3600, 0.9),
        (22 * 3600, 0.7),
    ]
    assert set(snap.basal_schedules_u_per_h) == {"Weekday", "Sick day"}
    assert [e.value for e in snap.carb_ratios_g_per_u] == [10.0] * 4
    assert [e.value for e in snap.sensitivities_mgdl_per_u] == [50.0] * 4
    assert [e.value for e in snap.target_low_mgdl] == [110.0] * 4
    assert snap.insulin_action_s == 300 * 60
    again = settings_snapshot(profiles, 0, device_id=DEVICE, clock=START + timedelta(days=1))
    assert again.source_index == snap.source_index
    assert (
        settings_snapshot(profiles, 1, device_id=DEVICE, clock=START).source_index
        != snap.source_index
    )
