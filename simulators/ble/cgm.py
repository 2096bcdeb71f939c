"""A virtual CGM Service sensor (0x181F) filled from normalized glucose samples.

Built from the drivers' own codecs (:mod:`drivers.ble.cgms`). Accepts any sequence of
records, so the synthetic patient can feed it; it keeps the ``GlucoseSample``s with
``sample_type="cgm"`` and places each at its minute offset from the session start
(from ``time_utc`` when set, else from ``device_time`` as local wall time). High/Low
specials are sent as SFLOAT +INF/-INF with annunciation bits 23/22, as sensors do.
When the session start's zone is known and a sample has ``time_utc``, the offset is the
UTC difference, so a DST change inside a session does not shift the offsets (the sensor
counts minutes, it does not read a wall clock).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timedelta

from drivers._core.records import GlucoseSample, Record
from drivers.ble import racp, uuids
from drivers.ble.cgms import messages
from drivers.ble.cgms.decode import CgmMeasurement, encode_measurement, sfloat
from drivers.ble.date_time import ZonedLocalTime
from drivers.ble.sfloat import MedFloat, Special
from simulators.ble.gatt import Characteristic, Faults, VirtualPeripheral
from simulators.ble.racp_server import RacpServer, StoredRecord

ABOVE_DEVICE, BELOW_DEVICE = 1 << 23, 1 << 22
DEFAULT_FEATURES = (
    messages.FEATURE_TREND
    | messages.FEATURE_QUALITY
    | (1 << 6)  # sensor malfunction detection
    | (1 << 8)  # result high-low detection
    | (1 << 9)  # low battery detection
)


def measurement_from_sample(sample: GlucoseSample, offset_min: int) -> CgmMeasurement:
    """A CGM Measurement record for one normalized sample."""
    annunciation = 0
    if sample.special == "high":
        glucose, annunciation = MedFloat(0, 0, Special.POS_INF), ABOVE_DEVICE
    elif sample.special == "low":
        glucose, annunciation = MedFloat(0, 0, Special.NEG_INF), BELOW_DEVICE
    elif sample.glucose_mgdl is None or math.isnan(sample.glucose_mgdl):
        glucose = MedFloat(0, 0, Special.NAN)
    else:
        glucose = sfloat(round(sample.glucose_mgdl))
    rate = sample.trend_rate_mgdl_per_min
    trend = sfloat(round(rate, 1)) if rate is not None else None
    return CgmMeasurement(offset_min, glucose, annunciation, trend, sfloat(95.0))


class VirtualCgm(VirtualPeripheral):
    """A CGM Service peripheral.

    Args:
        address: Bluetooth address.
        records: Any records; the CGM samples among them are served.
        session_start: Local wall time of the session start (None: never set, year 0).
        tz_minutes: Standard-time offset east of UTC, in minutes.
        dst_minutes: Daylight-saving offset in minutes.
        e2e_crc: Claim E2E-CRC in CGM Feature and append CRCs.
        faults: Faults to inject.
        serial: Device Information serial number.
        manufacturer: Device Information manufacturer name.
        model: Device Information model number.
    """

    def __init__(
        self,
        address: str,
        records: Iterable[Record],
        *,
        session_start: datetime | None,
        tz_minutes: int | None = 0,
        dst_minutes: int | None = 0,
        e2e_crc: bool = True,
        faults: Faults | None = None,
        serial: str = "CGM0001",
        name: str = "Sim CGM",
        manufacturer: str = "glucogate-sim",
        model: str = "CGMS-1",
    ) -> None:
        super().__init__(
            address, name, (uuids.CGM_SERVICE,), faults or Faults(), frozenset({uuids.RACP})
        )
        self.start = ZonedLocalTime(session_start, tz_minutes, dst_minutes)
        features = DEFAULT_FEATURES | (messages.FEATURE_E2E_CRC if e2e_crc else 0)
        self.feature = messages.CgmFeature(features)
        self.measurements: list[CgmMeasurement] = []
        self.status_offset_min = 0
        self._anchor = session_start
        for record in records:
            if isinstance(record, GlucoseSample) and record.sample_type == "cgm":
                self.measurements.append(measurement_from_sample(record, self.offset_of(record)))
        self.measurements.sort(key=lambda m: m.time_offset_min)
        if self.measurements:
            self.status_offset_min = self.measurements[-1].time_offset_min
        self.racp = RacpServer(self, uuids.RACP, racp.SIG, self.stored)
        self._build(serial, manufacturer, model)

    def offset_of(self, sample: GlucoseSample) -> int:
        """Minutes from the session start to a sample (UTC difference when both are
        placed in UTC, else local wall time)."""
        start_utc = self.start.to_utc(self.start.local) if self.start.local else None
        if start_utc is not None and sample.time_utc is not None:
            return int((sample.time_utc - start_utc).total_seconds() // 60)
        local = sample.device_time
        if sample.time_utc is not None and sample.utc_offset_s is not None:
            local = (sample.time_utc + timedelta(seconds=sample.utc_offset_s)).replace(tzinfo=None)
        if self._anchor is None:
            self._anchor = local
        return int((local - self._anchor).total_seconds() // 60)

    def stored(self) -> list[StoredRecord]:
        """The RACP's view: one notification per record, keyed by time offset."""
        e2e = self.feature.e2e_crc
        return [
            (m.time_offset_min, [(uuids.CGM_MEASUREMENT, encode_measurement(m, e2e=e2e))])
            for m in self.measurements
        ]

    def emit(self, m: CgmMeasurement) -> None:
        """A new periodic measurement: stored and notified to a subscribed collector."""
        self.measurements.append(m)
        self.status_offset_min = max(self.status_offset_min, m.time_offset_min)
        self.notify(uuids.CGM_MEASUREMENT, encode_measurement(m, e2e=self.feature.e2e_crc))

    def _build(self, serial: str, manufacturer: str, model: str) -> None:
        svc, e2e = uuids.CGM_SERVICE, self.feature.e2e_crc
        self.add(Characteristic(svc, uuids.CGM_MEASUREMENT, ("notify",)))
        self.add(
            Characteristic(
                svc,
                uuids.CGM_FEATURE,
                ("read",),
                read=lambda: messages.encode_feature(self.feature),
            )
        )
        status = lambda: messages.encode_status(  # noqa: E731
            messages.CgmStatus(self.status_offset_min, 0), e2e=e2e
        )
        self.add(Characteristic(svc, uuids.CGM_STATUS, ("read",), read=status))
        self.add(
            Characteristic(
                svc,
                uuids.CGM_SESSION_START_TIME,
                ("read", "write"),
                read=lambda: messages.encode_session_start(self.start, e2e=e2e),
                on_write=self._refuse,
            )
        )
        self.add(
            Characteristic(
                svc,
                uuids.CGM_SESSION_RUN_TIME,
                ("read",),
                read=lambda: messages.encode_run_time(24 * 14, e2e=e2e),
            )
        )
        self.add(
            Characteristic(svc, uuids.RACP, ("write", "indicate"), on_write=self.racp.on_write)
        )
        self.add(Characteristic(svc, uuids.CGM_SOCP, ("write", "indicate"), on_write=self._refuse))
        dis = uuids.DEVICE_INFORMATION_SERVICE
        self.add_static(dis, uuids.MANUFACTURER_NAME, manufacturer.encode())
        self.add_static(dis, uuids.MODEL_NUMBER, model.encode())
        self.add_static(dis, uuids.SERIAL_NUMBER, serial.encode())

    async def _refuse(self, data: bytes) -> None:
        """State-changing characteristics: the write is logged and otherwise ignored."""
