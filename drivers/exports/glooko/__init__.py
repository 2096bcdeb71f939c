"""Glooko export: a ZIP of CSVs (or the unpacked folder, or one of its CSVs).

Glooko (the clinic platform many pumps, meters and CGMs upload to) exports one ZIP with
a CSV per category -- ``cgm_data_1.csv``, ``bg_data_1.csv``, ``bolus_data_1.csv``,
``basal_data_1.csv``, ``insulin_data_1.csv``, ``carbs_data_1.csv``,
``alarms_data_1.csv`` ... -- each with a metadata line (patient name, date range) and a
header in the web UI's language (English, German, Swedish known).

**No real Glooko export was available**: the layout follows the formats note, built
from >= 3 independent open-source readers (firmware-notes/exports-glooko.md). ZIPs are
read in memory under limits against zip bombs and path traversal (:mod:`.archive`).

Entry points:

* :func:`sniff` / :func:`parse` -- one decoded CSV (``glooko-csv``), for the text
  registry;
* :func:`sniff_zip` / :func:`parse_zip` -- the ZIP's bytes (``glooko-zip``);
* :func:`parse_folder` -- an unpacked export folder (``glooko-folder``).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from drivers._core.errors import FileFormatError
from drivers._core.records import Record
from drivers.exports.detect import Parsed, Skipped
from drivers.exports.glooko.archive import Member, read_folder, read_zip
from drivers.exports.glooko.normalize import RowError, to_record
from drivers.exports.glooko.parse import find_header, read_csv
from drivers.exports.nightscout.finish import Done, finish

FORMAT_CSV = "glooko-csv"
FORMAT_ZIP = "glooko-zip"
FORMAT_FOLDER = "glooko-folder"
FORMATS = (FORMAT_CSV, FORMAT_ZIP, FORMAT_FOLDER)
_ZIP_MAGIC = b"PK\x03\x04"


def sniff(text: str) -> bool:
    """Whether decoded text is one Glooko CSV: a metadata line starting ``Name:`` or
    ``Medical Record Number`` and a Glooko header in the first lines."""
    head = text[:4000].lstrip("\ufeff")
    first = head.split("\n", 1)[0].strip().strip('"')
    if not first.startswith(("Name:", "Medical Record Number")):
        return False
    found = find_header(head)
    return found is not None and found[1].category != "other"


def sniff_zip(data: bytes) -> bool:
    """Whether bytes are a ZIP (to be tried with :func:`parse_zip`)."""
    return data[:4] == _ZIP_MAGIC


def _members(members: list[Member], fmt: str, name: str) -> Parsed:
    done: list[Done] = []
    skipped: list[Skipped] = []
    units: Counter[str] = Counter()
    csvs = 0
    for member in members:
        label = member.name if fmt != FORMAT_CSV else ""
        try:
            header, _, rows = read_csv(member.text, file=f"{name}!{member.name}" if label else name)
        except FileFormatError:
            if fmt == FORMAT_CSV:
                raise
            skipped.append(Skipped(1, f"{member.name}: not a Glooko CSV (no header)"))
            continue
        csvs += 1
        if header.category in ("cgm", "bg"):
            units[header.units] += 1
        if header.category in ("insulin", "other"):
            skipped.append(
                Skipped(
                    1,
                    f"{label + ': ' if label else ''}{header.category} file: "
                    f"{len(rows)} row(s) not imported (no record kind)",
                )
            )
            continue
        for line, cells in rows:
            where = f"{label}: " if label else ""
            try:
                rec = to_record(header, cells)
            except RowError as exc:
                skipped.append(Skipped(line, f"{where}{exc}"))
                continue
            if rec is not None:
                done.append(Done(line, f"{where}line {line}", rec))
    if fmt != FORMAT_CSV and csvs == 0:
        raise FileFormatError("no Glooko CSV in the export", file=name)
    records, dups = finish(done, newest_first=False)
    return Parsed(
        format=fmt,
        device=_device(records),
        units_in_file="mmol/L" if units and units.most_common(1)[0][0] == "mmol/L" else "mg/dL",
        records=records,
        skipped=skipped + dups,
        delimiter=",",
    )


def _device(records: list[Record]) -> str:
    roles = sorted({r.device_id.split(":")[1] for r in records})
    return f"Glooko ({', '.join(roles) or 'no data'})"


def parse(text: str, name: str) -> Parsed:
    """One decoded Glooko CSV (e.g. ``cgm_data_1.csv``) into records.

    Raises:
        FileFormatError: No Glooko header, broken quoting.
    """
    return _members([Member(name, text)], FORMAT_CSV, name)


def parse_zip(data: bytes, name: str) -> Parsed:
    """A Glooko export ZIP (bytes) into records; skipped rows name ``member: line N``.

    Raises:
        FileFormatError: Not a ZIP, zip bomb, path traversal, no Glooko CSV inside.
    """
    return _members(read_zip(data, file=name), FORMAT_ZIP, name)


def parse_folder(folder: str | Path) -> Parsed:
    """An unpacked Glooko export folder into records.

    Raises:
        FileFormatError: Too many or too large files, no Glooko CSV.
    """
    return _members(read_folder(folder), FORMAT_FOLDER, str(folder))


__all__ = ["FORMATS", "parse", "parse_folder", "parse_zip", "sniff", "sniff_zip"]
