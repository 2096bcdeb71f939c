"""Map Medtronic iPro2 professional-CGM rows to records.

The iPro2 export (CareLink iPro, UTF-16LE, tab-separated) lists the recorder's memory
oldest first: ``SGReceivedIPro`` rows carry the calibrated sensor glucose (the
``Sensor Glucose`` column in the file's unit, and in ``Raw-Values`` ``AMOUNT`` in mg/dL,
which is used when present because it is not rounded), ``LogbookDatum`` rows the
patient's log sheet (fingersticks, ``Used in Calibration`` -> calibration; ``Meal``
markers), ``IProGlucoseSensorData`` uncalibrated ISIG (no glucose: not imported) and
``SensorEvent`` recorder events (only ``Sensor Connect``, ``EVENT_TYPE=SENSOR_IN``,
becomes a ``sensor-start``).

The recorder is reused from patient to patient, so ``Index`` is not a key: records are
keyed ``<Raw-Type>:<timestamp>[:<value>]``. The recorder serial is read from the
``Glucose Sensor Recorder`` preamble line (``s/n: 3080857``) -- a device fact, not a
patient one; no other preamble line is read.
"""

from __future__ import annotations

import re

from drivers._core.records import DeviceEvent, Food, GlucoseSample, Record, make_device_id
from drivers.exports.carelink import columns as col
from drivers.exports.carelink.finish import unique_keys
from drivers.exports.carelink.parse import CareLinkTable, CLRow
from drivers.exports.carelink.values import RowSkipped, glucose, row_time
from drivers.exports.libreview.normalize import Normalized
from drivers.exports.libreview.values import infer_day_first

MANUFACTURER = "Medtronic"
MODEL = "iPro2"
_SERIAL = re.compile(r"^Glucose Sensor Recorder\t[^\t]*\ts/n:\s*([A-Za-z0-9-]+)", re.MULTILINE)
_RAW = re.compile(r"([A-Z_]+)=([^;]*);")


def recorder_serial(text: str) -> str:
    """The recorder serial from the preamble, ``unknown`` if absent."""
    m = _SERIAL.search(text[:4000])
    return m.group(1) if m else "unknown"


def _records(row: CLRow, dev: str, units: str, day_first: bool) -> list[Record]:
    when = row_time(row, day_first=day_first)
    iso = when.isoformat()
    raw = row.get(col.RAW_TYPE)
    values = dict(_RAW.findall(row.get(col.RAW_VALUES)))
    if raw == "SGReceivedIPro":
        amount = values.get("AMOUNT", "")
        mgdl = glucose(amount, units="mg/dL", what="sensor glucose") if amount else None
        if mgdl is None:
            mgdl = glucose(row.get(col.SG), units=units, what="sensor glucose")
        if mgdl is None:
            raise RowSkipped("sensor glucose row without a value")
        return [
            GlucoseSample(
                device_id=dev,
                source_index=f"{raw}:{iso}",
                device_time=when,
                sample_type="cgm",
                glucose_mgdl=mgdl,
            )
        ]
    if raw == "LogbookDatum":
        out: list[Record] = []
        bg_text = row.get(col.BG)
        if bg_text:
            amount = values.get("AMOUNT", "")
            mgdl = glucose(amount, units="mg/dL", what="BG") if amount else None
            mgdl = mgdl if mgdl is not None else glucose(bg_text, units=units, what="BG")
            cal = row.get(col.USED_IN_CALIBRATION).lower() == "true"
            out.append(
                GlucoseSample(
                    device_id=dev,
                    source_index=f"{raw}:{iso}:bg",
                    device_time=when,
                    sample_type="calibration" if cal else "smbg",
                    glucose_mgdl=mgdl,
                )
            )
        if row.get(col.MEAL):
            out.append(
                Food(
                    device_id=dev,
                    source_index=f"{raw}:{iso}:meal",
                    device_time=when,
                    carbs_g=None,
                    annotations=("food/carbs-unknown",),
                )
            )
        return out
    if raw == "SensorEvent" and values.get("EVENT_TYPE") == "SENSOR_IN":
        return [
            DeviceEvent(
                device_id=dev,
                source_index=f"{raw}:{iso}:SENSOR_IN",
                device_time=when,
                event_type="sensor-start",
                detail=row.get(col.SENSOR_EVENT) or None,
            )
        ]
    return []


def normalize_ipro2(table: CareLinkTable, *, text: str) -> Normalized:
    """Normalize an iPro2 table; ``text`` is the decoded file (for the recorder serial)."""
    dev = make_device_id(MANUFACTURER, MODEL, recorder_serial(text))
    rows = [r for s in table.sections for r in s.rows]
    day_first = infer_day_first((f"{r.get(col.DATE)} 00:00" for r in rows), default=True)
    skipped: list[tuple[int, str]] = []
    items: list[tuple[int, tuple[str, ...], Record]] = []
    for row in rows:
        try:
            produced = _records(row, dev, table.units, day_first)
        except RowSkipped as exc:
            skipped.append((row.line, exc.reason))
            continue
        content = tuple(v for k, v in sorted(row.cells.items()) if k != col.INDEX)
        items.extend((row.line, content, rec) for rec in produced)
    items.sort(key=lambda item: item[2].device_time)  # already oldest first; stable
    records, dupes = unique_keys(items)
    return Normalized(tuple(records), tuple(sorted(skipped + dupes)))
