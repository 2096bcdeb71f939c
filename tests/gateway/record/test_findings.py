"""Findings: each rule at its threshold, one owner each, one open finding per problem."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from gateway.record.findings import FindingsStore, Refill, evaluate

NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
QUIET = {"hypo_l2_events": 0, "tbr_lt54_pct": 0.5, "tbr_54_69_pct": 2.0, "wear_pct": 92.0}


def rules(**kwargs: object) -> dict[str, str]:
    args: dict[str, object] = {"metrics": QUIET, "last_data": NOW - timedelta(hours=3), "now": NOW}
    args.update(kwargs)
    return {f.rule: f.role for f in evaluate(**args)}  # type: ignore[arg-type]


def test_a_quiet_patient_has_no_findings() -> None:
    assert rules() == {}


@pytest.mark.parametrize(
    ("kwargs", "rule", "role"),
    [
        ({"metrics": {**QUIET, "hypo_l2_events": 1}}, "level2_hypo", "clinician"),
        (
            {"metrics": {**QUIET, "tbr_lt54_pct": 1.0, "tbr_54_69_pct": 3.0}},
            "below_range",
            "clinician",
        ),
        ({"insulin": {"missed_meal_bolus_pct": 20.5}}, "missed_meal_boluses", "pump_educator"),
        (
            {"last_site_change": NOW - timedelta(days=4, minutes=1)},
            "site_change_overdue",
            "pump_educator",
        ),
        ({"last_data": NOW - timedelta(days=7, minutes=1)}, "no_upload", "chw"),
        ({"last_data": None}, "no_upload", "chw"),
        ({"metrics": {**QUIET, "wear_pct": 69.0}}, "low_wear", "chw"),
        (
            {"insulin": {"tdd_u": 50.0}, "baseline_insulin": {"tdd_u": 40.0}},
            "tdd_change",
            "clinician",
        ),
    ],
)
def test_each_rule_fires_at_its_threshold(kwargs: dict, rule: str, role: str) -> None:
    assert rules(**kwargs) == {rule: role}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"metrics": {**QUIET, "tbr_lt54_pct": 1.0, "tbr_54_69_pct": 2.99}},
        {"insulin": {"missed_meal_bolus_pct": 20.0}},
        {"last_site_change": NOW - timedelta(days=3, hours=23)},
        {"last_data": NOW - timedelta(days=6, hours=23)},
        {"metrics": {**QUIET, "wear_pct": 70.0}},
        {"insulin": {"tdd_u": 49.9}, "baseline_insulin": {"tdd_u": 40.0}},
    ],
)
def test_just_inside_the_agreement_nothing_fires(kwargs: dict) -> None:
    assert rules(**kwargs) == {}


def test_care_plan_agreements_and_owners_override_the_defaults() -> None:
    got = rules(
        insulin={"missed_meal_bolus_pct": 12.0},
        agreements={"missed_meal_bolus_max_pct": 10.0},
        owners={"missed_meal_boluses": "educator"},
    )
    assert got == {"missed_meal_boluses": "educator"}


def test_refills_against_use() -> None:
    # 40 U/day for 30 days = 1,200 U used; 2,000 U dispensed before the last refill:
    # 40 % more dispensed than used -> the pharmacist looks
    refills = [
        Refill(NOW - timedelta(days=30), 1000.0),
        Refill(NOW - timedelta(days=15), 1000.0),
        Refill(NOW, 1000.0),
    ]
    [f] = evaluate(metrics=QUIET, insulin={"tdd_u": 40.0}, last_data=NOW, refills=refills, now=NOW)
    assert (f.rule, f.role) == ("refill_mismatch", "pharmacist")
    assert f.evidence["used_u"] == pytest.approx(1200.0)
    assert "40 % more dispensed than used" in f.message
    # 1,300 U for 1,200 U used: within 30 %
    close = [Refill(NOW - timedelta(days=30), 1300.0), Refill(NOW, 1000.0)]
    assert (
        evaluate(metrics=QUIET, insulin={"tdd_u": 40.0}, last_data=NOW, refills=close, now=NOW)
        == []
    )


def test_store_keeps_one_open_finding_per_problem_until_resolved() -> None:
    db = sqlite3.connect(":memory:", isolation_level=None)
    store = FindingsStore(db)
    lows = evaluate(metrics={**QUIET, "hypo_l2_events": 2}, last_data=NOW, now=NOW)
    assert store.record("site-a", "p-x", lows, NOW) == 1
    # the same problem seen again the next day: evidence updated, nothing new opened
    again = evaluate(metrics={**QUIET, "hypo_l2_events": 3}, last_data=NOW, now=NOW)
    assert store.record("site-a", "p-x", again, NOW + timedelta(days=1)) == 0
    [open_] = store.open_for("clinician")
    assert open_["evidence"] == {"events": 3}
    assert store.open_for("chw") == []  # routed to one role only
    store.set_status(open_["id"], "acknowledged", by="dr-a", now=NOW)
    assert store.record("site-a", "p-x", again, NOW + timedelta(days=2)) == 0
    store.set_status(open_["id"], "resolved", by="dr-a", now=NOW + timedelta(days=2))
    assert store.open_for() == []
    with pytest.raises(KeyError):
        store.set_status(open_["id"], "resolved", by="dr-a", now=NOW)
    # after resolution a new episode opens a new finding
    assert store.record("site-a", "p-x", again, NOW + timedelta(days=9)) == 1
    assert len(store.open_for()) == 1


def test_a_summary_arriving_at_the_care_record_opens_findings_once(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Intake -> store -> rules: a gateway's summary with level 2 lows and an old end
    opens two findings for two roles; the retained summary redelivered opens none."""
    from gateway.publish.messages import summary_message
    from gateway.record.service import Intake
    from gateway.record.store import CareRecordStore

    store = CareRecordStore(tmp_path / "record.sqlite")
    intake = Intake(store)
    end = datetime.now(UTC) - timedelta(days=10)
    topic, payload, _, _ = summary_message(
        {
            **QUIET,
            "hypo_l2_events": 2,
            "tir_70_180_pct": 70.0,
            "n_readings": 4000,
            "tar_181_250_pct": 22.0,
            "tar_gt250_pct": 5.5,
            "mean_mgdl": 160.0,
            "sd_mgdl": 50.0,
            "cv_pct": 31.2,
            "gmi_pct": 7.1,
        },
        site="site-a",
        pseudonym="p-abcdefghijklmnop",
        gateway_id="gw-1",
        start_utc=end - timedelta(days=14),
        end_utc=end,
        generated_utc=end,
    )
    intake.handle(topic, payload.encode(), retained=False)
    intake.handle(topic, payload.encode(), retained=True)
    with store.lock:
        found = {(f["rule"], f["role"]) for f in store.findings.open_for()}
    assert found == {("level2_hypo", "clinician"), ("no_upload", "chw")}
    assert store.rejected() == []
    store.close()


