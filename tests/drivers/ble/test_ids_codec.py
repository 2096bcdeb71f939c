"""Insulin Delivery Service codecs: status vectors, history events, Hamming rejection."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers._core.errors import ChecksumError, DecodeError
from drivers.ble.date_time import ZonedLocalTime
from drivers.ble.ids import decode as d
from drivers.ble.ids import messages
from drivers.ble.sfloat import decode_sfloat, encode_sfloat

H = bytes.fromhex


# Vectors from protocols.md section 5 (constructed after tidepool-org/
# InsulinDeliveryServiceKit IDStatus.swift / IDFeature.swift / IDStatusChanged.swift;
# CRCs recomputed with CRC-16/MCRF4XX over data + counter).
def test_idd_status_vector() -> None:
    status = messages.decode_status(H("33 3C 64 00 01 01 65 83"), e2e=True)
    assert status == messages.IddStatus("stop", "standby", 100.0, True)
    assert messages.encode_status(status, e2e=True) == H("33 3C 64 00 01 01 65 83")
    with pytest.raises(ChecksumError):
        messages.decode_status(H("33 3C 64 00 01 01 65 84"), e2e=True)


def test_idd_features_vectors_crc_first() -> None:
    plain = messages.decode_features(H("FF FF 00 64 00 26 04 00"))
    assert (plain.flags, plain.e2e, plain.concentration.value) == (0x0426, False, 100.0)
    protected = messages.decode_features(H("A6 68 01 64 00 27 04 00"))
    assert protected.e2e and messages.encode_features(protected, counter=1) == H(
        "A6 68 01 64 00 27 04 00"
    )
    with pytest.raises(ChecksumError):
        messages.decode_features(H("A7 68 01 64 00 27 04 00"))


def test_status_changed_and_annunciation() -> None:
    assert messages.decode_status_changed(H("04 00 01 DB 4B"), e2e=True) == 0x0004  # reservoir
    body = H("01 07 00 66 00 33")  # present, id 7, reservoir low, pending
    ann = messages.decode_annunciation(messages.add_e2e(body, e2e=True), e2e=True)
    assert ann == messages.Annunciation(7, "reservoir-low", "pending")
    assert messages.decode_annunciation(H("00"), e2e=False) is None


@pytest.mark.parametrize("value", ["34 3C 64 00 01", "33 3D 64 00 01"])
def test_hamming_coded_values_outside_the_table_are_rejected(value: str) -> None:
    with pytest.raises(DecodeError):
        messages.decode_status(H(value), e2e=False)


def test_history_header_and_reference_time() -> None:
    # Header layout from Tidepool IDHistoryData.swift: type u16, record number u32,
    # relative offset u16; Reference Time payload: reason, Date Time, zone, DST.
    ref = ZonedLocalTime(datetime(2024, 3, 15, 6, 0), 60, 0)
    wire = d.encode_event(d.REFERENCE_TIME, 1000, 0, d.reference_time_data(0x3C, ref), e2e=False)
    assert wire[:8] == H("0F 00 E8 03 00 00 00 00")
    event = d.decode_event(wire, e2e=False)
    assert event.fields == {"reason": 0x3C, "time": ref}


def test_bolus_delivered_part1_layout() -> None:
    # Tidepool BolusDeliveredPart1HistoryEvent: id u16, type u8, fast SFLOAT, extended SFLOAT,
    # duration u16 min.
    data = d.bolus_part1_data(5, 0x33, decode_sfloat(encode_sfloat(4.5)), decode_sfloat(0), 0)
    assert data == H("05 00 33 2D F0 00 00 00 00")
    event = d.decode_event(d.encode_event(d.BOLUS_DELIVERED_1, 7, 120, data, e2e=True), e2e=True)
    assert (event.record_number, event.relative_offset_s, event.num("bolus_id")) == (7, 120, 5)
    assert event.amount("fast_u") == 4.5


def test_unknown_event_kept_raw_and_short_events_rejected() -> None:
    event = d.decode_event(d.encode_event(0xF00F, 9, 1, b"\x01\x02", e2e=False), e2e=False)
    assert event.fields == {} and event.data == b"\x01\x02"
    with pytest.raises(DecodeError):
        d.decode_event(H("99 00 01 00 00 00 00 00 00 64"), e2e=False)  # basal change truncated


@given(
    st.sampled_from([d.BOLUS_PROGRAMMED_1, d.BOLUS_DELIVERED_1]),
    st.integers(0, 0xFFFF),
    st.sampled_from([0x33, 0x3C, 0x55]),
    st.integers(0, 2000),
    st.integers(0, 0xFFFFFFFF),
    st.integers(0, 0xFFFF),
    st.booleans(),
)
def test_bolus_event_round_trip(
    kind: int, bolus_id: int, btype: int, centi: int, number: int, offset: int, e2e: bool
) -> None:
    amount = decode_sfloat(encode_sfloat(centi / 100))
    data = d.bolus_part1_data(bolus_id, btype, amount, amount, 30)
    event = d.decode_event(d.encode_event(kind, number, offset, data, e2e=e2e), e2e=e2e)
    assert (event.event_type, event.record_number, event.relative_offset_s) == (
        kind,
        number,
        offset,
    )
    assert event.num("bolus_type") == btype and event.amount("fast_u") == amount.value
