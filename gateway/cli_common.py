"""What the ``glucogate`` commands share: exit codes, the configuration with command-line
overrides, JSON output."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

from gateway.config import Config, load_config, parse_hostport

EXIT_BAD_INPUT = 2
EXIT_CONFIG = 3
EXIT_UNAVAILABLE = 4


def _config(args: argparse.Namespace) -> Config:
    config = load_config(args.config)
    changes: dict[str, Any] = {}
    if getattr(args, "data_dir", None):
        changes["data_dir"] = Path(args.data_dir)
    if getattr(args, "site", None):
        changes["site"] = args.site
    if getattr(args, "mqtt", None):
        changes["mqtt"] = parse_hostport(args.mqtt)
    if getattr(args, "influx", None):
        from gateway.timeseries.settings import InfluxConfig

        changes["influx"] = InfluxConfig(url=args.influx)
    if getattr(args, "tz", None):
        changes["timezone"] = args.tz
    return dataclasses.replace(config, **changes)


def _print_json(obj: object) -> None:
    print(json.dumps(obj, indent=2, ensure_ascii=False))
