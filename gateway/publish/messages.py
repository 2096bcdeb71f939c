"""Build the MQTT payloads (JSON with a ``schema`` field; schemas in ``schemas/``).

Pure functions: records and metrics in, ``(topic, payload, qos, retain)`` tuples out,
ready for the store's outbox. Device serials are pseudonymised here, the one place a
record is shaped for leaving the gateway.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from importlib import resources
from typing import Any

from drivers._core.records import Record
from gateway.identity import device_pseudonym
from gateway.publish.topics import records_topic, status_topic, summary_topic

Message = tuple[str, str, int, bool]
RECORDS_PER_MESSAGE = 500
_SERIAL_FIELDS = ("serial",)


def load_schema(name: str) -> dict[str, Any]:
    """A payload's JSON Schema by name: ``records``, ``summary`` or ``status``."""
    text = resources.files("gateway.publish").joinpath(f"schemas/{name}.v1.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


def _dumps(obj: object) -> str:
    return json.dumps(obj, separators=(",", ":"), sort_keys=False, allow_nan=False)


def public_record(rec: Record, secret: bytes, site: str) -> dict[str, Any]:
    """A record as it leaves the gateway: device serials replaced by pseudonyms."""
    data = rec.to_dict()
    data["device_id"] = device_pseudonym(secret, site, rec.device_id)
    for name in _SERIAL_FIELDS:
        if name in data:
            data[name] = data["device_id"].rsplit(":", 1)[1]
    return data


def record_messages(
    records: Sequence[Record],
    *,
    secret: bytes,
    site: str,
    pseudonym: str,
    gateway_id: str,
    per_message: int = RECORDS_PER_MESSAGE,
) -> Iterator[Message]:
    """Records in batches of ``per_message`` on ``.../records`` (QoS 1, not retained)."""
    topic = records_topic(site, pseudonym)
    count = math.ceil(len(records) / per_message)
    for index in range(count):
        chunk = records[index * per_message : (index + 1) * per_message]
        payload = {
            "schema": "glucogate/records/v1",
            "site": site,
            "patient": pseudonym,
            "gateway": gateway_id,
            "batch": {"index": index, "count": count},
            "records": [public_record(r, secret, site) for r in chunk],
        }
        yield topic, _dumps(payload), 1, False


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def summary_message(
    metrics: Mapping[str, Any],
    *,
    site: str,
    pseudonym: str,
    gateway_id: str,
    start_utc: datetime,
    end_utc: datetime,
    generated_utc: datetime,
) -> Message:
    """The metrics window on ``.../summary`` (QoS 1, retained)."""
    payload = {
        "schema": "glucogate/summary/v1",
        "site": site,
        "patient": pseudonym,
        "gateway": gateway_id,
        "generated_utc": generated_utc.isoformat(),
        "window": {
            "start_utc": start_utc.isoformat(),
            "end_utc": end_utc.isoformat(),
            "days": round((end_utc - start_utc).total_seconds() / 86400, 3),
        },
        "metrics": {k: _clean(v) for k, v in metrics.items() if k != "id"},
    }
    return summary_topic(site, pseudonym), _dumps(payload), 1, True


def status_payload(gateway_id: str, state: str, time_utc: datetime | None = None) -> str:
    """The gateway status document (``online``/``offline``)."""
    doc: dict[str, Any] = {"schema": "glucogate/status/v1", "gateway": gateway_id, "state": state}
    if time_utc is not None:
        doc["time_utc"] = time_utc.isoformat()
    return _dumps(doc)


__all__ = [
    "Message",
    "load_schema",
    "public_record",
    "record_messages",
    "status_payload",
    "status_topic",
    "summary_message",
]
