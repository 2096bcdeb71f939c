"""Database pages and records: worked examples, a real G4 capture, round trips, fuzzing."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers._core.errors import ChecksumError, DecodeError, ProtocolError
from drivers.cgm.dexcom_receiver import layouts as lay
from drivers.cgm.dexcom_receiver.decode import (
    PAGE_SIZE,
    PageHeader,
    decode_capture,
    decode_page,
    decode_page_header,
    decode_pages,
    encode_page,
    encode_page_header,
)
from drivers.cgm.dexcom_receiver.frames import build_frame, parse_frame
from tests.drivers.cgm.dexcom_receiver.capture import answer_to, exchanges

# protocols.md 2 §10.1 (synthetic, CRC-checked there): G4 EGV, 120 mg/dL Flat/Clean.
G4_EGV = bytes.fromhex("10 FD 22 0C C0 B6 22 0C 78 00 14 DE B6")
# protocols.md 2 §10.1: display-only, special 5, NotComputable.
G4_EGV_DISPLAY_ONLY = bytes.fromhex("3C FE 22 0C EC B7 22 0C 05 80 08 E3 75")
# protocols.md 2 §10.3: G6 rev 5, 154 mg/dL backfilled, predicted 120 urgent-low-soon.
G6_EGV = bytes.fromhex("10 FD 22 0C C0 B6 22 0C 9A 20 10 FD 22 0C 87 D6 12 00 FE 25 06 78 80 CE E5")
# protocols.md 2 §10.2: page header, EGV rev 2, page 500, first index 18962, 1 record.
HEADER = bytes.fromhex(
    "12 4A 00 00 01 00 00 00 04 02 F4 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 F1 B5"
)


def test_reference_records() -> None:
    rec = lay.decode_record(lay.EGV_G4, G4_EGV)
    assert rec == lay.EgvRecord(0x0C22FD10, 0x0C22B6C0, 0x0078, 0x14)
    assert lay.encode_record(lay.EGV_G4, rec) == G4_EGV
    assert lay.decode_record(lay.EGV_G4, G4_EGV_DISPLAY_ONLY) == lay.EgvRecord(
        0x0C22FE3C, 0x0C22B7EC, 0x8005, 0x08
    )
    g6 = lay.decode_record(lay.EGV_REV5, G6_EGV)
    assert g6 == lay.EgvRecord(
        0x0C22FD10, 0x0C22B6C0, 0x209A, 0x25, 203619600, 1234567, -2, 6, 0x8078
    )
    assert lay.encode_record(lay.EGV_REV5, g6) == G6_EGV


def test_reference_page_and_its_frame() -> None:
    header = decode_page_header(HEADER)
    assert header == PageHeader(18962, 1, 4, 2, 500)
    assert encode_page_header(header) == HEADER
    page = encode_page(header, [lay.decode_record(lay.EGV_G4, G4_EGV)])
    frame = build_frame(1, page)
    # protocols.md 2 §10.2: 534-byte ACK, starts 01 16 02 01 12 4A 00 00, ends 6E 49.
    assert len(frame) == 534 and frame[:8] == bytes.fromhex("01 16 02 01 12 4A 00 00")
    assert frame[-2:] == bytes.fromhex("6E 49")
    assert decode_page(page, record_type=4, page_number=500).records == (
        (18962, lay.EgvRecord(0x0C22FD10, 0x0C22B6C0, 0x0078, 0x14)),
    )


def test_captured_g4_pages() -> None:
    # bewest/decoding-dexcom hex-lines.txt: 4 EGV pages in one 2118-byte answer.
    pages = decode_pages(
        parse_frame(answer_to("01 0C 00 11 04 B9 05 00 00 04 6D 29")).payload,
        record_type=4,
        first_page=0x5B9,
        record_length=13,
    )
    assert [p.header.page_number for p in pages] == [1465, 1466, 1467, 1468]
    assert [p.header.first_index for p in pages] == [55670, 55708, 55746, 55784]
    assert all(len(p.records) == 38 and not p.skipped for p in pages)
    assert pages[0].records[0] == (55670, lay.EgvRecord(0x08D671C3, 0x08D60F79, 47, 0x14))
    meter = decode_pages(parse_frame(answer_to("01 0C 00 11 0A 22 00 00 00 02 38 BF")).payload)
    assert [len(p.records) for p in meter] == [31, 1]
    assert meter[0].records[0][1] == lay.MeterRecord(0x08D0F549, 0x08D092FF, 135, 0x08D0F52B)
    events = decode_pages(parse_frame(answer_to("01 0C 00 11 0B 75 00 00 00 02 7E 88")).payload)
    assert events[0].records[0][1] == lay.UserEventRecord(
        0x08D4B8DB, 0x08D45691, 2, 0, 0x08D45654, 350
    )
    inserts = decode_pages(parse_frame(answer_to("01 0C 00 11 07 01 00 00 00 02 1D 17")).payload)
    assert inserts[0].records[0][1] == lay.InsertionRecord(0x085932CA, 0x0858D039, 0xFFFFFFFF, 1)
    # READ_DATABASE_PAGE_HEADER answers the 28-byte header alone (unverified before).
    header = parse_frame(answer_to("01 0B 00 12 04 B9 05 00 00 18 CC")).payload
    assert decode_page_header(header) == pages[0].header


def test_capture_replay() -> None:
    raw = b"".join(answer for _, answer in exchanges())
    capture = decode_capture(raw)
    assert capture.firmware["ProductId"] == "G4Receiver"
    assert capture.manufacturing["SerialNumber"] == "sm30140752"
    assert sum(len(p.records) for p in capture.pages) == 4 * 38 + 32 + 36 + 35


def test_a_corrupt_record_is_skipped_and_listed() -> None:
    recs = [lay.EgvRecord(100 + i, 50 + i, 120 + i, 0x14) for i in range(5)]
    page = bytearray(encode_page(PageHeader(7000, 5, 4, 2, 9), recs))
    page[28 + 2 * 13 + 8] ^= 0x01
    decoded = decode_page(bytes(page))
    assert [i for i, _ in decoded.records] == [7000, 7001, 7003, 7004]
    assert decoded.skipped[0].index == 7002 and "CRC" in decoded.skipped[0].error


def test_page_checks() -> None:
    page = encode_page(PageHeader(0, 1, 4, 2, 9), [lay.EgvRecord(1, 2, 3, 4)])
    with pytest.raises(ProtocolError, match="another page"):
        decode_page(page, page_number=10)
    with pytest.raises(ProtocolError, match="another partition"):
        decode_page(page, record_type=10)
    with pytest.raises(DecodeError, match="contradicts"):
        decode_page(page, record_length=23)
    with pytest.raises(ChecksumError):
        decode_page(page[:5] + b"\x09" + page[6:])
    with pytest.raises(DecodeError, match="unsupported record revision"):
        lay.layout_for(4, 6)


u32, u16 = st.integers(0, 2**32 - 1), st.integers(0, 2**16 - 1)
u8, i8, i16 = st.integers(0, 255), st.integers(-128, 127), st.integers(-(2**15), 2**15 - 1)
RECORDS = {
    lay.EGV_G4: st.builds(lay.EgvRecord, u32, u32, u16, u8),
    lay.EGV_REV4: st.builds(lay.EgvRecord, u32, u32, u16, u8, u32, u32, i8, u8),
    lay.EGV_REV5: st.builds(lay.EgvRecord, u32, u32, u16, u8, u32, u32, i8, u8, u16),
    lay.METER_G4: st.builds(lay.MeterRecord, u32, u32, u16, u32),
    lay.METER_REV3: st.builds(lay.MeterRecord, u32, u32, u16, u32, u8, u32),
    lay.SENSOR: st.builds(lay.SensorRecord, u32, u32, u32, u32, i16),
    lay.INSERTION_G4: st.builds(lay.InsertionRecord, u32, u32, u32, u8),
    lay.INSERTION_REV2: st.builds(
        lay.InsertionRecord, u32, u32, u32, u8, u32, st.binary(min_size=6, max_size=6)
    ),
    lay.USER_EVENT: st.builds(lay.UserEventRecord, u32, u32, u8, u8, u32, u32),
}


@pytest.mark.parametrize("layout", list(RECORDS), ids=lambda layout: layout.name)
@given(data=st.data())
def test_record_round_trip(layout: lay.Layout, data: st.DataObject) -> None:
    rec = data.draw(RECORDS[layout])
    raw = lay.encode_record(layout, rec)
    assert len(raw) == layout.size
    assert lay.decode_record(layout, raw) == rec


KINDS = [
    (4, 2, lay.EGV_G4),
    (4, 4, lay.EGV_REV4),
    (18, 5, lay.EGV_REV5),
    (10, 1, lay.METER_G4),
    (10, 3, lay.METER_REV3),
    (7, 2, lay.INSERTION_REV2),
    (11, 1, lay.USER_EVENT),
]


@given(st.sampled_from(KINDS), st.data(), u32, u32)
def test_page_round_trip(
    kind: tuple[int, int, lay.Layout], data: st.DataObject, first: int, number: int
) -> None:
    rtype, revision, layout = kind
    recs = data.draw(st.lists(RECORDS[layout], max_size=500 // layout.size))
    first = min(first, 2**32 - 1 - len(recs))
    header = PageHeader(first, len(recs), rtype, revision, number)
    page = decode_page(encode_page(header, recs), record_type=rtype, page_number=number)
    assert page.header == header
    assert page.records == tuple(enumerate(recs, start=first))


@given(st.binary(min_size=PAGE_SIZE, max_size=PAGE_SIZE))
def test_fuzzed_pages_raise_only_protocol_errors(data: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        decode_page(data)


@given(st.binary(max_size=200))
def test_fuzzed_captures_raise_only_protocol_errors(data: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        decode_capture(data)
