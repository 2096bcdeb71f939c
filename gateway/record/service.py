"""``glucogate record``: the care-record service's intake.

Subscribes to ``glucogate/v1/<site>/#`` for each configured site (``+`` for all),
validates every payload against its JSON Schema (``gateway/publish/schemas``), checks
that the payload's site and patient match the topic (a gateway cannot file data under
another site's topic path by writing it in the payload), and stores it idempotently.
Anything that fails is kept in ``rejected`` with the reason, never half-stored.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import jsonschema_rs

from gateway.publish.messages import load_schema
from gateway.publish.mqtt import BrokerConfig
from gateway.publish.subscribe import Subscription
from gateway.record.store import CareRecordStore

# jsonschema-rs (Rust): the care record's intake spent 60-80 % of its time validating
# with the pure-Python jsonschema (31 ms per 500-record message; 0.4 ms with this, and
# 10,500 -> 69,100 records/s end to end in bench/care_record_load_bench.py). It also
# reads ``$`` as the end of the text, as JSON Schema means it, where Python's ``re``
# lets a pattern pass a value with a trailing newline (a look-alike "site-a\n").
_VALIDATORS = {
    name: jsonschema_rs.validator_for(load_schema(name))
    for name in ("records", "summary", "status")
}


class Intake:
    """Turns MQTT messages into care-record rows."""

    def __init__(self, store: CareRecordStore) -> None:
        self.store = store
        self.accepted = 0

    def handle(self, topic: str, payload: bytes, retained: bool) -> None:
        parts = topic.split("/")
        if len(parts) < 5 or parts[:2] != ["glucogate", "v1"]:
            self.store.reject(topic, "not a glucogate/v1 topic")
            return
        site = parts[2]
        try:
            doc: Any = json.loads(payload)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            self.store.reject(topic, f"payload is not JSON: {exc}")
            return
        kind = parts[-1]
        if parts[3] == "gateway" and kind == "status" and len(parts) == 6:
            if self._valid(topic, "status", doc):
                self.store.set_gateway(site, parts[4], doc["state"])
                self.store.gateway_findings(site, parts[4], doc)
            return
        if len(parts) == 5 and kind == "careplan":
            return  # the care record's own (retained) care plans, echoed back to it
        if len(parts) != 5 or kind not in ("records", "summary"):
            self.store.reject(topic, f"unknown topic kind {kind!r}")
            return
        if not self._valid(topic, kind, doc):
            return
        if doc["site"] != site or doc["patient"] != parts[3]:
            self.store.reject(topic, "payload site/patient do not match the topic")
            return
        if kind == "records":
            self.store.add_records(site, doc["patient"], doc["gateway"], doc["records"])
        else:
            self.store.set_summary(site, doc["patient"], doc)
            self.store.evaluate_findings(site, doc["patient"], doc)
        self.accepted += 1

    def _valid(self, topic: str, schema: str, doc: Any) -> bool:
        try:
            _VALIDATORS[schema].validate(doc)
        except jsonschema_rs.ValidationError as exc:
            where = "/".join(str(p) for p in exc.instance_path) or "(top)"
            self.store.reject(topic, f"{schema} schema: {where}: {exc.message}")
            return False
        return True


def subscribe(
    config: BrokerConfig,
    store: CareRecordStore,
    *,
    sites: Sequence[str] = ("+",),
    client_id: str = "glucogate-care-record",
) -> tuple[Subscription, Intake]:
    """Start receiving for ``sites`` (``+`` = every site); returns the running subscription."""
    intake = Intake(store)
    topics = [f"glucogate/v1/{site}/#" for site in sites]
    return Subscription(
        config, client_id=client_id, topics=topics, handler=intake.handle
    ).start(), intake
