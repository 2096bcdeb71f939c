"""The ``glucogate`` device commands: ``detect``, ``upload`` (a serial port or a BLE
address) and ``sync`` (the home hub)."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import Any

from drivers._core.errors import UnsupportedDevice
from gateway.cli_common import EXIT_UNAVAILABLE, _config, _print_json
from gateway.config import Config, ConfigError


def cmd_detect(args: argparse.Namespace) -> int:
    from gateway.ingest.detect import detect_devices

    config = _config(args)
    found = detect_devices(
        configured=config.kiosk.ports,
        ble_backend=args.ble_backend or config.kiosk.ble_backend,
        ble_timeout_s=args.ble_timeout,
    )
    if args.json:
        _print_json(found.as_json())
        return 0
    for ble in found.ble:
        print(f"{ble.address}  {ble.name}: {ble.kind} ({ble.driver})")
    if found.ble_error:
        print(f"Bluetooth: not scanned ({found.ble_error})")
    if not found.serial:
        print("no serial ports found (is the receiver plugged in and switched on?)")
    names = {"dexcom-receiver": "Dexcom receiver", "tandem-pump": "Tandem pump (likely)"}
    for port in found.serial:
        known = port.recognised and port.driver in names
        mark = names[str(port.driver)] if known else "not recognised"
        ids = port.usb_id or "no USB ids"
        print(f"{port.port}  {ids}  {port.description}: {mark} ({port.reason})")
    return 0


def _progress(args: argparse.Namespace) -> Any:
    def progress(step: str, fraction: float) -> None:
        if not args.json:
            print(f"  {step:<8} {'#' * int(30 * fraction):<30} {fraction:4.0%}", flush=True)

    return progress


def _print_upload(args: argparse.Namespace, report: Any) -> None:
    out = report.as_json()
    if args.json:
        _print_json(out)
    else:
        print(
            f"{out['device']}: {out['counts']}  new: {out['added']}  already stored:"
            f" {out['already_stored']}  clock offset: {out['clock_offset_s']} s"
        )


def cmd_upload_ble(args: argparse.Namespace, config: Config) -> int:
    import asyncio

    from drivers.ble.detect import reader_for, scan
    from drivers.transports.ble import load_backend
    from gateway.ingest.device import sync_reader, upload_device
    from gateway.store.sqlite import Store

    backend = load_backend(args.ble_backend) if args.ble_backend else None
    found = {
        a.address: a for a in asyncio.run(scan(backend, timeout=args.ble_timeout, all_devices=True))
    }
    ad = found.get(args.ble)
    if ad is None or ad.kind is None:
        raise UnsupportedDevice(
            f"{args.ble}: no CGM, meter or pump service advertised"
            if ad
            else f"{args.ble}: not seen advertising"
        )
    reader = reader_for(ad.kind, args.ble, backend=backend)
    device_id = f"ble:{ad.driver}:{args.ble.replace(':', '').lower()}"
    with Store(config.store_path) as store:
        report = upload_device(
            sync_reader(reader),
            device_id=device_id,
            description=f"{ad.name or ad.kind} (BLE)",
            fmt=str(ad.driver),
            config=config,
            store=store,
            local_id=args.patient,
            progress=_progress(args),
        )
    _print_upload(args, report)
    return 0


def cmd_upload(args: argparse.Namespace) -> int:
    from drivers.cgm.dexcom_receiver import DexcomReceiver, TransferInterrupted
    from drivers.pumps.tandem import TandemPump, detect_pumps
    from gateway.ingest.device import upload_device
    from gateway.store.sqlite import Store

    config = _config(args)
    if args.ble:
        return cmd_upload_ble(args, config)
    if not args.port:
        raise ConfigError("upload needs --port PATH or --ble ADDRESS")
    progress = _progress(args)
    driver = args.driver or (
        "tandem-pump"
        if any(p.port == args.port and p.recognised for p in detect_pumps())
        else "dexcom-receiver"
    )
    if driver == "tandem-pump":
        with TandemPump(args.port) as pump, Store(config.store_path) as store:
            report = upload_device(
                pump,
                device_id=pump.device_id(),
                description="Tandem t:slim X2",
                fmt="tandem-pump",
                config=config,
                store=store,
                local_id=args.patient,
                progress=progress,
            )
        _print_upload(args, report)
        return 0

    with DexcomReceiver(args.port) as receiver, Store(config.store_path) as store:
        info = receiver.device_info()
        try:
            report = upload_device(
                receiver,
                device_id=receiver.device_id(),
                description=f"Dexcom {info.model}",
                fmt="dexcom-receiver",
                config=config,
                store=store,
                local_id=args.patient,
                progress=progress,
            )
        except TransferInterrupted as exc:
            print(
                f"glucogate: {exc}; nothing of this upload was stored (it is all or"
                " nothing) and the next upload reads again from the last stored cursor",
                file=sys.stderr,
            )
            return EXIT_UNAVAILABLE
    if args.json:
        _print_json(report.as_json())
    else:
        out = report.as_json()
        print(
            f"{out['device']}: {out['counts']}  new: {out['added']}  already stored:"
            f" {out['already_stored']}  clock offset: {out['clock_offset_s']} s"
        )
    return 0


def cmd_sync(args: argparse.Namespace) -> int:
    import signal

    from gateway.hub.loop import Hub
    from gateway.store.sqlite import Store

    config = _config(args)
    if args.ble_backend:
        config = dataclasses.replace(
            config, hub=dataclasses.replace(config.hub, ble_backend=args.ble_backend)
        )
    if not config.hub.devices:
        raise ConfigError("sync needs at least one [[hub.devices]] entry in the configuration")
    with Store(config.store_path) as store:
        hub = Hub(config, store)
        if args.once:
            states = hub.run_once()
            hub.close()
            if args.json:
                _print_json(hub.status_document())
            else:
                for s in states:
                    print(
                        f"{s.device.name}: {s.state} ({s.added} new)"
                        + (f" {s.error}" if s.error else "")
                    )
            ok = all(s.state in ("ok", "no-new-reading") for s in states)
            return 0 if ok else EXIT_UNAVAILABLE
        signal.signal(signal.SIGTERM, lambda *_: hub.stop())
        signal.signal(signal.SIGINT, lambda *_: hub.stop())
        hub.run()
    return 0
