"""Care plans at the care record: versions kept with who and when, the current plan
published retained to the real broker for the site's gateways, and findings judged on
the plan's own agreements."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.careplan.plan import Item, loads, new_plan
from gateway.publish.messages import summary_message
from gateway.publish.mqtt import BrokerConfig
from gateway.record.careplans import careplan_message, edit_careplan
from gateway.record.service import Intake
from gateway.record.store import CareRecordStore
from tests.harness.services import Mosquitto
from tests.harness.subscriber import Subscriber

SITE, P = "site-plan", "p-abcdefghijklmnop"
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
SUMMARY = {
    "n_readings": 3900,
    "tir_70_180_pct": 78.0,
    "tbr_lt54_pct": 0.3,
    "tbr_54_69_pct": 1.5,
    "tar_181_250_pct": 16.0,
    "tar_gt250_pct": 4.2,
    "mean_mgdl": 150.0,
    "sd_mgdl": 45.0,
    "cv_pct": 30.0,
    "gmi_pct": 6.9,
    "wear_pct": 75.0,
}


def test_versions_are_kept_and_only_the_next_one_is_accepted(tmp_path: Path) -> None:
    store = CareRecordStore(tmp_path / "r.sqlite")
    store.save_careplan(new_plan(site=SITE, patient=P, changed_by="educator-1", changed_at=T0))
    v2 = edit_careplan(
        store,
        None,
        SITE,
        P,
        changed_by="clinician-2",
        changed_at=T0 + timedelta(days=3),
        language="es",
    )
    assert v2.version == 2 and store.careplan(SITE, P) == v2
    assert store.careplan(SITE, P, version=1).language == "en"  # type: ignore[union-attr]
    assert store.careplan_history(SITE, P) == [
        (1, "educator-1", T0.isoformat()),
        (2, "clinician-2", (T0 + timedelta(days=3)).isoformat()),
    ]
    with pytest.raises(ValueError, match="expected 3"):
        store.save_careplan(v2)  # a stale editor's copy
    store.close()


def test_findings_use_the_patients_agreements(tmp_path: Path) -> None:
    """Wear 75 %: fine under the default 70 %, a finding once the plan agrees 80 %."""
    store = CareRecordStore(tmp_path / "r.sqlite")
    intake = Intake(store)
    end = datetime.now(UTC) - timedelta(hours=1)

    def summary(at: datetime) -> bytes:
        _, payload, _, _ = summary_message(
            SUMMARY,
            site=SITE,
            pseudonym=P,
            gateway_id="gw",
            start_utc=at - timedelta(days=14),
            end_utc=at,
            generated_utc=at,
        )
        return payload.encode()

    topic = f"glucogate/v1/{SITE}/{P}/summary"
    intake.handle(topic, summary(end), retained=False)
    with store.lock:
        assert store.findings.open_for() == []
    plan = new_plan(site=SITE, patient=P, changed_by="educator-1", changed_at=T0)
    stricter = tuple(
        Item(a.id, a.metric, a.op, 80.0, a.label, a.owner) if a.metric == "cgm_wear_pct" else a
        for a in plan.agreements
    )
    store.save_careplan(
        new_plan(site=SITE, patient=P, changed_by="educator-1", changed_at=T0, agreements=stricter)
    )
    intake.handle(topic, summary(end + timedelta(minutes=5)), retained=False)
    with store.lock:
        [finding] = store.findings.open_for()
    assert finding["rule"] == "low_wear" and "agreed 80 %" in finding["message"]
    store.close()


@pytest.mark.services
def test_an_edit_reaches_the_sites_gateways_retained(
    mqtt_broker: Mosquitto, tmp_path: Path
) -> None:
    store = CareRecordStore(tmp_path / "r.sqlite")
    store.save_careplan(new_plan(site=SITE, patient=P, changed_by="educator-1", changed_at=T0))
    broker = BrokerConfig("127.0.0.1", mqtt_broker.port)
    edit_careplan(
        store,
        broker,
        SITE,
        P,
        changed_by="educator-1",
        changed_at=T0 + timedelta(days=1),
        language="es",
    )
    # a gateway connecting afterwards still gets the current plan (retained)
    with Subscriber(mqtt_broker.port, f"glucogate/v1/{SITE}/+/careplan") as gateway:
        [message] = gateway.wait_for(1)
    got = loads(message.payload)
    assert (got.version, got.language) == (2, "es")
    assert message.topic == careplan_message(got)[0]
    assert json.loads(message.payload)["patient"] == P
    store.close()
