"""A synthetic patient's CGM in a virtual Dexcom G6 receiver on a pseudo-terminal,
uploaded with ``glucogate upload --port`` (pyserial, the real driver path), stored,
published to the real Mosquitto; the second upload reads nothing new."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from drivers._core.records import GlucoseSample
from gateway.cli import main
from simulators.cgm.dexcom_receiver import G6, ReceiverDatabase, VirtualReceiver
from simulators.cgm_trace import cgm_trace
from tests.harness.services import Mosquitto
from tests.harness.subscriber import Subscriber

pytestmark = pytest.mark.services
DEXCOM_EPOCH = datetime(2009, 1, 1)


def test_receiver_upload_end_to_end(
    mqtt_broker: Mosquitto, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    start = (datetime.now(UTC) - timedelta(days=3)).date()
    trace = cgm_trace(days=2, seed=5, tz="UTC", start=start)
    samples = [r for r in trace.records if r.sample_type == "cgm"]
    db = ReceiverDatabase(G6, serial="SM00000042")
    db.add_samples(samples)

    def clock() -> int:  # the receiver's clock is right: UTC, no display offset
        return int((datetime.now(UTC).replace(tzinfo=None) - DEXCOM_EPOCH).total_seconds())

    args = [
        "--port",
        "",
        "--json",
        "--tz",
        "UTC",
        "--site",
        "clinic-rx",
        "--patient",
        "MRN-9",
        "--data-dir",
        str(tmp_path / "data"),
        "--mqtt",
        f"127.0.0.1:{mqtt_broker.port}",
    ]
    with (
        VirtualReceiver(db, system_time_s=clock) as receiver,
        Subscriber(mqtt_broker.port, "glucogate/v1/clinic-rx/+/records") as sub,
    ):
        args[1] = receiver.port
        assert main(["upload", *args]) == 0
        first = json.loads(capsys.readouterr().out)
        assert main(["upload", *args]) == 0
        second = json.loads(capsys.readouterr().out)
        assert not receiver.violations
        published = [r for m in sub.wait_for(1) for r in json.loads(m.payload)["records"]]

    assert first["format"] == "dexcom-receiver"
    assert first["counts"]["cgm"] == len(samples)
    assert first["added"] == sum(first["counts"].values())
    assert abs(first["clock_offset_s"]) <= 5
    assert (second["added"], second["counts"]) == (0, {})
    cgm = [r for r in published if r["kind"] == "glucose"]
    assert len(cgm) == len(samples)
    # The clock pair corrects by the offset measured at upload (a second or two here),
    # so pair readings in order and allow that much.
    got = sorted(cgm, key=lambda r: r["time_utc"])
    want = sorted(
        (s for s in samples if isinstance(s, GlucoseSample)),
        key=lambda s: s.time_utc or datetime.min,
    )
    for r, w in zip(got, want, strict=True):
        assert w.time_utc is not None
        delta = datetime.fromisoformat(r["time_utc"]) - w.time_utc
        assert abs(delta.total_seconds()) <= 5
        assert (r["glucose_mgdl"], r["special"]) == (w.glucose_mgdl, w.special)
