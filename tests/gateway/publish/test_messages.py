"""Payloads match their JSON Schemas, and no identifier leaves the gateway in clear."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import jsonschema
import pytest

from drivers._core.records import DeviceInfo
from gateway.identity import patient_pseudonym
from gateway.publish.messages import load_schema, record_messages, status_payload, summary_message
from gateway.publish.topics import records_topic, status_topic
from tests.gateway.factories import T0, cgm

KEY = b"s" * 32
PSEUDONYM = patient_pseudonym(KEY, "site-a", "MRN-0042 Jane Doe")


def test_records_are_batched_and_valid() -> None:
    records = [cgm(i) for i in range(1201)]
    msgs = list(
        record_messages(
            records,
            secret=KEY,
            site="site-a",
            pseudonym=PSEUDONYM,
            gateway_id="kiosk-1",
            per_message=500,
        )
    )
    assert [len(json.loads(p)["records"]) for _, p, _, _ in msgs] == [500, 500, 201]
    assert all(qos == 1 and not retain for _, _, qos, retain in msgs)
    schema = load_schema("records")
    for topic, payload, _, _ in msgs:
        assert topic == f"glucogate/v1/site-a/{PSEUDONYM}/records"
        jsonschema.validate(json.loads(payload), schema)


def test_device_serials_are_pseudonymised() -> None:
    info = DeviceInfo(
        device_id="dexcom:g6:sm12345678",
        source_index="info",
        device_time=T0,
        time_utc=T0.replace(tzinfo=UTC),
        utc_offset_s=0,
        manufacturer="Dexcom",
        model="G6",
        serial="SM12345678",
    )
    records = [replace(cgm(0), device_id="dexcom:g6:sm12345678"), info]
    ((_, payload, _, _),) = record_messages(
        records, secret=KEY, site="site-a", pseudonym=PSEUDONYM, gateway_id="kiosk-1"
    )
    assert "12345678" not in payload
    doc = json.loads(payload)
    assert doc["records"][0]["device_id"] == doc["records"][1]["device_id"]
    assert doc["records"][0]["device_id"].startswith("dexcom:g6:d-")
    jsonschema.validate(doc, load_schema("records"))


def test_summary_and_status_are_valid_and_retained() -> None:
    metrics = {
        "n_readings": 10,
        "tir_70_180_pct": 71.5,
        "tbr_lt54_pct": 0.5,
        "tbr_54_69_pct": 2.0,
        "tar_181_250_pct": 20.0,
        "tar_gt250_pct": 6.0,
        "mean_mgdl": 150.2,
        "sd_mgdl": float("nan"),
        "cv_pct": 30.1,
        "gmi_pct": 6.9,
        "wear_pct": 88.0,
        "gri_zone": "B",
    }
    topic, payload, qos, retain = summary_message(
        metrics,
        site="site-a",
        pseudonym=PSEUDONYM,
        gateway_id="kiosk-1",
        start_utc=datetime(2024, 3, 1, tzinfo=UTC),
        end_utc=datetime(2024, 3, 15, tzinfo=UTC),
        generated_utc=datetime(2024, 3, 15, 1, tzinfo=UTC),
    )
    doc = json.loads(payload)
    jsonschema.validate(doc, load_schema("summary"))
    assert (topic.endswith("/summary"), qos, retain) == (True, 1, True)
    assert doc["metrics"]["sd_mgdl"] is None  # NaN is not JSON: sent as null
    assert doc["window"]["days"] == 14.0
    jsonschema.validate(json.loads(status_payload("kiosk-1", "offline")), load_schema("status"))


@pytest.mark.parametrize("bad", ["Jane Doe", "MRN-0042", "jane", "p-UPPERCASE0000000", ""])
def test_topics_refuse_anything_but_a_pseudonym(bad: str) -> None:
    with pytest.raises(ValueError):
        records_topic("site-a", bad)


def test_topic_segments_are_checked() -> None:
    with pytest.raises(ValueError):
        status_topic("site/a", "kiosk-1")
    with pytest.raises(ValueError):
        status_topic("site-a", "kiosk#1")
