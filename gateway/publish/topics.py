"""MQTT topic names, versioned: ``glucogate/v1/<site>/<patient>/...`` (DESIGN.md section 8).

``<patient>`` is always a site-scoped pseudonym (:mod:`gateway.identity`); the builders
refuse anything else, so a name or MRN cannot reach a topic by mistake.
"""

from __future__ import annotations

import re

ROOT = "glucogate/v1"
_SEGMENT = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_PSEUDONYM = re.compile(r"^p-[a-z2-7]{16}$")


def _segment(value: str, what: str) -> str:
    if not _SEGMENT.match(value):
        raise ValueError(f"{what} {value!r} is not a valid topic segment (a-z, 0-9, '-')")
    return value


def _patient(site: str, pseudonym: str) -> str:
    if not _PSEUDONYM.match(pseudonym):
        raise ValueError("patient topic segment must be a site-scoped pseudonym (p-...)")
    return f"{ROOT}/{_segment(site, 'site')}/{pseudonym}"


def records_topic(site: str, pseudonym: str) -> str:
    """Batches of normalized records, QoS 1."""
    return f"{_patient(site, pseudonym)}/records"


def summary_topic(site: str, pseudonym: str) -> str:
    """The latest metrics window, retained."""
    return f"{_patient(site, pseudonym)}/summary"


def careplan_topic(site: str, pseudonym: str) -> str:
    """The patient's current care plan, published by the care record, retained."""
    return f"{_patient(site, pseudonym)}/careplan"


def status_topic(site: str, gateway_id: str) -> str:
    """Gateway online/offline, retained, with the offline message as last will."""
    return f"{ROOT}/{_segment(site, 'site')}/gateway/{_segment(gateway_id, 'gateway id')}/status"
