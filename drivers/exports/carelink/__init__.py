"""Medtronic CareLink CSV importer: classic, 600/700-series (incl. 780G), Guardian
Connect and iPro2 exports.

Layouts (told apart by the first line, see :func:`.parse.detect_layout`):

* ``carelink-csv`` -- modern pump export (MiniMed 6xx/770G/780G): preamble, then
  sections (Pump, Aggregated Auto Insulin Data, Sensor), each with its own header,
  newest first; EU files use ``;`` and decimal commas;
* ``carelink-guardian-connect-csv`` -- Guardian Connect CGM app, same shape, 48 columns;
* ``carelink-classic-csv`` -- CareLink Personal 2008-2018 with ``Raw-Type``/``Raw-Values``;
* ``carelink-ipro2-csv`` -- iPro2 professional CGM, UTF-16LE, tab-separated.

Entry points: :func:`sniff` and :func:`parse` (decoded text -> records + skipped rows,
records oldest first in device order). Details: ``firmware-notes/exports-carelink.md``.
"""

from __future__ import annotations

from collections import Counter

from drivers.exports.carelink.classic import normalize_classic
from drivers.exports.carelink.columns import RAW_DEVICE_TYPE
from drivers.exports.carelink.ipro2 import normalize_ipro2
from drivers.exports.carelink.normalize import normalize_modern
from drivers.exports.carelink.parse import Layout, detect_layout, parse_table
from drivers.exports.libreview import ParsedExport

FORMATS: dict[Layout, str] = {
    "modern": "carelink-csv",
    "guardian": "carelink-guardian-connect-csv",
    "classic": "carelink-classic-csv",
    "ipro2": "carelink-ipro2-csv",
}


def sniff(text: str) -> bool:
    """Whether decoded text is a CareLink export of any supported layout."""
    return detect_layout(text) is not None


def parse(text: str, *, file: str = "<text>") -> ParsedExport:
    """Parse a decoded CareLink export into normalized records.

    Args:
        text: The whole file, decoded (UTF-16 for iPro2 already decoded by the caller).
        file: File name for error messages.

    Raises:
        FileFormatError: Unknown layout, no header, no rows, truncated last row.
    """
    table = parse_table(text, file=file)
    if table.layout == "classic":
        result = normalize_classic(table)
    elif table.layout == "ipro2":
        result = normalize_ipro2(table, text=text)
    else:
        result = normalize_modern(table)
    models = Counter(s.model for s in table.sections if s.model)
    if table.layout == "classic":
        models = Counter(
            r.get(RAW_DEVICE_TYPE) for s in table.sections for r in s.rows if r.get(RAW_DEVICE_TYPE)
        )
    device = models.most_common(1)[0][0] if models else "iPro2"
    return ParsedExport(
        FORMATS[table.layout], device, table.units, result.records, result.skipped, day_first=False
    )


__all__ = ["FORMATS", "detect_layout", "parse", "sniff"]
