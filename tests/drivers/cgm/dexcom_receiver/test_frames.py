"""Framing and CRC-16: byte-exact vectors, round trips, fuzzing."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers._core.errors import ChecksumError, ProtocolError
from drivers.cgm.dexcom_receiver.frames import (
    MAX_FRAME_LEN,
    Frame,
    build_frame,
    crc16,
    frame_length,
    parse_frame,
    split_frames,
)
from tests.drivers.cgm.dexcom_receiver.capture import exchanges


def _crc16_bitwise(data: bytes) -> int:
    """CRC-16/XMODEM as protocols.md 2 §2.2 describes it bit by bit (independent form)."""
    reg = 0
    for byte in data:
        reg ^= byte << 8
        for _ in range(8):
            reg = ((reg << 1) ^ 0x1021) if reg & 0x8000 else reg << 1
            reg &= 0xFFFF
    return reg


def test_crc_check_values() -> None:
    # CRC-16/XMODEM check value (protocols.md 2 §2.2, the CRC catalogue's "check").
    assert crc16(b"123456789") == 0x31C3
    # tidepool-org/uploader lib/crc.js validateCRC: calcCRC_D('\x02\x06\x06\x03') == 50445.
    assert crc16(b"\x02\x06\x06\x03") == 50445
    # openaps/dexcom_reader dexcom_reader/crc16.py TABLE starts 0, 4129, 8258, 12387.
    assert [crc16(bytes([i])) for i in range(4)] == [0, 4129, 8258, 12387]


@given(st.binary(max_size=300))
def test_crc_matches_the_bitwise_definition(data: bytes) -> None:
    assert crc16(data) == _crc16_bitwise(data)


# (code, payload, frame). Sources in the comment of each row.
VECTORS = [
    # PING: protocols.md 2 §2.3; nightscout PacketBuilderTest.testPingCommand;
    # glukit TestDecodingUtils ("WriteBios"); bewest/decoding-dexcom hex-lines.txt.
    (0x0A, b"", "01 06 00 0A 5E 65"),
    # ACK with no payload: protocols.md 2 §2.3 and the G4 capture (answer to PING).
    (0x01, b"", "01 06 00 01 35 D4"),
    # READ_DATABASE_PAGE_RANGE EGV: protocols.md 2 §2.3; PacketBuilderTest; G4 capture.
    (0x10, b"\x04", "01 07 00 10 04 8B B8"),
    # READ_DATABASE_PAGES EGV page 0x10 x1: protocols.md 2 §2.3.
    (0x11, bytes.fromhex("04 10 00 00 00 01"), "01 0C 00 11 04 10 00 00 00 01 95 47"),
    # READ_DATABASE_PAGES CAL_SET page 0x26 x1: nightscout PacketBuilderTest.
    (0x11, bytes.fromhex("05 26 00 00 00 01"), "01 0C 00 11 05 26 00 00 00 01 5E C3"),
    # READ_DATABASE_PAGES EGV page 0x5B9 x4: glukit TestDecodingUtils; G4 capture.
    (0x11, bytes.fromhex("04 B9 05 00 00 04"), "01 0C 00 11 04 B9 05 00 00 04 6D 29"),
    # READ_DISPLAY_TIME_OFFSET, READ_BATTERY_LEVEL, READ_SYSTEM_TIME: PacketBuilderTest.
    (0x1D, b"", "01 06 00 1D 88 07"),
    (0x21, b"", "01 06 00 21 57 F0"),
    (0x22, b"", "01 06 00 22 34 C0"),
    # READ_FIRMWARE_HEADER, PARTITION_INFO, page range MANUFACTURING: protocols.md 2 §10.4.
    (0x0B, b"", "01 06 00 0B 7F 75"),
    (0x0F, b"", "01 06 00 0F FB 35"),
    (0x10, b"\x00", "01 07 00 10 00 0F F8"),
    # NAK and INVALID_COMMAND answers: protocols.md 2 §10.4.
    (0x02, b"", "01 06 00 02 56 E4"),
    (0x03, b"", "01 06 00 03 77 F4"),
    # READ_LANGUAGE answer 0x0409 (English): glukit TestDecodingUtils; G4 capture.
    (0x01, b"\x09\x04", "01 08 00 01 09 04 A1 8A"),
    # Page-range answer 480..500: protocols.md 2 §10.2.
    (0x01, bytes.fromhex("E0 01 00 00 F4 01 00 00"), "01 0E 00 01 E0 01 00 00 F4 01 00 00 F8 11"),
]


@pytest.mark.parametrize(("code", "payload", "wire"), VECTORS)
def test_vectors_build_and_parse(code: int, payload: bytes, wire: str) -> None:
    frame = bytes.fromhex(wire)
    assert build_frame(code, payload) == frame
    assert parse_frame(frame) == Frame(code, payload)


def test_every_captured_frame_parses_and_rebuilds() -> None:
    # The whole G4 capture excerpt, both directions, including 2118-byte 4-page answers.
    for request, answer in exchanges():
        for wire in (request, answer):
            frame = parse_frame(wire)
            assert build_frame(frame.code, frame.payload) == wire
    assert max(len(a) for _, a in exchanges()) == MAX_FRAME_LEN


@given(st.integers(0, 255), st.binary(max_size=MAX_FRAME_LEN - 6))
def test_round_trip(code: int, payload: bytes) -> None:
    assert parse_frame(build_frame(code, payload)) == Frame(code, payload)


def test_errors_carry_their_data() -> None:
    wire = bytearray.fromhex("01 06 00 0A 5E 65")
    wire[-1] ^= 0xFF
    with pytest.raises(ChecksumError) as err:
        parse_frame(bytes(wire))
    assert (err.value.wire, err.value.calculated) == (0x9A5E, 0x655E)
    assert "wire=0x9A5E" in str(err.value)
    with pytest.raises(ProtocolError, match="SOF"):
        parse_frame(b"\x02\x06\x00\x0a\x5e\x65")
    with pytest.raises(ProtocolError, match="length"):
        frame_length(b"\x01\x05\x00\x01")
    with pytest.raises(ProtocolError, match="too long"):
        build_frame(1, bytes(MAX_FRAME_LEN))


def test_split_frames_resynchronises_and_keeps_the_tail() -> None:
    ping, ack = bytes.fromhex("01 06 00 0A 5E 65"), bytes.fromhex("01 06 00 01 35 D4")
    frames, tail = split_frames(b"AT\r\n" + ping + ack + ack[:3])
    assert frames == [Frame(0x0A), Frame(0x01)]
    assert tail == ack[:3]


@given(st.binary(max_size=64))
def test_fuzzed_bytes_raise_only_protocol_errors(data: bytes) -> None:
    for decoder in (parse_frame, split_frames, frame_length):
        with contextlib.suppress(ProtocolError):
            decoder(data)


@given(st.binary(min_size=6, max_size=40), st.integers(0, 39), st.integers(0, 255))
def test_damaged_frames_never_pass(payload: bytes, position: int, flip: int) -> None:
    wire = bytearray(build_frame(1, payload))
    position %= len(wire)
    if flip == 0 or position in (1, 2):  # a changed length is a different frame
        return
    wire[position] ^= flip
    with pytest.raises(ProtocolError):
        parse_frame(bytes(wire))
