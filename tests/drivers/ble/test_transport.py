"""The bleak boundary: backend loading, backoff, capture framing, error translation."""

from __future__ import annotations

import pytest
from bleak.exc import BleakError, BleakGATTProtocolError

from drivers._core.errors import ProtocolError, TransportError
from drivers.transports.ble import (
    BleOptions,
    decode_capture,
    encode_capture,
    load_backend,
    scanner_backend,
    translate,
)
from simulators.ble.backend import SimulatedClientBackend, SimulatedScannerBackend


def test_load_backend_from_module_and_class() -> None:
    cls = load_backend("simulators.ble.backend:SimulatedClientBackend")
    assert cls is SimulatedClientBackend
    assert scanner_backend(cls) is SimulatedScannerBackend
    assert scanner_backend(None) is None


@pytest.mark.parametrize(
    "spec",
    [
        "simulators.ble.backend",
        "no.such.module:X",
        "simulators.ble.backend:Nope",
        "simulators.ble.backend:Air",
    ],
)
def test_bad_backend_specs_are_not_retryable(spec: str) -> None:
    with pytest.raises(TransportError) as info:
        load_backend(spec)
    assert not info.value.retryable


def test_backoff_doubles_and_is_capped() -> None:
    assert list(BleOptions(attempts=6, backoff_s=1.0, backoff_max_s=5.0).delays()) == [
        1,
        2,
        4,
        5,
        5,
    ]
    assert list(BleOptions(attempts=1).delays()) == []


def test_capture_round_trip() -> None:
    entries = [("R", "00002aa8-0000-1000-8000-00805f9b34fb", b"\x01\x02"),
               ("N", "00002aa7-0000-1000-8000-00805f9b34fb", b"")]  # fmt: skip
    raw = encode_capture(entries)
    assert decode_capture(raw) == [("R", 0x2AA8, b"\x01\x02"), ("N", 0x2AA7, b"")]
    with pytest.raises(ProtocolError):
        decode_capture(raw[:-1] + b"\x00\x00")


def test_error_translation() -> None:
    auth = translate(BleakGATTProtocolError(0x05), "read")
    assert isinstance(auth, TransportError) and "pairing" in str(auth)
    refused = translate(BleakGATTProtocolError(0x81), "write")
    assert isinstance(refused, ProtocolError) and not isinstance(refused, TransportError)
    assert refused.att_error == 0x81  # type: ignore[attr-defined]
    assert isinstance(translate(BleakError("gone"), "x"), TransportError)
    assert translate(TimeoutError(), "x").retryable
