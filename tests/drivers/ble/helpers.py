"""Shared helpers for the BLE driver tests: fast options and a simulated air."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any, TypeVar

from drivers.transports.ble import BleOptions

T = TypeVar("T")
START_UTC = datetime(2024, 3, 15, 6, 0, tzinfo=UTC)
FAST = BleOptions(response_timeout_s=2.0, backoff_s=0.0, attempts=4, connect_timeout_s=1.0)


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run one coroutine on a fresh event loop (no pytest-asyncio needed)."""
    return asyncio.run(coro)
