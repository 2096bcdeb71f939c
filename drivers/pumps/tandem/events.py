"""History event layouts: the 16-byte data area d0..d15 of each event id (pure).

Each event class names its id, a little-endian :class:`struct.Struct` over the 16 data
bytes and, in field order, the values it carries. Layouts follow the production USB
driver tidepool-org/uploader ``tandemDriver.js`` (``PUMP_LOG_RECORDS``), cross-checked
with jwoglom/pumpX2 ``response/historyLog/*.java`` (BLE, same 26-byte record) and
jwoglom/tconnectsync ``eventparser/events.json`` (cloud export, 32-bit words reversed);
see ``shared/reference/protocols.md`` §4 part 2 §2.4.3 and ``firmware-notes/tandem-pump.md``.

Bytes the sources leave unnamed are kept in ``pad`` fields where they sit between named
ones, so :func:`encode_event` reproduces any decoded record byte for byte; unknown ids
decode to :class:`UnknownEvent` with their raw data.

Time: ``timestamp`` (every record) and the CGM ``egv_timestamp`` are seconds since
2008-01-01 00:00:00 on the pump's local wall clock (:data:`TANDEM_EPOCH`); time-of-day
values of :class:`TimeChanged` are milliseconds since midnight; dates of
:class:`DateChanged` are days since 2008-01-01.
"""

from __future__ import annotations

import dataclasses
import math
import struct
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from drivers._core.errors import DecodeError
from drivers.pumps.tandem.messages import EVENT_ID_MASK, LogEntry

TANDEM_EPOCH = datetime(2008, 1, 1)
"""Pump time zero, naive (Unix 1199145600 if read as UTC): uploader ``BASE_TIME``, pumpX2
``JANUARY_1_2008_UNIX_EPOCH``, tconnectsync ``TANDEM_EPOCH``."""


def pump_time(seconds: int) -> datetime:
    """Pump seconds (2008 epoch) as a naive local datetime."""
    return TANDEM_EPOCH + timedelta(seconds=seconds)


def pump_seconds(when: datetime) -> int:
    """Inverse of :func:`pump_time` (whole seconds; naive input)."""
    return int((when - TANDEM_EPOCH).total_seconds())


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """A decoded history record: header fields plus the event's own fields."""

    ID: ClassVar[int] = -1
    LAYOUT: ClassVar[struct.Struct] = struct.Struct("<16s")

    seq: int
    timestamp: int
    index: int = 0
    source: int = 0
    """Top 4 bits of the header id (0 on t:slim X2 USB; 1 seen on Mobi over BLE)."""

    @property
    def time(self) -> datetime:
        """The record's header time, naive pump local time."""
        return pump_time(self.timestamp)

    @property
    def event_id(self) -> int:
        return self.ID


_HEADER_FIELDS = frozenset({"seq", "timestamp", "index", "source"})
_DATA_FIELDS: dict[type, tuple[str, ...]] = {}


def data_fields(cls: type[Event]) -> tuple[str, ...]:
    """The event-specific field names of ``cls`` in layout order."""
    names = _DATA_FIELDS.get(cls)
    if names is None:
        names = tuple(f.name for f in dataclasses.fields(cls) if f.name not in _HEADER_FIELDS)
        _DATA_FIELDS[cls] = names
    return names


@dataclass(frozen=True, slots=True, kw_only=True)
class UnknownEvent(Event):
    """An event id without a layout here: its id and raw data are kept."""

    header_id: int
    data: bytes

    @property
    def event_id(self) -> int:
        return self.header_id & EVENT_ID_MASK


@dataclass(frozen=True, slots=True, kw_only=True)
class LogErased(Event):
    ID: ClassVar[int] = 0
    LAYOUT: ClassVar[struct.Struct] = struct.Struct("<I12s")
    num_erased: int
    pad: bytes = bytes(12)


@dataclass(frozen=True, slots=True, kw_only=True)
class TempRateActivated(Event):
    """d0 f32 percent (100 = 100 %); d4 f32 duration [ms, Unverified]; d10 u16 id."""

    ID: ClassVar[int] = 2
    LAYOUT: ClassVar[struct.Struct] = struct.Struct("<ff2sH4s")
    percent: float
    duration: float
    pad1: bytes = bytes(2)
    temp_rate_id: int = 0
    pad2: bytes = bytes(4)


@dataclass(frozen=True, slots=True, kw_only=True)
class BasalRateChange(Event):
    """d0 commanded rate, d4 profile rate, d8 max rate (f32 U/h); d12 u16 idp;
    d14 u8 change_type (:data:`CHANGE_FLAGS`)."""

    ID: ClassVar[int] = 3
    LAYOUT: ClassVar[struct.Struct] = struct.Struct("<fffHBB")
    command_basal_rate: float
    base_basal_rate: float
    max_basal_rate: float
    idp: int
    change_type: int
    pad: int = 0


