"""Nightscout profiles (``/api/v1/profile``) -> one :class:`SettingsSnapshot` each.

A profile document has ``defaultProfile``, ``startDate``/``mills`` (when it took
effect), ``units`` and ``store.<name>`` = {``basal``, ``carbratio``, ``sens``,
``target_low``, ``target_high`` (lists of ``{time: "HH:MM", timeAsSeconds, value}``),
``dia`` (hours), ``timezone``, ``units``}. The snapshot holds every named basal
schedule and the default profile's ratios, sensitivities, targets and insulin action
time. ``units: "mmol"`` values are converted to mg/dL; a "mmol" value that cannot be
mmol/L (a sensitivity of 100, Nightscout's template) is taken as mg/dL and the
snapshot is annotated ``settings/units-mismatch``; zero or negative entries are left out
(``settings/implausible-entry``). A ``startDate`` of 1970 (``mills: 0``, the template
profile) is replaced by ``created_at`` (``settings/start-date-missing``). The
profile's time zone is kept as the annotation ``tz/<IANA name>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drivers._core.records import ScheduleEntry, SettingsSnapshot, make_device_id
from drivers._core.units import mmoll_to_mgdl
from drivers.exports.nightscout import times
from drivers.exports.nightscout.jsondoc import number, text

MMOL_MAX = 40.0
"""A glucose setting above 40 under ``units: mmol`` (720 mg/dL) cannot be mmol/L."""
DAY_S = 24 * 3600


class ProfileError(ValueError):
    """A profile document that cannot become a snapshot (skipped with this reason)."""


def _start_s(entry: Mapping[str, Any]) -> int | None:
    seconds = number(entry.get("timeAsSeconds"))
    if seconds is None:
        hhmm = text(entry.get("time")).split(":")
        if len(hhmm) != 2 or not all(p.isascii() and p.isdigit() and len(p) < 10 for p in hhmm):
            return None
        seconds = int(hhmm[0]) * 3600 + int(hhmm[1]) * 60
    start = round(seconds)
    return start if 0 <= start < DAY_S else None


def _schedule(
    raw: Any, notes: set[str], *, glucose_mmol: bool | None = None
) -> tuple[ScheduleEntry, ...]:
    """Entries sorted by start; ``glucose_mmol`` True/False converts glucose values."""
    out: dict[int, float] = {}
    for entry in raw if isinstance(raw, list) else []:
        if not isinstance(entry, Mapping):
            notes.add("settings/implausible-entry")
            continue
        start, value = _start_s(entry), number(entry.get("value"))
        if start is None or value is None or value <= 0:
            notes.add("settings/implausible-entry")
            continue
        if glucose_mmol is True:
            if value > MMOL_MAX:
                notes.add("settings/units-mismatch")
            else:
                value = mmoll_to_mgdl(value)
        out[start] = value
    return tuple(ScheduleEntry(start_s=s, value=v) for s, v in sorted(out.items()))


def _when(doc: Mapping[str, Any]) -> tuple[times.Stamp, list[str]]:
    notes: list[str] = []
    start = text(doc.get("startDate"))
    try:
        if start and not start.startswith("1970"):
            return times.iso_stamp(start), notes
        created = text(doc.get("created_at"))
        if not created:
            raise ProfileError("no startDate and no created_at")
        notes.append("settings/start-date-missing")
        return times.iso_stamp(created), notes
    except times.TimeError as exc:
        raise ProfileError(str(exc)) from None


def to_snapshot(doc: Mapping[str, Any]) -> SettingsSnapshot:
    """One profile document as a settings snapshot.

    Raises:
        ProfileError: No ``store``, no usable profile in it, unreadable start time.
    """
    store = doc.get("store")
    if not isinstance(store, Mapping) or not store:
        raise ProfileError("profile document without a store")
    profiles = {str(k): v for k, v in store.items() if isinstance(v, Mapping)}
    if not profiles:
        raise ProfileError("profile store holds no profile")
    default = text(doc.get("defaultProfile"))
    name = default if default in profiles else next(iter(profiles))
    active = profiles[name]
    units = (text(active.get("units")) or text(doc.get("units"))).lower()
    mmol = units.startswith("mmol")
    stamp, notes = _when(doc)
    found: set[str] = set()
    dia = number(active.get("dia"))
    zone = text(active.get("timezone"))
    snapshot = SettingsSnapshot(
        **stamp.fields(),
        device_id=make_device_id("Nightscout", text(doc.get("enteredBy")) or "unknown", "unknown"),
        source_index=text(doc.get("_id")) or f"profile:{text(doc.get('startDate'))}",
        active_schedule=name,
        basal_schedules_u_per_h={
            n: _schedule(p.get("basal"), found) for n, p in sorted(profiles.items())
        },
        carb_ratios_g_per_u=_schedule(active.get("carbratio"), found),
        sensitivities_mgdl_per_u=_schedule(active.get("sens"), found, glucose_mmol=mmol),
        target_low_mgdl=_schedule(active.get("target_low"), found, glucose_mmol=mmol),
        target_high_mgdl=_schedule(active.get("target_high"), found, glucose_mmol=mmol),
        insulin_action_s=round(dia * 3600) if dia is not None and 0 < dia <= 24 else None,
        annotations=(
            *stamp.notes(),
            *notes,
            *sorted(found),
            *((f"tz/{zone}",) if zone and len(zone) <= 64 else ()),
        ),
    )
    return snapshot
