"""Medtronic CareLink CSV columns: canonical names for every layout's header cells.

CareLink renamed and reordered columns between generations (classic 39 columns, Guardian
Connect 48, 780G 54, iPro2 17), so rows are read **by header name**, after
:func:`canonical` has removed the unit in parentheses and folded known renames
(``Alarm`` -> ``alert``, ``BWZ BG/SG Input`` -> ``bwz bg input`` ...). The unit is
read once per file from the header (:func:`glucose_unit`). Headers are quoted verbatim
in ``shared/reference/vendor-formats.md`` section 3.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final, Literal

Units = Literal["mg/dL", "mmol/L"]

INDEX: Final = "index"
DATE: Final = "date"
TIME: Final = "time"
TIMESTAMP: Final = "timestamp"
NEW_DEVICE_TIME: Final = "new device time"
BG_SOURCE: Final = "bg source"
BG: Final = "bg reading"
BASAL_RATE: Final = "basal rate"
TEMP_AMOUNT: Final = "temp basal amount"
TEMP_TYPE: Final = "temp basal type"
TEMP_DURATION: Final = "temp basal duration"
BOLUS_TYPE: Final = "bolus type"
BOLUS_SELECTED: Final = "bolus volume selected"
BOLUS_DELIVERED: Final = "bolus volume delivered"
BOLUS_DURATION: Final = "bolus duration"
PRIME_TYPE: Final = "prime type"
PRIME_VOLUME: Final = "prime volume delivered"
ALERT: Final = "alert"
SUSPEND: Final = "suspend"
REWIND: Final = "rewind"
BWZ_ESTIMATE: Final = "bwz estimate"
BWZ_TARGET_HIGH: Final = "bwz target high bg"
BWZ_TARGET_LOW: Final = "bwz target low bg"
BWZ_CARB_RATIO: Final = "bwz carb ratio"
BWZ_ISF: Final = "bwz insulin sensitivity"
BWZ_CARBS: Final = "bwz carb input"
BWZ_BG: Final = "bwz bg input"
BWZ_CORRECTION: Final = "bwz correction estimate"
BWZ_FOOD: Final = "bwz food estimate"
BWZ_IOB: Final = "bwz active insulin"
BWZ_STATUS: Final = "bwz status"
CAL_BG: Final = "sensor calibration bg"
SG: Final = "sensor glucose"
ISIG: Final = "isig value"
EVENT_MARKER: Final = "event marker"
BOLUS_NUMBER: Final = "bolus number"
BOLUS_SOURCE: Final = "bolus source"
SENSOR_EXCEPTION: Final = "sensor exception"
RAW_TYPE: Final = "raw-type"
RAW_VALUES: Final = "raw-values"
RAW_ID: Final = "raw-id"
RAW_UPLOAD_ID: Final = "raw-upload id"
RAW_SEQ: Final = "raw-seq num"
RAW_DEVICE_TYPE: Final = "raw-device type"
SOURCE: Final = "source"
USED_IN_CALIBRATION: Final = "used in calibration"
SENSOR_EVENT: Final = "sensor event"
MEAL: Final = "meal"
EXERCISE: Final = "exercise"

_ALIASES: Final = {
    "alarm": ALERT,
    "bwz bg/sg input": BWZ_BG,
    "programmed bolus duration": BOLUS_DURATION,
}

_PARENS = re.compile(r"\s*\([^)]*\)")

AUTO_INSULIN_MARKER: Final = "aggregated auto insulin data"
"""Fifth cell of the 770G/780G marker line of the daily SmartGuard auto-insulin section."""

AUTO_INSULIN_SOURCE: Final = "CLOSED_LOOP_AUTO_INSULIN"

SENSOR_LIMITS_MGDL: Final = (40.0, 400.0)
"""Medtronic sensors report 40-400 mg/dL (reference for the notes; values are numbers)."""

SUSPEND_STATES: Final = frozenset(
    {
        "USER_SUSPEND",
        "ALARM_SUSPEND",
        "NOTSEATED_SUSPEND",
        "PLGM_PREDICTED_LOW_SG",
        "LOW_SG_SUSPEND",
        "BATTERY_REMOVED_SUSPEND",
        "SUSPENDED",
    }
)
RESUME_STATES: Final = frozenset({"NORMAL_PUMPING", "RESUMED", "NORMAL"})


def canonical(name: str) -> str:
    """The canonical key of a header cell: lower case, unit in parentheses removed.

    >>> canonical("BWZ Insulin Sensitivity (mg/dL/U)"), canonical("Alarm")
    ('bwz insulin sensitivity', 'alert')
    """
    key = _PARENS.sub("", name.lstrip("\ufeff").strip().strip('"')).strip().lower()
    return _ALIASES.get(key, key)


def glucose_unit(header: Iterable[str]) -> Units:
    """``mmol/L`` if any glucose column of the header says so, else ``mg/dL``."""
    for name in header:
        low = name.lower()
        if "mmol/l" in low and "ketone" not in low:
            return "mmol/L"
    return "mg/dL"


MODERN_HEADER: Final = tuple(
    [
        "Index",
        "Date",
        "Time",
        "New Device Time",
        "BG Source",
        "BG Reading (mg/dL)",
        "Linked BG Meter ID",
        "Basal Rate (U/h)",
        "Temp Basal Amount",
        "Temp Basal Type",
        "Temp Basal Duration (h:mm:ss)",
        "Bolus Type",
        "Bolus Volume Selected (U)",
        "Bolus Volume Delivered (U)",
        "Bolus Duration (h:mm:ss)",
        "Prime Type",
        "Prime Volume Delivered (U)",
        "Estimated Reservoir Volume after Fill (U)",
        "Alert",
        "User Cleared Alerts",
        "Suspend",
        "Rewind",
        "BWZ Estimate (U)",
        "BWZ Target High BG (mg/dL)",
        "BWZ Target Low BG (mg/dL)",
        "BWZ Carb Ratio (g/U)",
        "BWZ Insulin Sensitivity (mg/dL/U)",
        "BWZ Carb Input (grams)",
        "BWZ BG/SG Input (mg/dL)",
        "BWZ Correction Estimate (U)",
        "BWZ Food Estimate (U)",
        "BWZ Active Insulin (U)",
        "BWZ Status",
        "Sensor Calibration BG (mg/dL)",
        "Sensor Glucose (mg/dL)",
        "ISIG Value",
        "Event Marker",
        "Bolus Number",
        "Bolus Cancellation Reason",
        "BWZ Unabsorbed Insulin Total (U)",
        "Final Bolus Estimate",
        "Scroll Step Size",
        "Insulin Action Curve Time",
        "Sensor Calibration Rejected Reason",
        "Preset Bolus",
        "Bolus Source",
        "BLE Network Device",
        "Device Update Event",
        "Network Device Associated Reason",
        "Network Device Disassociated Reason",
        "Network Device Disconnected Reason",
        "Sensor Exception",
        "Preset Temp Basal Name",
        "Sensor State",
    ]
)
"""The 54-column 770G/780G header, verbatim (firmware 3.13.9 and 8.13.2)."""

GUARDIAN_HEADER: Final = tuple(
    [
        "Index",
        "Date",
        "Time",
        "New Device Time",
        "BG Reading (mg/dL)",
        "Linked BG Meter ID",
        "Basal Rate (U/h)",
        "Temp Basal Amount",
        "Temp Basal Type",
        "Temp Basal Duration (h:mm:ss)",
        "Bolus Type",
        "Bolus Volume Selected (U)",
        "Bolus Volume Delivered (U)",
        "Bolus Duration (h:mm:ss)",
        "Prime Type",
        "Prime Volume Delivered (U)",
        "Alarm",
        "Suspend",
        "Rewind",
        "BWZ Estimate (U)",
        "BWZ Target High BG (mg/dL)",
        "BWZ Target Low BG (mg/dL)",
        "BWZ Carb Ratio (g/U)",
        "BWZ Insulin Sensitivity (mg/dL/U)",
        "BWZ Carb Input (grams)",
        "BWZ BG Input (mg/dL)",
        "BWZ Correction Estimate (U)",
        "BWZ Food Estimate (U)",
        "BWZ Active Insulin (U)",
        "BWZ Status",
        "Sensor Calibration BG (mg/dL)",
        "Sensor Glucose (mg/dL)",
        "ISIG Value",
        "Event Marker",
        "Bolus Number",
        "Bolus Cancellation Reason",
        "BWZ Unabsorbed Insulin Total (U)",
        "Final Bolus Estimate",
        "Scroll Step Size",
        "Insulin Action Curve Time",
        "Sensor Calibration Rejected Reason",
        "Preset Bolus",
        "Bolus Source",
        "Network Device Associated Reason",
        "Network Device Disassociated Reason",
        "Network Device Disconnected Reason",
        "Sensor Exception",
        "Preset Temp Basal Name",
    ]
)
"""The 48-column Guardian Connect header (2021), verbatim."""

CLASSIC_HEADER: Final = tuple(
    [
        "Index",
        "Date",
        "Time",
        "Timestamp",
        "New Device Time",
        "BG Reading (mg/dL)",
        "Linked BG Meter ID",
        "Temp Basal Amount (U/h)",
        "Temp Basal Type",
        "Temp Basal Duration (hh:mm:ss)",
        "Bolus Type",
        "Bolus Volume Selected (U)",
        "Bolus Volume Delivered (U)",
        "Programmed Bolus Duration (hh:mm:ss)",
        "Prime Type",
        "Prime Volume Delivered (U)",
        "Suspend",
        "Rewind",
        "BWZ Estimate (U)",
        "BWZ Target High BG (mg/dL)",
        "BWZ Target Low BG (mg/dL)",
        "BWZ Carb Ratio (grams)",
        "BWZ Insulin Sensitivity (mg/dL)",
        "BWZ Carb Input (grams)",
        "BWZ BG Input (mg/dL)",
        "BWZ Correction Estimate (U)",
        "BWZ Food Estimate (U)",
        "BWZ Active Insulin (U)",
        "Alarm",
        "Sensor Calibration BG (mg/dL)",
        "Sensor Glucose (mg/dL)",
        "ISIG Value",
        "Daily Insulin Total (U)",
        "Raw-Type",
        "Raw-Values",
        "Raw-ID",
        "Raw-Upload ID",
        "Raw-Seq Num",
        "Raw-Device Type",
    ]
)
"""The 39-column classic CareLink Personal header (2014), verbatim."""

IPRO2_HEADER: Final = tuple(
    [
        "Index",
        "Date",
        "Time",
        "Timestamp",
        "Source",
        "Excluded",
        "BG Reading (mmol/L)",
        "Used in Calibration",
        "ISIG Value",
        "Sensor Glucose (mmol/L)",
        "Sensor Event",
        "Meal",
        "Exercise",
        "Medication",
        "Other",
        "Raw-Type",
        "Raw-Values",
    ]
)
"""The 17-column iPro2 header (v1.0.1 export), verbatim."""
