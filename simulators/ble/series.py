"""Small seeded record series for the BLE virtual devices and their tests.

Each series is a list of normalized records with its truth built in (times in UTC and
local, values as the device would store them), so a round trip through a virtual
device and a driver can be compared record by record. The full synthetic patient
(``simulators/patient``) can replace them: the virtual devices accept any records.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from drivers._core.records import (
    BasalSegment,
    Bolus,
    DeviceEvent,
    Food,
    GlucoseSample,
    Record,
    make_device_id,
)

CGM_ID = make_device_id("glucogate-sim", "CGMS-1", "CGM0001")
METER_ID = make_device_id("glucogate-sim", "GLS-1", "BGM0001")
PUMP_ID = make_device_id("glucogate-sim", "IDS-1", "PMP0001")


def cgm_series(
    *, seed: int, n: int = 288, start_utc: datetime, utc_offset_s: int = 0, every_min: int = 5
) -> list[GlucoseSample]:
    """``n`` CGM samples every ``every_min`` minutes from ``start_utc``: a smooth walk
    with a few High (>400) and Low (<40) readings kept as specials."""
    rng = np.random.default_rng(seed)
    walk = 140 + np.cumsum(rng.normal(0, 4, n))
    walk[n // 3] = 420
    walk[2 * n // 3] = 35
    out = []
    for i, value in enumerate(walk):
        t = start_utc + timedelta(minutes=every_min * i)
        special = "high" if value > 400 else "low" if value < 40 else None
        rate = None if i == 0 or special else round(float(value - walk[i - 1]) / every_min, 1)
        out.append(
            GlucoseSample(
                device_id=CGM_ID,
                source_index=str(i),
                device_time=(t + timedelta(seconds=utc_offset_s)).replace(tzinfo=None),
                time_utc=t,
                utc_offset_s=utc_offset_s,
                sample_type="cgm",
                glucose_mgdl=None if special else float(round(value)),
                special=special,  # type: ignore[arg-type]
                trend_rate_mgdl_per_min=rate,
            )
        )
    return out


def smbg_series(*, seed: int, days: int = 5, start_local: datetime) -> list[Record]:
    """Fingersticks four times a day (local meter time), with carbs on meal checks."""
    rng = np.random.default_rng(seed)
    out: list[Record] = []
    for day in range(days):
        for slot, hour in enumerate((7, 12, 18, 22)):
            t = start_local + timedelta(days=day, hours=hour, minutes=int(rng.integers(0, 50)))
            value = float(int(rng.integers(60, 260)))
            index = str(len(out))
            out.append(
                GlucoseSample(
                    device_id=METER_ID,
                    source_index=index,
                    device_time=t,
                    sample_type="smbg",
                    glucose_mgdl=value,
                )
            )
            if slot < 3:
                carbs = float(int(rng.integers(2, 9)) * 10)
                out.append(
                    Food(device_id=METER_ID, source_index=index, device_time=t, carbs_g=carbs)
                )
    return out


def pump_series(*, seed: int, days: int = 2, start_utc: datetime) -> list[Record]:
    """A pump's history: hourly scheduled basal changes, meal boluses (some cancelled),
    a temp basal a day, a prime, a suspend/resume and a reservoir refill."""
    rng = np.random.default_rng(seed)
    out: list[Record] = []

    def stamp(t: datetime) -> dict[str, Any]:
        return {
            "device_id": PUMP_ID,
            "source_index": str(len(out)),
            "device_time": t.replace(tzinfo=None),
            "time_utc": t,
            "utc_offset_s": 0,
        }

    for day in range(days):
        d0 = start_utc + timedelta(days=day)
        out.append(DeviceEvent(**stamp(d0 + timedelta(minutes=5)), event_type="prime", prime_u=0.5))
        for hour in range(0, 24, 6):
            rate = round(float(rng.uniform(0.5, 1.2)), 2)
            t = d0 + timedelta(hours=hour, minutes=10)
            out.append(
                BasalSegment(
                    **stamp(t),
                    basal_type="scheduled",
                    rate_u_per_h=rate,
                    duration_s=6 * 3600 if hour < 18 or day < days - 1 else None,
                )
            )
        for hour in (7, 12, 19):
            amount = round(float(rng.uniform(2, 8)) * 2) / 2
            cancelled = rng.random() < 0.2 or (day, hour) == (0, 12)
            delivered = round(amount / 2, 1) if cancelled else amount
            t = d0 + timedelta(hours=hour, minutes=int(rng.integers(0, 40)))
            out.append(
                Bolus(**stamp(t), subtype="normal", programmed_u=amount, delivered_u=delivered)
            )
        t = d0 + timedelta(hours=15, minutes=5)
        out.append(
            BasalSegment(
                **stamp(t), basal_type="temp", rate_u_per_h=0.3, duration_s=3600, percent=None
            )
        )
    t = start_utc + timedelta(hours=9, minutes=30)
    out.append(DeviceEvent(**stamp(t), event_type="suspend"))
    out.append(DeviceEvent(**stamp(t + timedelta(minutes=20)), event_type="resume"))
    out.append(
        DeviceEvent(**stamp(t + timedelta(hours=3)), event_type="reservoir-change", detail="200")
    )
    return sorted(out, key=lambda r: r.time_utc or datetime.min.replace(tzinfo=UTC))
