"""The meter's clock through the Current Time Service, and what the time base does
with it: a meter 7 minutes fast gets its readings put back on true time.

Current Time vector: ``E8 07 03 0F 08 1E 00 05 80 01`` = 2024-03-15 08:30:00 and 128/256 s,
a Friday (5), adjusted manually (bit 0), laid out as the GATT Supplement's Exact Time 256.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from drivers._core.errors import DecodeError
from drivers._core.records import GlucoseSample
from drivers._core.timebase import ClockPair, resolve_times
from drivers.ble import cts
from drivers.ble.gls.session import GlsReader
from simulators.ble.backend import Air
from simulators.ble.meter import VirtualMeter
from tests.drivers.ble.helpers import FAST, run

ADDRESS = "C0:FF:EE:00:00:07"
TZ = "America/Chicago"
NOW_UTC = datetime(2024, 3, 15, 18, 0, tzinfo=UTC)  # 13:00 CDT
FAST_BY = timedelta(minutes=7)


def test_current_time_vector() -> None:
    value = bytes.fromhex("E8 07 03 0F 08 1E 00 05 80 01")
    decoded = cts.decode_current_time(value)
    assert decoded == cts.CurrentTime(datetime(2024, 3, 15, 8, 30), 5, 128, cts.ADJUST_MANUAL)
    assert cts.encode_current_time(decoded.exact, cts.ADJUST_MANUAL) == value  # type: ignore[arg-type]
    assert cts.decode_current_time(bytes(7) + b"\x00\x00\x00").local is None
    for bad in (value[:9], value[:7] + b"\x08\x00\x00"):
        with pytest.raises(DecodeError):
            cts.decode_current_time(bad)


def _samples() -> list[GlucoseSample]:
    zone = ZoneInfo(TZ)
    out = []
    for i, hours in enumerate((30, 20, 6)):  # readings 30, 20 and 6 hours before the upload
        utc = NOW_UTC - timedelta(hours=hours)
        out.append(
            GlucoseSample(
                device_id="meter",
                source_index=str(i),
                device_time=utc.astimezone(zone).replace(tzinfo=None),
                time_utc=utc,
                sample_type="smbg",
                glucose_mgdl=100.0 + i,
            )
        )
    return out


def _meter(**kwargs: object) -> tuple[list[GlucoseSample], GlsReader]:
    truth = _samples()
    meter = VirtualMeter(ADDRESS, truth, zone=ZoneInfo(TZ), now_utc=lambda: NOW_UTC, **kwargs)  # type: ignore[arg-type]
    return truth, GlsReader(ADDRESS, backend=Air([meter]).client_backend(), options=FAST)


def test_a_meter_seven_minutes_fast_is_corrected_by_the_clock_pair() -> None:
    truth, reader = _meter(clock_error=FAST_BY)
    clock = run(reader.read_clock())
    assert clock is not None
    assert abs(clock - datetime(2024, 3, 15, 13, 7)) < timedelta(seconds=1)
    batch = run(reader.read_history())
    assert [r.device_time for r in batch.records] == [
        s.device_time + FAST_BY for s in truth
    ]  # the meter stamps by its own clock
    pair = ClockPair(device_time=clock.replace(microsecond=0), host_utc=NOW_UTC)
    fixed = resolve_times(batch.records, TZ, clock=pair)
    assert [r.time_utc for r in fixed] == [s.time_utc for s in truth]
    assert {r.clock_offset_s for r in fixed} == {-420}
    assert {r.time_reason for r in fixed} == {"drift"}
    # without the meter's clock the readings would stay 7 minutes late
    naive = resolve_times(batch.records, TZ)
    assert [r.time_utc - s.time_utc for r, s in zip(naive, truth, strict=True)] == [FAST_BY] * 3  # type: ignore[operator]


def test_meter_without_current_time_has_no_clock() -> None:
    _truth, reader = _meter(current_time=False)
    assert run(reader.read_clock()) is None


def test_the_upload_coordinator_pairs_the_meter_clock(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Through ``gateway.ingest.device.upload_device`` (what the CLI, the kiosk and the
    hub run): the stored readings are on true UTC; a meter without CTS uploads too."""
    from gateway.config import Config
    from gateway.ingest.device import sync_reader, upload_device
    from gateway.store.sqlite import Store

    config = Config(site="s", gateway_id="g", data_dir=tmp_path, timezone=TZ)
    for kwargs, offset in (({"clock_error": FAST_BY}, -420), ({"current_time": False}, 0)):
        truth, reader = _meter(**kwargs)
        with Store(tmp_path / f"{offset}.sqlite") as store:
            report = upload_device(
                sync_reader(reader),
                device_id=f"ble:gls:{offset}",
                description="meter",
                fmt="ble-gls",
                config=config,
                store=store,
                now_utc=lambda: NOW_UTC,
            )
        assert report.clock is None if offset == 0 else report.clock is not None
        times = [r.time_utc for r in report.records if isinstance(r, GlucoseSample)]
        if offset:
            assert times == [s.time_utc for s in truth]
            assert {r.clock_offset_s for r in report.records} == {offset}
        else:
            assert len(times) == len(truth)
