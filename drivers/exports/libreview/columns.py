"""LibreView CSV layout: column positions, header names per language, record types.

LibreView writes the same 19 columns in the same order in every language and year
(only their names change), so the parser maps columns **by position** once the header
line has been found, and reads the glucose unit from the header text. Sources:
``shared/reference/vendor-formats.md`` section 2 and the real files in
``shared/fixtures/real/libreview/``.
"""

from __future__ import annotations

from typing import Final

N_COLUMNS: Final = 19
"""Every LibreView data row has 19 fields (trailing empty fields included)."""

# Positions (0-based) in the 19-column row.
DEVICE: Final = 0
SERIAL: Final = 1
TIMESTAMP: Final = 2
RECORD_TYPE: Final = 3
HISTORIC_GLUCOSE: Final = 4
SCAN_GLUCOSE: Final = 5
NON_NUMERIC_RAPID: Final = 6
RAPID_INSULIN_U: Final = 7
NON_NUMERIC_FOOD: Final = 8
CARBS_G: Final = 9
CARBS_SERVINGS: Final = 10
NON_NUMERIC_LONG: Final = 11
LONG_INSULIN_U: Final = 12
NOTES: Final = 13
STRIP_GLUCOSE: Final = 14
KETONE_MMOLL: Final = 15
MEAL_INSULIN_U: Final = 16
CORRECTION_INSULIN_U: Final = 17
USER_CHANGE_INSULIN_U: Final = 18

DEVICE_HEADERS: Final = frozenset({"device", "dispositivo"})
"""First header cell in the languages seen in real files (English, Spanish)."""

TIMESTAMP_HEADERS: Final = frozenset({"device timestamp", "sello de tiempo del dispositivo"})

ENGLISH_HEADER: Final = (
    "Device",
    "Serial Number",
    "Device Timestamp",
    "Record Type",
    "Historic Glucose {unit}",
    "Scan Glucose {unit}",
    "Non-numeric Rapid-Acting Insulin",
    "Rapid-Acting Insulin (units)",
    "Non-numeric Food",
    "Carbohydrates (grams)",
    "Carbohydrates (servings)",
    "Non-numeric Long-Acting Insulin",
    "Long-Acting Insulin (units)",
    "Notes",
    "Strip Glucose {unit}",
    "Ketone mmol/L",
    "Meal Insulin (units)",
    "Correction Insulin (units)",
    "User Change Insulin (units)",
)
"""The 2021+ English header; ``{unit}`` is ``mg/dL`` or ``mmol/L``. Before 2021 column
12 read ``Long-Acting Insulin Value (units)``."""

SPANISH_HEADER: Final = (
    "Dispositivo",
    "Número de serial",
    "Sello de tiempo del dispositivo",
    "Tipo de registro",
    "Historial de glucosa {unit}",
    "Escaneo de glucosa {unit}",
    "Insulina de acción rápida no numérica",
    "Insulina de acción rápida (unidades)",
    "Alimento no numérico",
    "Carbohidratos (gramos)",
    "Carbohidratos (porciones)",
    "Insulina de acción larga no numérica",
    "Insulina de acción larga (unidades)",
    "Notas",
    "Tira reactiva para glucosa {unit}",
    "Cuerpos cetónicos mmol/L",
    "Comida e insulina (unidades)",
    "Insulina de corrección (unidades)",
    "Insulina del cambio de usuario (unidades)",
)
"""The Spanish header (``Informe del paciente`` export)."""

PREAMBLE_TITLES: Final = {
    "glucose data": "patient",
    "export patient's glucose data": "patient",
    "patient report": "clinic",
    "informe del paciente": "clinic",
    "datos de glucosa": "patient",
}
"""First cell of LibreView's first preamble line -> who downloaded it. A ``clinic``
download has a second preamble line (patient name or id, date of birth)."""

# Record types (column 3).
HISTORIC: Final = 0
SCAN: Final = 1
STRIP: Final = 2
KETONE: Final = 3
INSULIN: Final = 4
FOOD: Final = 5
NOTE: Final = 6
SENSOR_START: Final = 7
"""Reader-software only (FreeStyle Libre desktop TXT); LibreView CSV never had 7."""

KNOWN_RECORD_TYPES: Final = frozenset({0, 1, 2, 3, 4, 5, 6, 7})

HIGH_WORDS: Final = frozenset({"hi", "high", "alto", "alta", "haut", "hoch"})
LOW_WORDS: Final = frozenset({"lo", "low", "bajo", "baja", "bas", "niedrig"})
"""Words the Libre reader and exports print instead of a number out of range."""

LIBRE_HIGH_LIMIT_MGDL: Final = 500.0
LIBRE_LOW_LIMIT_MGDL: Final = 40.0
"""FreeStyle Libre reporting limits: "HI" above 500 mg/dL, "LO" below 40 mg/dL."""

EXERCISE_WORDS: Final = frozenset({"exercise", "ejercicio", "exercice", "sport", "bewegung"})
"""A type-6 note that is exactly one of these words is LibreLink's exercise entry."""
