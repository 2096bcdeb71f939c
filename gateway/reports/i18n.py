"""Words and number formats of the patient handout, in English and Spanish.

The handout speaks to the patient, so its strings are plain words (aimed at a reading
level around US grade 6-8: short sentences, everyday words, no "GMI", "CV" or
"hypoglycaemia") and the Spanish is written for Spanish speakers, not word-for-word
from the English: "usted", "nivel de azúcar en la sangre" (glucosa is kept where it is
the word the device shows), "bolo" as pump trainers in Latin America say it.

Numbers follow the language: English ``14.5``, Spanish ``14,5`` (decimal comma, RAE /
ISO 80000-1); dates are written out (``Thursday 2 April 2026``, ``jueves 2 de abril de
2026``) so that no one reads 02/04 as February.
"""

from __future__ import annotations

import math
from datetime import date

LANGUAGES = ("en", "es")

MONTHS = {
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
    "es": (
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ),
}
WEEKDAYS = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "es": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
}

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Your diabetes check-in",
        "period": "From {first} to {last}",
        "how_heading": "How the last 2 weeks went",
        "tir": "Your sugar was in your target range ({low}–{high} mg/dL) about "
        "{hours} hours a day.",
        "tir_goal": "The goal is more than {goal_hours} hours a day.",
        "lows_none": "You had no lows. Great job staying safe.",
        "lows_one": "You had 1 low (sugar under 70 mg/dL for 15 minutes or more).",
        "lows_many": "You had {n} lows (sugar under 70 mg/dL for 15 minutes or more).",
        "lows_time": "That was about {minutes} minutes a day under 70.",
        "very_lows": "{n} of them went under 54 mg/dL. Please talk with your care team.",
        "no_cgm": "Your sensor sent no readings in these 2 weeks.",
        "well_heading": "What went well",
        "well_none": "You came to your visit and shared your data. That matters.",
        "work_heading": "What to work on",
        "work_none": "Keep doing what you are doing.",
        "visit_heading": "Your next visit",
        "visit_none": "Call the clinic to set up your next visit.",
        "visit_bring": "Please upload your pump and sensor in the 3 days before your visit.",
        "resources_heading": "Help near you",
        "resources_none": "Ask your care team about help near you.",
        "phone": "Phone",
        "address": "Address",
        "lows_tip": "If you feel shaky, sweaty or confused, check your sugar. "
        "If it is under 70, eat 15 grams of fast sugar, like 4 glucose tablets "
        "or half a cup of juice. Check again in 15 minutes.",
        "footer": "This page was made from your pump and sensor data. "
        "Questions? Call your care team.",
    },
    "es": {
        "title": "Su resumen de diabetes",
        "period": "Del {first} al {last}",
        "how_heading": "Cómo le fue en las últimas 2 semanas",
        "tir": "Su azúcar estuvo en su rango meta ({low}–{high} mg/dL) unas {hours} horas al día.",
        "tir_goal": "La meta es más de {goal_hours} horas al día.",
        "lows_none": "No tuvo bajas de azúcar. ¡Muy bien!",
        "lows_one": "Tuvo 1 baja de azúcar (menos de 70 mg/dL por 15 minutos o más).",
        "lows_many": "Tuvo {n} bajas de azúcar (menos de 70 mg/dL por 15 minutos o más).",
        "lows_time": "Eso fue unos {minutes} minutos al día por debajo de 70.",
        "very_lows": "{n} de ellas bajaron de 54 mg/dL. Hable con su equipo de salud.",
        "no_cgm": "Su sensor no envió lecturas en estas 2 semanas.",
        "well_heading": "Lo que salió bien",
        "well_none": "Vino a su cita y compartió sus datos. Eso es importante.",
        "work_heading": "Lo que vamos a mejorar",
        "work_none": "Siga así.",
        "visit_heading": "Su próxima cita",
        "visit_none": "Llame a la clínica para hacer su próxima cita.",
        "visit_bring": "Por favor, suba los datos de su bomba y su sensor en los 3 días "
        "antes de la cita.",
        "resources_heading": "Ayuda cerca de usted",
        "resources_none": "Pregunte a su equipo de salud por ayuda cerca de usted.",
        "phone": "Teléfono",
        "address": "Dirección",
        "lows_tip": "Si se siente tembloroso, sudado o confundido, mida su azúcar. "
        "Si está por debajo de 70, coma 15 gramos de azúcar rápida, como 4 tabletas "
        "de glucosa o media taza de jugo. Vuelva a medir en 15 minutos.",
        "footer": "Esta hoja se hizo con los datos de su bomba y su sensor. "
        "¿Preguntas? Llame a su equipo de salud.",
    },
}
"""Handout sentences by language; ``{name}`` fields are filled by :func:`text`."""

