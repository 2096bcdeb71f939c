"""The read-only rule: only the seven allowed ids can leave the driver, checked at the
single send point before anything reaches the port."""

from __future__ import annotations

import ast
import inspect

import pytest

from drivers.pumps.tandem import messages as m
from drivers.pumps.tandem import session
from drivers.pumps.tandem.session import TandemPump


class RecordingTransport:
    """Stands in for the serial port and records every write."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.writes.append(data)


def _pump() -> tuple[TandemPump, RecordingTransport]:
    pump = TandemPump("/dev/null-not-opened", gap_s=0)
    port = RecordingTransport()
    pump.transport = port  # type: ignore[assignment]
    return pump, port


def test_allow_list_is_the_seven_reads() -> None:
    assert isinstance(m.ALLOWED_COMMANDS, frozenset)
    assert {82, 151, 152, 153, 168, 173, 175} == m.ALLOWED_COMMANDS


def test_never_send_ids_are_known_and_disjoint_from_the_allow_list() -> None:
    assert not m.NEVER_SEND & m.ALLOWED_COMMANDS
    assert m.RESPONSE_IDS <= m.NEVER_SEND
    # the BLE and USB numberings collide (protocols.md §4 2.3.3): BLE RenameIDP 0xA8 and
    # FillCannula 0x98 are the USB reads LOG_SIZE_REQ and LOG_ENTRY_SEQ_MULTI_REQ
    assert {0x98, 0xA8} == m.BLE_CONTROL_OPCODES & m.ALLOWED_COMMANDS


@pytest.mark.parametrize("msg_id", sorted(m.NEVER_SEND))
def test_never_send_ids_are_refused_before_the_port(msg_id: int) -> None:
    pump, port = _pump()
    with pytest.raises(m.CommandNotAllowed):
        pump._send(msg_id)
    with pytest.raises(m.CommandNotAllowed):
        m.build_request(msg_id)
    assert port.writes == [] and pump.sent == []


def test_every_id_off_the_allow_list_is_refused_before_the_port() -> None:
    pump, port = _pump()
    refused = 0
    for msg_id in range(-1, 0x200):
        if msg_id in m.ALLOWED_COMMANDS:
            continue
        for payload in (b"", b"\x00", bytes(4), bytes(8)):
            with pytest.raises(m.CommandNotAllowed):
                pump._send(msg_id, payload)
            refused += 1
    assert refused == (0x201 - 7) * 4
    assert port.writes == []


@pytest.mark.parametrize("msg_id", sorted(m.ALLOWED_COMMANDS))
def test_allowed_ids_with_a_wrong_payload_size_are_refused(msg_id: int) -> None:
    pump, port = _pump()
    with pytest.raises(m.CommandNotAllowed):
        pump._send(msg_id, bytes(m.REQUEST_PAYLOAD_SIZES[msg_id] + 1))
    assert port.writes == []
    pump._send(msg_id, bytes(m.REQUEST_PAYLOAD_SIZES[msg_id]))
    assert port.writes == [m.build_request(msg_id, bytes(m.REQUEST_PAYLOAD_SIZES[msg_id]))]


def test_send_is_the_only_writer() -> None:
    """No other function of the session writes to the transport."""
    tree = ast.parse(inspect.getsource(session))
    writers = set()
    for func in ast.walk(tree):
        if isinstance(func, ast.FunctionDef):
            for node in ast.walk(func):
                if (
                    isinstance(node, ast.Attribute)
                    and node.attr == "write"
                    and isinstance(node.value, ast.Attribute)
                    and node.value.attr == "transport"
                ):
                    writers.add(func.name)
    assert writers == {"_send"}
    # and nothing in the driver imports pyserial directly
    assert "import serial" not in inspect.getsource(session)
