"""kill -9 the gateway at random points of an import and of a device upload, many times
(seeded); after every kill the store is consistent (SQLite integrity, no half-written
upload: records, outbox and cursor all or nothing), and after a final run every record
is there exactly once and a further run adds nothing.

The default run kills each path 6 times; ``pytest --long`` 60 times."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from simulators.cgm.dexcom_receiver import G6, ReceiverDatabase, VirtualReceiver
from simulators.cgm_trace import cgm_trace
from simulators.exports.dexcom_clarity import write_clarity
from simulators.patient import presets
from simulators.patient.scenario import Scenario

DEXCOM_EPOCH = datetime(2009, 1, 1)
GLUCOGATE = [sys.executable, "-m", "gateway.cli"]


def _runs(request: pytest.FixtureRequest) -> int:
    return 60 if request.config.getoption("--long") else 6


def _state(db_path: Path) -> dict[str, int]:
    """What a restarted gateway would find: integrity, and the counts that must move
    together (records, their outbox messages, cursors)."""
    if not db_path.exists():
        return {"records": 0, "outbox_records": 0, "cursors": 0, "captures": 0}
    db = sqlite3.connect(db_path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "records" not in tables:  # killed while creating the schema
            return {"records": 0, "outbox_records": 0, "cursors": 0, "captures": 0}
        records = db.execute("SELECT count(*) FROM records").fetchone()[0]
        dups = db.execute(
            "SELECT count(*) FROM (SELECT device_id, kind, source_index FROM records"
            " GROUP BY 1, 2, 3 HAVING count(*) > 1)"
        ).fetchone()[0]
        assert dups == 0
        outbox_records = sum(
            len(json.loads(p)["records"])
            for (p,) in db.execute("SELECT payload FROM outbox WHERE topic LIKE '%/records'")
        )
        cursors = db.execute("SELECT count(*) FROM cursors").fetchone()[0]
        captures = db.execute("SELECT count(*) FROM raw_captures").fetchone()[0]
    finally:
        db.close()
    return {
        "records": records,
        "outbox_records": outbox_records,
        "cursors": cursors,
        "captures": captures,
    }


def _kill_at(cmd: list[str], delay_s: float) -> int | None:
    """Start the CLI, SIGKILL it after ``delay_s``; its exit code if it finished first."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        return proc.wait(timeout=delay_s)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        return None


def _timed(cmd: list[str]) -> float:
    t0 = time.monotonic()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - t0


def test_kill_during_import(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    sc = Scenario(
        presets.preset("missed_boluses"),
        days=30,
        seed=21,
        tz="America/Chicago",
        start=date(2026, 1, 5),
    )
    export = tmp_path / "export.csv"
    export.write_bytes(write_clarity([r for r in sc.records if r.device_id == sc.cgm_id]))
    data = tmp_path / "data"
    cmd = [
        *GLUCOGATE,
        "import",
        str(export),
        "--data-dir",
        str(data),
        "--site",
        "crash",
        "--patient",
        "local-1",
        "--tz",
        "America/Chicago",
        "--json",
    ]
    scratch = [str(tmp_path / "scratch") if a == str(data) else a for a in cmd]
    full = _timed(scratch)  # how long a whole run takes
    expected = _state(tmp_path / "scratch" / "glucogate.sqlite")["records"]
    assert expected > 7000  # 30 days of 5-min CGM, sensor gaps left out
    rng = random.Random(20261125)
    killed = 0
    for run in range(_runs(request)):
        # each run: a fresh gateway killed at a random point, then restarted to the end
        where = tmp_path / f"data{run}"
        argv = [str(where) if a == str(data) else a for a in cmd]
        killed += _kill_at(argv, rng.uniform(0.05, full)) is None
        state = _state(where / "glucogate.sqlite")
        # one transaction: all or nothing, and records never without their messages
        assert state["records"] in (0, expected), state
        assert state["outbox_records"] == state["records"], state
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
        final = _state(where / "glucogate.sqlite")
        assert final["records"] == final["outbox_records"] == expected, final
        again = subprocess.run(argv, check=True, capture_output=True, text=True)
        assert json.loads(again.stdout)["added"] == 0
    assert killed > 0  # the test really interrupted something


def test_kill_during_device_upload(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    start = (datetime.now(UTC) - timedelta(days=12)).date()
    samples = [
        r
        for r in cgm_trace(days=10, seed=7, tz="UTC", start=start).records
        if r.sample_type == "cgm"
    ]
    rx = ReceiverDatabase(G6, serial="SM00000099")
    rx.add_samples(samples)

    def clock() -> int:
        return int((datetime.now(UTC).replace(tzinfo=None) - DEXCOM_EPOCH).total_seconds())

    data = tmp_path / "data"
    rng = random.Random(7)
    with VirtualReceiver(rx, system_time_s=clock) as receiver:
        cmd = [
            *GLUCOGATE,
            "upload",
            "--port",
            receiver.port,
            "--json",
            "--tz",
            "UTC",
            "--site",
            "crash",
            "--patient",
            "local-2",
            "--data-dir",
            str(data),
        ]
        full = _timed([*cmd[:-1], str(tmp_path / "scratch")])
        expected = _state(tmp_path / "scratch" / "glucogate.sqlite")["records"]
        assert expected >= len(samples)
        killed = 0
        for run in range(_runs(request)):
            where = tmp_path / f"data{run}"
            argv = [str(where) if a == str(data) else a for a in cmd]
            killed += _kill_at(argv, rng.uniform(0.05, full)) is None
            state = _state(where / "glucogate.sqlite")
            assert state["records"] in (0, expected), state
            assert state["outbox_records"] == state["records"], state
            assert state["cursors"] == (1 if state["records"] else 0), state
            subprocess.run(argv, check=True, capture_output=True, text=True)
            again = subprocess.run(argv, check=True, capture_output=True, text=True)
            final = _state(where / "glucogate.sqlite")
            assert final["records"] == expected and final["cursors"] == 1, final
            assert json.loads(again.stdout)["added"] == 0
        assert not receiver.violations
    assert killed > 0
