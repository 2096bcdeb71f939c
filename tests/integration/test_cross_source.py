"""One CGM, two paths: a patient's Dexcom G6 receiver uploaded at the kiosk (a virtual
receiver on a pty) and the same sensor's Clarity export imported later. Each reading is
stored once, with both sources noted, so metrics and counts are not doubled; the
second path adds only what the first did not have."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from drivers.cgm.dexcom_receiver import DexcomReceiver
from drivers.cgm.dexcom_receiver.normalize import DEXCOM_EPOCH
from gateway.config import Config
from gateway.ingest.device import upload_device
from gateway.ingest.files import import_file
from gateway.store.sqlite import Store
from simulators.cgm.dexcom_receiver import G6, VirtualReceiver
from simulators.cgm.from_scenario import receiver_database
from simulators.exports.dexcom_clarity import write_clarity
from simulators.patient import presets
from simulators.patient.scenario import Scenario

TZ = "America/Chicago"


def test_receiver_then_clarity_export_stores_each_reading_once(tmp_path: Path) -> None:
    start = date(2026, 3, 16)
    sc = Scenario(presets.preset("well_controlled"), days=3, seed=9, tz=TZ, start=start)
    visit = datetime.combine(start, datetime.min.time(), UTC) + timedelta(days=3, minutes=2)
    receiver_s = int((visit.replace(tzinfo=None) - DEXCOM_EPOCH).total_seconds())
    config = Config(site="site-x", gateway_id="kiosk", data_dir=tmp_path, timezone=TZ)
    cgm = [r for r in sc.records if r.device_id == sc.cgm_id]
    n_cgm = sum(1 for r in cgm if getattr(r, "sample_type", None) == "cgm")
    with Store(config.store_path) as store:
        # the receiver holds the first two days (the visit), the export all three
        cut = visit - timedelta(days=1)
        db = receiver_database(sc, G6, until_utc=cut)
        with (
            VirtualReceiver(db, system_time_s=lambda: receiver_s - 86400) as virtual,
            DexcomReceiver(virtual.port) as receiver,
        ):
            first = upload_device(
                receiver,
                device_id=receiver.device_id(),
                description="Dexcom G6",
                fmt="dexcom-receiver",
                config=config,
                store=store,
                local_id="MRN-3",
                now_utc=lambda: cut,
            )
        from_receiver = sum(1 for r in first.records if getattr(r, "sample_type", "") == "cgm")
        export = tmp_path / "clarity.csv"
        export.write_bytes(write_clarity(cgm))
        second = import_file(export, config, store, local_id="MRN-3")
        third = import_file(export, config, store, local_id="MRN-3")
        rows = store.db.execute(
            "SELECT count(*) FROM records WHERE kind = 'glucose'"
            " AND json_extract(payload, '$.sample_type') = 'cgm'"
        ).fetchone()[0]
        merged = store.db.execute(
            "SELECT count(*) FROM provenance p JOIN records r ON r.id = p.record_id"
            " WHERE json_extract(r.payload, '$.sample_type') = 'cgm'"
        ).fetchone()[0]
        some_id = store.db.execute(
            "SELECT record_id FROM provenance ORDER BY rowid LIMIT 1"
        ).fetchone()[0]
        sources = store.sources(some_id)
    assert 0 < from_receiver < n_cgm
    assert rows == n_cgm  # every reading once, not n_cgm + from_receiver
    assert merged == from_receiver  # the export's copies of what the receiver brought
    assert second.added >= n_cgm - from_receiver  # the third day, and the export's extras
    assert third.added == 0
    assert {s[0].split(":")[0] for s in sources} == {"dexcom"} and len(sources) == 2
    assert sources[0][0] != sources[1][0]  # the receiver's and the export's device ids
