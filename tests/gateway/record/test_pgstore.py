"""The care record on a real PostgreSQL (Debian's package, started by the harness):
the gateway's own messages through :class:`Intake` into :class:`PgCareRecordStore`,
and the same sequence on the SQLite store giving the same care record."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from gateway.analyze.summary import cgm_series, patient_metrics
from gateway.careplan.plan import new_plan
from gateway.identity import patient_pseudonym
from gateway.publish.messages import record_messages, status_payload, summary_message
from gateway.record.careplans import edit_careplan
from gateway.record.pgstore import PgCareRecordStore, is_dsn
from gateway.record.service import Intake
from gateway.record.store import CareRecordStore

SITE, SECRET = "clinic-pg", b"k" * 32
P = patient_pseudonym(SECRET, SITE, "local-1")
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
QUIET = {
    "n_readings": 4000,
    "tir_70_180_pct": 70.0,
    "tbr_lt54_pct": 0.5,
    "tbr_54_69_pct": 2.0,
    "tar_181_250_pct": 22.0,
    "tar_gt250_pct": 5.5,
    "mean_mgdl": 160.0,
    "sd_mgdl": 50.0,
    "cv_pct": 31.2,
    "gmi_pct": 7.1,
    "wear_pct": 92.0,
}


@pytest.fixture(scope="module")
def cgm_messages() -> tuple[int, list[tuple[str, bytes]], tuple[str, bytes]]:
    """Three simulated days of CGM (frequent-lows preset) as the gateway publishes them:
    (number of readings, record batches of 200, the summary)."""
    from simulators.patient import presets
    from simulators.patient.scenario import Scenario

    sc = Scenario(presets.preset("frequent_lows"), days=3, seed=5, tz="UTC", start=date(2026, 3, 2))
    cgm = [r for r in sc.records if r.device_id == sc.cgm_id]
    batches = [
        (t, p.encode())
        for t, p, _, _ in record_messages(
            cgm, secret=SECRET, site=SITE, pseudonym=P, gateway_id="gw-1", per_message=200
        )
    ]
    series = cgm_series(cgm)
    assert series.first_utc is not None and series.last_utc is not None
    t, p, _, _ = summary_message(
        patient_metrics(series),
        site=SITE,
        pseudonym=P,
        gateway_id="gw-1",
        start_utc=series.first_utc,
        end_utc=series.last_utc,
        generated_utc=series.last_utc + timedelta(minutes=5),
    )
    return len(cgm), batches, (t, p.encode())


def summary(metrics: dict[str, Any], end: datetime, generated: datetime) -> tuple[str, bytes]:
    t, p, _, _ = summary_message(
        metrics,
        site=SITE,
        pseudonym=P,
        gateway_id="gw-1",
        start_utc=end - timedelta(days=14),
        end_utc=end,
        generated_utc=generated,
    )
    return t, p.encode()


@pytest.fixture
def store(pg_dsn: str) -> Any:
    s = PgCareRecordStore(pg_dsn)
    yield s
    s.close()


def test_the_cli_tells_a_dsn_from_a_file() -> None:
    assert is_dsn("postgresql://u@127.0.0.1:5432/care") and is_dsn("postgres://h/db")
    assert not is_dsn("care-record.sqlite") and not is_dsn("/var/lib/glucogate/postgresql.db")


def test_records_are_stored_once_however_often_they_arrive(store: Any, cgm_messages) -> None:  # type: ignore[no-untyped-def]
    n, batches, _ = cgm_messages
    assert 600 < n <= 3 * 288 and len(batches) == 4  # 5-min readings with wear gaps
    intake = Intake(store)
    for topic, payload in batches + batches:  # QoS 1 redelivery / a re-publishing gateway
        intake.handle(topic, payload, retained=False)
    assert intake.accepted == 8 and store.rejected() == []
    [view] = store.patients()
    assert (view.site, view.pseudonym, view.records, view.summary) == (SITE, P, n, None)
    assert store.add_records(SITE, P, "gw-2", json.loads(batches[0][1])["records"]) == 0
    with psycopg.connect(store.db.info.dsn) as conn:
        assert conn.execute("SELECT count(*), count(DISTINCT gateway) FROM records").fetchone() == (
            n,
            1,
        )


def test_a_batch_is_one_transaction(store: Any, cgm_messages) -> None:  # type: ignore[no-untyped-def]
    """A batch PostgreSQL refuses part-way (a NUL in the text) leaves nothing behind,
    not even the patient row."""
    records = json.loads(cgm_messages[1][0][1])["records"][:3]
    records[2] = {**records[2], "source_index": "bad\x00index"}
    with pytest.raises(psycopg.Error):
        store.add_records(SITE, P, "gw-1", records)
    assert store.patients() == []
    assert store.add_records(SITE, P, "gw-1", records[:2]) == 2  # the connection still works


def test_bad_payloads_are_rejected_with_the_reason(store: Any, cgm_messages) -> None:  # type: ignore[no-untyped-def]
    intake = Intake(store)
    topic, payload = cgm_messages[1][0]
    good = json.loads(payload)
    intake.handle(topic, b"{not json", retained=False)
    intake.handle(f"glucogate/v1/other-site/{P}/records", json.dumps(good).encode(), False)
    intake.handle(topic, json.dumps({k: v for k, v in good.items() if k != "site"}).encode(), False)
    intake.handle(f"glucogate/v1/{SITE}/{P}/nonsense", b"{}", retained=False)
    reasons = [r for _, r in store.rejected()]
    assert len(reasons) == 4 and intake.accepted == 0
    assert reasons[0].startswith("payload is not JSON")
    assert reasons[1] == "payload site/patient do not match the topic"
    assert reasons[2].startswith('records schema: (top): "site" is a required property')
    assert reasons[3] == "unknown topic kind 'nonsense'"
    assert store.patients() == []


def test_the_newest_summary_wins(store: Any) -> None:
    intake = Intake(store)
    end = datetime.now(UTC) - timedelta(hours=2)
    new_t, new_p = summary({**QUIET, "mean_mgdl": 150.0}, end, end + timedelta(minutes=5))
    old_t, old_p = summary({**QUIET, "mean_mgdl": 170.0}, end - timedelta(days=1), end)
    intake.handle(new_t, new_p, retained=False)
    intake.handle(old_t, old_p, retained=True)  # a stale retained copy arriving late
    [view] = store.patients()
    assert view.summary is not None and view.summary["metrics"]["mean_mgdl"] == 150.0
    newer_t, newer_p = summary({**QUIET, "mean_mgdl": 140.0}, end, end + timedelta(minutes=9))
    intake.handle(newer_t, newer_p, retained=False)
    assert store.patients()[0].summary["metrics"]["mean_mgdl"] == 140.0  # type: ignore[index]


def test_findings_open_once_per_rule_and_can_be_resolved(store: Any) -> None:
    intake = Intake(store)
    end = datetime.now(UTC) - timedelta(days=10)  # no data for 10 days, 2 level 2 lows
    topic, payload = summary({**QUIET, "hypo_l2_events": 2}, end, end)
    intake.handle(topic, payload, retained=False)
    intake.handle(topic, payload, retained=True)
    assert store.evaluate_findings(SITE, P, json.loads(payload)) == 0
    with store.lock:
        found = {f["rule"]: f for f in store.findings.open_for()}
    assert {(r, f["role"]) for r, f in found.items()} == {
        ("level2_hypo", "clinician"),
        ("no_upload", "chw"),
    }
    assert found["level2_hypo"]["evidence"] == {"events": 2}
    store.findings.set_status(found["level2_hypo"]["id"], "resolved", by="clinician:x", now=T0)
    with pytest.raises(KeyError):
        store.findings.set_status(found["level2_hypo"]["id"], "resolved", by="c", now=T0)
    assert [f["rule"] for f in store.findings.open_for()] == ["no_upload"]
    assert store.evaluate_findings(SITE, P, json.loads(payload)) == 1  # lows again: new one
    with pytest.raises(psycopg.errors.UniqueViolation):  # the database itself refuses a 2nd
        store.db.execute(
            "INSERT INTO findings (site, patient, rule, role, message, evidence, status,"
            " opened_utc, updated_utc) VALUES (%s, %s, 'no_upload', 'chw', 'm', '{}', 'open',"
            " 'x', 'x')",
            (SITE, P),
        )


def test_care_plan_versions(store: Any) -> None:
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
    assert store.careplan(SITE, P, version=1).language == "en"
    assert store.careplan_history(SITE, P) == [
        (1, "educator-1", T0.isoformat()),
        (2, "clinician-2", (T0 + timedelta(days=3)).isoformat()),
    ]
    with pytest.raises(ValueError, match="expected 3"):
        store.save_careplan(v2)


def run_sequence(store: Any, cgm_messages) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """One site's day at the care record: records (two batches redelivered), the
    retained summary twice, a hub's status twice (status is not counted as accepted),
    junk; returns what the care team would see."""
    _, batches, (sum_topic, sum_payload) = cgm_messages
    store.save_careplan(new_plan(site=SITE, patient=P, changed_by="educator-1", changed_at=T0))
    intake = Intake(store)
    for topic, payload in batches + batches[:2]:
        intake.handle(topic, payload, retained=False)
    intake.handle(sum_topic, sum_payload, retained=True)
    intake.handle(sum_topic, sum_payload, retained=True)
    status = json.loads(status_payload("hub-7", "online"))
    status["outbox"] = {"state": "over-limit", "unsent_bytes": 3, "cap_bytes": 2, "pending": 9}
    hub = f"glucogate/v1/{SITE}/gateway/hub-7/status"
    intake.handle(hub, json.dumps(status).encode(), retained=True)
    intake.handle(hub, json.dumps(status).encode(), retained=True)
    intake.handle(f"glucogate/v1/{SITE}/{P}/records", b"\xff", retained=False)
    intake.handle(f"glucogate/v1/{SITE}/x/summary", b'{"schema": 1}', retained=False)
    with store.lock:
        findings = sorted(
            (f["site"], f["patient"], f["rule"], f["role"], f["message"], json.dumps(f["evidence"]))
            for f in store.findings.open_for()
        )
    [view] = store.patients()
    return {
        "accepted": intake.accepted,
        "patients": [(view.site, view.pseudonym, view.records, view.summary)],
        "gateways": store.gateways(),
        "rejected": store.rejected(),
        "findings": findings,
        "careplan": store.careplan_history(SITE, P),
        "swept": store.sweep(datetime.now(UTC) + timedelta(days=30)),
    }


def test_both_stores_keep_the_same_care_record(
    store: Any,
    tmp_path: Path,
    cgm_messages,  # type: ignore[no-untyped-def]
) -> None:
    sqlite = CareRecordStore(tmp_path / "r.sqlite")
    try:
        expected = run_sequence(sqlite, cgm_messages)
    finally:
        sqlite.close()
    got = run_sequence(store, cgm_messages)
    assert got == expected
    assert expected["patients"][0][2] == cgm_messages[0]  # every reading, once
    assert expected["accepted"] == 6 + 2 and len(expected["rejected"]) == 2
    assert ("outbox_over_limit", "chw") in {(f[2], f[3]) for f in expected["findings"]}
    assert expected["gateways"] == {(SITE, "hub-7"): "online"}
