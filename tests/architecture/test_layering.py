"""DESIGN.md section 2: imports point down only; I/O libraries live in one home each."""

from __future__ import annotations

from pathlib import Path

from tests.architecture.layering import check_tree

REPO = Path(__file__).resolve().parents[2]


def test_the_codebase_keeps_its_layers() -> None:
    violations = check_tree(REPO)
    assert not violations, "\n".join(map(str, violations))


def _write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_checker_catches_each_kind_of_violation(tmp_path: Path) -> None:
    _write(tmp_path, "drivers/cgm/x/decode.py", "from gateway.store import sqlite\n")
    _write(tmp_path, "analytics/ranges.py", "import pandas as pd\nfrom drivers import records\n")
    _write(tmp_path, "gateway/store/sqlite.py", "import paho.mqtt.client\nimport serial\n")
    _write(tmp_path, "drivers/cgm/x/session.py", "import bleak\nimport influxdb_client\n")
    _write(tmp_path, "drivers/transports/serial.py", "import serial\n")  # allowed
    _write(tmp_path, "gateway/publish/mqtt.py", "import paho.mqtt.client as mqtt\n")  # allowed
    found = {(v.path, v.module) for v in check_tree(tmp_path)}
    assert found == {
        ("drivers/cgm/x/decode.py", "gateway.store"),
        ("analytics/ranges.py", "pandas"),
        ("analytics/ranges.py", "drivers"),
        ("gateway/store/sqlite.py", "paho.mqtt.client"),
        ("gateway/store/sqlite.py", "serial"),
        ("drivers/cgm/x/session.py", "bleak"),
        ("drivers/cgm/x/session.py", "influxdb_client"),
    }
