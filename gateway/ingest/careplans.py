"""Care plans arriving at a gateway: the care record publishes each patient's current
plan, retained, on ``glucogate/v1/<site>/<pseudonym>/careplan``; a gateway keeps the
newest version of each in its store, and its reports by patient use it (targets,
agreements, language, local resources).

A plan is kept only if it validates (``gateway/publish/schemas/careplan.v1.json``), names
this gateway's site and the topic's patient, and is newer than the version held: a
redelivered or replayed older version changes nothing. Needs the ``record`` extra (the
schema validator).
"""

from __future__ import annotations

import logging
import threading
import time

from gateway.careplan.plan import CarePlan, CarePlanError, loads
from gateway.config import Config
from gateway.publish.subscribe import Subscription
from gateway.store.sqlite import Store

log = logging.getLogger(__name__)


def accept(config: Config, store: Store, topic: str, payload: bytes) -> CarePlan | None:
    """Validate and keep one received plan; None when refused or not newer."""
    parts = topic.split("/")
    if len(parts) != 5 or parts[4] != "careplan" or parts[2] != config.site:
        return None
    try:
        plan = loads(payload)
    except CarePlanError as exc:
        log.warning("care plan on %s refused: %s: %s", topic, exc.field, exc.reason)
        return None
    if plan.site != config.site or plan.patient != parts[3]:
        log.warning("care plan on %s refused: its site or patient is not the topic's", topic)
        return None
    return plan if store.save_careplan(plan.patient, plan.version, plan.to_json()) else None


def pull_careplans(
    config: Config, store: Store, *, quiet_s: float = 0.5, max_s: float = 10.0
) -> int:
    """Fetch this site's retained care plans once (a kiosk before printing reports);
    returns how many were new. Waits until no plan has come for ``quiet_s``."""
    if config.mqtt is None:
        raise ValueError("pulling care plans needs a broker ([mqtt] or --mqtt)")
    received: list[tuple[str, bytes]] = []
    lock = threading.Lock()
    last = [time.monotonic()]

    def handle(topic: str, payload: bytes, retained: bool) -> None:
        with lock:
            received.append((topic, payload))
            last[0] = time.monotonic()

    sub = Subscription(
        config.mqtt,
        client_id=f"glucogate-{config.site}-{config.gateway_id}-careplans",
        topics=[f"glucogate/v1/{config.site}/+/careplan"],
        handler=handle,
        clean_session=True,
    ).start()
    started = time.monotonic()
    try:
        while time.monotonic() - started < max_s:
            with lock:
                if time.monotonic() - last[0] >= quiet_s:
                    break
            time.sleep(0.05)
    finally:
        sub.stop()
    kept = 0
    for topic, payload in received:  # the store is used from this thread only
        kept += accept(config, store, topic, payload) is not None
    return kept
