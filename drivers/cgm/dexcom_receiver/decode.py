"""Dexcom database pages: header, per-page and per-record CRC (pure).

A READ_DATABASE_PAGES answer is ``count`` pages of :data:`PAGE_SIZE` bytes, each a
28-byte header and a 500-byte record area (``num_records`` fixed-size records, the rest
0xFF). Header (little-endian)::

    0 u32 first record index   4 u32 number of records   8 u8 record type
    9 u8 revision              10 u32 page number        14 3 x u32 reserved
    26 u16 CRC-16/XMODEM of bytes 0..25

Sources: openaps/dexcom_reader ``readdata.py`` (``<2IcB4IH``, header CRC, type and page
checks); tidepool-org/uploader ``dexcomDriver.js`` (``iibbiiiibb``). Page size 528, the
0xFF padding and multi-page answers (pages simply concatenated, up to 4) are confirmed
by the G4 capture in bewest/decoding-dexcom ``alexandre-normand/hex-lines.txt``.

A record that fails its CRC is skipped and reported (:attr:`Page.skipped`); a page
whose header fails its CRC is unusable and raises.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

from drivers._core.errors import ChecksumError, DecodeError, ProtocolError
from drivers.cgm.dexcom_receiver.frames import crc16, split_frames
from drivers.cgm.dexcom_receiver.layouts import (
    DexcomRecord,
    Layout,
    XmlRecord,
    decode_record,
    encode_record,
    layout_for,
)
from drivers.cgm.dexcom_receiver.messages import RecordType, decode_xml_attrs

PAGE_HEADER_LEN = 28
PAGE_DATA_LEN = 500
PAGE_SIZE = PAGE_HEADER_LEN + PAGE_DATA_LEN
_HEADER = struct.Struct("<IIBBIIII")


@dataclass(frozen=True, slots=True)
class PageHeader:
    """The 28-byte header at the start of every database page."""

    first_index: int
    num_records: int
    record_type: int
    revision: int
    page_number: int
    reserved: tuple[int, int, int] = (0, 0, 0)


@dataclass(frozen=True, slots=True)
class SkippedRecord:
    """A record left out of a page because it failed its CRC or did not decode."""

    record_type: int
    page_number: int
    index: int
    error: str


@dataclass(frozen=True, slots=True)
class Page:
    """A decoded page: records with their global index, and those skipped."""

    header: PageHeader
    records: tuple[tuple[int, DexcomRecord], ...]
    skipped: tuple[SkippedRecord, ...] = field(default=())


def encode_page_header(header: PageHeader) -> bytes:
    """The 28 header bytes with their CRC."""
    body = _HEADER.pack(
        header.first_index,
        header.num_records,
        header.record_type,
        header.revision,
        header.page_number,
        *header.reserved,
    )
    return body + struct.pack("<H", crc16(body))


def decode_page_header(raw: bytes) -> PageHeader:
    """Decode and check a page header (the first 28 bytes of ``raw``).

    Raises:
        DecodeError: fewer than 28 bytes.
        ChecksumError: the header CRC does not match.
    """
    if len(raw) < PAGE_HEADER_LEN:
        raise DecodeError("page header truncated", received=len(raw))
    body = raw[: PAGE_HEADER_LEN - 2]
    wire = raw[PAGE_HEADER_LEN - 2] | raw[PAGE_HEADER_LEN - 1] << 8
    calculated = crc16(body)
    if wire != calculated:
        raise ChecksumError("page header CRC mismatch", wire=wire, calculated=calculated)
    first, count, rtype, rev, number, r2, r3, r4 = _HEADER.unpack(body)
    return PageHeader(first, count, rtype, rev, number, (r2, r3, r4))


def encode_page(header: PageHeader, records: Sequence[DexcomRecord]) -> bytes:
    """A full 528-byte page: header, records, 0xFF padding (the virtual receiver).

    Raises:
        DecodeError: the records do not fit the record area or the header's count.
    """
    layout = layout_for(header.record_type, header.revision)
    area = b"".join(encode_record(layout, rec) for rec in records)
    if len(records) != header.num_records or len(area) > PAGE_DATA_LEN:
        raise DecodeError(
            "records do not fit the page", records=len(records), num_records=header.num_records
        )
    return encode_page_header(header) + area + b"\xff" * (PAGE_DATA_LEN - len(area))


def records_per_page(layout: Layout) -> int:
    """How many records of ``layout`` fill one page (38 for G4 EGVs)."""
    return PAGE_DATA_LEN // layout.size


def decode_page(
    raw: bytes,
    *,
    record_type: int | None = None,
    page_number: int | None = None,
    record_length: int | None = None,
) -> Page:
    """Decode one page, skipping (and listing) records that fail their CRC.

    Args:
        raw: The 528 page bytes.
        record_type: The partition asked for; the header must echo it.
        page_number: The page asked for; the header must echo it.
        record_length: The partition's ``RecordLength`` from the partition info,
            when known; the layout chosen by revision must have that size.

    Raises:
        DecodeError: wrong page size, unsupported revision or record type, a record
            length that contradicts the partition info, or too many records.
        ChecksumError: the page header CRC does not match.
        ProtocolError: the header names another partition or page than asked for.
    """
    if len(raw) != PAGE_SIZE:
        raise DecodeError("page size mismatch", expected=PAGE_SIZE, received=len(raw))
    header = decode_page_header(raw)
    if record_type is not None and header.record_type != record_type:
        raise ProtocolError("page of another partition", asked=record_type, got=header.record_type)
    if page_number is not None and header.page_number != page_number:
        raise ProtocolError(
            "another page than asked for", asked=page_number, got=header.page_number
        )
    layout = layout_for(header.record_type, header.revision)
    if record_length is not None and record_length != layout.size:
        raise DecodeError(
            "revision layout contradicts the partition's record length",
            layout=layout.name,
            record_length=record_length,
        )
    if header.num_records * layout.size > PAGE_DATA_LEN:
        raise DecodeError("page claims more records than fit", num_records=header.num_records)
    records: list[tuple[int, DexcomRecord]] = []
    skipped: list[SkippedRecord] = []
    for i in range(header.num_records):
        start = PAGE_HEADER_LEN + i * layout.size
        index = header.first_index + i
        try:
            records.append((index, decode_record(layout, raw[start : start + layout.size])))
        except (ChecksumError, DecodeError) as exc:
            skipped.append(SkippedRecord(header.record_type, header.page_number, index, str(exc)))
    return Page(header, tuple(records), tuple(skipped))


def decode_pages(
    payload: bytes,
    *,
    record_type: int | None = None,
    first_page: int | None = None,
    record_length: int | None = None,
) -> list[Page]:
    """Decode a multi-page READ_DATABASE_PAGES answer (pages concatenated).

    Raises:
        DecodeError: the payload is not a whole number of pages (or see
            :func:`decode_page`).
    """
    if not payload or len(payload) % PAGE_SIZE:
        raise DecodeError("pages answer is not a whole number of pages", received=len(payload))
    return [
        decode_page(
            payload[k * PAGE_SIZE : (k + 1) * PAGE_SIZE],
            record_type=record_type,
            page_number=None if first_page is None else first_page + k,
            record_length=record_length,
        )
        for k in range(len(payload) // PAGE_SIZE)
    ]


@dataclass(frozen=True, slots=True)
class Capture:
    """What a saved upload (``HistoryBatch.raw``) holds, decoded without the device."""

    firmware: dict[str, str]
    manufacturing: dict[str, str]
    pages: list[Page]


def decode_capture(raw: bytes) -> Capture:
    """Replay a session's raw capture (``HistoryBatch.raw``: the firmware-header and page
    answers, as frames); other answers are passed over.

    Raises:
        ProtocolError: a frame or page in the capture is damaged.
    """
    frames, tail = split_frames(raw)
    if tail:
        raise DecodeError("capture ends inside a frame", tail=len(tail))
    firmware: dict[str, str] = {}
    manufacturing: dict[str, str] = {}
    pages: list[Page] = []
    for frame in frames:
        if frame.payload.startswith(b"<FirmwareHeader"):
            firmware = decode_xml_attrs(frame.payload)[1]
        if not frame.payload or len(frame.payload) % PAGE_SIZE:
            continue  # not a page answer (a fuller capture may hold clock reads etc.)
        for page in decode_pages(frame.payload):
            if page.header.record_type == RecordType.MANUFACTURING_DATA and page.records:
                xml = page.records[-1][1]
                if isinstance(xml, XmlRecord):
                    manufacturing = decode_xml_attrs(xml.xml)[1]
            else:
                pages.append(page)
    return Capture(firmware, manufacturing, pages)
