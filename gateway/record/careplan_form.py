"""The care-plan editor's form, turned into a new plan version.

Form fields (``templates/careplan.html``): ``version`` (the version the editor showed),
``preset``, ``language``, ``target.<item id>`` and ``agreement.<item id>`` values,
``follow_up.<follow-up>`` (a role, or empty for the site default), ``remove.<index>``
for resources to drop, ``new_name``/``new_kind``/``new_phone``/``new_address``/
``new_notes`` for one resource to add, and ``next_visit`` (YYYY-MM-DD or empty).

Changing the preset replaces the target items with the new preset's (the consensus
numbers); otherwise each target keeps its id and metric and takes the form's value.
Every invalid value raises :class:`gateway.careplan.plan.CarePlanError` naming the
field as the plan document spells it (``targets.items[0].value``, ``language``), and
nothing is stored: the old version stays the current one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from gateway.careplan.plan import (
    DEFAULT_OWNERS,
    PRESETS,
    CarePlan,
    CarePlanError,
    Item,
    Resource,
    from_dict,
    new_plan,
)
from gateway.publish.mqtt import BrokerConfig
from gateway.record.careplans import edit_careplan, publish_careplan
from gateway.record.store import CareRecordStore

FOLLOW_UPS = tuple(DEFAULT_OWNERS)
"""Follow-ups whose owner the plan may set (findings rules, worklist groups, resources)."""


class PlanConflict(Exception):
    """The plan changed since the editor was opened (someone else saved a version)."""


def _value(form: Mapping[str, str], key: str, field: str, item: Item) -> Item:
    text = form.get(key)
    if text is None:
        return item
    try:
        value = float(text)
    except ValueError:
        raise CarePlanError(field, f"not a number: {text[:20]!r}") from None
    if not math.isfinite(value):
        raise CarePlanError(field, "not a finite number")
    return replace(item, value=value)


def changes_from_form(current: CarePlan, form: Mapping[str, str]) -> dict[str, Any]:
    """The dataclass fields of :class:`CarePlan` that the form sets."""
    preset = form.get("preset", current.preset)
    if preset not in (*PRESETS, "custom"):
        raise CarePlanError("targets.preset", f"unknown preset {preset[:20]!r}")
    if preset != current.preset and preset in PRESETS:
        targets = PRESETS[preset]
    else:
        targets = tuple(
            _value(form, f"target.{t.id}", f"targets.items[{i}].value", t)
            for i, t in enumerate(current.targets)
        )
    agreements = tuple(
        _value(form, f"agreement.{a.id}", f"agreements[{i}].value", a)
        for i, a in enumerate(current.agreements)
    )
    follow_up = {}
    for name in FOLLOW_UPS:
        role = form.get(f"follow_up.{name}", current.follow_up.get(name, ""))
        if role:
            follow_up[name] = role
    resources = [r for i, r in enumerate(current.resources) if f"remove.{i}" not in form]
    if form.get("new_name", "").strip():
        resources.append(
            Resource(
                name=form["new_name"].strip(),
                kind=form.get("new_kind", "other"),
                phone=form.get("new_phone", "").strip(),
                address=form.get("new_address", "").strip(),
                notes=form.get("new_notes", "").strip(),
            )
        )
    visit = form.get("next_visit", None)
    next_visit = current.next_visit
    if visit is not None:
        try:
            next_visit = date.fromisoformat(visit) if visit.strip() else None
        except ValueError:
            raise CarePlanError("next_visit", f"not a date (YYYY-MM-DD): {visit[:20]!r}") from None
    return {
        "preset": preset,
        "language": form.get("language", current.language),
        "targets": targets,
        "agreements": agreements,
        "follow_up": follow_up,
        "resources": tuple(resources),
        "next_visit": next_visit,
    }


def blank_plan(site: str, patient: str, now: datetime) -> CarePlan:
    """What the editor shows for a patient without a plan (saved as version 1)."""
    return new_plan(site=site, patient=patient, changed_by="editor", changed_at=now)


def save_from_form(
    store: CareRecordStore,
    broker: BrokerConfig | None,
    site: str,
    patient: str,
    form: Mapping[str, str],
    *,
    changed_by: str,
    changed_at: datetime,
) -> CarePlan:
    """Store (and publish, with a broker) the plan version the form describes.

    Raises :class:`CarePlanError` for an invalid value and :class:`PlanConflict` when
    the form was made from an older version than the current one.
    """
    current = store.careplan(site, patient)
    shown = form.get("version", "")
    if shown != str(0 if current is None else current.version):
        raise PlanConflict(
            f"the plan is at version {0 if current is None else current.version},"
            f" the editor showed version {shown[:10]}"
        )
    if current is not None:
        changes = changes_from_form(current, form)
        return edit_careplan(
            store, broker, site, patient, changed_by=changed_by, changed_at=changed_at, **changes
        )
    base = blank_plan(site, patient, changed_at)
    plan = from_dict(
        replace(
            base, changed_by=changed_by, changed_at=changed_at, **changes_from_form(base, form)
        ).to_dict()
    )
    store.save_careplan(plan)
    if broker is not None:
        publish_careplan(broker, plan, client_id=f"glucogate-care-record-plan-{site}")
    return plan