CHANGE_FLAGS = {
    0x01: "timed-segment",
    0x02: "new-profile",
    0x04: "temp-rate-start",
    0x08: "temp-rate-end",
    0x10: "pump-suspended",
    0x20: "pump-resumed",
    0x40: "pump-shut-down",
    0x80: "basal-limit",
}
"""``change_type`` bits of :class:`BasalRateChange` (uploader ``BASAL_CHANGE_TYPE_FLAGS``;
0x80 only in tconnectsync)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertActivated(Event):
    ID: ClassVar[int] = 4
    LAYOUT: ClassVar[struct.Struct] = struct.Struct("<IIIf")
    alert_id: int
    fault_locator: int = 0
    param1: int = 0
    param2: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmActivated(Event):
    ID: ClassVar[int] = 5
    LAYOUT: ClassVar[struct.Struct] = struct.Struct("<IIIf")
    alarm_id: int
    fault_locator: int = 0
    param1: int = 0
    param2: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class PumpingSuspended(Event):
    """d4 u16 units left in the cartridge; d6 u8 reason (0 user, 1 alarm,
    2 malfunction, 6 automatic by Basal-IQ/PLGS)."""

    ID: ClassVar[int] = 11
    LAYOUT: ClassVar[struct.Struct] = struct.Struct("<IHBB8s")
    pre_state: int = 0
    insulin_amount: int = 0
    reason: int = 0
    rpa_timeout_min: int = 0
    pad: bytes = bytes(8)


@dataclass(frozen=True, slots=True, kw_only=True)
class PumpingResumed(Event):
    ID: ClassVar[int] = 12
    LAYOUT: ClassVar[struct.Struct] = struct.Struct("<IH10s")
    pre_state: int = 100
    insulin_amount: int = 0
    pad: bytes = bytes(10)


@dataclass(frozen=True, slots=True, kw_only=True)
class TimeChanged(Event):
    """d0/d4 u32 time of day before/after, milliseconds since midnight; d8 raw RTC."""

    ID: ClassVar[int] = 13
    LAYOUT: ClassVar[struct.Struct] = struct.Struct("<III4s")
    time_prior_ms: int
    time_after_ms: int
    raw_rtc: int = 0
    pad: bytes = bytes(4)


@dataclass(frozen=True, slots=True, kw_only=True)
class DateChanged(Event):
    """d0/d4 u32 date before/after, days since 2008-01-01; d8 raw RTC."""

    ID: ClassVar[int] = 14
    LAYOUT: ClassVar[struct.Struct] = struct.Struct("<III4s")
    date_prior_days: int
    date_after_days: int
    raw_rtc: int = 0
    pad: bytes = bytes(4)


@dataclass(frozen=True, slots=True, kw_only=True)
class TempRateCompleted(Event):
    ID: ClassVar[int] = 15
    LAYOUT: ClassVar[struct.Struct] = struct.Struct("<2sHI8s")
    pad1: bytes = bytes(2)
    temp_rate_id: int = 0
    time_left: int = 0
    pad2: bytes = bytes(8)


@dataclass(frozen=True, slots=True, kw_only=True)
class BgReadingTaken(Event):
    """d0 u16 BG mg/dL; d3 u8 source (0 manual, 1 auto-filled from CGM)."""

    ID: ClassVar[int] = 16
    LAYOUT: ClassVar[struct.Struct] = struct.Struct("<HBBfHHBB2s")
    bg_mgdl: int
    cgm_calibration: int = 0
    bg_source: int = 0
    iob: float = 0.0
    target_bg: int = 0
    isf: int = 0
    selected_iob: int = 0
    bg_source_type: int = 0
    pad: bytes = bytes(2)


@dataclass(frozen=True, slots=True, kw_only=True)
class BolusCompleted(Event):
    """d0 u16 completion status; d2 u16 bolus id; d4 IOB, d8 delivered, d12 requested
    (f32 U)."""

    ID: ClassVar[int] = 20
    LAYOUT: ClassVar[struct.Struct] = struct.Struct("<HHfff")
    completion_status: int
    bolus_id: int
    iob: float
    insulin_delivered: float
    insulin_requested: float


@dataclass(frozen=True, slots=True, kw_only=True)
class BolexCompleted(Event):
    """The extended part of a bolus done; same layout as :class:`BolusCompleted`."""

    ID: ClassVar[int] = 21
    LAYOUT: ClassVar[struct.Struct] = struct.Struct("<HHfff")
    completion_status: int
    bolus_id: int
    iob: float
    insulin_delivered: float
    insulin_requested: float


@dataclass(frozen=True, slots=True, kw_only=True)
class CartridgeFilled(Event):
    ID: ClassVar[int] = 33
    LAYOUT: ClassVar[struct.Struct] = struct.Struct("<If8s")
    insulin_display: int
    insulin_actual: float
    pad: bytes = bytes(8)


@dataclass(frozen=True, slots=True, kw_only=True)
class CarbEntered(Event):
    ID: ClassVar[int] = 48
    LAYOUT: ClassVar[struct.Struct] = struct.Struct("<f12s")
    carbs: float
    pad: bytes = bytes(12)


@dataclass(frozen=True, slots=True, kw_only=True)
class BolusActivated(Event):
    """d0 u16 bolus id; d2 u8 selected IOB; d4 IOB, d8 size (f32 U)."""

    ID: ClassVar[int] = 55
    LAYOUT: ClassVar[struct.Struct] = struct.Struct("<HBBff4s")
    bolus_id: int
    selected_iob: int = 0
    pad1: int = 0
    iob: float = 0.0
    bolus_size: float = 0.0
    pad2: bytes = bytes(4)


@dataclass(frozen=True, slots=True, kw_only=True)
class BolexActivated(Event):
    """The extended part started; d8 f32 ``bolex_size`` U."""

    ID: ClassVar[int] = 59
    LAYOUT: ClassVar[struct.Struct] = struct.Struct("<HBBff4s")
    bolus_id: int
    selected_iob: int = 0
    pad1: int = 0
    iob: float = 0.0
    bolex_size: float = 0.0
    pad2: bytes = bytes(4)


@dataclass(frozen=True, slots=True, kw_only=True)
class CannulaFilled(Event):
    ID: ClassVar[int] = 61
    LAYOUT: ClassVar[struct.Struct] = struct.Struct("<fI8s")
    prime_size: float
    completion_status: int = 0
    pad: bytes = bytes(8)


@dataclass(frozen=True, slots=True, kw_only=True)
class TubingFilled(Event):
    ID: ClassVar[int] = 63
    LAYOUT: ClassVar[struct.Struct] = struct.Struct("<fII4s")
    prime_size: float
    completion_status: int = 0
    position: int = 0
    pad: bytes = bytes(4)


@dataclass(frozen=True, slots=True, kw_only=True)
class BolusRequested1(Event):
    """d0 u16 bolus id; d2 u8 type; d3 u8 correction included; d4 u16 carbs g;
    d6 u16 BG mg/dL; d8 f32 IOB U; d12 u32 carb ratio (g/U x 1000)."""

    ID: ClassVar[int] = 64
    LAYOUT: ClassVar[struct.Struct] = struct.Struct("<HBBHHfI")
    bolus_id: int
    bolus_type: int
    correction_included: int
    carb_amount: int
    bg: int
    iob: float
    carb_ratio_milli: int


@dataclass(frozen=True, slots=True, kw_only=True)
class BolusRequested2(Event):
    """d2 u8 options (0 standard, 1 extended, 2 quick, 3 automated); d3 u8 % now;
    d4 u16 extended duration min; d8 u16 ISF; d10 u16 target; d12 u8 user override;
    d13 u8 declined correction; d14 u8 selected IOB."""

    ID: ClassVar[int] = 65
    LAYOUT: ClassVar[struct.Struct] = struct.Struct("<HBBHHHHBBBB")
    bolus_id: int
    options: int
    standard_percent: int
    duration_min: int
    spare: int = 0
    isf: int = 0
    target_bg: int = 0
    user_override: int = 0
    declined_correction: int = 0
    selected_iob: int = 0
    pad: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class BolusRequested3(Event):
    """d4 recommended food part, d8 recommended correction, d12 total (f32 U)."""

    ID: ClassVar[int] = 66
    LAYOUT: ClassVar[struct.Struct] = struct.Struct("<HHfff")
    bolus_id: int
    spare: int = 0
    food_bolus_size: float = 0.0
    correction_bolus_size: float = 0.0
    total_bolus_size: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class DailyBasal(Event):
    """d0 f32 basal delivered in the day U; d4 last rate U/h; d8 IOB; d12 last-of-day
    flag; d13 battery; d14 u16 LiPo mV."""

    ID: ClassVar[int] = 81
    LAYOUT: ClassVar[struct.Struct] = struct.Struct("<fffBBH")
    daily_total_basal: float
    last_basal_rate: float
    iob: float = 0.0
    final_event: int = 0
    battery_charge: int = 0
    lipo_mv: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class NewDay(Event):
    ID: ClassVar[int] = 90
    LAYOUT: ClassVar[struct.Struct] = struct.Struct("<fII4s")
    commanded_basal_rate: float
    features: int = 0
    bitmask_index: int = 0
    pad: bytes = bytes(4)


@dataclass(frozen=True, slots=True, kw_only=True)
class CgmDataG4(Event):
    """Dexcom G4 sample: d0 u16 status (1/4 HI, 2/5 LO); glucose u16 at d10 (uploader;
    pumpX2 reads d9 -- conflict, Unverified)."""

    ID: ClassVar[int] = 151
    LAYOUT: ClassVar[struct.Struct] = struct.Struct("<H8sH4s")
    status: int
    pad1: bytes = bytes(8)
    value: int = 0
    pad2: bytes = bytes(4)


@dataclass(frozen=True, slots=True, kw_only=True)
class CgmDataGx(Event):
    """Dexcom G5/G6 sample (older firmware): d2 u8 type (1 five-minute, 2 calibration,
    3 backfill); d3 i8 rate mg/dL/min; d6 u16 value; d8 u32 EGV time (2008 epoch)."""

    ID: ClassVar[int] = 211
    LAYOUT: ClassVar[struct.Struct] = struct.Struct("<HBbBbHII")
    status: int
    egv_type: int
    rate: int
    algorithm_state: int
    rssi: int
    value: int
    egv_timestamp: int
    transmitter_timestamp: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class CgmDataGxb(Event):
    """Dexcom G6 sample (ARM >= 83132): d2 u8 type bitmask (1 five-minute, 2 backfill,
    4 immediate match, 8 calibration, 16 none); d3 i8 rate; d6 u16 value mg/dL;
    d8 u32 EGV time -- the reading time (backfilled values are logged later)."""

    ID: ClassVar[int] = 256
    LAYOUT: ClassVar[struct.Struct] = struct.Struct("<HBbBbHIHBB")
    status: int
    egv_type: int
    rate: int
    algorithm_state: int
    rssi: int
    value: int
    egv_timestamp: int
    egv_info: int = 0
    interval: int = 0
    pad: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class CgmDataG7(Event):
    """Dexcom G7 sample: the G6 layout (rate unit mg/dL/min / 10 per tconnectsync)."""

    ID: ClassVar[int] = 399
    LAYOUT: ClassVar[struct.Struct] = struct.Struct("<HBbBbHIHBB")
    status: int
    egv_type: int
    rate: int
    algorithm_state: int
    rssi: int
    value: int
    egv_timestamp: int
    egv_info: int = 0
    interval: int = 0
    pad: int = 0


EVENT_TYPES: dict[int, type[Event]] = {
    cls.ID: cls
    for cls in (
        LogErased,
        TempRateActivated,
        BasalRateChange,
        AlertActivated,
        AlarmActivated,
        PumpingSuspended,
        PumpingResumed,
        TimeChanged,
        DateChanged,
        TempRateCompleted,
        BgReadingTaken,
        BolusCompleted,
        BolexCompleted,
        CartridgeFilled,
        CarbEntered,
        BolusActivated,
        BolexActivated,
        CannulaFilled,
        TubingFilled,
        BolusRequested1,
        BolusRequested2,
        BolusRequested3,
        DailyBasal,
        NewDay,
        CgmDataG4,
        CgmDataGx,
        CgmDataGxb,
        CgmDataG7,
    )
}
"""Every event id decoded here, by id."""

for _cls in EVENT_TYPES.values():  # every layout covers exactly d0..d15
    assert _cls.LAYOUT.size == 16, _cls.__name__


def decode_event(entry: LogEntry) -> Event:
    """Typed event of one log entry (:class:`UnknownEvent` for ids without a layout, and
    for a record whose float fields hold NaN or infinity: corrupt, kept as bytes).

    Raises:
        DecodeError: the data area is not 16 bytes.
    """
    if len(entry.data) != 16:
        raise DecodeError("event data must be 16 bytes", seq=entry.seq, size=len(entry.data))
    header = {
        "seq": entry.seq,
        "timestamp": entry.timestamp,
        "index": entry.index,
        "source": entry.header_id >> 12,
    }
    cls = EVENT_TYPES.get(entry.event_id)
    if cls is None:
        return UnknownEvent(**header, header_id=entry.header_id, data=bytes(entry.data))
    values = cls.LAYOUT.unpack(entry.data)
    if any(isinstance(v, float) and not math.isfinite(v) for v in values):
        # a NaN or infinite amount is a corrupt record, not a dose: keep its bytes
        # untouched (a signalling NaN would not survive a Python float) as unknown
        return UnknownEvent(**header, header_id=entry.header_id, data=bytes(entry.data))
    return cls(**header, **dict(zip(data_fields(cls), values, strict=True)))


def encode_event(event: Event) -> LogEntry:
    """The log entry of an event (the virtual pump writes its log with this)."""
    if isinstance(event, UnknownEvent):
        data, header_id = event.data, event.header_id
    else:
        data = event.LAYOUT.pack(*(getattr(event, name) for name in data_fields(type(event))))
        header_id = (event.source << 12) | event.ID
    return LogEntry(
        index=event.index, header_id=header_id, timestamp=event.timestamp, seq=event.seq, data=data
    )
