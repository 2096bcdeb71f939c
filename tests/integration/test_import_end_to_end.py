"""The foundation slice end to end: a real Clarity export through ``glucogate import``
into SQLite, the real Mosquitto and the real VictoriaMetrics, and back out.

Expected counts were taken from the file with awk, independently of our parser
(data rows = rows with a timestamp; High/Low = EGV rows whose glucose cell is the word):
``clarity_g6_android_2019_unquoted_bom.csv`` has 3,898 numeric EGV + 13 High + 2 Low,
9 Calibration, 73 Insulin, 4 Carbs, 3 Exercise rows; first row 2019-10-14T16:42:37,
last 2019-10-28T23:57:11 (local). The file itself shows the patient's zone: on
2019-10-27 the local hour 03:00-03:59 appears twice, interleaved (24 EGV rows, the
second run 3,600 s later in transmitter time) -- the EET fall-back (04:00 EEST ->
03:00 EET). In Europe/Kyiv the first row is EEST (UTC+3) and the last EET (UTC+2), so
the UTC span is 2019-10-14T13:42:37Z .. 2019-10-28T21:57:11Z.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from gateway.cli import main
from tests.harness.services import Mosquitto, VictoriaMetrics
from tests.harness.subscriber import Subscriber
from tests.harness.tsdb import export_series

pytestmark = pytest.mark.services

G6_2019 = "dexcom-clarity/clarity_g6_android_2019_unquoted_bom.csv"
EXPECTED_COUNTS = {"cgm": 3913, "calibration": 9, "injection": 73, "food": 4, "activity": 3}


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip().startswith("{") else {}), err


def test_real_clarity_file_reaches_broker_and_time_series(
    real_fixtures: Path,
    mqtt_broker: Mosquitto,
    tsdb: VictoriaMetrics,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = [
        "import",
        str(real_fixtures / G6_2019),
        "--json",
        "--tz",
        "Europe/Kyiv",
        "--data-dir",
        str(tmp_path / "data"),
        "--site",
        "clinic-e2e",
        "--mqtt",
        f"127.0.0.1:{mqtt_broker.port}",
        "--influx",
        tsdb.url,
    ]
    with Subscriber(mqtt_broker.port, "glucogate/v1/clinic-e2e/#") as sub:
        code, out, err = _run(capsys, *args)
        assert code == 0, err
        counts = {k: v for k, v in out["counts"].items() if k != "device-info"}
        assert counts == EXPECTED_COUNTS
        assert out["format"] == "dexcom-clarity-csv"
        assert out["units_in_file"] == "mg/dL"
        assert out["first_utc"] == "2019-10-14T13:42:37+00:00"
        assert out["last_utc"] == "2019-10-28T21:57:11+00:00"
        total = sum(out["counts"].values())
        assert out["added"] == total and out["published"] >= 2

        record_msgs = sub.wait_for(9, topic_suffix="/records")  # ceil(4002 / 500)
        summary = sub.wait_for(1, topic_suffix="/summary")
    published = [r for m in record_msgs for r in json.loads(m.payload)["records"]]
    assert len(published) == total
    assert len({(r["device_id"], r["kind"], r["source_index"]) for r in published}) == total
    cgm_utc = [r["time_utc"] for r in published if r.get("sample_type") == "cgm"]
    assert len(set(cgm_utc)) == 3913  # the repeated hour resolved: no two readings collide
    assert sum("time/dst-ambiguous" in r["annotations"] for r in published) == 24
    highs = [r for r in published if r.get("special") == "high"]
    assert len(highs) == 13 and all(r["glucose_mgdl"] is None for r in highs)
    assert all(m.topic.split("/")[3] == out["patient"] for m in record_msgs)
    doc = json.loads(summary[0].payload)
    assert doc["metrics"]["n_readings"] == 3913
    # A subscriber that comes later still gets the summary: it is retained.
    with Subscriber(mqtt_broker.port, summary[0].topic) as late:
        (retained,) = late.wait_for(1)
    assert retained.retain and json.loads(retained.payload) == doc

    tsdb.flush()
    series = export_series(tsdb.url, f'{{__name__="glucose_mgdl",patient="{out["patient"]}"}}')
    by_type = {s["metric"]["sample_type"]: s for s in series}
    assert len(by_type["cgm"]["values"]) == 3898 and len(by_type["calibration"]["values"]) == 9
    assert by_type["cgm"]["timestamps"][0] == 1571060557000  # 2019-10-14T13:42:37Z
    limits = export_series(
        tsdb.url, f'{{__name__="glucose_limit_mgdl",patient="{out["patient"]}"}}'
    )
    assert sorted((s["metric"]["special"], len(s["values"])) for s in limits) == [
        ("high", 13),
        ("low", 2),
    ]

    # The same file again adds nothing and publishes no new records.
    code, again, err = _run(capsys, *args)
    assert code == 0, err
    assert (again["added"], again["already_stored"]) == (0, total)
    assert again["outbox_pending"] == 0


def test_unreadable_file_fails_with_one_line_and_stores_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "export.csv"
    bad.write_bytes(b"\xef\xbb\xbfIndex,Timestamp (YYYY-MM-DDThh:mm:ss),Event Ty")  # cut mid-header
    code, _, err = _run(capsys, "import", str(bad), "--json", "--data-dir", str(tmp_path / "d"))
    assert code == 2
    assert err.count("\n") == 1 and str(bad) in err
    store = tmp_path / "d" / "glucogate.sqlite"
    if store.exists():
        db = sqlite3.connect(store)
        assert db.execute("SELECT count(*) FROM records").fetchone()[0] == 0
        assert db.execute("SELECT count(*) FROM raw_captures").fetchone()[0] == 0


def test_missing_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.csv"
    code, _, err = _run(capsys, "import", str(missing), "--data-dir", str(tmp_path / "d"))
    assert code == 2 and str(missing) in err and err.count("\n") == 1
