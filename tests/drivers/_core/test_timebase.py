"""Time base: device clock to UTC, with hand-computed expected instants.

Every expected ``time_utc`` below is written out by hand from the zone's published
rules (America/Chicago: CST = UTC-6, CDT = UTC-5, 2024 DST from 10 Mar 02:00 to
3 Nov 02:00; Europe/Madrid: CET = UTC+1, CEST = UTC+2, 2024 back on 27 Oct 03:00;
America/Denver: MST = UTC-7, MDT = UTC-6, 2024 forward on 10 Mar 02:00).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from drivers._core.records import DeviceEvent, GlucoseSample, Record
from drivers._core.timebase import ClockPair, resolve_times

CHI = "America/Chicago"


def cgm(index: int, device_time: datetime, *annotations: str) -> GlucoseSample:
    return GlucoseSample(
        device_id="acme:pump:1",
        source_index=str(index),
        device_time=device_time,
        sample_type="cgm",
        glucose_mgdl=110.0,
        annotations=annotations,
    )


def change(index: int, time_from: datetime, time_to: datetime | None) -> DeviceEvent:
    return DeviceEvent(
        device_id="acme:pump:1",
        source_index=str(index),
        device_time=time_to or time_from,
        event_type="time-change",
        time_from=time_from,
        time_to=time_to,
    )


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, us, tzinfo=UTC)


def times(records: Sequence[Record]) -> list[datetime | None]:
    return [r.time_utc for r in records]


def ambiguous(records: Sequence[Record]) -> list[bool]:
    return ["time/dst-ambiguous" in r.annotations for r in records]


# --- no clock pair: device time is local wall time -------------------------------


def test_no_clock_pair_takes_device_time_as_local() -> None:
    (rec,) = resolve_times([cgm(0, datetime(2024, 1, 15, 8, 0))], CHI)
    assert rec.time_utc == utc(2024, 1, 15, 14, 0)
    assert rec.utc_offset_s == -21600
    assert rec.clock_offset_s == 0
    assert rec.time_reason == "assumed-local"
    assert rec.annotations == ()


def test_accepts_a_zoneinfo_and_an_empty_log() -> None:
    assert resolve_times([], ZoneInfo(CHI)) == []
    (rec,) = resolve_times([cgm(0, datetime(2024, 7, 15, 8, 0))], ZoneInfo(CHI))
    assert rec.time_utc == utc(2024, 7, 15, 13, 0)
    assert rec.utc_offset_s == -18000


# --- DST repeat (fall back): order decides ---------------------------------------


def test_fall_back_repeated_hour_chicago_resolved_by_order() -> None:
    walls = [(0, 55), (1, 0), (1, 30), (1, 55), (1, 0), (1, 30), (1, 55), (2, 0)]
    recs = [cgm(i, datetime(2024, 11, 3, h, m)) for i, (h, m) in enumerate(walls)]
    out = resolve_times(recs, CHI)
    assert times(out) == [
        utc(2024, 11, 3, 5, 55),  # 00:55 CDT
        utc(2024, 11, 3, 6, 0),  # 01:00 CDT, first occurrence
        utc(2024, 11, 3, 6, 30),
        utc(2024, 11, 3, 6, 55),
        utc(2024, 11, 3, 7, 0),  # stepped back: 01:00 CST, second occurrence
        utc(2024, 11, 3, 7, 30),
        utc(2024, 11, 3, 7, 55),
        utc(2024, 11, 3, 8, 0),  # 02:00 CST
    ]
    assert [r.utc_offset_s for r in out] == [-18000] * 4 + [-21600] * 4
    assert ambiguous(out) == [False, True, True, True, True, True, True, False]
    assert all(r.clock_offset_s == 0 for r in out)


def test_fall_back_repeated_hour_madrid() -> None:
    walls = [(2, 10), (2, 50), (2, 5), (2, 40), (3, 0)]
    recs = [cgm(i, datetime(2024, 10, 27, h, m)) for i, (h, m) in enumerate(walls)]
    out = resolve_times(recs, "Europe/Madrid")
    assert times(out) == [
        utc(2024, 10, 27, 0, 10),  # 02:10 CEST
        utc(2024, 10, 27, 0, 50),  # 02:50 CEST
        utc(2024, 10, 27, 1, 5),  # 02:05 CET
        utc(2024, 10, 27, 1, 40),  # 02:40 CET
        utc(2024, 10, 27, 2, 0),  # 03:00 CET
    ]
    assert [r.utc_offset_s for r in out] == [7200, 7200, 3600, 3600, 3600]
    assert ambiguous(out) == [True, True, True, True, False]


def test_repeated_hour_without_a_step_back_is_the_first_occurrence() -> None:
    # Sparse meter readings: nothing in the log shows the clock falling back.
    recs = [cgm(0, datetime(2024, 11, 3, 0, 50)), cgm(1, datetime(2024, 11, 3, 1, 10))]
    out = resolve_times(recs, CHI)
    assert times(out) == [utc(2024, 11, 3, 5, 50), utc(2024, 11, 3, 6, 10)]
    assert ambiguous(out) == [False, True]


def test_user_setting_the_clock_back_into_the_repeated_hour() -> None:
    # No clock pair; the user sets 02:00 back to 01:00 at the fall-back instant.
    recs = [
        cgm(0, datetime(2024, 11, 3, 1, 55)),
        change(1, datetime(2024, 11, 3, 2, 0), datetime(2024, 11, 3, 1, 0)),
        cgm(2, datetime(2024, 11, 3, 1, 5)),
    ]
    out = resolve_times(recs, CHI)
    assert times(out) == [utc(2024, 11, 3, 6, 55), utc(2024, 11, 3, 7, 0), utc(2024, 11, 3, 7, 5)]
    assert out[1].time_reason == "time-change"


# --- DST skip (spring forward) ---------------------------------------------------


def test_spring_forward_wall_clock_that_follows_dst() -> None:
    recs = [cgm(0, datetime(2024, 3, 10, 1, 55)), cgm(1, datetime(2024, 3, 10, 3, 0))]
    out = resolve_times(recs, CHI)
    assert times(out) == [utc(2024, 3, 10, 7, 55), utc(2024, 3, 10, 8, 0)]
    assert [r.annotations for r in out] == [(), ()]


def test_spring_forward_nonexistent_time_gets_pre_transition_offset() -> None:
    recs = [
        cgm(0, datetime(2024, 3, 10, 1, 30)),
        cgm(1, datetime(2024, 3, 10, 2, 30)),  # does not exist in Chicago
        cgm(2, datetime(2024, 3, 10, 3, 30)),  # same clock, still on CST
    ]
    out = resolve_times(recs, CHI)
    assert times(out) == [utc(2024, 3, 10, 7, 30), utc(2024, 3, 10, 8, 30), utc(2024, 3, 10, 9, 30)]
    assert "time/dst-nonexistent" in out[1].annotations
    assert out[1].utc_offset_s == -18000  # the instant 08:30Z is already CDT
    assert out[1].clock_offset_s == 3600  # true local time 03:30 CDT
    assert out[2].clock_offset_s == 3600
    assert out[2].time_reason == "dst-not-followed"
    assert "time/dst-not-followed" in out[2].annotations
    assert out[0].time_reason == "assumed-local"


def test_spring_forward_nonexistent_time_denver() -> None:
    (rec,) = resolve_times([cgm(0, datetime(2024, 3, 10, 2, 15))], "America/Denver")
    assert rec.time_utc == utc(2024, 3, 10, 9, 15)  # 02:15 read as MST (UTC-7)
    assert rec.utc_offset_s == -21600
    assert "time/dst-nonexistent" in rec.annotations


# --- clock pair: drift, wrong clock, reset ---------------------------------------


def test_drift_of_plus_4_min_30_s_is_applied_and_rounded() -> None:
    # Device shows 09:55:30 when the host says 16:00:00.4Z (10:00:00.4 CST).
    pair = ClockPair(datetime(2024, 1, 20, 9, 55, 30), utc(2024, 1, 20, 16, 0, 0, 400000))
    (rec,) = resolve_times([cgm(0, datetime(2024, 1, 20, 9, 0))], CHI, clock=pair)
    assert rec.time_utc == utc(2024, 1, 20, 15, 4, 30)  # true local 09:04:30 CST
    assert rec.clock_offset_s == 270
    assert rec.utc_offset_s == -21600
    assert rec.time_reason == "drift"
    assert rec.annotations == ("time/drift",)


def test_pump_never_moved_for_dst() -> None:
    # The pump kept CST all year; read in July it is an hour behind.
    pair = ClockPair(datetime(2024, 7, 1, 9, 0), utc(2024, 7, 1, 15, 0))
    recs = [cgm(0, datetime(2024, 1, 10, 8, 0)), cgm(1, datetime(2024, 7, 1, 8, 0))]
    out = resolve_times(recs, CHI, clock=pair)
    assert times(out) == [utc(2024, 1, 10, 14, 0), utc(2024, 7, 1, 14, 0)]
    assert [r.clock_offset_s for r in out] == [0, 3600]
    assert [r.time_reason for r in out] == ["none", "clock-wrong"]
    assert out[1].annotations == ("time/clock-wrong",)


def test_clock_reset_to_2008_corrected_two_days_later() -> None:
    # Battery change on 5 Mar 2024 at 10:00 CST resets the clock to 2008-01-01 00:00;
    # two days later (7 Mar 10:00 CST) the user sets it right. Upload on 8 Mar, exact clock.
    recs = [
        cgm(0, datetime(2008, 1, 1, 0, 0)),
        cgm(1, datetime(2008, 1, 2, 12, 34)),
        change(2, datetime(2008, 1, 3, 0, 0), datetime(2024, 3, 7, 10, 0)),
        cgm(3, datetime(2024, 3, 7, 10, 5)),
    ]
    pair = ClockPair(datetime(2024, 3, 8, 18, 0), utc(2024, 3, 9, 0, 0))
    out = resolve_times(recs, CHI, clock=pair)
    assert times(out) == [
        utc(2024, 3, 5, 16, 0),
        utc(2024, 3, 7, 4, 34),  # 6 Mar 22:34 CST
        utc(2024, 3, 7, 16, 0),
        utc(2024, 3, 7, 16, 5),
    ]
    assert recs[0].device_time + timedelta(seconds=out[0].clock_offset_s) == datetime(
        2024, 3, 5, 10, 0
    )
    assert [r.time_reason for r in out] == ["clock-reset", "clock-reset", "time-change", "none"]
    assert "time/clock-reset" in out[0].annotations
    assert all("time/implausible-year" not in r.annotations for r in out)


def test_uncorrected_reset_is_measured_by_the_clock_pair() -> None:
    pair = ClockPair(datetime(2008, 1, 3, 5, 0), utc(2024, 3, 7, 16, 0))
    (rec,) = resolve_times([cgm(0, datetime(2008, 1, 3, 4, 0))], CHI, clock=pair)
    assert rec.time_utc == utc(2024, 3, 7, 15, 0)  # 09:00 CST
    assert rec.time_reason == "clock-reset"
    assert rec.annotations == ("time/clock-reset",)


def test_user_moves_pump_for_dst_next_morning() -> None:
    # Clock moved 08:00 -> 09:00 on the morning after spring forward; upload in
    # March with an exact clock. Winter records stay on CST, not shifted an hour.
    recs = [
        cgm(0, datetime(2024, 3, 9, 12, 0)),
        cgm(1, datetime(2024, 3, 10, 5, 0)),  # true 06:00 CDT: clock an hour behind
        change(2, datetime(2024, 3, 10, 8, 0), datetime(2024, 3, 10, 9, 0)),
        cgm(3, datetime(2024, 3, 10, 10, 0)),
    ]
    pair = ClockPair(datetime(2024, 3, 12, 12, 0), utc(2024, 3, 12, 17, 0))
    out = resolve_times(recs, CHI, clock=pair)
    assert times(out) == [
        utc(2024, 3, 9, 18, 0),
        utc(2024, 3, 10, 11, 0),
        utc(2024, 3, 10, 14, 0),
        utc(2024, 3, 10, 15, 0),
    ]
    assert [r.clock_offset_s for r in out] == [0, 3600, 0, 0]
    assert [r.time_reason for r in out] == ["none", "time-change", "time-change", "none"]


def test_time_changes_without_clock_pair_anchor_on_the_last_change() -> None:
    recs = [
        cgm(0, datetime(2024, 3, 9, 12, 0)),
        change(1, datetime(2024, 3, 10, 8, 0), datetime(2024, 3, 10, 9, 0)),
        cgm(2, datetime(2024, 3, 10, 10, 0)),
    ]
    out = resolve_times(recs, CHI)
    assert times(out) == [utc(2024, 3, 9, 18, 0), utc(2024, 3, 10, 14, 0), utc(2024, 3, 10, 15, 0)]
    assert [r.time_reason for r in out] == ["assumed-local", "time-change", "assumed-local"]


# --- the time-change event itself -------------------------------------------------


def test_time_change_event_gets_the_instant_of_the_change() -> None:
    # Logged with device_time = time_from: still the instant of the change.
    event = DeviceEvent(
        device_id="acme:pump:1",
        source_index="1",
        device_time=datetime(2024, 5, 1, 9, 0),
        event_type="time-change",
        time_from=datetime(2024, 5, 1, 9, 0),
        time_to=datetime(2024, 5, 1, 11, 0),
    )
    pair = ClockPair(datetime(2024, 5, 2, 11, 0), utc(2024, 5, 2, 16, 0))
    out = resolve_times([cgm(0, datetime(2024, 5, 1, 8, 0)), event], CHI, clock=pair)
    assert times(out) == [utc(2024, 5, 1, 15, 0), utc(2024, 5, 1, 16, 0)]
    assert out[1].clock_offset_s == 7200  # device_time 09:00 + 2 h = 11:00 CDT
    assert out[1].time_reason == "time-change"


def test_incomplete_time_change_does_not_split_and_is_annotated() -> None:
    recs = [cgm(0, datetime(2024, 5, 1, 8, 0)), change(1, datetime(2024, 5, 1, 9, 0), None)]
    out = resolve_times(recs, CHI)
    assert times(out) == [utc(2024, 5, 1, 13, 0), utc(2024, 5, 1, 14, 0)]
    assert out[1].annotations == ("time/change-incomplete",)


# --- implausible years -------------------------------------------------------------


def test_time_before_2000_is_kept_and_annotated() -> None:
    (rec,) = resolve_times([cgm(0, datetime(1999, 12, 31, 12, 0))], CHI)
    assert rec.time_utc == utc(1999, 12, 31, 18, 0)
    assert rec.annotations == ("time/implausible-year",)


def test_time_after_upload_plus_one_day_is_annotated() -> None:
    pair = ClockPair(datetime(2024, 1, 20, 10, 0), utc(2024, 1, 20, 16, 0))
    recs = [cgm(0, datetime(2024, 1, 20, 22, 0)), cgm(1, datetime(2024, 1, 22, 10, 0))]
    out = resolve_times(recs, CHI, clock=pair)
    assert [r.annotations for r in out] == [(), ("time/implausible-year",)]


# --- contract -----------------------------------------------------------------------


def test_other_annotations_kept_stale_time_codes_replaced() -> None:
    rec = cgm(0, datetime(2024, 1, 15, 8, 0), "cgm/high-out-of-range", "time/dst-ambiguous")
    (out,) = resolve_times([rec], CHI)
    assert out.annotations == ("cgm/high-out-of-range",)
    assert resolve_times([out], CHI) == [out]


def test_input_records_are_not_changed() -> None:
    rec = cgm(0, datetime(2024, 1, 15, 8, 0))
    resolve_times([rec], CHI)
    assert rec.time_utc is None and rec.time_reason == ""


def test_rejects_aware_device_times_and_bad_clock_pairs() -> None:
    with pytest.raises(ValueError, match="naive"):
        resolve_times([cgm(0, datetime(2024, 1, 15, 8, 0, tzinfo=UTC))], CHI)
    with pytest.raises(ValueError, match="naive"):
        ClockPair(datetime(2024, 1, 1, tzinfo=UTC), utc(2024, 1, 1))
    with pytest.raises(ValueError, match="aware"):
        ClockPair(datetime(2024, 1, 1), datetime(2024, 1, 1))


def test_records_whose_source_states_utc_are_kept_as_stated() -> None:
    """Nightscout/Tidepool records carry their own UTC instant; only the others resolve."""
    from drivers._core.timebase import SOURCE_UTC

    stated = GlucoseSample(
        device_id="nightscout:loop:x",
        source_index="ns:1",
        device_time=datetime(2024, 3, 1, 2, 0),
        time_utc=datetime(2024, 3, 1, 8, 0, tzinfo=UTC),
        utc_offset_s=-21600,
        time_reason=SOURCE_UTC,
        sample_type="cgm",
        glucose_mgdl=100.0,
    )
    local = GlucoseSample(
        device_id="dexcom:g6:x",
        source_index="egv:1",
        device_time=datetime(2024, 3, 1, 2, 5),
        sample_type="cgm",
        glucose_mgdl=101.0,
    )
    out = resolve_times([stated, local], "America/Chicago")
    assert out[0] is stated
    # 02:05 CST (UTC-6) on 1 March 2024 = 08:05Z
    assert out[1].time_utc == datetime(2024, 3, 1, 8, 5, tzinfo=UTC)


def test_stated_utc_without_an_offset_gets_the_zone_offset() -> None:
    """iAPS writes Z times with utcOffset 0 for a Moscow user: the instant is kept and
    the offset comes from the zone (Moscow is UTC+3 all year since 2014)."""
    from drivers._core.timebase import SOURCE_UTC

    rec = GlucoseSample(
        device_id="nightscout:iaps:x",
        source_index="sgv:1",
        device_time=datetime(2026, 4, 1, 9),
        time_utc=datetime(2026, 4, 1, 9, tzinfo=UTC),
        utc_offset_s=None,
        time_reason=SOURCE_UTC,
        sample_type="cgm",
        glucose_mgdl=100.0,
    )
    (out,) = resolve_times([rec], "Europe/Moscow")
    assert out.time_utc == rec.time_utc and out.utc_offset_s == 3 * 3600
    assert "time/offset-from-zone" in out.annotations
