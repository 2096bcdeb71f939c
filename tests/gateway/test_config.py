"""Configuration: defaults, TOML, environment precedence, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import ConfigError, load_config, parse_hostport


def test_defaults_need_no_file_and_no_services() -> None:
    config = load_config(None, env={})
    assert (config.mqtt, config.influx, config.timezone) == (None, None, "UTC")


def test_toml_then_environment(tmp_path: Path) -> None:
    path = tmp_path / "g.toml"
    path.write_text(
        '[gateway]\nsite = "clinic-a"\ntimezone = "America/Denver"\n'
        '[mqtt]\nhost = "broker.local"\nport = 8883\nusername = "kiosk"\n'
        '[influx]\nurl = "http://127.0.0.1:8428"\n'
    )
    config = load_config(path, env={"GLUCOGATE_MQTT_PORT": "1884", "GLUCOGATE_SITE": "clinic-b"})
    assert config.site == "clinic-b"
    assert config.timezone == "America/Denver"
    assert config.mqtt is not None and (config.mqtt.host, config.mqtt.port) == (
        "broker.local",
        1884,
    )
    assert config.mqtt.username == "kiosk"
    assert config.influx is not None and config.influx.url == "http://127.0.0.1:8428"


def test_bad_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[gateway\nsite=")
    with pytest.raises(ConfigError, match=r"bad\.toml"):
        load_config(path, env={})


def test_bad_port_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        load_config(None, env={"GLUCOGATE_MQTT_HOST": "h", "GLUCOGATE_MQTT_PORT": "x"})
    with pytest.raises(ConfigError):
        parse_hostport("h:x")
    assert (parse_hostport("127.0.0.1:1999").port, parse_hostport("h").port) == (1999, 1883)


def test_api_tokens_are_read_as_hash_role_pairs(tmp_path: Path) -> None:
    path = tmp_path / "g.toml"
    path.write_text('[api.tokens]\n"abc123" = "kiosk"\n"def456" = "educator"\n')
    config = load_config(path, env={})
    assert dict(config.api_tokens) == {"abc123": "kiosk", "def456": "educator"}
