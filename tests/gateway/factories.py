"""Small record builders for gateway tests (values chosen by hand, times explicit)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from drivers._core.records import GlucoseSample

T0 = datetime(2024, 3, 1, 8, 0, 0)


def cgm(i: int, mgdl: float | None = 120.0, *, device: str = "dexcom:g6:abc123") -> GlucoseSample:
    """The i-th 5-minute CGM reading from T0 (local = UTC here)."""
    local = T0 + timedelta(minutes=5 * i)
    return GlucoseSample(
        device_id=device,
        source_index=f"egv:{i}",
        device_time=local,
        time_utc=local.replace(tzinfo=UTC),
        utc_offset_s=0,
        sample_type="cgm",
        glucose_mgdl=mgdl,
    )
