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

Two more synthetic patients show the device paths, each through the real driver and
protocol: a clinic kiosk uploads the second one's **Dexcom G6 receiver** over USB serial
(a virtual receiver on a pseudo-terminal, opened with pyserial), and a **home hub**
(``glucogate sync``'s loop, one pass) reads the third one's **BLE CGM** sensors and
**insulin pump** through bleak, the simulator injected as bleak's backend. Each
patient's data lands in the same store under its own pseudonym; the first one's AGP
report is written as HTML (and PDF when matplotlib is installed).
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

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
KIOSK_PRESET = "frequent_lows"  # the receiver patient
HUB_PRESET = "new_pump_start"  # the home-hub patient (BLE CGM + pump)


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
        kiosk = _receiver_upload(config, store, days=days)
        hub = _home_hub(config, store, days=days)
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
    agp_reports = _agp_reports(out, export, config)
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
    print(f"clinic kiosk, USB: a second patient's ({KIOSK_PRESET}) Dexcom G6 receiver")
    _line("port (virtual, pyserial)", kiosk["port"])
    _line("records", ", ".join(f"{k} {v}" for k, v in kiosk["counts"].items()))
    _line("patient pseudonym", kiosk["patient"])
    _line("time below 70 mg/dL", f"{kiosk['below_70_pct']:.1f} %")
    _line("uploaded again", f"{kiosk['again_added']} new")
    print(f"home hub, BLE: a third patient's ({HUB_PRESET}) CGM sensors and pump")
    for device in hub["devices"]:
        _line(f"{device['name']} ({device['kind']})", f"{device['state']}, {device['added']} new")
    _line("patient pseudonym", hub["patient"])
    print("where things went:")
    _line("report", report)
    for extra in agp_reports:
        _line("AGP report", extra)
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


def _receiver_upload(config: Config, store: Store, *, days: int) -> dict[str, Any]:
    """A second patient's Dexcom G6 receiver, uploaded at the kiosk over a pty."""
    from drivers.cgm.dexcom_receiver import DexcomReceiver
    from drivers.cgm.dexcom_receiver.normalize import DEXCOM_EPOCH
    from gateway.ingest.device import upload_device
    from simulators.cgm.dexcom_receiver import G6, VirtualReceiver
    from simulators.cgm.from_scenario import receiver_database

    scenario = Scenario(
        preset(KIOSK_PRESET), days=days, seed=DEMO_SEED + 1, tz=DEMO_TZ, start=DEMO_START
    )
    # the visit: two minutes after the last reading, and the receiver's clock is right
    visit = datetime.combine(DEMO_START, datetime.min.time(), UTC) + timedelta(days=days, minutes=2)
    receiver_s = int((visit.replace(tzinfo=None) - DEXCOM_EPOCH).total_seconds())
    db = receiver_database(scenario, G6, until_utc=visit)
    with VirtualReceiver(db, system_time_s=lambda: receiver_s) as virtual:
        uploads = []
        for _ in range(2):  # the second upload reads nothing new
            with DexcomReceiver(virtual.port) as receiver:
                info = receiver.device_info()
                uploads.append(
                    upload_device(
                        receiver,
                        device_id=receiver.device_id(),
                        description=f"Dexcom {info.model}",
                        fmt="dexcom-receiver",
                        config=config,
                        store=store,
                        local_id="demo-patient-002",
                        now_utc=lambda: visit,
                    )
                )
        port = virtual.port
    first, second = uploads
    metrics = first.metrics
    return {
        "port": port,
        "counts": first.as_json()["counts"],
        "patient": first.patient.pseudonym,
        "below_70_pct": (metrics.get("tbr_lt54_pct") or 0.0)
        + (metrics.get("tbr_54_69_pct") or 0.0),
        "again_added": second.added,
    }


def _home_hub(config: Config, store: Store, *, days: int) -> dict[str, Any]:
    """A third patient's BLE CGM sensors and insulin pump, read by the hub's loop."""
    from gateway.config import HubDevice
    from gateway.hub.loop import Hub
    from simulators.ble.backend import Air
    from simulators.ble.from_scenario import virtual_cgms, virtual_pump

    scenario = Scenario(
        preset(HUB_PRESET), days=days, seed=DEMO_SEED + 2, tz=DEMO_TZ, start=DEMO_START
    )
    cgms = virtual_cgms(scenario)
    pump = virtual_pump(scenario)
    air = Air([*cgms, pump])
    sensors = [
        HubDevice(name=f"cgm-{n}", ble=c.address, kind="cgm", patient="demo-patient-003")
        for n, c in enumerate(cgms, start=1)
    ]
    devices = (
        *sensors,
        HubDevice(name="pump", ble=pump.address, kind="pump", patient="demo-patient-003"),
    )
    hub_config = dataclasses.replace(
        config,
        gateway_id="demo-hub",
        hub=dataclasses.replace(config.hub, devices=devices, ble_scan_s=0.05),
    )
    hub = Hub(hub_config, store, ble_backend=air.client_backend())
    states = hub.run_once()
    row = store.db.execute(
        "SELECT pseudonym FROM patients WHERE local_id = ?", ("demo-patient-003",)
    ).fetchone()
    return {
        "devices": [
            {"name": d.name, "kind": d.kind, "state": st.state, "added": st.added}
            for d, st in zip(devices, states, strict=True)
        ],
        "patient": row[0] if row else None,
    }


def _agp_reports(out: Path, export: Path, config: Config) -> list[Path]:
    """The first patient's AGP report: HTML always, PDF when matplotlib is there."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return []
    from gateway.cli import main as cli

    written = []
    for fmt in ("html", "pdf"):
        target = out / f"agp-report.{fmt}"
        args = [
            "report",
            str(export),
            "--kind",
            "agp",
            "--format",
            fmt,
            "--out",
            str(target),
            "--tz",
            DEMO_TZ,
            "--patient",
            "demo-patient-001",
            "--data-dir",
            str(config.data_dir),
            "--site",
            config.site,
        ]
        if cli(args) == 0:
            written.append(target)
    return written
