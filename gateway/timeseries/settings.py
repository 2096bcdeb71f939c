"""Where the optional time-series server is; importable without influxdb-client."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class InfluxConfig:
    """An InfluxDB-API endpoint (InfluxDB 2.x, or VictoriaMetrics' compatible write API)."""

    url: str
    token: str = ""
    org: str = "glucogate"
    bucket: str = "glucogate"
    batch_size: int = 5000
