"""Tandem t:connect / Tandem Source CSV: section headers and the columns read.

Sources (firmware-notes/exports-tandem.md): jwoglom/tconnectsync ``api/ws2.py`` (sections
told apart by their first data row: ``t:slim X2 Insulin Pump``, ``IOB``, ``Basal``,
``Bolus``), ``parser/tconnect.py`` (column names ``EventDateTime``, ``Readings (CGM /
BGM)``, ``BasalRate``, bolus columns) and the 2021 test export in
shared/fixtures/real/tandem. Tandem Source (2024+) headers are from the formats note
(no real file seen). Here a section is recognised by its *header*, by column names, so
column order and the Tandem Source variants do not matter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SectionKind = Literal["readings", "bg", "iob", "basal", "bolus"]

EVENT_TIME = "EventDateTime"
SERIAL = "SerialNumber"
DEVICE_TYPE = "DeviceType"
DESCRIPTION = "Description"
READINGS_PREFIX = ("Readings", "BG (", "BG(")
BASAL_RATE = "BasalRate"
IOB = "IOB"
EVENT_ID = "EventID"

# Bolus section (t:connect 2021 header names).
BG = "BG"
BOLUS_REQUEST_ID = "BolusRequestID"
COMPLETION_TIME = "CompletionDateTime"
REQUEST_TIME = "RequestDateTime"
INSULIN_DELIVERED = "InsulinDelivered"
COMPLETION_STATUS = "CompletionStatusDesc"
BOLEX_SIZE = "BolexSize"
BOLEX_DELIVERED = "BolexInsulinDelivered"
BOLEX_STATUS = "BolexCompletionStatusDesc"
STANDARD_PERCENT = "StandardPercent"
DURATION = "Duration"
CARB_SIZE = "CarbSize"
USER_OVERRIDE = "UserOverride"
TARGET_BG = "TargetBG"
CORRECTION_FACTOR = "CorrectionFactor"
FOOD_BOLUS = "FoodBolusSize"
CORRECTION_BOLUS = "CorrectionBolusSize"
TOTAL_REQUESTED = "ActualTotalBolusRequested"
IS_QUICK = "IsQuickBolus"
DETAILS = "EventHistoryReportDetails"
INDEX_ID = "IndexID"
BOLUS_TYPE = "BolusType"

TCONNECT_TITLE = "t:connect Therapy Timeline Data Export"
VENDOR_LINE = "Tandem Diabetes Care"


@dataclass(frozen=True, slots=True)
class Header:
    """One section's header: its kind, column positions and glucose unit."""

    kind: SectionKind
    index: dict[str, int]
    glucose_column: int | None
    units: str

    def pos(self, name: str) -> int | None:
        """Column position of ``name`` (None when the header lacks it)."""
        return self.index.get(name)


def _glucose_column(names: list[str]) -> int | None:
    for i, name in enumerate(names):
        if name.startswith(READINGS_PREFIX):
            return i
    return None


def units_of(name: str) -> str:
    """``Readings (mmol/L)`` -> ``mmol/L``; anything else (``(CGM / BGM)``) mg/dL."""
    return "mmol/L" if "mmol" in name.lower() else "mg/dL"


def classify(cells: list[str]) -> Header | None:
    """The header a section starts with, or None if this row is not a known header."""
    names = [c.strip() for c in cells]
    index = {n: i for i, n in enumerate(names) if n}
    if EVENT_TIME not in index and COMPLETION_TIME not in index:
        return None
    glucose = _glucose_column(names)
    units = units_of(names[glucose]) if glucose is not None else "mg/dL"
    if INSULIN_DELIVERED in index:
        bg = index.get(BG)
        if bg is None:
            bg = next((i for i, n in enumerate(names) if n.startswith("BG (")), None)
        units = units_of(names[bg]) if bg is not None else "mg/dL"
        return Header("bolus", index, bg, units)
    if BASAL_RATE in index:
        return Header("basal", index, None, units)
    if IOB in index and EVENT_ID in index:
        return Header("iob", index, None, units)
    if glucose is not None and (DEVICE_TYPE in index or SERIAL in index):
        kind: SectionKind = "bg" if names[glucose].startswith("BG") else "readings"
        return Header(kind, index, glucose, units)
    return None
