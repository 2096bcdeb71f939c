"""Publishing care plans: the care record sends each patient's current plan, retained,
on ``glucogate/v1/<site>/<pseudonym>/careplan`` (QoS 1), so every gateway of the site
(and one that connects later) uses the current plan; see deploy/mosquitto/acl.conf:
only the care record may write these topics."""

from __future__ import annotations

from datetime import datetime

from gateway.careplan.plan import CarePlan, revise
from gateway.publish.mqtt import BrokerConfig, publish_once
from gateway.publish.topics import careplan_topic
from gateway.record.store import CareRecordStore


def careplan_message(plan: CarePlan) -> tuple[str, str, int, bool]:
    """(topic, payload, qos, retain) of a plan; the payload validates against
    gateway/publish/schemas/careplan.v1.json."""
    return careplan_topic(plan.site, plan.patient), plan.to_json(), 1, True


def publish_careplan(config: BrokerConfig, plan: CarePlan, *, client_id: str) -> None:
    """Publish one plan (retained, QoS 1) and wait for the broker's acknowledgement."""
    publish_once(config, [careplan_message(plan)], client_id=client_id)


def edit_careplan(
    store: CareRecordStore,
    config: BrokerConfig | None,
    site: str,
    patient: str,
    *,
    changed_by: str,
    changed_at: datetime,
    **changes: object,
) -> CarePlan:
    """Revise a patient's plan (version + 1, who and when recorded), store it, publish it."""
    current = store.careplan(site, patient)
    if current is None:
        raise KeyError(f"no care plan for {patient} at {site}")
    plan = revise(current, changed_by=changed_by, changed_at=changed_at, **changes)
    store.save_careplan(plan)
    if config is not None:
        publish_careplan(config, plan, client_id=f"glucogate-care-record-plan-{site}")
    return plan
