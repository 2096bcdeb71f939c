"""Glooko export CSVs: which file is which, and what each column holds.

No real Glooko export was available; names come from the formats note (section 5),
which gathered them from >= 3 independent open-source readers (firmware-notes/
exports-glooko.md). Headers are localised by the web UI language: English, German and
Swedish names are known. A column is recognised by its name with the unit part
``(mg/dl)``, ``(U)``, ``(E)`` ... stripped, case-insensitively; the glucose unit comes from
the unit part (``mg/dl`` or ``mmol/l``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Category = Literal["cgm", "bg", "bolus", "basal", "insulin", "carbs", "alarms", "other"]

NAMES: dict[str, tuple[str, ...]] = {
    "time": ("timestamp", "zeitstempel", "tidstämpel"),
    "cgm": ("cgm glucose value", "cgm-glukosewert", "cgm-glukosvärde"),
    "bg": ("glucose value", "glukosewert", "glukosvärde", "blutzuckerwert"),
    "manual": ("manual reading", "manuelle messung", "manuell avläsning"),
    "serial": ("serial number", "seriennummer", "serienummer"),
    "insulin_type": ("insulin type", "insulin-typ", "insulintyp"),
    "bg_input": ("blood glucose input", "blutzuckereingabe", "inmatning av blodsocker"),
    "carbs_input": ("carbs input", "kohlenhydrataufnahme", "inmatning av kolhydrater"),
    "carb_ratio": ("carbs ratio", "kohlenhydratverhältnis", "kolhydratskvot", "kolhydratkvot"),
    "delivered": ("insulin delivered", "abgegebenes insulin", "insulin tillfört"),
    "initial": ("initial delivery", "anfängliche abgabe", "initial tillförsel"),
    "extended": ("extended delivery", "verzögerte abgabe", "förlängd tillförsel"),
    "duration": ("duration", "dauer", "varaktighet"),
    "percent": ("percentage", "prozentsatz", "procent", "procentsats"),
    "rate": ("rate", "rate (u/h)", "frekvens", "rate (e/std)", "basalrate"),
    "alarm": ("alarm/event", "alarm/ereignis", "larm/händelse"),
    "total_bolus": ("total bolus", "bolus gesamt"),
    "total_insulin": ("total insulin", "insulin gesamt"),
    "carbs": ("carbs", "kohlenhydrate", "kolhydrater"),
}
_LOOKUP = {name: key for key, names in NAMES.items() for name in names}
_UNIT = re.compile(r"\s*\(([^)]*)\)\s*$")

FILE_CATEGORIES: dict[str, Category] = {
    "cgm_data": "cgm",
    "bg_data": "bg",
    "bolus_data": "bolus",
    "basal_data": "basal",
    "insulin_data": "insulin",
    "carbs_data": "carbs",
    "alarms_data": "alarms",
}
"""File name stems (``cgm_data_1.csv`` -> ``cgm_data``) -> category."""


@dataclass(frozen=True, slots=True)
class Header:
    """A recognised header: category, key -> position, glucose unit."""

    category: Category
    index: dict[str, int]
    units: str

    def get(self, cells: list[str], key: str) -> str:
        """The stripped cell for ``key`` ("" when the column is absent)."""
        pos = self.index.get(key)
        return cells[pos].strip() if pos is not None and pos < len(cells) else ""


def _key(cell: str) -> tuple[str | None, str]:
    name = cell.strip().strip("\ufeff").lower()
    unit = ""
    m = _UNIT.search(name)
    if m:
        unit = m.group(1)
        bare = name[: m.start()].strip()
        return _LOOKUP.get(bare) or _LOOKUP.get(name), unit
    return _LOOKUP.get(name), unit


def classify(cells: list[str]) -> Header | None:
    """The header of a Glooko CSV, or None if ``cells`` is not one."""
    index: dict[str, int] = {}
    units = "mg/dL"
    for i, cell in enumerate(cells):
        key, unit = _key(cell)
        if key is None or key in index:
            continue
        index[key] = i
        if key in ("cgm", "bg", "bg_input") and "mmol" in unit:
            units = "mmol/L"
    if "time" not in index:
        return None
    category: Category
    if "cgm" in index:
        category = "cgm"
    elif "bg" in index:
        category = "bg"
    elif "initial" in index or "extended" in index or "carbs_input" in index:
        category = "bolus"
    elif "duration" in index and ("rate" in index or "delivered" in index or "percent" in index):
        category = "basal"
    elif "total_insulin" in index or "total_bolus" in index:
        category = "insulin"
    elif "alarm" in index:
        category = "alarms"
    elif "carbs" in index:
        category = "carbs"
    else:
        category = "other"
    return Header(category, index, units)
