"""``glucogate detect`` and ``upload --ble`` with the simulated bleak backend injected
through ``--ble-backend module:Class`` (the drivers run on bleak's public API)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.cli import main

BACKEND = "simulators.ble.backend:SimulatedClientBackend"
CGM, METER, PUMP = "C0:FF:EE:00:18:1F", "C0:FF:EE:00:18:08", "C0:FF:EE:00:18:3A"


def test_detect_lists_the_advertised_profiles(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["detect", "--json", "--ble-backend", BACKEND, "--ble-timeout", "0.5"]) == 0
    found = {d["address"]: d["driver"] for d in json.loads(capsys.readouterr().out)["ble"]}
    assert found == {CGM: "ble-cgms", METER: "ble-gls", PUMP: "ble-ids"}


@pytest.mark.parametrize(
    ("address", "counts"),
    [
        # the demo devices' seeded series: 288 CGM samples (24 h at 5 min), a pump's
        # 2 days (6 boluses, 10 basal segments, 5 device events, and the pump's own
        # Total Daily Insulin for the 3 UTC dates it spans) -- simulators/ble/demo.py
        (CGM, {"cgm": 288}),
        (PUMP, {"bolus": 6, "basal": 10, "device-event": 5 + 3}),
    ],
)
def test_upload_twice_adds_once(
    address: str, counts: dict[str, int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [
        "upload",
        "--ble",
        address,
        "--ble-backend",
        BACKEND,
        "--ble-timeout",
        "0.5",
        "--json",
        "--data-dir",
        str(tmp_path),
        "--tz",
        "Europe/Paris",
    ]
    assert main(args) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["counts"] == counts and first["added"] == sum(counts.values())
    assert main(args) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["added"] == 0 and second["cursor"] == first["cursor"]


def test_unknown_address_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "upload",
            "--ble",
            "AA:BB:CC:DD:EE:FF",
            "--ble-backend",
            BACKEND,
            "--ble-timeout",
            "0.5",
            "--data-dir",
            str(tmp_path),
        ]
    )
    assert code == 2 and "not seen advertising" in capsys.readouterr().err
