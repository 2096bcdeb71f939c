"""Recognising one event that arrived by two paths (the matching rule alone)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from drivers._core.records import Bolus
from gateway.store.crosssource import Stored, match
from tests.gateway.factories import cgm


def stored(rec, record_id: int) -> Stored:  # type: ignore[no-untyped-def]
    assert rec.time_utc is not None
    return Stored(record_id, rec.device_id, rec.time_utc.timestamp(), rec)


def shifted(rec, seconds: float, **changes):  # type: ignore[no-untyped-def]
    return replace(
        rec,
        device_id="clarity:g6:8am1ey",
        source_index=f"x{rec.source_index}",
        time_utc=rec.time_utc + timedelta(seconds=seconds),
        **changes,
    )


def test_a_reading_seen_by_two_paths_is_one_event() -> None:
    ble = [cgm(i, 100.0 + i, device="ble:cgms:c0ffee") for i in range(6)]
    old = [stored(r, 10 + i) for i, r in enumerate(ble)]
    # the export rounds times to the minute (up to 59 s off) and mmol/L values to
    # 0.1 mmol/L (up to 0.9 mg/dL off)
    export = [shifted(r, 40, glucose_mgdl=r.glucose_mgdl + 0.9) for r in ble]
    assert match(export, old) == {i: 10 + i for i in range(6)}


def test_different_values_times_devices_or_kinds_stay_apart() -> None:
    r = cgm(0, 120.0, device="ble:cgms:c0ffee")
    old = [stored(r, 1)]
    assert match([shifted(r, 0, glucose_mgdl=125.0)], old) == {}  # another value
    assert match([shifted(r, 200)], old) == {}  # beyond 150 s: the next reading
    assert match([replace(r, source_index="other")], old) == {}  # same device: unique key
    assert match([shifted(r, 0, sample_type="smbg")], old) == {}  # a fingerstick


def test_one_stored_event_absorbs_at_most_one_new_record() -> None:
    a = cgm(0, 120.0, device="ble:cgms:c0ffee")
    # two readings a minute apart with the same value in the new source: only the
    # nearer one is the stored reading, the other is a reading of its own
    twins = [shifted(a, 20), shifted(a, 80)]
    assert match(twins, [stored(a, 7)]) == {0: 7}


def test_boluses_by_delivered_units_never_counted_twice() -> None:
    t = cgm(0).time_utc
    assert t is not None
    pump = Bolus(
        device_id="tandem:tslim-x2:1",
        source_index="bolus:9",
        device_time=t.replace(tzinfo=None),
        time_utc=t,
        utc_offset_s=0,
        subtype="normal",
        programmed_u=4.0,
        delivered_u=3.95,
    )
    ns = replace(
        pump,
        device_id="nightscout:treatments:p",
        source_index="ns:abc",
        time_utc=t + timedelta(seconds=61),
        delivered_u=4.0,
    )
    assert match([ns], [stored(pump, 3)]) == {0: 3}
    assert match([replace(ns, delivered_u=4.1)], [stored(pump, 3)]) == {}
    assert match([replace(ns, subtype="dual")], [stored(pump, 3)]) == {}
