"""The summary covers the newest 90 days of data, not everything ever stored (a hub on a
1 GB Pi syncs for years)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gateway.config import Config
from gateway.ingest.common import SUMMARY_DAYS, refresh_summary
from gateway.store.sqlite import Store
from tests.gateway.factories import cgm


def test_summary_reads_only_the_last_90_days(tmp_path: Path) -> None:
    # 120 days of hourly readings: 100 mg/dL until hour 718, 200 after; the window
    # [last - 90 d, last] starts at hour 719 (inclusive)
    readings = [cgm(12 * h, 100.0 if h < 30 * 24 - 1 else 200.0) for h in range(120 * 24)]
    config = Config(site="s", gateway_id="g", data_dir=tmp_path)
    with Store(tmp_path / "g.sqlite") as store:
        patient = store.patient("local", "p-abcdefghijklmnop", "UTC")
        store.ingest(patient, readings, raw=b"x", fmt="test", devices={"dexcom:g6:abc123": "g6"})
        metrics = refresh_summary(
            config, store, patient, changed=True, now_utc=datetime(2024, 8, 1, tzinfo=UTC)
        )
        [message] = [m for m in store.outbox_messages() if m.topic.endswith("/summary")]
    window = json.loads(message.payload)["window"]
    assert window["days"] == SUMMARY_DAYS == 90
    last = readings[-1].time_utc
    assert last is not None
    assert window["start_utc"] == (last - timedelta(days=90)).isoformat()
    # the 100 mg/dL month lies outside the window: every reading inside is 200
    assert metrics["mean_mgdl"] == 200.0
    # the last 14 days against the 14 before, for the care record's worklist: all 200
    # mg/dL in both, no change in time in range
    assert metrics["tir_change_14d_points"] == 0.0
