"""A virtual Insulin Delivery Service pump (0x183A) filled from normalized records.

Writes an IDD history from ``Bolus``, ``BasalSegment`` and ``DeviceEvent`` records (each
needs ``time_utc``): a Reference Time event first and then every 12 hours (relative
offsets are uint16 seconds, so at most ~18 h apart), bolus programmed/delivered pairs
(delivered two minutes later), basal rate changes, TBR started/ended (relative when the
segment has a ``percent``, else absolute), priming started/done (a ``site-change`` is the
cannula fill: a priming of its ``prime_u``), therapy state changes, reservoir remaining
after each bolus and on refill, and a Total Daily Insulin event per UTC day (bolus, and
scheduled plus temp basal). A bolus with a ``calculation`` is preceded by Bolus
Calculated Part 1 (the recommended food amount and, as correction, the rest of the
recommended total, net of IOB and rounding; fast amounts, or extended ones for an
extended bolus) and Part 2 (the programmed amounts split in the same
meal:correction proportion), at the same instant. With a ``zone``, each Reference
Time carries that zone's offsets and a new one ("set date time") is written when they
change (DST), as a pump does on a time change. A ``time-change`` DeviceEvent is the
user setting the pump clock by ``time_to - time_from``: a "set date time" Reference
Time whose UTC date is off by that much from then on (the pump believes it). Every
Reference Time's Relative Offset counts seconds from the previous one (Tidepool's
``PumpHistoryEventManager``), and one is written at least every 12 hours. Exposes the
IDD Command Control Point and Status Reader CP like a real pump so that a test can
prove nothing is written there: every write outside the IDD RACP lands in
:attr:`violations`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from drivers._core.records import BasalSegment, Bolus, DeviceEvent, Record
from drivers.ble import racp, uuids
from drivers.ble.date_time import ZonedLocalTime
from drivers.ble.ids import decode as d
from drivers.ble.ids import messages
from drivers.ble.reader import u8, u16, u32
from drivers.ble.sfloat import MedFloat, decode_sfloat, encode_sfloat
from simulators.ble.gatt import Characteristic, Faults, VirtualPeripheral
from simulators.ble.racp_server import RacpServer, StoredRecord

REFERENCE_EVERY = timedelta(hours=12)
CLOCK_SET = -1
"""Event type of the marker :func:`history_from_records` writes for a ``time-change``:
its payload is the clock shift in seconds (sint32); the pump turns it into a Reference
Time."""
_TYPES = {"normal": 0x33, "extended": 0x3C, "dual": 0x55}


def _sf(value: float) -> bytes:
    return u16(encode_sfloat(round(value, 2)))


def history_from_records(
    records: Iterable[Record], *, reservoir_u: float = 60.0
) -> list[tuple[datetime, int, bytes]]:
    """``(time_utc, event type, payload)`` for every event the records imply, in time order."""
    out: list[tuple[datetime, int, bytes]] = []
    reservoir, bolus_id, rate = reservoir_u, 0, 0.0
    daily: dict[date, list[float]] = {}
    for r in sorted((r for r in records if r.time_utc is not None), key=lambda r: r.time_utc):  # type: ignore[arg-type,return-value]
        t = r.time_utc
        assert t is not None
        if isinstance(r, Bolus):
            bolus_id += 1
            kind = _TYPES[r.subtype]
            fast_p, fast_d = (
                r.programmed_u - r.extended_programmed_u,
                r.delivered_u - r.extended_delivered_u,
            )
            minutes = r.extended_duration_s // 60
            p1 = d.bolus_part1_data(
                bolus_id, kind, _m(fast_p), _m(r.extended_programmed_u), minutes
            )
            d1 = d.bolus_part1_data(bolus_id, kind, _m(fast_d), _m(r.extended_delivered_u), minutes)
            end = 0x33 if r.delivered_u >= r.programmed_u else 0x3C
            if r.calculation is not None:
                out += _calculated(r, fast_p)
            out += [(t, d.BOLUS_PROGRAMMED_1, p1), (t, d.BOLUS_PROGRAMMED_2, u8(0) + u16(0))]
            done = t + timedelta(minutes=2)
            out += [
                (done, d.BOLUS_DELIVERED_1, d1),
                (done, d.BOLUS_DELIVERED_2, u8(2) + u32(0) + u8(end)),
            ]
            reservoir -= r.delivered_u
            out.append((done, d.RESERVOIR_REMAINING, _sf(reservoir)))
            daily.setdefault(t.date(), [0.0, 0.0])[0] += r.delivered_u
        elif isinstance(r, BasalSegment) and r.basal_type == "scheduled":
            out.append((t, d.BASAL_RATE_CHANGED, u8(0) + _sf(rate) + _sf(r.rate_u_per_h)))
            rate = r.rate_u_per_h
            daily.setdefault(t.date(), [0.0, 0.0])[1] += rate * (r.duration_s or 0) / 3600
        elif isinstance(r, BasalSegment) and r.basal_type == "temp":
            minutes = (r.duration_s or 0) // 60
            kind, value = (0x33, r.rate_u_per_h) if r.percent is None else (0x3C, r.percent)
            out.append((t, d.TBR_STARTED, u8(0) + u8(kind) + _sf(value) + u16(minutes)))
            out.append(
                (
                    t + timedelta(minutes=minutes),
                    d.TBR_ENDED,
                    u8(0) + u8(kind) + u16(minutes) + u8(0x33),
                )
            )
            daily.setdefault(t.date(), [0.0, 0.0])[1] += r.rate_u_per_h * minutes / 60
        elif isinstance(r, DeviceEvent) and r.event_type in ("prime", "site-change"):
            out.append((t, d.PRIMING_STARTED, _sf(r.prime_u or 0.0)))
            out.append((t, d.PRIMING_DONE, u8(0) + _sf(r.prime_u or 0.0) + u8(0x3C)))
        elif isinstance(r, DeviceEvent) and r.event_type in ("suspend", "resume"):
            old, new = (0x55, 0x33) if r.event_type == "suspend" else (0x33, 0x55)
            out.append((t, d.THERAPY_STATE_CHANGED, u8(old) + u8(new)))
        elif isinstance(r, DeviceEvent) and r.event_type == "time-change":
            if r.time_from is not None and r.time_to is not None:
                shift = int((r.time_to - r.time_from).total_seconds())
                out.append((t, CLOCK_SET, shift.to_bytes(4, "little", signed=True)))
        elif isinstance(r, DeviceEvent) and r.event_type == "reservoir-change":
            reservoir = float(r.detail or 200)
            out.append((t, d.RESERVOIR_REMAINING, _sf(reservoir)))
    for day, (bolus_u, basal_u) in daily.items():
        closes = datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC)
        tdd = d.total_daily_data(0, _m(bolus_u), _m(basal_u), day)
        out.append((closes, d.TOTAL_DAILY_INSULIN, tdd))
    return sorted(out, key=lambda e: e[0])


def _split(amount: float, meal: float, correction: float) -> tuple[float, float]:
    """``amount`` as (meal, correction) in the proportion ``meal : correction`` (0.01 U)."""
    total = meal + correction
    share = round(amount * meal / total, 2) if total > 0 else round(amount, 2)
    return share, round(amount - share, 2)


def _calculated(b: Bolus, fast_programmed: float) -> list[tuple[datetime, int, bytes]]:
    """Bolus Calculated Part 1 (recommended) and Part 2 (confirmed = programmed)."""
    calc, t = b.calculation, b.time_utc
    assert calc is not None and t is not None
    # the wire's meal + correction is the pump's recommendation: the correction part is
    # net of IOB and of the rounding to the pump's step (the total less the food part)
    meal = round(calc.recommended_food_u or 0.0, 2)
    total = calc.recommended_total_u
    if total is None:
        total = meal + (calc.recommended_correction_u or 0.0)
    corr = round(total - meal, 2)
    zero = _m(0.0)
    if b.subtype == "extended":
        recommended = (zero, zero, _m(meal), _m(corr))
    else:
        recommended = (_m(meal), _m(corr), zero, zero)
    fast = _split(fast_programmed, meal, corr)
    extended = _split(b.extended_programmed_u, meal, corr)
    confirmed = (_m(fast[0]), _m(fast[1]), _m(extended[0]), _m(extended[1]))
    return [
        (t, d.BOLUS_CALCULATED_1, d.bolus_calculated_data(*recommended)),
        (t, d.BOLUS_CALCULATED_2, d.bolus_calculated_data(*confirmed)),
    ]


def _m(value: float) -> MedFloat:
    return decode_sfloat(encode_sfloat(round(value, 2)))


class VirtualPump(VirtualPeripheral):
    """An Insulin Delivery Service peripheral.

    Args:
        address: Bluetooth address.
        records: Any records with ``time_utc``; pump records become history events.
        tz_minutes: Time zone written into Reference Time events (without ``zone``).
        zone: The pump's time zone: Reference Times follow its standard and DST offsets.
        e2e: Claim E2E protection (counter + CRC on status values, CRC on history).
        first_record: Record number of the oldest history record.
        faults: Faults to inject.
        serial, manufacturer, model: Device Information strings.
    """

    def __init__(
        self,
        address: str,
        records: Iterable[Record],
        *,
        tz_minutes: int = 0,
        zone: tzinfo | None = None,
        e2e: bool = True,
        first_record: int = 1000,
        faults: Faults | None = None,
        serial: str = "PMP0001",
        name: str = "Sim Pump",
        manufacturer: str = "glucogate-sim",
        model: str = "IDS-1",
    ) -> None:
        super().__init__(
            address,
            name,
            (uuids.INSULIN_DELIVERY_SERVICE,),
            faults or Faults(),
            frozenset({uuids.IDD_RACP}),
        )
        self.e2e = e2e
        self.tz_minutes = tz_minutes
        self.zone = zone
        self.events: list[tuple[int, bytes]] = []
        self._number = first_record
        self._ref: datetime | None = None
        self._ref_zone: tuple[int, int] | None = None
        self._shift = timedelta()
        self.append_history(history_from_records(records))
        self.racp = RacpServer(self, uuids.IDD_RACP, racp.IDD, self.stored, filter_type=0x0F)
        self._build(serial, manufacturer, model)

    def append_history(self, events: list[tuple[datetime, int, bytes]]) -> None:
        """Add events (time order), inserting Reference Time events as a pump does."""
        for t, kind, data in events:
            zone = self._zone_at(t)
            while self._ref is not None and t - self._ref >= REFERENCE_EVERY:
                self._reference(self._ref + REFERENCE_EVERY, self._ref_zone or zone, d.PERIODIC)
            if kind == CLOCK_SET:
                self._shift += timedelta(seconds=int.from_bytes(data, "little", signed=True))
                self._reference(t, zone, d.SET_DATE_TIME)
                continue
            if self._ref is None:
                self._reference(t, zone, d.PERIODIC)
            elif zone != self._ref_zone:
                self._reference(t, zone, d.SET_DATE_TIME)
            assert self._ref is not None
            self._add(kind, int((t - self._ref).total_seconds()), data)

    def _reference(self, t: datetime, zone: tuple[int, int], reason: int) -> None:
        """A Reference Time at true instant ``t`` (whole minute) as the pump's clock
        shows it; its Relative Offset counts from the previous reference."""
        at = t.replace(second=0, microsecond=0)
        offset = 0 if self._ref is None else int((at - self._ref).total_seconds())
        self._ref, self._ref_zone = at, zone
        ref = ZonedLocalTime((at + self._shift).replace(tzinfo=None), *zone)
        self._add(d.REFERENCE_TIME, offset, d.reference_time_data(reason, ref))

    def _zone_at(self, t: datetime) -> tuple[int, int]:
        """(standard offset, DST offset) in minutes at UTC instant ``t``."""
        if self.zone is None:
            return self.tz_minutes, 0
        local = t.astimezone(self.zone)
        total = local.utcoffset() or timedelta()
        dst = local.dst() or timedelta()
        return int((total - dst).total_seconds()) // 60, int(dst.total_seconds()) // 60

    def _add(self, kind: int, offset_s: int, data: bytes) -> None:
        self.events.append(
            (self._number, d.encode_event(kind, self._number, offset_s, data, e2e=self.e2e))
        )
        self._number += 1

    def stored(self) -> list[StoredRecord]:
        """History records keyed by record number."""
        return [(number, [(uuids.IDD_HISTORY_DATA, value)]) for number, value in self.events]

    def _build(self, serial: str, manufacturer: str, model: str) -> None:
        svc, e2e = uuids.INSULIN_DELIVERY_SERVICE, self.e2e
        features = messages.IddFeatures(0x0426 | (1 if e2e else 0), messages.concentration(100))
        status = messages.IddStatus("run", "ready", 180.0, True)
        self.add_static(svc, uuids.IDD_FEATURES, messages.encode_features(features))
        self.add(
            Characteristic(
                svc,
                uuids.IDD_STATUS,
                ("read", "indicate"),
                read=lambda: messages.encode_status(status, e2e=e2e),
            )
        )
        self.add(
            Characteristic(
                svc,
                uuids.IDD_STATUS_CHANGED,
                ("read", "indicate"),
                read=lambda: messages.add_e2e(u16(0x0080), e2e=e2e),
            )
        )
        self.add(
            Characteristic(
                svc,
                uuids.IDD_ANNUNCIATION_STATUS,
                ("read", "indicate"),
                read=lambda: messages.add_e2e(u8(0), e2e=e2e),
            )
        )
        for uuid in (uuids.IDD_STATUS_READER_CP, uuids.IDD_COMMAND_CP):
            self.add(Characteristic(svc, uuid, ("write", "indicate"), on_write=self._ignore))
        self.add(Characteristic(svc, uuids.IDD_COMMAND_DATA, ("notify",)))
        self.add(
            Characteristic(svc, uuids.IDD_RACP, ("write", "indicate"), on_write=self.racp.on_write)
        )
        self.add(Characteristic(svc, uuids.IDD_HISTORY_DATA, ("notify",)))
        dis = uuids.DEVICE_INFORMATION_SERVICE
        self.add_static(dis, uuids.MANUFACTURER_NAME, manufacturer.encode())
        self.add_static(dis, uuids.MODEL_NUMBER, model.encode())
        self.add_static(dis, uuids.SERIAL_NUMBER, serial.encode())

    async def _ignore(self, data: bytes) -> None:
        """Therapy and status-reader writes: logged as violations, never acted upon."""
