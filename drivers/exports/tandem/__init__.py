"""Tandem t:slim X2 / Mobi CSV exports: t:connect "Therapy Timeline" and Tandem Source.

* ``tandem-tconnect-csv`` -- the legacy t:connect web "Therapy Timeline Data Export"
  (until ~2024): 5-line preamble (vendor, title, patient name, DOB, report date), then
  blank-line-separated sections with their own headers: readings (EGV/BG), IOB, basal
  (only without Control-IQ), bolus (with the bolus calculator's fields). Every value
  quoted, data rows end with a trailing comma.
* ``tandem-source-csv`` -- the Tandem Source export (2024+): metadata lines, then CGM,
  BG and bolus sections. **Provisional**: built from the formats note; no real file was
  available (firmware-notes/exports-tandem.md).

Times are the pump's naive local time (``device_time`` only); a Tandem Source
timestamp with an offset keeps its stated UTC. Entry points: :func:`sniff`,
:func:`parse` (decoded text -> :class:`Parsed`).
"""

from __future__ import annotations

from collections import Counter

from drivers._core.records import Record
from drivers.exports.detect import Parsed, Skipped
from drivers.exports.nightscout.finish import Done, finish
from drivers.exports.tandem import columns as col
from drivers.exports.tandem.normalize import (
    RowError,
    basal,
    bolus,
    cells_of,
    fill_durations,
    reading,
)
from drivers.exports.tandem.parse import Table, read_table

FORMAT_TCONNECT = "tandem-tconnect-csv"
FORMAT_SOURCE = "tandem-source-csv"
FORMATS = (FORMAT_TCONNECT, FORMAT_SOURCE)


def sniff(text: str) -> bool:
    """Whether decoded text is a Tandem export: the vendor line or t:connect title in
    the first lines and a Tandem section header (``DeviceType,SerialNumber,...``)."""
    head = text[:20000]
    first = head[:400]
    vendor = col.VENDOR_LINE in first or col.TCONNECT_TITLE in first or "Tandem Source" in first
    header = "DeviceType,SerialNumber,Description,EventDateTime" in head or (
        "BolusRequestID" in head and "EventDateTime" in head
    )
    return vendor and header


def _serial(table: Table) -> str:
    serials = Counter(
        cells_of(s, cells).get(col.SERIAL)
        for s in table.sections
        for _, cells in s.rows
        if s.header.pos(col.SERIAL) is not None
    )
    serials.pop("", None)
    return serials.most_common(1)[0][0] if serials else "unknown"


def parse(text: str, name: str) -> Parsed:
    """Read a Tandem export into records (oldest first) and skipped rows.

    Args:
        text: The decoded file.
        name: File name for errors (the patient's name and DOB never appear in them).

    Raises:
        FileFormatError: Broken quoting or no Tandem section header.
    """
    table = read_table(text, file=name)
    serial = _serial(table)
    done: list[Done] = []
    skipped: list[Skipped] = [Skipped(line, "section not recognised") for line in table.unknown]
    units = "mg/dL"
    for section in table.sections:
        if section.header.kind == "iob":
            if section.rows:
                skipped.append(
                    Skipped(
                        section.rows[0][0],
                        f"IOB section: {len(section.rows)} row(s) not imported"
                        " (no record kind; each bolus carries its IOB)",
                    )
                )
            continue
        if section.header.units == "mmol/L":
            units = "mmol/L"
        for line, cells in section.rows:
            row = cells_of(section, cells)
            try:
                rec: Record
                if section.header.kind == "bolus":
                    rec = bolus(row, serial)
                elif section.header.kind == "basal":
                    rec = basal(row, serial)
                else:
                    rec = reading(row, serial)
            except RowError as exc:
                skipped.append(Skipped(line, str(exc)))
                continue
            done.append(Done(line, f"line {line}", rec))
    records, dups = finish(done, newest_first=False)
    return Parsed(
        format=FORMAT_SOURCE if table.source else FORMAT_TCONNECT,
        device="Tandem t:slim X2" if not table.source else "Tandem (Tandem Source)",
        units_in_file=units,  # type: ignore[arg-type]
        records=fill_durations(records),
        skipped=sorted(skipped + dups, key=lambda s: s.line),
        delimiter=",",
    )


__all__ = ["FORMATS", "parse", "sniff"]
