"""Import one vendor export: detect -> parse -> time base -> store -> outbox -> publish.

The store transaction holds the raw file, every record and the records' outbox
messages, so a bad or interrupted import leaves nothing half-written and a second
import of the same file adds (and queues) nothing. Publishing and the time-series
write come after the commit and may fail without losing anything: messages stay in
the outbox for the next drain, and time-series points are rewritten idempotently on
the next import or sync.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from drivers._core.records import Record
from drivers._core.timebase import resolve_times
from drivers.exports import ExportResult, read_export
from gateway.config import Config
from gateway.ingest.common import (
    messages_for,
    open_patient,
    records_overview,
    refresh_summary,
)
from gateway.store.sqlite import Patient, Store

log = logging.getLogger(__name__)


@dataclass
class ImportReport:
    """What an import did; ``as_json()`` is the CLI's ``--json`` contract."""

    export: ExportResult
    records: list[Record]
    patient: Patient
    timezone: str
    added: int
    already_stored: int
    metrics: dict[str, Any]
    published: int = 0
    outbox_pending: int = 0
    timeseries_points: int = 0
    warnings: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "format": self.export.format,
            "device": self.export.device,
            "units_in_file": self.export.units_in_file,
            **records_overview(self.records),
            "skipped": [{"line": s.line, "reason": s.reason} for s in self.export.skipped],
            "patient": self.patient.pseudonym,
            "timezone": self.timezone,
            "added": self.added,
            "already_stored": self.already_stored,
            "published": self.published,
            "outbox_pending": self.outbox_pending,
            "timeseries_points": self.timeseries_points,
            "warnings": self.warnings,
        }


def load_file(path: Path, tz: str, data: bytes | None = None) -> tuple[ExportResult, list[Record]]:
    """Read and time-resolve an export without storing it (``glucogate metrics``).

    With ``data`` (an upload), ``path`` is only the name used in error messages.
    """
    export = read_export(path, data=data)
    return export, resolve_times(export.records, tz)


def default_local_id(records: list[Record]) -> str:
    """Without ``--patient``, the patient is known locally by their CGM's device id."""
    device_ids = sorted({r.device_id for r in records})
    return "device:" + (device_ids[0] if device_ids else "unknown")


def import_file(
    path: Path,
    config: Config,
    store: Store,
    *,
    local_id: str | None = None,
    tz: str | None = None,
    now_utc: datetime | None = None,
    data: bytes | None = None,
) -> ImportReport:
    """Import ``path`` (or the uploaded ``data``) for one patient; publish and write
    time series if configured."""
    tz = tz or config.timezone
    export, records = load_file(path, tz, data)
    patient, secret = open_patient(config, store, local_id or default_local_id(records), tz)
    result = store.ingest(
        patient,
        records,
        raw=export.raw,
        fmt=export.format,
        devices={r.device_id: export.device for r in records},
        messages=messages_for(config, patient, secret),
    )
    metrics = refresh_summary(
        config, store, patient, changed=result.added > 0, now_utc=now_utc or datetime.now(UTC)
    )
    report = ImportReport(
        export, records, patient, tz, result.added, result.already_stored, metrics
    )
    publish_pending(config, store, report)
    if config.influx is not None:
        from gateway.timeseries.influx import TimeSeriesError, write_series

        try:
            report.timeseries_points = write_series(
                config.influx, records, site=config.site, pseudonym=patient.pseudonym
            )
        except TimeSeriesError as exc:
            report.warnings.append(str(exc))
    report.outbox_pending = store.outbox_pending()
    return report


def publish_pending(config: Config, store: Store, report: ImportReport | None = None) -> int:
    """Drain the outbox if a broker is configured; a broker outage is a warning."""
    if config.mqtt is None:
        return 0
    from gateway.publish.mqtt import Publisher, PublishError

    try:
        with Publisher(config.mqtt, site=config.site, gateway_id=config.gateway_id) as pub:
            sent = pub.drain(store)
    except PublishError as exc:
        log.warning("messages kept in the outbox: %s", exc)
        if report is not None:
            report.warnings.append(f"messages kept in the outbox: {exc}")
        return 0
    if report is not None:
        report.published = sent
    return sent
