"""The ``glucogate`` command line.

Commands that exist today: ``import`` (a vendor export into the store, published),
``sync`` (the home hub: the ``[hub]`` devices every interval, or ``--once``),
``metrics`` (the metric catalogue of a file, nothing stored), ``report`` (a printable
report of a file: ``--kind agp``, HTML or PDF), ``serve`` (the kiosk
pages and API), ``record`` (the care record's intake), ``token-hash`` and ``demo``
(the whole path on a synthetic patient with embedded defaults); the device commands
(``detect``, ``upload``, ``sync``) are in :mod:`gateway.cli_devices`. Exit status: 0 on success,
2 for input that cannot be read (one line on stderr naming the file, line and reason),
3 for a configuration error, 4 when a broker the command needs cannot be reached.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from drivers._core.errors import DriverError
from gateway.cli_common import (
    EXIT_BAD_INPUT,
    EXIT_CONFIG,
    EXIT_UNAVAILABLE,
    _config,
    _print_json,
)
from gateway.cli_devices import cmd_detect, cmd_sync, cmd_upload
from gateway.config import ConfigError
from gateway.publish.mqtt import PublishError


def cmd_import(args: argparse.Namespace) -> int:
    from gateway.ingest.files import import_file
    from gateway.store.sqlite import Store

    config = _config(args)
    with Store(config.store_path) as store:
        report = import_file(Path(args.file), config, store, local_id=args.patient)
    if args.json:
        _print_json(report.as_json())
    else:
        out = report.as_json()
        print(f"{out['format']}: {out['device']}, units {out['units_in_file']}")
        print(
            f"  records: {out['counts']}  new: {out['added']}  already stored: "
            f"{out['already_stored']}  skipped rows: {len(out['skipped'])}"
        )
        print(f"  period (UTC): {out['first_utc']} .. {out['last_utc']}")
        print(
            f"  patient {out['patient']}: published {out['published']},"
            f" waiting in outbox {out['outbox_pending']}"
        )
        for warning in out["warnings"]:
            print(f"  warning: {warning}")
    return 0


def cmd_metrics(args: argparse.Namespace) -> int:
    from gateway.analyze.agreement import patient_agreement
    from gateway.analyze.insulin import patient_insulin, pump_period
    from gateway.analyze.summary import cgm_series, patient_metrics, window_summaries
    from gateway.ingest.files import default_local_id, load_file

    config = _config(args)
    _, records = load_file(Path(args.file), config.timezone)
    series = cgm_series(records)
    metrics = patient_metrics(series) if series.mgdl.size else {}
    patient: dict[str, Any] = {"id": args.patient or default_local_id(records), **metrics}
    if args.json:
        patient["windows"] = window_summaries(series)
        span = pump_period(records)
        if span is not None:
            patient["insulin"] = patient_insulin(records, start=span[0], end=span[1])
        versus_meter = patient_agreement(records)
        if versus_meter is not None:
            versus_meter.pop("pairs")
            patient["agreement"] = versus_meter
    if args.json:
        _print_json({"patients": [patient]})
    else:
        for key, value in patient.items():
            print(f"{key:>20}  {value}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from gateway.identity import load_or_create_secret, patient_pseudonym
    from gateway.ingest.files import default_local_id, load_file
    from gateway.reports import ReportRequest, render_report

    config = _config(args)
    careplan = None
    if args.careplan:
        from gateway.careplan.plan import CarePlanError, loads

        try:
            careplan = loads(Path(args.careplan).read_bytes())
        except (OSError, CarePlanError) as exc:
            print(f"glucogate: {args.careplan}: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
    if args.file is not None:
        export, records = load_file(Path(args.file), config.timezone)
        devices: tuple[str, ...] = (export.device,)
        source = export.format
        # the report shows the site pseudonym that ``import`` gives the same patient
        secret = load_or_create_secret(config.key_path)
        pseudonym = patient_pseudonym(
            secret, config.site, args.patient or default_local_id(records)
        )
    else:  # by patient: everything the gateway's store holds for them, every source
        from gateway.store.sqlite import Store

        if not args.patient:
            raise ConfigError("report needs a FILE or --patient LOCAL_ID (from the store)")
        if not config.store_path.exists():
            raise ConfigError(f"no store at {config.store_path}: give --data-dir")
        with Store(config.store_path) as store:
            found = store.patient_by_local_id(args.patient)
            if found is None:
                raise ConfigError("no patient with that local identity in the store")
            records = store.records(found)
            devices = tuple(store.device_descriptions(found))
            stored_plan = store.careplan_doc(found.pseudonym)
        if careplan is None and stored_plan is not None:  # the care record's current plan
            from gateway.careplan.plan import loads

            careplan = loads(stored_plan)
        pseudonym, source = found.pseudonym, "store"
    if careplan is not None and careplan.patient != pseudonym:
        print(
            f"glucogate: note: the care plan is for {careplan.patient}, this file is {pseudonym}",
            file=sys.stderr,
        )
    request = ReportRequest(
        records=records,
        patient=pseudonym,
        tz=config.timezone,
        days=args.days,
        devices=devices,
        source=source,
        careplan=careplan,
    )
    try:
        document = render_report(args.kind, request, args.format)
    except ModuleNotFoundError as exc:
        if exc.name != "matplotlib":
            raise
        raise ConfigError("reports need matplotlib: pip install 'glucogate[reports]'") from exc
    except ValueError as exc:
        print(f"glucogate: {args.file or pseudonym}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(document)
    print(f"{args.kind} report ({args.format}) for {pseudonym}: {out}")
    return 0


def cmd_careplans(args: argparse.Namespace) -> int:
    from gateway.ingest.careplans import pull_careplans
    from gateway.store.sqlite import Store

    config = _config(args)
    if config.mqtt is None:
        raise ConfigError("careplans --pull needs a broker: --mqtt HOST:PORT or [mqtt]")
    with Store(config.store_path) as store:
        kept = pull_careplans(config, store)
    print(f"{kept} new care plan version(s) kept for site {config.site}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from gateway.demo import run_demo

    return run_demo(Path(args.out), mqtt=args.mqtt, influx=args.influx, days=args.days)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from gateway.api.app import create_app
    from gateway.api.auth import Role

    config = _config(args)
    try:
        tokens = {digest: Role(role) for digest, role in config.api_tokens}
    except ValueError as exc:
        raise ConfigError(f"[api.tokens]: {exc}") from exc
    if not tokens:
        raise ConfigError("no [api.tokens] configured: nobody could sign in")
    uvicorn.run(create_app(config, tokens), host=args.host, port=args.port, log_level="info")
    return 0


def cmd_record(args: argparse.Namespace) -> int:
    import signal
    import threading
    import time
    from datetime import UTC, datetime

    from gateway.record.service import subscribe
    from gateway.record.store import CareRecordStore

    config = _config(args)
    if config.mqtt is None:
        raise ConfigError("the care record needs a broker: --mqtt HOST:PORT or [mqtt] host")
    server = None
    if args.serve:
        import uvicorn

        from gateway.api.auth import Role
        from gateway.record.web import create_record_app

        host, _, port = args.serve.rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError(f"--serve {args.serve!r}: expected HOST:PORT")
        try:
            tokens = {digest: Role(role) for digest, role in config.api_tokens}
        except ValueError as exc:
            raise ConfigError(f"[api.tokens]: {exc}") from exc
        if not tokens:
            raise ConfigError("no [api.tokens] configured: nobody could sign in")
    from gateway.record.pgstore import is_dsn

    if is_dsn(args.db):
        from gateway.record.pgstore import PgCareRecordStore

        store: Any = PgCareRecordStore(args.db)
    else:
        store = CareRecordStore(Path(args.db))
    sub, intake = subscribe(config.mqtt, store, sites=args.site_filter or ["+"])
    if args.serve:
        app = create_record_app(store, tokens, broker=config.mqtt)
        server = uvicorn.Server(uvicorn.Config(app, host=host, port=int(port), log_level="info"))
        web = threading.Thread(target=server.run, name="care-record-web", daemon=True)
        web.start()
        deadline = time.monotonic() + 10
        while not server.started and web.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        if not server.started:  # the port is taken or the host is not ours
            server.should_exit = True
            sub.stop()
            store.close()
            raise ConfigError(f"--serve {args.serve}: the web server did not start")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(
        f"care record: receiving glucogate/v1/{'|'.join(args.site_filter or ['+'])}/# into"
        f" {args.db}{f'; pages on http://{args.serve}/' if args.serve else ''}; Ctrl-C to stop",
        flush=True,
    )
    try:
        # every hour, the rules again on every patient: a gateway that stopped syncing
        # sends no summary, so "no upload for N days" has to be looked for
        while not stop.wait(3600):
            store.sweep(datetime.now(UTC))
    except KeyboardInterrupt:
        pass
    finally:
        if server is not None:
            server.should_exit = True
            web.join(10)  # finish answering before the store closes
        sub.stop()
        store.close()
    print(f"care record: {intake.accepted} messages accepted", flush=True)
    return 0


def cmd_token_hash(args: argparse.Namespace) -> int:
    from gateway.api.auth import token_hash

    print(token_hash(args.token))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="glucogate", description=__doc__.splitlines()[0])
    parser.add_argument("--config", help="TOML configuration file")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--tz", help="patient time zone (IANA name), default from config")
        p.add_argument("--patient", help="local patient identity (stays on this machine)")
        p.add_argument("--json", action="store_true", help="print one JSON object")

    p = sub.add_parser("import", help="import a vendor export (format detected from content)")
    p.add_argument("file")
    common(p)
    p.add_argument("--data-dir", help="where the store and site key live")
    p.add_argument("--site", help="site name (topic segment)")
    p.add_argument("--mqtt", metavar="HOST[:PORT]", help="publish to this broker")
    p.add_argument("--influx", metavar="URL", help="write the glucose series to this server")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("metrics", help="the metric catalogue of a file (stores nothing)")
    p.add_argument("file")
    common(p)
    p.set_defaults(func=cmd_metrics)

    from gateway.reports import DEFAULT_DAYS, REPORTS

    p = sub.add_parser(
        "report", help="a printable report of a file, or of a stored patient (HTML or PDF)"
    )
    p.add_argument("file", nargs="?", help="a vendor export; omit it to report --patient")
    p.add_argument("--kind", choices=sorted(REPORTS), default="agp", help="report kind")
    p.add_argument("--format", choices=("html", "pdf"), default="html")
    p.add_argument("--out", required=True, help="file to write")
    p.add_argument("--days", type=int, default=DEFAULT_DAYS, help="period: the last N days of data")
    p.add_argument("--tz", help="patient time zone (IANA name), default from config")
    p.add_argument("--patient", help="local patient identity (stays on this machine)")
    p.add_argument("--data-dir", help="where the site key lives (for the pseudonym)")
    p.add_argument("--site", help="site name (for the pseudonym)")
    p.add_argument(
        "--careplan",
        metavar="PATH",
        help="care plan JSON (agreement report, handout); default: consensus targets, English",
    )
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("detect", help="list serial ports and BLE devices and what each one is")
    p.add_argument("--json", action="store_true")
    p.add_argument(
        "--ble-backend",
        metavar="MODULE:CLASS",
        help="a bleak client backend to use instead of the host's adapter",
    )
    p.add_argument("--ble-timeout", type=float, default=5.0, help="BLE scan seconds")
    p.set_defaults(func=cmd_detect)

    p = sub.add_parser("upload", help="read a device's history since the last upload")
    p.add_argument("--port", help="serial port (e.g. /dev/ttyACM0)")
    p.add_argument("--ble", metavar="ADDRESS", help="Bluetooth address of a CGM, meter or pump")
    p.add_argument(
        "--ble-backend",
        metavar="MODULE:CLASS",
        help="a bleak client backend to use instead of the host's adapter",
    )
    p.add_argument("--ble-timeout", type=float, default=5.0, help="BLE scan seconds")
    p.add_argument(
        "--driver",
        choices=("dexcom-receiver", "tandem-pump"),
        default=None,
        help="serial driver (default: by USB ids, else dexcom-receiver)",
    )
    common(p)
    p.add_argument("--data-dir", help="where the store and site key live")
    p.add_argument("--site", help="site name (topic segment)")
    p.add_argument("--mqtt", metavar="HOST[:PORT]", help="publish to this broker")
    p.set_defaults(func=cmd_upload)

    p = sub.add_parser("sync", help="home hub: sync the [hub] devices every interval")
    p.add_argument("--once", action="store_true", help="one pass over every device, then exit")
    p.add_argument("--json", action="store_true", help="with --once: print the status document")
    p.add_argument(
        "--ble-backend",
        metavar="MODULE:CLASS",
        help="a bleak client backend to use instead of the host's adapter",
    )
    p.add_argument("--data-dir", help="where the store and site key live")
    p.add_argument("--site", help="site name (topic segment)")
    p.add_argument("--mqtt", metavar="HOST[:PORT]", help="publish to this broker")
    p.add_argument("--tz", help="patient time zone (IANA name), default from config")
    p.set_defaults(func=cmd_sync)

    p = sub.add_parser("serve", help="kiosk pages and the care-team API (FastAPI)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--data-dir", help="where the store and site key live")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("record", help="the care-record service: subscribe and store")
    p.add_argument(
        "--db",
        default="care-record.sqlite",
        help="the care record's SQLite file, or a postgresql:// DSN (the postgres extra)",
    )
    p.add_argument("--mqtt", metavar="HOST[:PORT]", help="broker to subscribe to")
    p.add_argument(
        "--site",
        dest="site_filter",
        action="append",
        help="only this site (repeatable); default every site",
    )
    p.add_argument(
        "--serve",
        metavar="HOST:PORT",
        help="also serve the care team's pages (worklist, patients, care plans) here",
    )
    p.set_defaults(func=cmd_record)

    p = sub.add_parser("token-hash", help="print the SHA-256 of a token for [api.tokens]")
    p.add_argument("token")
    p.set_defaults(func=cmd_token_hash)

    p = sub.add_parser("careplans", help="fetch the site's current care plans from the broker")
    p.add_argument("--pull", action="store_true", required=True)
    p.add_argument("--data-dir", help="where the store lives")
    p.add_argument("--site", help="site name (topic segment)")
    p.add_argument("--mqtt", metavar="HOST[:PORT]", help="the broker")
    p.set_defaults(func=cmd_careplans)

    p = sub.add_parser("demo", help="synthetic patient -> export -> gateway -> report + messages")
    p.add_argument("--out", default="demo-output", help="folder for the store, report, messages")
    p.add_argument("--days", type=int, default=14)
    p.add_argument("--mqtt", metavar="HOST[:PORT]", help="also publish to this broker")
    p.add_argument("--influx", metavar="URL", help="also write to this time-series server")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        code: int = args.func(args)
    except DriverError as exc:
        print(f"glucogate: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except PublishError as exc:
        print(f"glucogate: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except FileNotFoundError as exc:
        print(f"glucogate: {exc.filename}: no such file", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (ConfigError, OSError) as exc:
        print(f"glucogate: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    return code


if __name__ == "__main__":
    sys.exit(main())
