"""The demo devices on the default air of ``simulators.ble.backend:SimulatedClientBackend``.

Three peripherals from seeded series, so ``glucogate detect`` and ``glucogate upload
--ble ADDRESS`` have something to find without hardware: a CGM at
:data:`CGM_ADDRESS`, a meter at :data:`METER_ADDRESS` and a pump at :data:`PUMP_ADDRESS`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from simulators.ble import series
from simulators.ble.cgm import VirtualCgm
from simulators.ble.meter import VirtualMeter
from simulators.ble.pump import VirtualPump

if TYPE_CHECKING:
    from simulators.ble.backend import Air

CGM_ADDRESS = "C0:FF:EE:00:18:1F"
METER_ADDRESS = "C0:FF:EE:00:18:08"
PUMP_ADDRESS = "C0:FF:EE:00:18:3A"
DEMO_START_UTC = datetime(2024, 3, 15, 6, 0, tzinfo=UTC)


def populate_demo(air: Air) -> None:
    """Put the three demo devices on ``air``."""
    cgm = series.cgm_series(seed=7, n=288, start_utc=DEMO_START_UTC, utc_offset_s=3600)
    start_local = (DEMO_START_UTC + timedelta(hours=1)).replace(tzinfo=None)
    air.add(VirtualCgm(CGM_ADDRESS, cgm, session_start=start_local, tz_minutes=60, dst_minutes=0))
    meter_start = DEMO_START_UTC.replace(hour=0, tzinfo=None) - timedelta(days=4)
    air.add(
        VirtualMeter(METER_ADDRESS, series.smbg_series(seed=8, days=5, start_local=meter_start))
    )
    pump_records = series.pump_series(seed=9, days=2, start_utc=DEMO_START_UTC - timedelta(days=2))
    air.add(VirtualPump(PUMP_ADDRESS, pump_records))
