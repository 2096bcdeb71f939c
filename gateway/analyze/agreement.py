"""CGM against fingersticks for one patient's records: what the agreement report and
``glucogate metrics --json`` show.

References are the meter readings in the records (``sample_type`` "smbg": a pump's or a
BLE meter's fingersticks, an export's BG entries); calibrations entered into the CGM
are left out -- the sensor was adjusted to them, so they are not independent. Each
reference pairs with the nearest numeric CGM reading within +-5 min
(:func:`analytics.agreement.pair_readings`); High/Low CGM readings have no value and
are not paired (the ISO and iCGM protocols pair numeric values only).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from analytics.agreement import agreement, pair_readings
from drivers._core.records import GlucoseSample, Record

MIN_PAIRS = 1


def _readings(records: Sequence[Record], sample_type: str) -> list[GlucoseSample]:
    """Numeric readings of one sample type with a resolved UTC time."""
    return [
        r
        for r in records
        if isinstance(r, GlucoseSample)
        and r.sample_type == sample_type
        and r.glucose_mgdl is not None
        and r.time_utc is not None
    ]


def patient_agreement(records: Sequence[Record]) -> dict[str, Any] | None:
    """Agreement statistics as plain values (None where not computable), with the
    pairs used and the unpaired count; None when the records hold no fingerstick."""
    refs = _readings(records, "smbg")
    if not refs:
        return None
    cgm = _readings(records, "cgm")
    pairs = pair_readings(
        [r.time_utc.timestamp() for r in refs if r.time_utc is not None],
        [float(r.glucose_mgdl) for r in refs if r.glucose_mgdl is not None],
        [r.time_utc.timestamp() for r in cgm if r.time_utc is not None],
        [float(r.glucose_mgdl) for r in cgm if r.glucose_mgdl is not None],
    )
    stats = agreement(pairs.ref_mgdl, pairs.cgm_mgdl)
    out: dict[str, Any] = {"references": len(refs), "unpaired": pairs.n_unpaired}
    for name, value in stats.items():
        v = float(value)
        out[name] = None if not np.isfinite(v) else (int(v) if name == "n_pairs" else v)
    if out.get("iso15197_pass") is not None:
        out["iso15197_pass"] = bool(out["iso15197_pass"])
    out["pairs"] = [
        {"ref_mgdl": float(r), "cgm_mgdl": float(c), "dt_s": float(dt)}
        for r, c, dt in zip(pairs.ref_mgdl, pairs.cgm_mgdl, pairs.dt_s, strict=True)
    ]
    return out