def test_the_hourly_sweep_notices_a_gateway_that_stopped(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """No summary arrives from a gateway that stopped, so nothing would be evaluated:
    the sweep re-runs the rules at the current time and opens 'no upload' once."""
    from gateway.publish.messages import summary_message
    from gateway.record.service import Intake
    from gateway.record.store import CareRecordStore

    store = CareRecordStore(tmp_path / "record.sqlite")
    end = datetime.now(UTC) - timedelta(days=1)  # the intake judges it at the real time
    metrics = {
        **QUIET,
        "tir_70_180_pct": 80.0,
        "n_readings": 4000,
        "tar_181_250_pct": 15.0,
        "tar_gt250_pct": 2.5,
        "mean_mgdl": 145.0,
        "sd_mgdl": 40.0,
        "cv_pct": 27.6,
        "gmi_pct": 6.8,
    }
    topic, payload, _, _ = summary_message(
        metrics,
        site="site-a",
        pseudonym="p-abcdefghijklmnop",
        gateway_id="gw-1",
        start_utc=end - timedelta(days=14),
        end_utc=end,
        generated_utc=end,
    )
    Intake(store).handle(topic, payload.encode(), retained=False)
    assert store.sweep(end + timedelta(days=6)) == 0  # within the 7 days
    assert store.sweep(end + timedelta(days=8)) == 1
    assert store.sweep(end + timedelta(days=9)) == 0  # the same finding, not a new one
    with store.lock:
        [f] = store.findings.open_for("chw")
    assert f["rule"] == "no_upload" and "no new data for 9 days" in f["message"]
    store.close()


def test_a_hubs_status_raises_findings_for_a_full_outbox_and_a_stopped_device(
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    """The hub never drops unsent records when its outbox outgrows the disk cap; it
    says so in its status, and the care record turns that into a finding (once)."""
    from gateway.publish.messages import status_payload
    from gateway.record.service import Intake
    from gateway.record.store import CareRecordStore

    store = CareRecordStore(tmp_path / "record.sqlite")
    intake = Intake(store)
    doc = json.loads(status_payload("hub-7", "online"))
    doc["devices"] = [
        {
            "name": "cgm",
            "transport": "ble",
            "state": "unavailable",
            "stale": True,
            "hours_since_success": 7.5,
            "last_success_utc": None,
            "failures": 9,
            "error": None,
        }
    ]
    doc["outbox"] = {
        "state": "over-limit",
        "unsent_bytes": 250_000_000,
        "cap_bytes": 200_000_000,
        "pending": 4_321,
    }
    topic = "glucogate/v1/site-a/gateway/hub-7/status"
    intake.handle(topic, json.dumps(doc).encode(), retained=True)
    intake.handle(topic, json.dumps(doc).encode(), retained=True)  # redelivered
    with store.lock:
        found = {(f["patient"], f["rule"], f["role"]) for f in store.findings.open_for()}
    assert found == {
        ("gateway:hub-7", "outbox_over_limit", "chw"),
        ("gateway:hub-7", "sync_stopped", "chw"),
    }
    assert store.rejected() == []
    store.close()
