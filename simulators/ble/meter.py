"""A virtual Glucose Service meter (0x1808) filled from normalized records.

Serves the ``GlucoseSample``s with ``sample_type="smbg"`` as Glucose Measurements with
consecutive sequence numbers, in kg/L (mg/dL as mantissa, exponent -5, the way meters
send it) or mol/L (0.1 mmol/L resolution, exponent -4). A :class:`Food` record at the
same device time becomes a Measurement Context with carbohydrate (id chosen by hour)
and meal "preprandial"; ``contexts`` may add any other context by sequence number.

The meter has a clock: the Current Time Service (0x1805) shows ``now_utc()`` in
``zone`` plus ``clock_error``, and the readings are stamped by that same clock (a meter
7 minutes fast stores every reading 7 minutes late on the wall clock).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta, tzinfo

from drivers._core.records import Food, GlucoseSample, Record
from drivers._core.units import mgdl_to_mmoll
from drivers.ble import cts, racp, uuids
from drivers.ble.gls import messages
from drivers.ble.gls.decode import (
    GlucoseContext,
    GlucoseMeasurement,
    encode_context,
    encode_measurement,
)
from drivers.ble.sfloat import decode_sfloat, sfloat_parts
from simulators.ble.gatt import Characteristic, Faults, VirtualPeripheral
from simulators.ble.racp_server import RacpServer, StoredRecord

HIGH_LIMIT_MGDL, LOW_LIMIT_MGDL = 600, 20


def _carb_id(t: datetime) -> int:
    return 1 if t.hour < 10 else 2 if t.hour < 15 else 3 if t.hour < 21 else 4


class VirtualMeter(VirtualPeripheral):
    """A Glucose Service peripheral.

    Args:
        address: Bluetooth address.
        records: Any records; smbg samples are served, Food at the same time as context.
        molar: Send mol/L instead of kg/L.
        first_sequence: Sequence number of the oldest record.
        contexts: Extra contexts by sequence number (merged over the carbohydrate one).
        faults: Faults to inject.
        serial: Device Information serial number.
        clock_error: How far the meter's clock is ahead of true local time.
        zone: The zone the meter's clock was set in (None: UTC).
        now_utc: The true time (for the Current Time value).
        current_time: Expose the Current Time Service.
    """

    def __init__(
        self,
        address: str,
        records: Iterable[Record],
        *,
        molar: bool = False,
        first_sequence: int = 1,
        contexts: Mapping[int, GlucoseContext] | None = None,
        faults: Faults | None = None,
        serial: str = "BGM0001",
        name: str = "Sim Meter",
        clock_error: timedelta = timedelta(),
        zone: tzinfo | None = None,
        now_utc: Callable[[], datetime] = lambda: datetime.now(UTC),
        current_time: bool = True,
    ) -> None:
        super().__init__(
            address, name, (uuids.GLUCOSE_SERVICE,), faults or Faults(), frozenset({uuids.RACP})
        )
        items = list(records)
        carbs = {r.device_time: r.carbs_g for r in items if isinstance(r, Food)}
        samples = [r for r in items if isinstance(r, GlucoseSample) and r.sample_type == "smbg"]
        self.molar = molar
        self.clock_error, self.zone, self.now_utc = clock_error, zone, now_utc
        self.entries: list[tuple[GlucoseMeasurement, GlucoseContext | None]] = []
        for seq, sample in enumerate(sorted(samples, key=lambda s: s.device_time), first_sequence):
            context = (contexts or {}).get(seq)
            grams = carbs.get(sample.device_time)
            if context is None and grams is not None:
                context = GlucoseContext(
                    seq,
                    carb_id=_carb_id(sample.device_time),
                    carbs_kg=decode_sfloat(sfloat_parts(round(grams), -3)),
                    meal=1,
                )
            self.entries.append((self._measurement(seq, sample, context is not None), context))
        self.racp = RacpServer(self, uuids.RACP, racp.SIG, self.stored)
        svc = uuids.GLUCOSE_SERVICE
        self.add(Characteristic(svc, uuids.GLUCOSE_MEASUREMENT, ("notify",)))
        self.add(Characteristic(svc, uuids.GLUCOSE_CONTEXT, ("notify",)))
        self.add_static(svc, uuids.GLUCOSE_FEATURE, messages.encode_feature(0x03FF))
        self.add(
            Characteristic(svc, uuids.RACP, ("write", "indicate"), on_write=self.racp.on_write)
        )
        if current_time:
            self.add(
                Characteristic(
                    cts.CURRENT_TIME_SERVICE,
                    cts.CURRENT_TIME,
                    ("read", "notify"),
                    read=lambda: cts.encode_current_time(self.clock()),
                )
            )
        dis = uuids.DEVICE_INFORMATION_SERVICE
        self.add_static(dis, uuids.MANUFACTURER_NAME, b"glucogate-sim")
        self.add_static(dis, uuids.MODEL_NUMBER, b"GLS-1")
        self.add_static(dis, uuids.SERIAL_NUMBER, serial.encode())

    def clock(self) -> datetime:
        """The meter's wall clock now (naive)."""
        now = self.now_utc().astimezone(self.zone or UTC)
        return now.replace(tzinfo=None) + self.clock_error

    def _measurement(
        self, seq: int, sample: GlucoseSample, has_context: bool
    ) -> GlucoseMeasurement:
        t = sample.device_time + self.clock_error
        base = t.replace(minute=0, second=0)
        offset = int((t - base) / timedelta(minutes=1))
        base += timedelta(seconds=t.second)
        value = sample.glucose_mgdl
        status = 0
        if sample.special == "high" or (value is not None and value > HIGH_LIMIT_MGDL):
            value, status = HIGH_LIMIT_MGDL, messages.STATUS_HIGH
        elif sample.special == "low" or (value is not None and value < LOW_LIMIT_MGDL):
            value, status = LOW_LIMIT_MGDL, messages.STATUS_LOW
        if value is None:
            raise ValueError(f"smbg sample {sample.source_index} has no value")
        if self.molar:
            raw = sfloat_parts(round(mgdl_to_mmoll(value) * 10), -4)
        else:
            raw = sfloat_parts(round(value), -5)
        return GlucoseMeasurement(
            seq, base, offset, decode_sfloat(raw), self.molar, 1, 1, status or None, has_context
        )

    def stored(self) -> list[StoredRecord]:
        """Measurement (then its context) per record, keyed by sequence number."""
        out: list[StoredRecord] = []
        for m, context in self.entries:
            notes = [(uuids.GLUCOSE_MEASUREMENT, encode_measurement(m))]
            if context is not None:
                notes.append((uuids.GLUCOSE_CONTEXT, encode_context(context)))
            out.append((m.sequence, notes))
        return out
