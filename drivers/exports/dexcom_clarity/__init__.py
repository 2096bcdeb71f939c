"""Dexcom Clarity CSV export (G4, G5, G6, G7; mg/dL and mmol/L accounts).

The web portal's "Export" button gives one CSV per patient and period (at most 90
days). Detected by its header (``Index,Timestamp (YYYY-MM-DDThh:mm:ss),Event Type,...``)
wherever it stands; quoted and unquoted, with or without BOM, LF or CRLF. EGV rows
become CGM samples ("High"/"Low" kept as flagged samples with the sensor's limit),
Calibration rows calibration samples, Insulin/Carbs/Exercise/Health rows injections,
food and activities. Layout and quirks: firmware-notes/vendor-exports.md.
"""

from __future__ import annotations

from drivers._core.records import Record
from drivers.exports.detect import Parsed, Skipped
from drivers.exports.dexcom_clarity import columns as col
from drivers.exports.dexcom_clarity.normalize import RowError, device_order, model_of, to_record
from drivers.exports.dexcom_clarity.parse import Row, read_rows

FORMAT = "dexcom-clarity-csv"


def sniff(text: str) -> bool:
    """True when the first lines hold Clarity's header."""
    head = text[:5000]
    return all(
        name in head for name in (col.INDEX, col.TIMESTAMP, col.EVENT_TYPE, col.TRANSMITTER_ID)
    )


def parse(text: str, name: str) -> Parsed:
    """Read a whole export: records in device order, bad rows listed as skipped."""
    header, rows = read_rows(text, file=name)
    model = model_of(header.device_info)
    done: list[tuple[Row, Record]] = []
    skipped: list[Skipped] = []
    for row in rows:
        if not isinstance(row, Row):
            skipped.append(Skipped(row.line, row.reason))
            continue
        try:
            rec = to_record(row, header.columns.units, model)
        except RowError as exc:
            skipped.append(Skipped(row.line, str(exc)))
            continue
        if rec is not None:
            done.append((row, rec))
    device = f"{header.device_info or 'Dexcom'} ({header.source_device or 'unknown source'})"
    return Parsed(
        format=FORMAT,
        device=device,
        units_in_file=header.columns.units,  # type: ignore[arg-type]
        records=device_order(done),
        skipped=skipped,
        delimiter=",",
    )  # type: ignore[arg-type]
