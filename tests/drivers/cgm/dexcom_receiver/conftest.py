"""A small seeded CGM series (with every special flag) and virtual receivers serving it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from drivers._core.records import GlucoseSample, Record
from simulators.cgm.dexcom_receiver import MODELS, ReceiverDatabase, VirtualReceiver
from simulators.cgm_trace import cgm_trace

Key = tuple[str, object, float | None, str | None, str | None]


def make_series() -> list[GlucoseSample]:
    """Two days around the 2025 US fall-back (a repeated hour), plus sensor states."""
    records = cgm_trace(days=2, seed=7, tz="America/Chicago", start=date(2025, 11, 1)).records
    out = list(records)
    for i, special in ((30, "warmup"), (31, "sensor-error"), (200, "not-computable")):
        if out[i].sample_type == "cgm":
            out[i] = out[i].evolve(glucose_mgdl=None, special=special, trend="NOT COMPUTABLE")
    return out


def key(rec: Record) -> Key:
    """What must survive the round trip: type, display time, value, special, trend."""
    assert isinstance(rec, GlucoseSample)
    trend = rec.trend if rec.sample_type == "cgm" else None
    mgdl = None if rec.glucose_mgdl is None else float(rec.glucose_mgdl)
    # fold=0: a naive wall time carries no fold on the receiver (the trace sets fold=1
    # in the repeated hour)
    return (rec.sample_type, rec.device_time.replace(fold=0), mgdl, rec.special, trend)


def keys(records: list[Record] | list[GlucoseSample]) -> list[Key]:
    return sorted((key(r) for r in records if isinstance(r, GlucoseSample)), key=str)


@pytest.fixture(scope="module")
def series() -> list[GlucoseSample]:
    return make_series()


@pytest.fixture(params=sorted(MODELS))
def receiver(
    request: pytest.FixtureRequest, series: list[GlucoseSample]
) -> Iterator[VirtualReceiver]:
    db = ReceiverDatabase(MODELS[request.param], serial="SM00000007")
    db.add_samples(series)
    with VirtualReceiver(db) as virtual:
        yield virtual
