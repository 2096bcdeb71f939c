"""FreeStyle Libre reader-software TXT layout: 19 tab-separated columns, by position.

The desktop software that came with the first FreeStyle Libre reader exports a
tab-separated text file: optional free-text lines (report title, patient name or id --
never read), then a header whose first cell is ``ID``, then one row per reader record.
Unlike LibreView it has a record ``ID`` (the reader's own, up to 20 digits, kept as
text), units in parentheses (``Historic Glucose (mmol/L)``) and two clock-change
columns, ``Previous Time``/``Updated Time`` (Spanish ``Hora anterior``/``Hora
actualizada``). Source: ``shared/reference/vendor-formats.md`` section 2 and the two
real files in ``shared/fixtures/real/libreview/``.
"""

from __future__ import annotations

from typing import Final

KEYS: Final = (
    "id",
    "time",
    "type",
    "historic",
    "scan",
    "nn_rapid",
    "rapid",
    "nn_food",
    "carbs",
    "nn_long",
    "long",
    "notes",
    "strip",
    "ketone",
    "meal_ins",
    "corr_ins",
    "user_ins",
    "prev_time",
    "updated_time",
)
"""Canonical names of the 19 columns in file order (shared with the LibreView mapper)."""

ENGLISH_HEADER: Final = (
    "ID",
    "Time",
    "Record Type",
    "Historic Glucose ({unit})",
    "Scan Glucose ({unit})",
    "Non-numeric Rapid-Acting Insulin",
    "Rapid-Acting Insulin (units)",
    "Non-numeric Food",
    "Carbohydrates (grams)",
    "Non-numeric Long-Acting Insulin",
    "Long-Acting Insulin (units)",
    "Notes",
    "Strip Glucose ({unit})",
    "Ketone (mmol/L)",
    "Meal Insulin (units)",
    "Correction Insulin (units)",
    "User Change Insulin (units)",
    "Previous Time",
    "Updated Time",
)

SPANISH_HEADER: Final = (
    "ID",
    "Hora",
    "Tipo de registro",
    "Histórico glucosa ({unit})",
    "Glucosa leída ({unit})",
    "Insulina de acción rápida sin valor numérico",
    "Insulina de acción rápida (unidades)",
    "Alimentos sin valor numérico",
    "Carbohidratos (gramos)",
    "Insulina de acción lenta sin valor numérico",
    "Insulina de acción lenta (unidades)",
    "Notas",
    "Glucosa de la tira ({unit})",
    "Cetonas (mmol/L)",
    "Insulina comida (unidades)",
    "Insulina corrección (unidades)",
    "Insulina cambio usuario (unidades)",
    "Hora anterior",
    "Hora actualizada",
)

TIME_HEADERS: Final = frozenset({"time", "hora", "zeit", "heure", "ora"})
MIN_COLUMNS: Final = 17
"""Older readers lack the two clock-change columns; fewer than 17 is not this format."""

DEFAULT_MODEL: Final = "FreeStyle Libre reader"
"""The file names no device or serial; records get this model and serial ``unknown``."""
MAX_PREAMBLE_LINES: Final = 10
