"""Configuration: embedded defaults < TOML file < environment variables < CLI flags.

```toml
[gateway]
site = "clinic-a"          # a-z, 0-9, '-': becomes a topic segment
id = "kiosk-1"
data_dir = "/var/lib/glucogate"
timezone = "America/Chicago"   # the patients' zone unless a patient's own is given

[mqtt]                     # optional: without it messages wait in the outbox
host = "broker.example"
port = 8883
username = "clinic-a-kiosk-1"
password = "..."
tls_ca = "/etc/glucogate/ca.pem"

[api.tokens]               # for `glucogate serve`: SHA-256 of each token -> role
"9f86d08188...": "kiosk"   # (glucogate token-hash TOKEN prints the hash)

[influx]                   # optional
url = "http://127.0.0.1:8428"
token = ""
org = "glucogate"
bucket = "glucogate"
```
Environment: ``GLUCOGATE_SITE``, ``GLUCOGATE_GATEWAY_ID``, ``GLUCOGATE_DATA_DIR``,
``GLUCOGATE_TZ``, ``GLUCOGATE_MQTT_HOST``/``_PORT``/``_USERNAME``/``_PASSWORD``/``_TLS_CA``,
``GLUCOGATE_INFLUX_URL``/``_TOKEN``/``_ORG``/``_BUCKET``.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.publish.mqtt import BrokerConfig
from gateway.timeseries.settings import InfluxConfig


class ConfigError(Exception):
    """The configuration file or an environment variable is invalid."""


@dataclass(frozen=True, slots=True)
class Config:
    """Everything a gateway process needs to know about where it is."""

    site: str = "demo-site"
    gateway_id: str = "gateway-1"
    data_dir: Path = Path("glucogate-data")
    timezone: str = "UTC"
    mqtt: BrokerConfig | None = None
    influx: InfluxConfig | None = None
    api_tokens: tuple[tuple[str, str], ...] = ()

    @property
    def store_path(self) -> Path:
        return self.data_dir / "glucogate.sqlite"

    @property
    def key_path(self) -> Path:
        return self.data_dir / "site.key"


def _section(data: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"[{name}] must be a table")
    return value


def load_config(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Read the TOML file (if any), then apply ``GLUCOGATE_*`` environment variables."""
    env = os.environ if env is None else env
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{path}: {exc}") from exc
    gw = _section(data, "gateway")
    mqtt = _section(data, "mqtt")
    influx = _section(data, "influx")
    api = _section(data, "api")
    tokens = api.get("tokens", {})
    if not isinstance(tokens, dict):
        raise ConfigError("[api.tokens] must be a table of token hash -> role")
    for key, (table, name) in {
        "GLUCOGATE_SITE": (gw, "site"),
        "GLUCOGATE_GATEWAY_ID": (gw, "id"),
        "GLUCOGATE_DATA_DIR": (gw, "data_dir"),
        "GLUCOGATE_TZ": (gw, "timezone"),
        "GLUCOGATE_MQTT_HOST": (mqtt, "host"),
        "GLUCOGATE_MQTT_PORT": (mqtt, "port"),
        "GLUCOGATE_MQTT_USERNAME": (mqtt, "username"),
        "GLUCOGATE_MQTT_PASSWORD": (mqtt, "password"),
        "GLUCOGATE_MQTT_TLS_CA": (mqtt, "tls_ca"),
        "GLUCOGATE_INFLUX_URL": (influx, "url"),
        "GLUCOGATE_INFLUX_TOKEN": (influx, "token"),
        "GLUCOGATE_INFLUX_ORG": (influx, "org"),
        "GLUCOGATE_INFLUX_BUCKET": (influx, "bucket"),
    }.items():
        if env.get(key):
            table[name] = env[key]
    config = Config()
    try:
        config = dataclasses.replace(
            config,
            site=str(gw.get("site", config.site)),
            gateway_id=str(gw.get("id", config.gateway_id)),
            data_dir=Path(gw.get("data_dir", config.data_dir)).expanduser(),
            timezone=str(gw.get("timezone", config.timezone)),
            mqtt=_broker(mqtt) if mqtt.get("host") else None,
            influx=_influx(influx) if influx.get("url") else None,
            api_tokens=tuple((str(k), str(v)) for k, v in tokens.items()),
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"invalid configuration: {exc}") from exc
    return config


def _broker(mqtt: Mapping[str, Any]) -> BrokerConfig:
    return BrokerConfig(
        host=str(mqtt["host"]),
        port=int(mqtt.get("port", 1883)),
        username=mqtt.get("username"),
        password=mqtt.get("password"),
        tls_ca=mqtt.get("tls_ca"),
    )


def _influx(influx: Mapping[str, Any]) -> InfluxConfig:
    return InfluxConfig(
        url=str(influx["url"]),
        token=str(influx.get("token", "")),
        org=str(influx.get("org", "glucogate")),
        bucket=str(influx.get("bucket", "glucogate")),
    )


def parse_hostport(value: str) -> BrokerConfig:
    """``host[:port]`` from a CLI flag."""
    host, _, port = value.rpartition(":") if ":" in value else (value, "", "1883")
    try:
        return BrokerConfig(host=host, port=int(port))
    except ValueError as exc:
        raise ConfigError(f"--mqtt {value!r}: port must be a number") from exc
