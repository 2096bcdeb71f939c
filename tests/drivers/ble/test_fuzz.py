"""Random bytes into every decoder raise only ProtocolError subclasses (or decode)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers._core.errors import ProtocolError
from drivers.ble import racp
from drivers.ble.cgms import messages as cgm_messages
from drivers.ble.cgms.decode import decode_measurements
from drivers.ble.gls import messages as gls_messages
from drivers.ble.gls.decode import decode_context, decode_measurement
from drivers.ble.gls.normalize import to_records
from drivers.ble.ids import messages as ids_messages
from drivers.ble.ids.decode import decode_event
from drivers.transports.ble import decode_capture

DECODERS: dict[str, Callable[[bytes], object]] = {
    "cgm measurement": lambda b: decode_measurements(b, e2e=False),
    "cgm measurement e2e": lambda b: decode_measurements(b, e2e=True),
    "cgm feature": cgm_messages.decode_feature,
    "cgm status": lambda b: cgm_messages.decode_status(b, e2e=True),
    "cgm session start": lambda b: cgm_messages.decode_session_start(b, e2e=False),
    "cgm run time": lambda b: cgm_messages.decode_run_time(b, e2e=False),
    "racp sig": lambda b: racp.decode_response(b, racp.SIG),
    "racp idd": lambda b: racp.decode_response(b, racp.IDD),
    "racp request": lambda b: racp.decode_request(b, racp.SIG),
    "gls measurement": lambda b: to_records(decode_measurement(b), None, device_id="x"),
    "gls context": decode_context,
    "gls feature": gls_messages.decode_feature,
    "idd features": ids_messages.decode_features,
    "idd status": lambda b: ids_messages.decode_status(b, e2e=False),
    "idd annunciation": lambda b: ids_messages.decode_annunciation(b, e2e=False),
    "idd history": lambda b: decode_event(b, e2e=False),
    "idd history e2e": lambda b: decode_event(b, e2e=True),
    "capture": decode_capture,
}


@pytest.mark.parametrize("name", sorted(DECODERS))
@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=40))
def test_random_bytes_raise_only_protocol_errors(name: str, data: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        DECODERS[name](data)


@settings(max_examples=300, deadline=None)
@given(st.integers(6, 15), st.binary(min_size=4, max_size=30))
def test_plausible_cgm_records_with_garbage(size: int, tail: bytes) -> None:
    # A valid-looking Size octet in front of garbage exercises the flag/size rules.
    with contextlib.suppress(ProtocolError):
        decode_measurements(bytes((size,)) + tail, e2e=False)
