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

[hub]                      # for `glucogate sync` (the home hub); every key optional
interval_s = 300           # a sync of every device every 5 min
stale_after_h = 6          # "sync has silently stopped" after this long without success
backoff_base_s = 15        # retry after a failure: 15, 30, 60 ... s
backoff_cap_s = 300        # ... never longer than this (before jitter)
backoff_jitter = 0.2       # each delay times a uniform factor in [0.8, 1.2]
outbox_cap_mb = 200        # bound on the store file's used pages (raw captures pruned first)
raw_retention_days = 30    # raw captures older than this lose their bytes
ble_backend = ""           # module:Class of a bleak backend (default: the host adapter)
ble_scan_s = 5.0

[[hub.devices]]            # a USB device: its port (a udev symlink) and registry driver
name = "receiver"          # a-z, 0-9, '-': appears in status messages and logs
port = "/dev/glucogate-dexcom"
driver = "dexcom-receiver" # or "tandem-pump"
patient = "home-1"         # local identity (stays on the hub); default "device:<id>"

[[hub.devices]]            # a BLE device: its address and profile kind
name = "cgm"
ble = "C0:FF:EE:00:18:1F"
kind = "cgm"               # cgm | meter | pump

[kiosk]                    # for the kiosk's Devices panel (`glucogate serve`); optional
ble_backend = ""           # module:Class of a bleak backend (default: the host adapter)
ble_scan_s = 3.0           # seconds each device listing scans for BLE devices

