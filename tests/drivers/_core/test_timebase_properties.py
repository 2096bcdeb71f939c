"""Time base properties (Hypothesis): order, round trips, idempotence, zero-error pairs."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from drivers._core.records import DeviceEvent, GlucoseSample, Record
from drivers._core.timebase import ClockPair, resolve_times

# (zone, a DST transition instant in UTC): both directions, whole- and half-hour steps.
TRANSITIONS = [
    ("America/Chicago", datetime(2024, 3, 10, 8, 0, tzinfo=UTC)),
    ("America/Chicago", datetime(2024, 11, 3, 7, 0, tzinfo=UTC)),
    ("America/Denver", datetime(2024, 3, 10, 9, 0, tzinfo=UTC)),
    ("America/Denver", datetime(2023, 11, 5, 8, 0, tzinfo=UTC)),
    ("Europe/Madrid", datetime(2024, 3, 31, 1, 0, tzinfo=UTC)),
    ("Europe/Madrid", datetime(2024, 10, 27, 1, 0, tzinfo=UTC)),
    ("Australia/Lord_Howe", datetime(2024, 4, 6, 15, 0, tzinfo=UTC)),  # 30 min back
    ("Australia/Lord_Howe", datetime(2024, 10, 5, 15, 30, tzinfo=UTC)),  # 30 min forward
]
FIVE_MIN = timedelta(minutes=5)

transitions = st.sampled_from(TRANSITIONS)
starts_before = st.integers(min_value=0, max_value=40)  # grid steps before the transition
lengths = st.integers(min_value=2, max_value=80)


def cgm(index: int, device_time: datetime) -> GlucoseSample:
    return GlucoseSample(
        device_id="acme:cgm:1",
        source_index=str(index),
        device_time=device_time,
        sample_type="cgm",
        glucose_mgdl=100.0,
    )


def strictly_increasing(records: Sequence[Record]) -> bool:
    instants = [r.time_utc for r in records if r.time_utc is not None]
    assert len(instants) == len(records)
    return all(a < b for a, b in itertools.pairwise(instants))


@given(transitions, st.integers(min_value=12, max_value=40), lengths)
def test_wall_clock_grid_across_dst_round_trips(
    transition: tuple[str, datetime], before: int, n: int
) -> None:
    """A 5-min sampler whose clock follows the zone: every instant is recovered.

    The log starts at least an hour before the transition: a log that *begins*
    inside the repeated hour cannot tell which occurrence it is (fold 0 is assumed).
    """
    zone_name, instant = transition
    zone = ZoneInfo(zone_name)
    truth = [instant - before * FIVE_MIN + k * FIVE_MIN for k in range(n)]
    recs = [cgm(k, t.astimezone(zone).replace(tzinfo=None)) for k, t in enumerate(truth)]
    out = resolve_times(recs, zone_name)
    assert [r.time_utc for r in out] == truth
    assert strictly_increasing(out)


@given(transitions, starts_before, lengths, st.booleans())
def test_device_grid_across_dst_is_strictly_increasing(
    transition: tuple[str, datetime], before: int, n: int, with_clock: bool
) -> None:
    """A naive 5-min device grid (clock not moved for DST) never goes back in UTC."""
    zone_name, instant = transition
    zone = ZoneInfo(zone_name)
    start = (instant - before * FIVE_MIN).astimezone(zone).replace(tzinfo=None)
    recs = [cgm(k, start + k * FIVE_MIN) for k in range(n)]
    clock = None
    if with_clock:  # read 10 min after the last sample, device clock 2 min fast
        last = recs[-1].device_time + timedelta(minutes=10)
        host = (last - timedelta(minutes=2)).replace(tzinfo=zone, fold=1).astimezone(UTC)
        clock = ClockPair(last, host)
    assert strictly_increasing(resolve_times(recs, zone_name, clock=clock))


# A log: device times, with a few time changes mixed in, and maybe a clock pair.
_naive = st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2030, 1, 1))
_step = st.timedeltas(min_value=timedelta(seconds=-7200), max_value=timedelta(days=3))


@st.composite
def logs(draw: st.DrawFn) -> tuple[list[Record], str, ClockPair | None]:
    zone = draw(st.sampled_from(["America/Chicago", "Europe/Madrid", "America/Denver"]))
    t = draw(_naive)
    recs: list[Record] = []
    for k in range(draw(st.integers(min_value=0, max_value=25))):
        t = t + draw(_step)
        if draw(st.integers(min_value=0, max_value=7)) == 0:
            to = t + draw(
                st.timedeltas(min_value=-timedelta(days=400), max_value=timedelta(days=400))
            )
            recs.append(
                DeviceEvent(
                    device_id="acme:pump:1",
                    source_index=str(k),
                    device_time=t,
                    event_type="time-change",
                    time_from=t,
                    time_to=to,
                )
            )
            t = to
        else:
            recs.append(cgm(k, t))
    clock = None
    if draw(st.booleans()):
        host = draw(st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2030, 1, 1)))
        clock = ClockPair(t + draw(_step), host.replace(tzinfo=UTC))
    return recs, zone, clock


@settings(max_examples=200)
@given(logs())
def test_resolution_is_idempotent_and_keeps_its_invariants(
    log: tuple[list[Record], str, ClockPair | None],
) -> None:
    recs, zone, clock = log
    once = resolve_times(recs, zone, clock=clock)
    assert resolve_times(once, zone, clock=clock) == once
    assert [r.dedup_key for r in once] == [r.dedup_key for r in recs]
    for rec in once:
        assert rec.time_utc is not None and rec.utc_offset_s is not None
        local = rec.time_utc.replace(tzinfo=None) + timedelta(seconds=rec.utc_offset_s)
        corrected = rec.device_time + timedelta(seconds=rec.clock_offset_s)
        if isinstance(rec, DeviceEvent):  # placed by time_to; offset is whole seconds
            assert abs(corrected - local) <= timedelta(seconds=0.5)
        else:
            assert corrected == local
        assert rec.time_reason


@given(
    st.sampled_from(["America/Chicago", "Europe/Madrid", "America/Denver"]),
    st.datetimes(min_value=datetime(2024, 1, 8), max_value=datetime(2024, 2, 20)),
    st.lists(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=2)), max_size=20),
)
def test_zero_error_clock_pair_changes_nothing(
    zone_name: str, upload: datetime, gaps: list[timedelta]
) -> None:
    """Away from DST transitions a correct device clock needs no correction at all."""
    device_times = [
        upload - timedelta(days=7) + sum(gaps[: k + 1], timedelta(0)) for k in range(len(gaps))
    ]
    recs = [cgm(k, t) for k, t in enumerate(device_times) if t <= upload]
    host = upload.replace(tzinfo=ZoneInfo(zone_name)).astimezone(UTC)
    with_pair = resolve_times(recs, zone_name, clock=ClockPair(upload, host))
    without = resolve_times(recs, zone_name)
    assert [r.time_utc for r in with_pair] == [r.time_utc for r in without]
    assert [r.utc_offset_s for r in with_pair] == [r.utc_offset_s for r in without]
    assert all(r.clock_offset_s == 0 and r.time_reason == "none" for r in with_pair)
    assert all(r.annotations == () for r in with_pair)
