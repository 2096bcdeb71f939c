"""Glucose unit conversion: the one place the mg/dL <-> mmol/L factor lives.

The factor is the molar mass of D-glucose (C6H12O6, 180.156 g/mol) divided by 10
(1 mmol/L = 180.156 mg/L = 18.0156 mg/dL). We use Tidepool's platform constant,
``18.01559``, so that values exchanged with a Tidepool-shaped care record round-trip
exactly (tidepool-org/platform ``data/blood/glucose/glucose.go``, ``MmolLToMgdLConversionFactor``).
The often-quoted 18.0182 comes from an older molar mass; the two differ by 0.015 %,
well under a CGM's one-decimal mmol/L resolution (0.1 mmol/L = 1.8 mg/dL).
"""

from __future__ import annotations

MGDL_PER_MMOLL: float = 18.01559
"""mg/dL per mmol/L of glucose (molar mass 180.1559 g/mol / 10)."""


def mmoll_to_mgdl(value_mmoll: float) -> float:
    """Convert a glucose concentration from mmol/L to mg/dL."""
    return value_mmoll * MGDL_PER_MMOLL


def mgdl_to_mmoll(value_mgdl: float) -> float:
    """Convert a glucose concentration from mg/dL to mmol/L."""
    return value_mgdl / MGDL_PER_MMOLL
