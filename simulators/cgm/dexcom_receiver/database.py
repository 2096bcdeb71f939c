"""The virtual receiver's database: partitions of records, served as 528-byte pages.

Filled from any sequence of normalized :class:`GlucoseSample` (``cgm`` readings become
EGV records, ``calibration``/``smbg`` become meter records), e.g. from
``simulators/cgm_trace`` or the synthetic patient. Pages are encoded with the driver's
own codecs (:mod:`drivers.cgm.dexcom_receiver.decode`), so the bytes are the driver's
bytes; any record can be added directly (:meth:`ReceiverDatabase.add`).

Clocks: the system clock is UTC seconds since 2009-01-01 when a sample has
``time_utc`` (otherwise display time minus ``system_offset_s``); the display time is
the sample's ``device_time``. So ``disp - sys`` of each record is the display offset
in force, and a DST change in the series shows as the user changing the clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from drivers._core.records import GlucoseSample
from drivers.cgm.dexcom_receiver.decode import PageHeader, encode_page, records_per_page
from drivers.cgm.dexcom_receiver.layouts import (
    DexcomRecord,
    EgvRecord,
    MeterRecord,
    XmlRecord,
    layout_for,
)
from drivers.cgm.dexcom_receiver.messages import (
    PageRange,
    Partition,
    RecordType,
    encode_xml_element,
)
from drivers.cgm.dexcom_receiver.normalize import TRENDS, receiver_seconds

RT = RecordType
UTC_EPOCH = datetime(2009, 1, 1, tzinfo=UTC)
SPECIAL_CODES = {"sensor-error": 1, "warmup": 5, "not-computable": 9}
"""Default special code per flag (a sample's ``cgm/dexcom-error-<code>-...`` wins)."""


@dataclass(frozen=True, slots=True)
class ReceiverModel:
    """What a receiver model says about itself and which record revisions it writes."""

    product_id: str
    product_name: str
    software_number: str
    firmware_version: str
    egv_revision: int
    meter_revision: int
    insertion_revision: int
    backfill: bool = False

    def partitions(self) -> list[Partition]:
        """The partition-info entries this model announces."""
        names = {
            RT.MANUFACTURING_DATA: ("ManufacturingData", 1),
            RT.EGV_DATA: ("EGVData", self.egv_revision),
            RT.INSERTION_TIME: ("InsertionTime", self.insertion_revision),
            RT.METER_DATA: ("MeterData", self.meter_revision),
            RT.USER_EVENT_DATA: ("UserEventData", 1),
        }
        if self.backfill:
            names[RT.BACKFILLED_EGV_DATA] = ("BackfilledEGVData", self.egv_revision)
        return [Partition(int(t), n, r, layout_for(t, r).size) for t, (n, r) in names.items()]


G4 = ReceiverModel("G4Receiver", "Dexcom G4 Receiver", "SW10050", "2.0.1.104", 2, 1, 1)
G5 = ReceiverModel("G5MobileReceiver", "Dexcom G5 Mobile Receiver", "SW10617", "4.0.1.048", 4, 3, 2)
G6 = ReceiverModel(
    "OrionReceiver", "Dexcom G6 Receiver", "SW11163", "5.0.2.043", 5, 3, 2, backfill=True
)
MODELS = {"g4": G4, "g5": G5, "g6": G6}


def egv_word(sample: GlucoseSample) -> int:
    """The EGV glucose word for a sample: mg/dL, 39 for Low, 401 for High, or a code."""
    if sample.special == "low":
        return 39
    if sample.special == "high":
        return 401
    if sample.special is not None:
        for note in sample.annotations:
            if note.startswith("cgm/dexcom-error-"):
                return int(note.split("-")[2])
        return SPECIAL_CODES[sample.special]
    return max(40, min(400, round(sample.glucose_mgdl or 0)))


class ReceiverDatabase:
    """Partitions of Dexcom records and their pages.

    Args:
        model: The receiver model (record revisions, firmware header).
        serial: The manufacturing serial number.
        first_page: Page number of every partition's first page (a used receiver's
            page numbers do not start at 0).
        first_index: Global index of every partition's first record.
        system_offset_s: system - display seconds for samples without ``time_utc``.
    """

    def __init__(
        self,
        model: ReceiverModel = G4,
        *,
        serial: str = "SM12345678",
        first_page: int = 100,
        first_index: int = 5000,
        system_offset_s: int = 0,
    ) -> None:
        self.model = model
        self.serial = serial
        self.first_page = first_page
        self.first_index = first_index
        self.system_offset_s = system_offset_s
        self.records: dict[int, list[DexcomRecord]] = {p.id: [] for p in model.partitions()}
        self.corrupt: set[tuple[int, int]] = set()
        xml = encode_xml_element("ManufacturingParameters", {"SerialNumber": serial})
        self.records[RT.MANUFACTURING_DATA] = [XmlRecord(0, 0, xml)]

    def revision(self, record_type: int) -> int:
        """The revision this model writes for a partition."""
        return next(p.revision for p in self.model.partitions() if p.id == record_type)

    def add(self, record_type: int, record: DexcomRecord) -> None:
        """Append one record (records of a partition must come in system-time order)."""
        self.records[record_type].append(record)

    def clocks(self, sample: GlucoseSample) -> tuple[int, int]:
        """(sys, disp) receiver seconds for a sample."""
        disp = receiver_seconds(sample.device_time)
        if sample.time_utc is None:
            return disp + self.system_offset_s, disp
        return int((sample.time_utc - UTC_EPOCH).total_seconds()), disp

    def add_samples(self, samples: Iterable[GlucoseSample]) -> None:
        """Append CGM readings as EGVs and calibrations/fingersticks as meter records."""
        rev = self.revision(RT.EGV_DATA)
        for sample in sorted(samples, key=lambda s: self.clocks(s)[0]):
            sys_s, disp_s = self.clocks(sample)
            if sample.sample_type == "cgm":
                trend = TRENDS.index(sample.trend) if sample.trend in TRENDS else 0
                ext = rev >= 4
                self.add(
                    RT.EGV_DATA,
                    EgvRecord(
                        sys_s,
                        disp_s,
                        egv_word(sample),
                        trend | 0x10,
                        sys_s if ext else None,
                        sys_s % 7_776_000 if ext else None,
                        0 if ext else None,
                        6 if ext else None,
                        0 if rev >= 5 else None,
                    ),
                )
            elif sample.glucose_mgdl is not None:
                g5 = self.revision(RT.METER_DATA) >= 3
                self.add(
                    RT.METER_DATA,
                    MeterRecord(
                        sys_s,
                        disp_s,
                        round(sample.glucose_mgdl),
                        sys_s - 30,
                        1 if g5 else None,
                        0xFFFFFFFF if g5 else None,
                    ),
                )

    def page_range(self, record_type: int) -> PageRange | None:
        """Inclusive page range, ``None`` when the partition is empty."""
        count = len(self.records[record_type])
        if not count:
            return None
        per = self._per_page(record_type)
        return PageRange(self.first_page, self.first_page + (count - 1) // per)

    def _per_page(self, record_type: int) -> int:
        return records_per_page(layout_for(record_type, self.revision(record_type)))

    def page(self, record_type: int, number: int) -> bytes:
        """The 528 bytes of one page (with any injected record corruption)."""
        per = self._per_page(record_type)
        k = number - self.first_page
        chunk = self.records[record_type][k * per : (k + 1) * per]
        first = self.first_index + k * per
        header = PageHeader(first, len(chunk), record_type, self.revision(record_type), number)
        page = bytearray(encode_page(header, chunk))
        size = layout_for(record_type, self.revision(record_type)).size
        for rtype, index in self.corrupt:
            if rtype == record_type and first <= index < first + len(chunk):
                page[28 + (index - first) * size + 8] ^= 0x5A
        return bytes(page)

    def corrupt_record(self, record_type: int, position: int) -> int:
        """Damage the stored record at ``position`` (0 = oldest) so its CRC fails;
        returns its global index."""
        index = self.first_index + position
        self.corrupt.add((record_type, index))
        return index