RESOURCE_KINDS = {
    "en": {
        "food_program": "Food",
        "pharmacy": "Pharmacy",
        "transport": "Rides",
        "other": "Other help",
    },
    "es": {
        "food_program": "Comida",
        "pharmacy": "Farmacia",
        "transport": "Transporte",
        "other": "Otra ayuda",
    },
}

WENT_WELL: dict[str, dict[str, str]] = {
    "en": {
        "tir_70_180_pct": "Your sugar was in range more of the day than the goal.",
        "tir_63_140_pct": "Your sugar was in range more of the day than the goal.",
        "tir_70_140_pct": "Your sugar was in the tight range more than the goal.",
        "tbr_lt70_pct": "You kept lows to a safe amount.",
        "tbr_lt63_pct": "You kept lows to a safe amount.",
        "tbr_lt54_pct": "You had very few very low sugars.",
        "tar_gt180_pct": "You kept high sugars under the goal.",
        "tar_gt140_pct": "You kept high sugars under the goal.",
        "tar_gt250_pct": "You had few very high sugars.",
        "cv_pct": "Your sugar stayed steady, without big ups and downs.",
        "gmi_pct": "Your average sugar met your goal.",
        "mean_mgdl": "Your average sugar met your goal.",
        "cgm_wear_pct": "You wore your sensor most of the time.",
        "missed_meal_bolus_pct": "You took insulin for almost every meal.",
        "late_bolus_pct": "You took your meal insulin on time.",
        "calculator_use_pct": "You used the pump's bolus calculator.",
        "override_pct": "You trusted the bolus calculator's dose.",
        "site_change_interval_days": "You changed your pump site on time.",
        "upload_days_before_visit": "You uploaded your data before the visit.",
    },
    "es": {
        "tir_70_180_pct": "Su azúcar estuvo en el rango meta más tiempo que la meta.",
        "tir_63_140_pct": "Su azúcar estuvo en el rango meta más tiempo que la meta.",
        "tir_70_140_pct": "Su azúcar estuvo en el rango estrecho más que la meta.",
        "tbr_lt70_pct": "Mantuvo las bajas de azúcar en un nivel seguro.",
        "tbr_lt63_pct": "Mantuvo las bajas de azúcar en un nivel seguro.",
        "tbr_lt54_pct": "Casi no tuvo bajas de azúcar muy fuertes.",
        "tar_gt180_pct": "Mantuvo las subidas de azúcar por debajo de la meta.",
        "tar_gt140_pct": "Mantuvo las subidas de azúcar por debajo de la meta.",
        "tar_gt250_pct": "Tuvo pocas subidas de azúcar muy altas.",
        "cv_pct": "Su azúcar se mantuvo estable, sin grandes subidas y bajadas.",
        "gmi_pct": "Su azúcar promedio cumplió la meta.",
        "mean_mgdl": "Su azúcar promedio cumplió la meta.",
        "cgm_wear_pct": "Usó su sensor casi todo el tiempo.",
        "missed_meal_bolus_pct": "Se puso insulina para casi todas las comidas.",
        "late_bolus_pct": "Se puso la insulina de las comidas a tiempo.",
        "calculator_use_pct": "Usó la calculadora de bolo de su bomba.",
        "override_pct": "Siguió la dosis que le dio la calculadora de bolo.",
        "site_change_interval_days": "Cambió el sitio de su bomba a tiempo.",
        "upload_days_before_visit": "Subió sus datos antes de la cita.",
    },
}
"""One sentence per plan metric for an item that was met."""

