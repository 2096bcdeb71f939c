"""Tidepool ``pumpSettings`` -> :class:`SettingsSnapshot`; ``wizard`` -> the bolus's
:class:`BolusCalculation`.

The web export splits one ``pumpSettings`` object into rows typed
``pumpSettings.basalSchedules`` / ``.bgTargets`` / ``.carbRatios`` /
``.insulinSensitivities``, one row per schedule segment, all with the object's ``id``
(starts written as ``1970-01-01T06:00:00.000Z``); the platform API keeps one nested
object (``basalSchedules: {name: [{start (ms), rate}]}``). Both become one snapshot
per ``id``. Glucose settings follow ``units.bg``, but a target below 30 "mg/dL" can only
be mmol/L (the 2026 sample has such rows on overrides) and is converted, annotated
``settings/units-mismatch``.

A ``wizard`` names its bolus by id (``bolus``); its inputs and recommendation are
merged into that bolus, ``user_changed`` comparing the programmed total with
``recommended.net``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from drivers._core.records import Bolus, BolusCalculation, ScheduleEntry, SettingsSnapshot
from drivers.exports.nightscout.jsondoc import number, text
from drivers.exports.tidepool.fields import decoded, get, glucose_mgdl, start_s
from drivers.exports.tidepool.normalize import base

TOLERANCE_U = 0.001
MGDL_FLOOR = 30.0
SPLIT_PREFIX = "pumpSettings."
_SPLIT = {
    "basalSchedules": "basalSchedule",
    "bgTargets": "bgTarget",
    "carbRatios": "carbRatio",
    "insulinSensitivities": "insulinSensitivity",
}


@dataclass(slots=True)
class _Draft:
    first: Mapping[str, Any]
    line: int
    basal: dict[str, dict[int, float]] = field(default_factory=dict)
    ratios: dict[int, float] = field(default_factory=dict)
    sens: dict[int, float] = field(default_factory=dict)
    low: dict[int, float] = field(default_factory=dict)
    high: dict[int, float] = field(default_factory=dict)
    notes: set[str] = field(default_factory=set)


def _bg(value: Any, units: str, notes: set[str], *, target: bool = True) -> float | None:
    """A glucose setting as mg/dL; targets under 30 "mg/dL" are mmol/L (sensitivities
    have no such floor: 20 mg/dL/U is a real setting)."""
    got = number(value)
    if got is None or got <= 0:
        return None
    if target and not units.lower().startswith("mmol") and got < MGDL_FLOOR:
        notes.add("settings/units-mismatch")
        return glucose_mgdl(got, "mmol/L")
    return glucose_mgdl(got, units)


def _add(draft: _Draft, what: str, seg: Mapping[str, Any], name: str, units: str) -> None:
    start = start_s(seg.get("start"))
    if start is None:
        draft.notes.add("settings/implausible-entry")
        return
    if what == "basalSchedules":
        rate = number(seg.get("rate"))
        if rate is None or rate < 0:
            draft.notes.add("settings/implausible-entry")
            return
        draft.basal.setdefault(name or "default", {})[start] = rate
    elif what == "carbRatios":
        ratio = number(seg.get("amount"))
        if ratio is not None and ratio > 0:
            draft.ratios[start] = ratio
    elif what == "insulinSensitivities":
        sens = _bg(seg.get("amount"), units, draft.notes, target=False)
        if sens is not None:
            draft.sens[start] = sens
    elif what == "bgTargets":
        target = _bg(seg.get("target"), units, draft.notes)
        low = _bg(seg.get("low"), units, draft.notes) or target
        high = _bg(seg.get("high"), units, draft.notes) or target
        if low is not None:
            draft.low[start] = low
        if high is not None:
            draft.high[start] = high


def add_row(drafts: dict[str, _Draft], item: Mapping[str, Any], line: int) -> None:
    """Gather one ``pumpSettings`` item (split row or whole object) by its ``id``."""
    ident = text(item.get("id"))
    draft = drafts.setdefault(ident, _Draft(item, line))
    units = text(get(item, "units.bg")) or "mg/dL"
    kind = text(item.get("type"))
    if kind.startswith(SPLIT_PREFIX):
        what = kind[len(SPLIT_PREFIX) :]
        prefix = _SPLIT.get(what)
        if prefix is None:
            return
        seg = {
            k: get(item, f"{prefix}.{k}")
            for k in ("start", "rate", "amount", "low", "high", "target")
        }
        _add(draft, what, seg, text(item.get("scheduleName")), units)
        return
    schedules = decoded(item.get("basalSchedules"))
    if isinstance(schedules, Mapping):
        for name, segs in schedules.items():
            for seg in segs if isinstance(segs, list) else []:
                if isinstance(seg, Mapping):
                    _add(draft, "basalSchedules", seg, str(name), units)
    for what, single in _SPLIT.items():
        if what == "basalSchedules":
            continue
        segs = decoded(item.get(what)) or decoded(item.get(single))
        if isinstance(segs, Mapping):  # keyed by schedule name: take the active one's
            active = text(item.get("activeSchedule"))
            segs = segs.get(active) or next(iter(segs.values()), None)
        for seg in segs if isinstance(segs, list) else []:
            if isinstance(seg, Mapping):
                _add(draft, what, seg, "", units)


def _entries(values: Mapping[int, float]) -> tuple[ScheduleEntry, ...]:
    return tuple(ScheduleEntry(start_s=s, value=v) for s, v in sorted(values.items()))


def snapshots(drafts: Mapping[str, _Draft]) -> list[tuple[int, SettingsSnapshot]]:
    """One snapshot per pumpSettings ``id`` with the line of its first row.

    Raises:
        ItemError: From :func:`base` when an object's time cannot be read.
    """
    out: list[tuple[int, SettingsSnapshot]] = []
    for draft in drafts.values():
        fields = base(draft.first)
        fields["annotations"] = (*fields["annotations"], *sorted(draft.notes))
        out.append(
            (
                draft.line,
                SettingsSnapshot(
                    **fields,
                    active_schedule=text(draft.first.get("activeSchedule")) or None,
                    basal_schedules_u_per_h={
                        n: _entries(v) for n, v in sorted(draft.basal.items())
                    },
                    carb_ratios_g_per_u=_entries(draft.ratios),
                    sensitivities_mgdl_per_u=_entries(draft.sens),
                    target_low_mgdl=_entries(draft.low),
                    target_high_mgdl=_entries(draft.high),
                ),
            )
        )
    return out


def wizard_bolus_id(item: Mapping[str, Any]) -> str:
    """The id of the bolus a wizard item belongs to ('' when it names none)."""
    raw = item.get("bolus")
    nested = decoded(raw)
    if isinstance(nested, Mapping):
        return text(nested.get("id"))
    return text(raw)


def calculation(item: Mapping[str, Any], bolus: Bolus) -> BolusCalculation:
    """A wizard item's inputs and recommendation, compared with its bolus."""
    units = text(get(item, "units")) or "mg/dL"
    notes: set[str] = set()

    def bg(path: str) -> float | None:
        return _bg(get(item, path), units, notes)

    def num(path: str) -> float | None:
        got = number(get(item, path))
        return got if got is not None and got >= 0 else None

    target = bg("bgTarget.target")
    net = num("recommended.net")
    programmed = bolus.programmed_u + bolus.extended_programmed_u
    return BolusCalculation(
        carbs_g=num("carbInput"),
        bg_mgdl=bg("bgInput"),
        carb_ratio_g_per_u=num("insulinCarbRatio"),
        sensitivity_mgdl_per_u=_bg(get(item, "insulinSensitivity"), units, notes, target=False),
        target_low_mgdl=bg("bgTarget.low") or target,
        target_high_mgdl=bg("bgTarget.high") or target,
        iob_u=num("insulinOnBoard"),
        recommended_food_u=num("recommended.carb"),
        recommended_correction_u=number(get(item, "recommended.correction")),
        recommended_total_u=net,
        user_changed=None if net is None else abs(programmed - net) > TOLERANCE_U,
    )


def merge_wizards(
    boluses: dict[str, Bolus], wizards: Sequence[tuple[str, Mapping[str, Any]]]
) -> tuple[dict[str, Bolus], list[str]]:
    """Attach each wizard to its bolus; returns the updated boluses by id and the
    labels of wizards whose bolus is not in the file."""
    missing: list[str] = []
    out = dict(boluses)
    for label, item in wizards:
        target = out.get(wizard_bolus_id(item))
        if target is None:
            missing.append(label)
            continue
        out[target.source_index] = target.evolve(calculation=calculation(item, target))
    return out, missing