[[kiosk.ports]]            # a port the OS port list does not show (a udev symlink,
port = "/dev/glucogate-dexcom"   # a virtual device), with the driver that reads it
driver = "dexcom-receiver"
```
Environment: ``GLUCOGATE_SITE``, ``GLUCOGATE_GATEWAY_ID``, ``GLUCOGATE_DATA_DIR``,
``GLUCOGATE_TZ``, ``GLUCOGATE_MQTT_HOST``/``_PORT``/``_USERNAME``/``_PASSWORD``/``_TLS_CA``,
``GLUCOGATE_INFLUX_URL``/``_TOKEN``/``_ORG``/``_BUCKET``,
``GLUCOGATE_HUB_INTERVAL_S``/``_STALE_AFTER_H``/``_OUTBOX_CAP_MB``/``_BLE_BACKEND``,
``GLUCOGATE_KIOSK_BLE_BACKEND``.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.publish.mqtt import BrokerConfig
from gateway.timeseries.settings import InfluxConfig


class ConfigError(Exception):
    """The configuration file or an environment variable is invalid."""


_DEVICE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
SERIAL_DRIVERS = ("dexcom-receiver", "tandem-pump")
BLE_KINDS = ("cgm", "meter", "pump")


@dataclass(frozen=True, slots=True)
class HubDevice:
    """One device the hub syncs: a serial ``port`` + ``driver``, or a ``ble`` address +
    ``kind``. ``name`` is what status messages and logs call it (never a serial)."""

    name: str
    port: str | None = None
    driver: str | None = None
    ble: str | None = None
    kind: str | None = None
    patient: str | None = None

    @property
    def transport(self) -> str:
        return "ble" if self.ble else "serial"


@dataclass(frozen=True, slots=True)
class HubConfig:
    """The ``[hub]`` section: what ``glucogate sync`` syncs, how often, and its bounds."""

    devices: tuple[HubDevice, ...] = ()
    interval_s: float = 300.0
    stale_after_h: float = 6.0
    backoff_base_s: float = 15.0
    backoff_cap_s: float = 300.0
    backoff_jitter: float = 0.2
    outbox_cap_mb: float = 200.0
    raw_retention_days: float = 30.0
    ble_backend: str | None = None
    ble_scan_s: float = 5.0


@dataclass(frozen=True, slots=True)
class KioskPort:
    """A serial port the kiosk lists even when the OS port list does not show it."""

    port: str
    driver: str


@dataclass(frozen=True, slots=True)
class KioskConfig:
    """The ``[kiosk]`` section: extra serial ports and the BLE scan of the Devices panel."""

    ports: tuple[KioskPort, ...] = ()
    ble_backend: str | None = None
    ble_scan_s: float = 3.0


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
    hub: HubConfig = HubConfig()
    kiosk: KioskConfig = KioskConfig()

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
    hub = _section(data, "hub")
    kiosk = _section(data, "kiosk")
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
        "GLUCOGATE_HUB_INTERVAL_S": (hub, "interval_s"),
        "GLUCOGATE_HUB_STALE_AFTER_H": (hub, "stale_after_h"),
        "GLUCOGATE_HUB_OUTBOX_CAP_MB": (hub, "outbox_cap_mb"),
        "GLUCOGATE_HUB_BLE_BACKEND": (hub, "ble_backend"),
        "GLUCOGATE_KIOSK_BLE_BACKEND": (kiosk, "ble_backend"),
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
            hub=_hub(hub),
            kiosk=_kiosk(kiosk),
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


def _hub_device(raw: object) -> HubDevice:
    if not isinstance(raw, dict):
        raise ConfigError("[[hub.devices]] entries must be tables")
    name = str(raw.get("name", ""))
    if not _DEVICE_NAME.match(name):
        raise ConfigError(f"[[hub.devices]] name {name!r}: use a-z, 0-9 and '-' (max 32)")
    device = HubDevice(
        name=name,
        port=str(raw["port"]) if raw.get("port") else None,
        driver=str(raw["driver"]) if raw.get("driver") else None,
        ble=str(raw["ble"]) if raw.get("ble") else None,
        kind=str(raw["kind"]) if raw.get("kind") else None,
        patient=str(raw["patient"]) if raw.get("patient") else None,
    )
    if (device.port is None) == (device.ble is None):
        raise ConfigError(f"hub device {name}: give either port (+ driver) or ble (+ kind)")
    if device.port is not None and device.driver not in SERIAL_DRIVERS:
        raise ConfigError(f"hub device {name}: driver must be one of {', '.join(SERIAL_DRIVERS)}")
    if device.ble is not None and device.kind not in BLE_KINDS:
        raise ConfigError(f"hub device {name}: kind must be one of {', '.join(BLE_KINDS)}")
    return device


def _hub(hub: Mapping[str, Any]) -> HubConfig:
    devices = hub.get("devices", [])
    if not isinstance(devices, list):
        raise ConfigError("[[hub.devices]] must be an array of tables")
    parsed = tuple(_hub_device(d) for d in devices)
    names = [d.name for d in parsed]
    if len(set(names)) != len(names):
        raise ConfigError("[[hub.devices]] names must be unique")
    base = HubConfig()
    config = HubConfig(
        devices=parsed,
        interval_s=float(hub.get("interval_s", base.interval_s)),
        stale_after_h=float(hub.get("stale_after_h", base.stale_after_h)),
        backoff_base_s=float(hub.get("backoff_base_s", base.backoff_base_s)),
        backoff_cap_s=float(hub.get("backoff_cap_s", base.backoff_cap_s)),
        backoff_jitter=float(hub.get("backoff_jitter", base.backoff_jitter)),
        outbox_cap_mb=float(hub.get("outbox_cap_mb", base.outbox_cap_mb)),
        raw_retention_days=float(hub.get("raw_retention_days", base.raw_retention_days)),
        ble_backend=str(hub["ble_backend"]) if hub.get("ble_backend") else None,
        ble_scan_s=float(hub.get("ble_scan_s", base.ble_scan_s)),
    )
    if config.interval_s <= 0 or config.backoff_base_s <= 0 or config.outbox_cap_mb <= 0:
        raise ConfigError("[hub] interval_s, backoff_base_s and outbox_cap_mb must be > 0")
    if not 0 <= config.backoff_jitter < 1:
        raise ConfigError("[hub] backoff_jitter must be in [0, 1)")
    return config


def _kiosk(kiosk: Mapping[str, Any]) -> KioskConfig:
    ports = kiosk.get("ports", [])
    if not isinstance(ports, list) or not all(isinstance(p, dict) for p in ports):
        raise ConfigError("[[kiosk.ports]] must be an array of tables")
    parsed = []
    for raw in ports:
        port, driver = str(raw.get("port", "")), str(raw.get("driver", ""))
        if not port or driver not in SERIAL_DRIVERS:
            raise ConfigError(
                f"[[kiosk.ports]] {port!r}: give port and driver ({', '.join(SERIAL_DRIVERS)})"
            )
        parsed.append(KioskPort(port, driver))
    scan_s = float(kiosk.get("ble_scan_s", KioskConfig().ble_scan_s))
    if scan_s < 0:
        raise ConfigError("[kiosk] ble_scan_s must be >= 0")
    return KioskConfig(
        ports=tuple(parsed),
        ble_backend=str(kiosk["ble_backend"]) if kiosk.get("ble_backend") else None,
        ble_scan_s=scan_s,
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
