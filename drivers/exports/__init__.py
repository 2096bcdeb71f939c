"""Vendor-export importers, detected from content (never from the file name).

``read_export(path)`` reads the bytes (size-limited), decodes them (BOM sniffing),
asks each registered importer in turn whether the text is its format, and returns an
:class:`ExportResult` whose records carry ``device_time`` only; the gateway's time base
fills ``time_utc`` with the patient's zone. Row-level problems are listed in
``skipped`` with their line; a file that no importer recognises raises
``UnsupportedDevice`` naming the file.
"""

from __future__ import annotations

from drivers.exports.detect import IMPORTERS, ExportResult, Skipped, read_export

__all__ = ["IMPORTERS", "ExportResult", "Skipped", "read_export"]