WORK_ON: dict[str, dict[str, str]] = {
    "en": {
        "tir_70_180_pct": "Spend more of the day in your target range. "
        "Small steps help: a walk after meals, insulin before you eat.",
        "tir_63_140_pct": "Spend more of the day in your target range. "
        "Take insulin before you eat and check often.",
        "tir_70_140_pct": "Spend more of the day between 70 and 140.",
        "tbr_lt70_pct": "Have fewer lows. Keep fast sugar with you, and tell us "
        "when lows happen so we can change your pump settings.",
        "tbr_lt63_pct": "Have fewer lows. Keep fast sugar with you.",
        "tbr_lt54_pct": "Avoid very low sugars (under 54). Always carry fast sugar.",
        "tar_gt180_pct": "Have fewer high sugars. Take insulin for every meal.",
        "tar_gt140_pct": "Have fewer high sugars. Take insulin for every meal.",
        "tar_gt250_pct": "Have fewer very high sugars. Check your pump site if your "
        "sugar stays over 250.",
        "cv_pct": "Keep your sugar more steady. Eat at regular times.",
        "gmi_pct": "Bring your average sugar down a little.",
        "mean_mgdl": "Bring your average sugar down a little.",
        "cgm_wear_pct": "Wear your sensor all the time, and change it when it ends.",
        "missed_meal_bolus_pct": "Take insulin for every meal and snack. "
        "Enter the carbs in your pump before you eat. {missed} of {meals} meals had no insulin.",
        "late_bolus_pct": "Take your meal insulin before you eat, not after.",
        "calculator_use_pct": "Use the bolus calculator on your pump for every dose.",
        "override_pct": "Use the dose the calculator gives. If it often seems wrong, tell us.",
        "site_change_interval_days": "Change your pump site every 3 days or sooner.",
        "upload_days_before_visit": "Upload your pump and sensor before each visit.",
    },
    "es": {
        "tir_70_180_pct": "Pasar más tiempo del día en su rango meta. Los pasos "
        "pequeños ayudan: caminar después de comer, ponerse la insulina antes de comer.",
        "tir_63_140_pct": "Pasar más tiempo del día en su rango meta. Póngase la "
        "insulina antes de comer y mida su azúcar seguido.",
        "tir_70_140_pct": "Pasar más tiempo del día entre 70 y 140.",
        "tbr_lt70_pct": "Tener menos bajas de azúcar. Lleve siempre azúcar rápida y "
        "avísenos cuando tenga bajas para ajustar su bomba.",
        "tbr_lt63_pct": "Tener menos bajas de azúcar. Lleve siempre azúcar rápida.",
        "tbr_lt54_pct": "Evitar las bajas muy fuertes (menos de 54). Lleve siempre azúcar rápida.",
        "tar_gt180_pct": "Tener menos subidas de azúcar. Póngase insulina en cada comida.",
        "tar_gt140_pct": "Tener menos subidas de azúcar. Póngase insulina en cada comida.",
        "tar_gt250_pct": "Tener menos subidas muy altas. Revise el sitio de su bomba "
        "si su azúcar sigue arriba de 250.",
        "cv_pct": "Mantener su azúcar más estable. Coma a horas regulares.",
        "gmi_pct": "Bajar un poco su azúcar promedio.",
        "mean_mgdl": "Bajar un poco su azúcar promedio.",
        "cgm_wear_pct": "Usar su sensor todo el tiempo y cambiarlo cuando se termine.",
        "missed_meal_bolus_pct": "Ponerse insulina en cada comida y merienda. Anote los "
        "carbohidratos antes de comer. {missed} de {meals} comidas no tuvieron insulina.",
        "late_bolus_pct": "Ponerse la insulina de la comida antes de comer, no después.",
        "calculator_use_pct": "Usar la calculadora de bolo de su bomba en cada dosis.",
        "override_pct": "Usar la dosis que da la calculadora. Si muchas veces le parece "
        "mal, díganos.",
        "site_change_interval_days": "Cambiar el sitio de su bomba cada 3 días o antes.",
        "upload_days_before_visit": "Subir los datos de su bomba y su sensor antes de cada cita.",
    },
}
"""One plain suggestion per plan metric for an item that was not met."""


def language(code: str | None) -> str:
    """A supported language code (``"es-MX"`` -> ``"es"``); English otherwise."""
    base = (code or "en").split("-")[0].lower()
    return base if base in LANGUAGES else "en"


def text(lang: str, key: str, **fields: object) -> str:
    """The sentence ``key`` in ``lang`` with ``fields`` filled in."""
    return STRINGS[language(lang)][key].format(**fields)


def number(value: float, decimals: int, lang: str) -> str:
    """``value`` with ``decimals`` decimals in the language's format; no thousands
    separator (handout numbers are small).

    >>> number(14.5, 1, "en"), number(14.5, 1, "es"), number(3.0, 0, "es")
    ('14.5', '14,5', '3')
    """
    if not math.isfinite(value):
        return "—"
    out = f"{value:.{decimals}f}"
    return out.replace(".", ",") if language(lang) == "es" else out


def long_date(d: date, lang: str) -> str:
    """``Thursday 2 April 2026`` / ``jueves 2 de abril de 2026``."""
    lang = language(lang)
    weekday, month = WEEKDAYS[lang][d.weekday()], MONTHS[lang][d.month - 1]
    if lang == "es":
        return f"{weekday} {d.day} de {month} de {d.year}"
    return f"{weekday} {d.day} {month} {d.year}"


def short_date(d: date, lang: str, *, year: bool = False) -> str:
    """``2 March`` / ``2 de marzo``, with the year when asked (``2 de marzo de 2026``)."""
    lang = language(lang)
    month = MONTHS[lang][d.month - 1]
    if lang == "es":
        return f"{d.day} de {month}" + (f" de {d.year}" if year else "")
    return f"{d.day} {month}" + (f" {d.year}" if year else "")
