"""A gateway API on a real server with one token per role."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gateway.api.app import create_app
from gateway.api.auth import Role, token_hash
from gateway.config import Config
from tests.harness.web import serve


@dataclass(frozen=True)
class Api:
    url: str
    config: Config
    tokens: dict[Role, str]


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    tokens = {role: f"token-for-{role.value}-0123456789" for role in Role}
    config = Config(
        site="clinic-a", gateway_id="kiosk-1", data_dir=tmp_path / "data", timezone="Europe/Kyiv"
    )
    app = create_app(
        config, {token_hash(t): r for r, t in tokens.items()}, max_upload_bytes=1_000_000
    )
    with serve(app) as url:
        yield Api(url, config, tokens)
