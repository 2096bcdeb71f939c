"""FreeStyle Libre reader desktop-software TXT importer (English and Spanish).

The older export of the FreeStyle Libre reader's own PC software (not LibreView):
tab-separated, optional free-text preamble lines, header starting ``ID``, dates
``YYYY/MM/DD HH:MM``, record types 0/1/2/5/6/7 seen in real files; type 6 is a clock
change with ``Previous Time``/``Updated Time`` -> ``DeviceEvent(time-change)``.
Details: ``firmware-notes/exports-libreview.md``.

Entry points: :func:`sniff` and :func:`parse` (decoded text -> records + skipped rows).
"""

from __future__ import annotations

from drivers.exports.freestyle_reader import columns as col
from drivers.exports.freestyle_reader.normalize import normalize
from drivers.exports.freestyle_reader.parse import parse_table
from drivers.exports.freestyle_reader.parse import sniff as _sniff
from drivers.exports.libreview import ParsedExport

FORMAT = "freestyle-libre-reader-txt"


def sniff(text: str) -> bool:
    """Whether decoded text is a FreeStyle Libre reader-software TXT export."""
    return _sniff(text)


def parse(text: str, *, file: str = "<text>") -> ParsedExport:
    """Parse a decoded reader TXT into normalized records.

    Args:
        text: The whole file, decoded.
        file: File name for error messages.

    Raises:
        FileFormatError: No header, no unit, no data rows, unreadable text.
    """
    table = parse_table(text, file=file)
    result = normalize(table.rows, units=table.units)
    return ParsedExport(
        FORMAT, col.DEFAULT_MODEL, table.units, result.records, result.skipped, day_first=False
    )


__all__ = ["FORMAT", "parse", "sniff"]
