"""Content detection and the importer registry behind :func:`read_export`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from drivers._core.errors import UnsupportedDevice
from drivers._core.records import Record, collector_paused
from drivers.transports.files import decode, read_bytes

Units = Literal["mg/dL", "mmol/L"]


@dataclass(frozen=True, slots=True)
class Skipped:
    """A row left out of an import: its 1-based physical line and why."""

    line: int
    reason: str


@dataclass(frozen=True, slots=True)
class Parsed:
    """What an importer's ``parse`` returns (the registry adds file-level facts)."""

    format: str
    device: str
    units_in_file: Units
    records: list[Record]
    skipped: list[Skipped] = field(default_factory=list)
    delimiter: str | None = None


@dataclass(frozen=True, slots=True)
class ExportResult:
    """One export read: format, device, units, records in device order, skipped rows."""

    format: str
    device: str
    units_in_file: Units
    records: list[Record]
    skipped: list[Skipped]
    encoding: str
    delimiter: str | None
    raw: bytes


@dataclass(frozen=True, slots=True)
class Importer:
    """A registered format: ``sniff(text)`` says yes or no, ``parse(text, name)`` reads."""

    name: str
    sniff: Callable[[str], bool]
    parse: Callable[[str, str], Parsed]


def _clarity() -> Importer:
    from drivers.exports import dexcom_clarity

    return Importer("dexcom-clarity-csv", dexcom_clarity.sniff, dexcom_clarity.parse)


def _adapt(module_name: str) -> Callable[[], Importer]:
    """Importers whose ``parse(text, file=...)`` returns a ``ParsedExport``."""

    def factory() -> Importer:
        import importlib

        module = importlib.import_module(module_name)

        def parse(text: str, name: str) -> Parsed:
            got = module.parse(text, file=name)
            return Parsed(
                format=got.format,
                device=got.device,
                units_in_file=got.units_in_file,
                records=list(got.records),
                skipped=[Skipped(line, reason) for line, reason in got.skipped],
            )

        return Importer(module_name.rsplit(".", 1)[1], module.sniff, parse)

    return factory


def _native(module_name: str, name: str) -> Callable[[], Importer]:
    """Importers whose ``parse(text, name)`` already returns :class:`Parsed`."""

    def factory() -> Importer:
        import importlib

        module = importlib.import_module(module_name)
        return Importer(name, module.sniff, module.parse)

    return factory


IMPORTER_FACTORIES: tuple[Callable[[], Importer], ...] = (
    _clarity,
    _native("drivers.exports.nightscout", "nightscout"),
    _native("drivers.exports.tidepool", "tidepool"),
    _native("drivers.exports.tandem", "tandem"),
    _native("drivers.exports.glooko", "glooko"),
    _adapt("drivers.exports.freestyle_reader"),  # before LibreView: its sniffer is stricter
    _adapt("drivers.exports.libreview"),
    _adapt("drivers.exports.carelink"),
)


def importers() -> Sequence[Importer]:
    """The registered importers, in detection order."""
    return [factory() for factory in IMPORTER_FACTORIES]


IMPORTERS = IMPORTER_FACTORIES


def read_export(
    path: str | Path, *, data: bytes | None = None, name: str | None = None
) -> ExportResult:
    """Read an export from ``path`` (or ``data``), detecting its format from content."""
    name = name or str(path)
    raw = data if data is not None else read_bytes(path)
    with collector_paused():  # some 100 000 new objects, no garbage among them
        return _read(raw, name)


def _read(raw: bytes, name: str) -> ExportResult:
    from drivers.exports import glooko

    if glooko.sniff_zip(raw):
        parsed = glooko.parse_zip(raw, name)
        return ExportResult(
            parsed.format,
            parsed.device,
            parsed.units_in_file,
            parsed.records,
            parsed.skipped,
            "zip",
            parsed.delimiter,
            raw,
        )
    decoded = decode(raw, name)
    head = decoded.text[:20000]
    for importer in importers():
        if importer.sniff(head):
            parsed = importer.parse(decoded.text, name)
            return ExportResult(
                format=parsed.format,
                device=parsed.device,
                units_in_file=parsed.units_in_file,
                records=parsed.records,
                skipped=parsed.skipped,
                encoding=decoded.encoding,
                delimiter=parsed.delimiter,
                raw=raw,
            )
    raise UnsupportedDevice("not an export format glucogate can read", file=name)
