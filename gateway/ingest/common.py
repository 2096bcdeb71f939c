"""Steps every ingest path shares: the patient's pseudonym, the record messages that
go into the outbox with the records, and the refreshed summary after new data."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from drivers._core.records import Record, count_by_kind
from gateway.analyze.summary import cgm_series, patient_metrics, window_summaries
from gateway.config import Config
from gateway.identity import load_or_create_secret, patient_pseudonym
from gateway.publish.messages import Message, record_messages, summary_message
from gateway.store.sqlite import Patient, Store


def open_patient(config: Config, store: Store, local_id: str, tz: str) -> tuple[Patient, bytes]:
    """The store's patient for a local identity, and the site key."""
    secret = load_or_create_secret(config.key_path)
    return store.patient(local_id, patient_pseudonym(secret, config.site, local_id), tz), secret


def messages_for(
    config: Config, patient: Patient, secret: bytes
) -> Callable[[list[Record]], Iterable[Message]]:
    """The outbox callback for :meth:`Store.ingest`: new records in batches."""

    def make(new: list[Record]) -> Iterable[Message]:
        return record_messages(
            new,
            secret=secret,
            site=config.site,
            pseudonym=patient.pseudonym,
            gateway_id=config.gateway_id,
        )

    return make


SUMMARY_DAYS = 90
"""The summary covers at most this many days, ending at the newest reading."""


def refresh_summary(
    config: Config, store: Store, patient: Patient, *, changed: bool, now_utc: datetime
) -> dict[str, Any]:
    """The patient's metrics over the last :data:`SUMMARY_DAYS` days of data; queue a new
    summary if data changed.

    Only that window is read from the store: a home hub syncing every few minutes for
    years would otherwise load every glucose record it ever stored at each sync (about
    105,000 a year of 5-min CGM) -- too much for a 1 GB Raspberry Pi. The report
    windows of 14 and 30 days sit inside it."""
    last = store.last_time(patient, "glucose")
    since = None if last is None else last - timedelta(days=SUMMARY_DAYS)
    series = cgm_series(store.records(patient, kind="glucose", since_utc=since))
    metrics = patient_metrics(series) if series.mgdl.size else {}
    if metrics:
        # the care record's worklist flags a large drop in time in range: the last 14
        # days against the 14 before them, worked out here where the readings are
        change = window_summaries(series).get("change_14d", {}).get("tir_70_180_pct")
        metrics["tir_change_14d_points"] = change
    if changed and series.first_utc is not None and series.last_utc is not None:
        store.enqueue(
            [
                summary_message(
                    metrics,
                    site=config.site,
                    pseudonym=patient.pseudonym,
                    gateway_id=config.gateway_id,
                    start_utc=series.first_utc,
                    end_utc=series.last_utc,
                    generated_utc=now_utc,
                )
            ]
        )
    return metrics


def records_overview(records: list[Record]) -> dict[str, Any]:
    """The ``counts``/``first_utc``/``last_utc`` part of the import JSON contract."""
    times = [r.time_utc for r in records if r.time_utc is not None]
    return {
        "counts": count_by_kind(records),
        "first_utc": min(times).isoformat() if times else None,
        "last_utc": max(times).isoformat() if times else None,
    }
