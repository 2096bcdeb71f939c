"""Tidepool export items: dotted keys, JSON-in-strings, times, devices, units.

The web export flattens nested objects to dotted keys (``reason.suspended``,
``change.from``, ``bgTarget.high``) and writes what remains nested as JSON strings
(``payload``, ``annotations``, ``nutrition``, ``to``); the platform API writes real
nested objects. :func:`get` reads a dotted path from either shape.

Time (same rule as Nightscout, see :mod:`drivers.exports.nightscout.times`): ``time`` is
UTC and becomes ``time_utc`` with ``time_reason="source-utc"``; ``timezoneOffset``
(minutes) becomes ``utc_offset_s``; ``device_time`` is ``deviceTime`` (the pump's own
clock) when present, else UTC + offset; ``clock_offset_s`` is then local minus device
time, i.e. Tidepool's ``conversionOffset`` + ``clockDriftOffset`` as applied.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from drivers._core.records import make_device_id
from drivers._core.units import mmoll_to_mgdl
from drivers.exports.nightscout import times
from drivers.exports.nightscout.jsondoc import number, text

MINUTES_MAX = 7 * 24 * 60
"""Export durations are minutes; a value above a week of minutes is taken as the data
model's milliseconds (the platform API) and annotated ``tidepool/duration-ms``."""

KNOWN_DEVICES: dict[str, tuple[str, str]] = {
    "insomn": ("Insulet", "OmniPod"),
    "twiist": ("Sequel", "twiist"),
    "tandemciq": ("Tandem", "tslim X2"),
    "tandem": ("Tandem", "tslim X2"),
    "dexg4rec": ("Dexcom", "G4"),
    "dexg5mobrec": ("Dexcom", "G5"),
    "dexg6mobrec": ("Dexcom", "G6"),
    "abbottfreestylelibre": ("Abbott", "FreeStyle Libre"),
}
"""Tidepool ``deviceId`` prefixes -> (manufacturer, model), so the device id matches
what a direct read of the same device produces; others keep the prefix as model."""


class ItemError(ValueError):
    """An item that cannot become a record (skipped with this reason)."""


def decoded(value: Any) -> Any:
    """A nested value: objects as they are, JSON strings decoded, else None."""
    if isinstance(value, (Mapping, list)):
        return value
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except (ValueError, RecursionError):
            return None
    return None


def get(item: Mapping[str, Any], path: str) -> Any:
    """``get(item, "nutrition.carbohydrate.net")`` over flattened and nested shapes."""
    parts = path.split(".")
    for i in range(len(parts), 0, -1):
        key = ".".join(parts[:i])
        if key not in item:
            continue
        if i == len(parts):
            return item[key]
        sub = decoded(item[key])
        if isinstance(sub, Mapping):
            found = get(sub, ".".join(parts[i:]))
            if found is not None:
                return found
    return None


def amount(item: Mapping[str, Any], path: str, limit: float, unit: str) -> float | None:
    """A non-negative number at ``path`` up to ``limit``; None when absent."""
    value = get(item, path)
    if value is None or value == "":
        return None
    result = number(value)
    if result is None:
        raise ItemError(f"{path} {str(value)[:20]!r} is not a number")
    if not 0 <= result <= limit:
        raise ItemError(f"{path} {result:g} {unit} is impossible")
    return result


def duration_s(item: Mapping[str, Any], path: str, notes: list[str]) -> int | None:
    """A duration in export minutes (milliseconds beyond :data:`MINUTES_MAX`)."""
    value = amount(item, path, 1e12, "")
    if value is None:
        return None
    if value > MINUTES_MAX:
        notes.append("tidepool/duration-ms")
        return round(value / 1000)
    return round(value * 60)


def glucose_mgdl(value: float, units: str) -> float:
    """A BG value in its stated unit as mg/dL (``mmol/L`` converted)."""
    return mmoll_to_mgdl(value) if units.lower().startswith("mmol") else value


def annotation_codes(item: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Tidepool ``annotations`` as a list of dicts (decoded from the export's string)."""
    raw = decoded(item.get("annotations"))
    return [a for a in raw if isinstance(a, Mapping)] if isinstance(raw, list) else []


def stamp(item: Mapping[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """Record time fields and time annotations (see module docstring).

    Raises:
        ItemError: No ``time``, or it cannot be read.
    """
    raw = text(item.get("time"))
    if not raw:
        raise ItemError("no time")
    try:
        offset_min = number(item.get("timezoneOffset"))
        st = times.iso_stamp(raw, offset_min, zero_states=offset_min is not None)
        device = text(item.get("deviceTime"))
        device_time = times.parse_iso(device)[0] if device else None
    except times.TimeError as exc:
        raise ItemError(str(exc)) from None
    fields = st.fields()
    if device_time is not None:
        fields["device_time"] = device_time
        if st.utc_offset_s is not None:
            local = st.time_utc.replace(tzinfo=None) + timedelta(seconds=st.utc_offset_s)
            fields["clock_offset_s"] = round((local - device_time).total_seconds())
    return fields, st.notes()


def device_id(item: Mapping[str, Any]) -> str:
    """``deviceId`` ``InsOmn-130505754`` -> ``insulet:omnipod:130505754``; HealthKit
    rows (no deviceId) -> ``tidepool:healthkit:unknown``."""
    raw = text(item.get("deviceId"))
    if not raw:
        payload = decoded(item.get("payload"))
        source = (
            "healthkit"
            if isinstance(payload, Mapping) and any(str(k).startswith("HK") for k in payload)
            else "unknown"
        )
        return make_device_id("Tidepool", source, "unknown")
    cut = max(raw.rfind("-"), raw.rfind("_"))
    prefix, serial = (raw[:cut], raw[cut + 1 :]) if cut > 0 else (raw, "unknown")
    maker, model = KNOWN_DEVICES.get(prefix.lower(), ("Tidepool", prefix))
    return make_device_id(maker, model, serial or "unknown")


def naive(value: str) -> datetime | None:
    """A naive device time (``change.from``) or None when absent/unreadable."""
    try:
        return times.parse_iso(value)[0] if value else None
    except times.TimeError:
        return None


def start_s(value: Any) -> int | None:
    """A schedule start: milliseconds since midnight, or the export's
    ``1970-01-01T06:00:00.000Z`` -> 21600."""
    if isinstance(value, str) and value.startswith("1970-01-01T"):
        try:
            wall, _ = times.parse_iso(value)
        except times.TimeError:
            return None
        return wall.hour * 3600 + wall.minute * 60 + wall.second
    ms = number(value)
    if ms is None or not 0 <= ms < 86_400_000:
        return None
    return round(ms / 1000)
