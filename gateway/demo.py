"""``glucogate demo``: the whole path on embedded defaults, no services needed.

A synthetic patient (simulators/patient, the "missed boluses" preset: a pump user who
skips about a quarter of meal boluses) wears a Dexcom G6 and a Tandem pump for two
weeks around the 2026 autumn DST change in America/Chicago. The simulators write what
the portals would give the clinic: a Dexcom Clarity CSV of the CGM and a Tandem
t:connect CSV of the pump. The gateway imports both (formats detected from content),
resolves local times to UTC, stores everything in a SQLite file, computes the metric
catalogue, renders the summary page and queues the MQTT messages in the store's durable
outbox. With no broker configured the messages stay queued there and are also written
to ``mqtt-messages.jsonl`` for reading; ``--mqtt HOST:PORT`` publishes them for real.
The CGM file is then imported a second time to show that it adds nothing, and the
numbers are printed next to the scenario's planted truth.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from gateway.config import Config, parse_hostport
from gateway.ingest.files import import_file
from gateway.reports.summary_html import render_summary
from gateway.store.sqlite import Store
from gateway.timeseries.settings import InfluxConfig
from simulators.exports.dexcom_clarity import write_clarity
from simulators.exports.tandem import write_tconnect
from simulators.patient.presets import preset
from simulators.patient.scenario import Scenario

DEMO_TZ = "America/Chicago"
DEMO_START = date(2026, 10, 22)  # two weeks that include the 1 November fall-back hour
DEMO_SEED = 20261122
DEMO_PRESET = "missed_boluses"


def _line(label: str, value: object) -> None:
    print(f"  {label:<28}{value}")


def run_demo(
    out: Path, *, mqtt: str | None = None, influx: str | None = None, days: int = 14
) -> int:
    """Run the demo into ``out``; returns the process exit status."""
    out.mkdir(parents=True, exist_ok=True)
    scenario = Scenario(
        preset(DEMO_PRESET), days=days, seed=DEMO_SEED, tz=DEMO_TZ, start=DEMO_START
    )
    cgm = [r for r in scenario.records if r.device_id == scenario.cgm_id]
    pump = [r for r in scenario.records if r.device_id == scenario.pump_id]
    export = out / "clarity-export.csv"
    export.write_bytes(write_clarity(cgm, first_name="Demo", last_name="Patient"))
    pump_export = out / "tconnect-export.csv"
    pump_export.write_bytes(write_tconnect(pump, name="Demo Patient"))

    config = Config(
        site="demo-site",
        gateway_id="demo-kiosk",
        data_dir=out / "data",
        timezone=DEMO_TZ,
        mqtt=parse_hostport(mqtt) if mqtt else None,
        influx=InfluxConfig(url=influx) if influx else None,
    )
    with Store(config.store_path) as store:
        first = import_file(export, config, store, local_id="demo-patient-001")
        pumped = import_file(pump_export, config, store, local_id="demo-patient-001")
        again = import_file(export, config, store, local_id="demo-patient-001")
        messages = store.outbox_messages()
        pending = store.outbox_pending()
    info = first.as_json()
    metrics = first.metrics
    period = f"{info['first_utc'][:10]} to {info['last_utc'][:10]} (UTC)"
    report = out / "summary.html"
    report.write_text(
        render_summary(
            metrics,
            patient=first.patient.pseudonym,
            period=period,
            source=f"{info['device']} via {info['format']}",
        ),
        encoding="utf-8",
    )
    jsonl = out / "mqtt-messages.jsonl"
    with jsonl.open("w", encoding="utf-8") as f:
        for m in messages:
            f.write(
                json.dumps(
                    {
                        "topic": m.topic,
                        "qos": m.qos,
                        "retain": m.retain,
                        "payload": json.loads(m.payload),
                    }
                )
                + "\n"
            )

    pump_info = pumped.as_json()
    print(
        f"glucogate demo: synthetic patient ({DEMO_PRESET}) -> Clarity and t:connect"
        " exports -> gateway"
    )
    _line("exports written", f"{export}, {pump_export}")
    _line("format detected", f"{info['format']} ({info['device']}, {info['units_in_file']})")
    _line("records", ", ".join(f"{k} {v}" for k, v in info["counts"].items()))
    _line("format detected", f"{pump_info['format']} ({pump_info['device']})")
    _line("records", ", ".join(f"{k} {v}" for k, v in pump_info["counts"].items()))
    _line("period", period)
    _line("patient pseudonym", first.patient.pseudonym)
    _line("stored", f"{first.added} new in {config.store_path}")
    _line("imported again", f"{again.added} new, {again.already_stored} already stored")
    print("metrics (consensus, by time):")
    for key in (
        "tir_70_180_pct",
        "tbr_lt54_pct",
        "tbr_54_69_pct",
        "tar_181_250_pct",
        "tar_gt250_pct",
        "mean_mgdl",
        "sd_mgdl",
        "cv_pct",
        "gmi_pct",
        "wear_pct",
        "mage_mgdl",
        "lbgi",
        "hbgi",
        "gri",
        "gri_zone",
        "hypo_l1_events",
        "hyper_l1_events",
    ):
        _line(key, metrics.get(key))
    truth = scenario.truth
    print("planted truth (the scenario's):")
    _line("meals", truth.n_meals)
    _line("missed meal boluses", f"{truth.missed_meal_boluses} ({truth.missed_bolus_rate:.0%})")
    _line("late boluses", truth.late_boluses)
    _line("calculator overrides", f"{truth.overrides} ({truth.override_rate:.0%})")
    print("where things went:")
    _line("report", report)
    _line(
        "MQTT messages",
        f"{len(messages)} ({pending} waiting in the store's outbox; copies in {jsonl})",
    )
    if config.mqtt is not None:
        _line("published to broker", f"{first.published} at {mqtt}")
    if config.influx is not None:
        _line("time series points", f"{first.timeseries_points} to {influx}")
    for warning in first.warnings:
        _line("warning", warning)
    return 0
