"""Shared fixtures: real Mosquitto and VictoriaMetrics servers, and the shared/ folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness.postgres import PostgreSQL
from tests.harness.services import Mosquitto, VictoriaMetrics, services_required

REPO = Path(__file__).resolve().parents[1]


def shared_dir() -> Path | None:
    """The project's shared/ folder (reference material, real fixtures), if present."""
    env = os.environ.get("GLUCOGATE_SHARED")
    candidate = Path(env) if env else REPO.parent / "shared"
    return candidate if candidate.is_dir() else None


@pytest.fixture(scope="session")
def real_fixtures() -> Path:
    """``shared/fixtures/real``; tests that need it skip when shared/ is absent."""
    shared = shared_dir()
    if shared is None:
        pytest.skip("shared/ with the real vendor fixtures is not beside the checkout")
    return shared / "fixtures" / "real"


def _start_or_skip(factory: type[Mosquitto] | type[VictoriaMetrics], path: Path):  # type: ignore[no-untyped-def]
    try:
        return factory(path).start()
    except FileNotFoundError as exc:
        if services_required():
            raise
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def mqtt_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    """A real Mosquitto broker on a free loopback port, for the whole session."""
    broker = _start_or_skip(Mosquitto, tmp_path_factory.mktemp("mosquitto"))
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def tsdb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VictoriaMetrics]:
    """A real VictoriaMetrics server (InfluxDB write API) on a free loopback port."""
    server = _start_or_skip(VictoriaMetrics, tmp_path_factory.mktemp("victoria"))
    yield server
    server.stop()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--port",
        default=None,
        help="serial port of a real device for tests marked 'hardware' (skipped without it)",
    )
    parser.addoption(
        "--ble-address",
        default=None,
        help="address of a real BLE device for tests marked 'hardware'",
    )
    parser.addoption(
        "--long",
        action="store_true",
        default=False,
        help="run the long variants of tests/reliability (many more crash points)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--port") or config.getoption("--ble-address"):
        return
    skip = pytest.mark.skip(reason="hardware test: give --port or --ble-address to run it")
    for item in items:
        if "hardware" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgreSQL]:
    """A real PostgreSQL (Debian's package) on a free loopback port, for the session."""
    try:
        server = PostgreSQL().start()
    except FileNotFoundError as exc:
        if services_required():
            raise
        pytest.skip(str(exc))
    yield server
    server.stop()


@pytest.fixture
def pg_dsn(pg_server: PostgreSQL) -> str:
    """The DSN of a fresh, empty database on the session's PostgreSQL."""
    return pg_server.new_database()
