"""Abbott LibreView CSV importer (FreeStyle Libre 1/2/3, Libre Pro, LibreLink app).

What a patient or clinic downloads from libreview.com: one or two preamble lines
(patient download: ``Glucose Data,Generated on,...``; clinic download: ``Patient
report,...`` plus a name/date-of-birth line), a 19-column header in the account's
language, then rows grouped by record type. Handled: US ``MM-DD-YYYY hh:mm AM`` and EU
``DD-MM-YYYY HH:MM`` dates (decided per file), mg/dL and mmol/L, Spanish headers with
decimal commas inside quotes, spreadsheet re-saves (``M/D/YY``, padded preamble), notes
with newlines inside quotes, HI/LO. Details: ``firmware-notes/exports-libreview.md``.

Entry points: :func:`sniff` (is this text a LibreView CSV?) and :func:`parse` (decoded
text -> records + skipped rows). Records carry ``device_time`` only.
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers._core.records import Record
from drivers.exports.libreview import columns as col
from drivers.exports.libreview.normalize import Context, LibreRow, normalize_rows
from drivers.exports.libreview.parse import parse_table
from drivers.exports.libreview.parse import sniff as _sniff
from drivers.exports.libreview.values import infer_day_first

FORMAT = "libreview-csv"

_KEYS = (
    "device",
    "serial",
    "time",
    "type",
    "historic",
    "scan",
    "nn_rapid",
    "rapid",
    "nn_food",
    "carbs",
    "servings",
    "nn_long",
    "long",
    "notes",
    "strip",
    "ketone",
    "meal_ins",
    "corr_ins",
    "user_ins",
)
"""Canonical names of the 19 LibreView columns, in file order (see :mod:`.columns`)."""


@dataclass(frozen=True, slots=True)
class ParsedExport:
    """The importer's result before the shared detector wraps it.

    Attributes:
        format: Format name (:data:`FORMAT`).
        device: The device named by most rows (e.g. ``FreeStyle LibreLink``).
        units_in_file: ``mg/dL`` or ``mmol/L``.
        records: Normalized records, oldest first.
        skipped: ``(line, reason)`` per row left out.
        day_first: Whether dates were read as day-first.
    """

    format: str
    device: str
    units_in_file: str
    records: tuple[Record, ...]
    skipped: tuple[tuple[int, str], ...]
    day_first: bool


def sniff(text: str) -> bool:
    """Whether decoded text is a LibreView CSV (header found in the first lines)."""
    return _sniff(text)


def parse(text: str, *, file: str = "<text>") -> ParsedExport:
    """Parse a decoded LibreView CSV into normalized records.

    Args:
        text: The whole file, decoded (a leading BOM is ignored).
        file: File name for error messages.

    Raises:
        FileFormatError: No header, no unit, no data rows, unreadable CSV.
    """
    table = parse_table(text, file=file)
    stamps = [r.fields[col.TIMESTAMP] for r in table.rows if len(r.fields) > col.TIMESTAMP]
    # Preamble "Generated on" uses the account's date order too; 24-hour EU by default.
    day_first = infer_day_first([*stamps, table.generated_on], default=True)
    rows = [LibreRow(r.line, dict(zip(_KEYS, r.fields, strict=False))) for r in table.rows]
    devices = [r.fields[col.DEVICE].strip() for r in table.rows if r.fields and r.fields[0].strip()]
    device = max(set(devices), key=devices.count) if devices else "FreeStyle Libre"
    result = normalize_rows(rows, Context(units=table.units, day_first=day_first))
    return ParsedExport(FORMAT, device, table.units, result.records, result.skipped, day_first)


__all__ = ["FORMAT", "ParsedExport", "parse", "sniff"]
