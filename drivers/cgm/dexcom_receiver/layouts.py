"""Dexcom database record layouts, one per (record type, revision) (pure).

Every record is ``u32 sys, u32 disp, <fields>, u16 CRC-16/XMODEM`` of the bytes before
the CRC; the page header's revision byte picks the layout, never a model guess. Layouts:
openaps/dexcom_reader ``dexcom_reader/database_records.py``; tidepool-org/uploader
``lib/drivers/dexcom/dexcomDriver.js`` (``parseEgvRecords``, ``parseMeterRecords``,
``parseEventRecords``); DexcTrack/dexctrack ``database_records.py``. G4 layouts checked
record by record (every CRC valid) against the capture in bewest/decoding-dexcom
``alexandre-normand/hex-lines.txt``. Times stay raw seconds here (see normalize).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from drivers._core.errors import ChecksumError, DecodeError
from drivers.cgm.dexcom_receiver.frames import crc16
from drivers.cgm.dexcom_receiver.messages import RecordType


@dataclass(frozen=True, slots=True)
class EgvRecord:
    """An estimated glucose value. ``glucose_word``: value in bits 0-9, flags 13-15;
    ``trend_byte``: arrow in bits 0-3, noise in 4-6. Rev >= 4 adds the rest."""

    sys_s: int
    disp_s: int
    glucose_word: int
    trend_byte: int
    system_time_s: int | None = None
    transmitter_time_s: int | None = None
    filtered_rate: int | None = None
    algorithm_state: int | None = None
    predicted_word: int | None = None


@dataclass(frozen=True, slots=True)
class MeterRecord:
    """A fingerstick entered as calibration. ``meter_time_s`` is on the system clock
    (G4 capture: a few seconds before ``sys_s``). Rev 3 adds the entry type and the
    transmitter time."""

    sys_s: int
    disp_s: int
    glucose_mgdl: int
    meter_time_s: int
    entry_type: int | None = None
    meter_transmitter_time_s: int | None = None


@dataclass(frozen=True, slots=True)
class SensorRecord:
    """Raw sensor counts and signal strength."""

    sys_s: int
    disp_s: int
    unfiltered: int
    filtered: int
    rssi: int


@dataclass(frozen=True, slots=True)
class InsertionRecord:
    """A sensor session state change; ``insertion_s`` 0xFFFFFFFF = not set."""

    sys_s: int
    disp_s: int
    insertion_s: int
    session_state: int
    number: int | None = None
    transmitter_id: bytes | None = None


@dataclass(frozen=True, slots=True)
class UserEventRecord:
    """Carbs (g), insulin (1/100 U), health or exercise (min) entered by the user;
    ``event_time_s`` (display clock) is when the user says it happened."""

    sys_s: int
    disp_s: int
    event_type: int
    sub_type: int
    event_time_s: int
    value: int


@dataclass(frozen=True, slots=True)
class XmlRecord:
    """Manufacturing or PC-parameter record: ASCII XML padded with NULs."""

    sys_s: int
    disp_s: int
    xml: bytes


DexcomRecord = (
    EgvRecord | MeterRecord | SensorRecord | InsertionRecord | UserEventRecord | XmlRecord
)


@dataclass(frozen=True, slots=True)
class Layout:
    """How one (record type, revision) sits on the page."""

    name: str
    fmt: struct.Struct
    unpack: Callable[[tuple[Any, ...]], DexcomRecord]
    pack: Callable[[Any], tuple[Any, ...]]

    @property
    def size(self) -> int:
        """Record size in bytes, CRC included."""
        return self.fmt.size + 2


def _opt(*values: int | None) -> tuple[int, ...]:
    if any(v is None for v in values):
        raise DecodeError("record lacks a field its revision needs")
    return tuple(v for v in values if v is not None)


EGV_G4 = Layout(
    "egv-g4",
    struct.Struct("<IIHB"),
    lambda t: EgvRecord(*t),
    lambda r: (r.sys_s, r.disp_s, r.glucose_word, r.trend_byte),
)
EGV_REV4 = Layout(
    "egv-rev4",
    struct.Struct("<IIHIIbBB"),
    lambda t: EgvRecord(t[0], t[1], t[2], t[6], t[3], t[4], t[5], t[7]),
    lambda r: (
        r.sys_s,
        r.disp_s,
        r.glucose_word,
        *_opt(r.system_time_s, r.transmitter_time_s, r.filtered_rate),
        r.trend_byte,
        *_opt(r.algorithm_state),
    ),
)
EGV_REV5 = Layout(
    "egv-rev5",
    struct.Struct("<IIHIIbBBH"),
    lambda t: EgvRecord(t[0], t[1], t[2], t[6], t[3], t[4], t[5], t[7], t[8]),
    lambda r: (*EGV_REV4.pack(r), *_opt(r.predicted_word)),
)
METER_G4 = Layout(
    "meter-g4",
    struct.Struct("<IIHI"),
    lambda t: MeterRecord(*t),
    lambda r: (r.sys_s, r.disp_s, r.glucose_mgdl, r.meter_time_s),
)
METER_REV3 = Layout(
    "meter-rev3",
    struct.Struct("<IIHBII"),
    lambda t: MeterRecord(t[0], t[1], t[2], t[4], t[3], t[5]),
    lambda r: (
        r.sys_s,
        r.disp_s,
        r.glucose_mgdl,
        *_opt(r.entry_type),
        r.meter_time_s,
        *_opt(r.meter_transmitter_time_s),
    ),
)
SENSOR = Layout(
    "sensor",
    struct.Struct("<IIIIh"),
    lambda t: SensorRecord(*t),
    lambda r: (r.sys_s, r.disp_s, r.unfiltered, r.filtered, r.rssi),
)
INSERTION_G4 = Layout(
    "insertion-g4",
    struct.Struct("<IIIB"),
    lambda t: InsertionRecord(*t),
    lambda r: (r.sys_s, r.disp_s, r.insertion_s, r.session_state),
)
INSERTION_REV2 = Layout(
    "insertion-rev2",
    struct.Struct("<IIIBI6s"),
    lambda t: InsertionRecord(*t),
    lambda r: (*INSERTION_G4.pack(r), *_opt(r.number), r.transmitter_id or b""),
)
USER_EVENT = Layout(
    "user-event",
    struct.Struct("<IIBBII"),
    lambda t: UserEventRecord(*t),
    lambda r: (r.sys_s, r.disp_s, r.event_type, r.sub_type, r.event_time_s, r.value),
)
XML = Layout(
    "xml", struct.Struct("<II490s"), lambda t: XmlRecord(*t), lambda r: (r.sys_s, r.disp_s, r.xml)
)


def layout_for(record_type: int, revision: int) -> Layout:
    """The layout for a page's record type and revision.

    Raises:
        DecodeError: a partition this driver does not decode, or an unknown revision
            (refused rather than guessed: a wrong size fails every record CRC).
    """
    rt = record_type
    if rt in (RecordType.EGV_DATA, RecordType.BACKFILLED_EGV_DATA):
        table = {1: EGV_G4, 2: EGV_G4, 3: EGV_G4, 4: EGV_REV4, 5: EGV_REV5}
    elif rt == RecordType.METER_DATA:
        table = {1: METER_G4, 2: METER_G4, 3: METER_REV3}
    elif rt == RecordType.INSERTION_TIME:
        table = {1: INSERTION_G4, 2: INSERTION_REV2, 3: INSERTION_REV2}
    elif rt == RecordType.SENSOR_DATA:
        table = {1: SENSOR, 2: SENSOR}
    elif rt == RecordType.USER_EVENT_DATA:
        table = {1: USER_EVENT, 2: USER_EVENT}
    elif rt in (RecordType.MANUFACTURING_DATA, RecordType.PC_SOFTWARE_PARAMETER):
        table = {1: XML}
    else:
        raise DecodeError("record type not decoded by this driver", record_type=rt)
    layout = table.get(revision)
    if layout is None:
        raise DecodeError("unsupported record revision", record_type=rt, revision=revision)
    return layout


def decode_record(layout: Layout, raw: bytes) -> DexcomRecord:
    """Decode one record and check its CRC.

    Raises:
        DecodeError: ``raw`` is not ``layout.size`` bytes.
        ChecksumError: the record's CRC does not match.
    """
    if len(raw) != layout.size:
        raise DecodeError("record size mismatch", layout=layout.name, received=len(raw))
    wire = raw[-2] | raw[-1] << 8
    calculated = crc16(raw[:-2])
    if wire != calculated:
        raise ChecksumError(
            "record CRC mismatch", wire=wire, calculated=calculated, layout=layout.name
        )
    return layout.unpack(layout.fmt.unpack(raw[:-2]))


def encode_record(layout: Layout, record: DexcomRecord) -> bytes:
    """Encode one record with its CRC (the virtual receiver's database).

    Raises:
        DecodeError: the record lacks a field the layout needs, or a value does not
            fit its field.
    """
    try:
        body = layout.fmt.pack(*layout.pack(record))
    except (struct.error, AttributeError) as exc:
        raise DecodeError("record does not fit its layout", layout=layout.name) from exc
    return body + struct.pack("<H", crc16(body))
