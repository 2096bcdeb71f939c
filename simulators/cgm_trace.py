"""A seeded synthetic CGM trace with known truth, for the demo and end-to-end tests.

A deliberately small model (the full synthetic patient with insulin, meals and
behaviour is ``simulators/patient``, issue 5): true glucose is a baseline plus a dawn
rise (04:00-08:00 local), three meal excursions a day (gamma-shaped, peak 60 min after
the meal, return by ~4 h) and a slow random walk; the sensor adds Gaussian noise
(SD 6 mg/dL), reports values beyond 40-400 mg/dL as Low/High, drops rare short gaps,
and is calibrated by a fingerstick each morning. Times are generated in UTC every
5 minutes and converted to the patient's local wall clock, so a DST change shows as
the real device does (a repeated or skipped local hour).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from drivers._core.records import GlucoseSample, make_device_id

SLOT_S = 300
DEXCOM_LOW, DEXCOM_HIGH = 40.0, 400.0
MEALS_H = ((7.5, 70.0), (12.5, 85.0), (19.0, 110.0))  # local hour, peak rise mg/dL


@dataclass(frozen=True, slots=True)
class Trace:
    """The trace's records (cgm + calibration) and its truth."""

    records: list[GlucoseSample]
    true_mgdl: NDArray[np.float64]
    sensor_mgdl: NDArray[np.float64]
    mean_true_mgdl: float
    n_high: int
    n_low: int
    n_dropped: int


def _meal_curve(minutes: NDArray[np.float64]) -> NDArray[np.float64]:
    """Gamma-shaped response, 0 before the meal, 1.0 at its 60-min peak."""
    t = np.clip(minutes, 0.0, None) / 60.0
    return np.where(minutes > 0, t**2 * np.exp(2.0 * (1.0 - t)), 0.0)


def cgm_trace(
    *,
    days: int,
    seed: int,
    tz: str,
    start: date,
    baseline_mgdl: float = 135.0,
    device_serial: str = "8AM1EY",
) -> Trace:
    """Generate ``days`` of 5-minute CGM for one patient, reproducibly from ``seed``."""
    rng = np.random.default_rng(seed)
    zone = ZoneInfo(tz)
    t0 = datetime(start.year, start.month, start.day, tzinfo=zone).astimezone(UTC)
    n = days * 86400 // SLOT_S
    utc = [t0 + timedelta(seconds=SLOT_S * i) for i in range(n)]
    local = [u.astimezone(zone).replace(tzinfo=None) for u in utc]
    offsets = np.array(
        [int((u.astimezone(zone).utcoffset() or timedelta()).total_seconds()) for u in utc]
    )
    hour = np.array([(lt.hour + lt.minute / 60.0) for lt in local])
    day = np.array([(lt.date() - start).days for lt in local], dtype=np.float64)
    true = baseline_mgdl + 25.0 * np.clip(1 - np.abs(hour - 6.0) / 2.0, 0, 1)
    for meal_h, rise in MEALS_H:
        size = rise * rng.uniform(0.6, 1.6, size=days + 2)
        since = (hour - meal_h) * 60.0
        true = true + size[day.astype(int)] * _meal_curve(
            np.where(since < -60, since + 1440, since)
        )
    true = true + np.cumsum(rng.normal(0.0, 1.2, n)) * 0.3
    true = np.clip(true, 30.0, 450.0)
    sensor = true + rng.normal(0.0, 6.0, n)
    drop = rng.random(n) < 0.01
    device_id = make_device_id("Dexcom", "G6", "android G6")
    records: list[GlucoseSample] = []
    for i in range(n):
        if drop[i]:
            continue
        v = float(sensor[i])
        special = "high" if v > DEXCOM_HIGH else "low" if v < DEXCOM_LOW else None
        records.append(
            GlucoseSample(
                device_id=device_id,
                source_index=f"egv:{device_serial}:{i}",
                device_time=local[i],
                time_utc=utc[i],
                utc_offset_s=int(offsets[i]),
                sample_type="cgm",
                glucose_mgdl=None if special else round(v),
                special=special,  # type: ignore[arg-type]
                reporting_limit_mgdl=(
                    DEXCOM_HIGH if special == "high" else DEXCOM_LOW if special == "low" else None
                ),
            )
        )
        if local[i].hour == 7 and local[i].minute < 5:
            records.append(
                GlucoseSample(
                    device_id=device_id,
                    source_index=f"cal:{i}",
                    device_time=local[i],
                    time_utc=utc[i],
                    utc_offset_s=int(offsets[i]),
                    sample_type="calibration",
                    glucose_mgdl=round(float(true[i] + rng.normal(0, 4.0))),
                )
            )
    return Trace(
        records,
        true,
        sensor,
        float(true.mean()),
        int((sensor[~drop] > DEXCOM_HIGH).sum()),
        int((sensor[~drop] < DEXCOM_LOW).sum()),
        int(drop.sum()),
    )
