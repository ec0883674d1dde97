"""Configuration: TOML file, environment overrides, and errors that name the key."""

from __future__ import annotations

import pytest

from edge.config import ConfigError, load_settings


def test_defaults_need_only_a_store_id(monkeypatch):
    monkeypatch.setenv("PASSERELLE_STORE_ID", "S042")
    s = load_settings()
    assert s.store_id == "S042" and s.http_host == "127.0.0.1"
    assert s.up_source == "/stores/S042"


def test_file_then_environment(tmp_path, monkeypatch):
    cfg = tmp_path / "p.toml"
    cfg.write_text(
        'store_id = "S007"\nhttp_port = 9000\nmqtt_url = "mqtts://broker:8883"\n'
        "[tier_multipliers]\nstandard = 1.0\ngold = 2.0\n"
    )
    s = load_settings(cfg)
    assert (s.store_id, s.http_port, s.mqtt_tls, s.mqtt_port) == ("S007", 9000, True, 8883)
    assert s.tier_multipliers["gold"] == 2.0
    monkeypatch.setenv("PASSERELLE_HTTP_PORT", "9100")
    assert load_settings(cfg).http_port == 9100


@pytest.mark.parametrize(
    ("key", "value", "named"),
    [
        ("PASSERELLE_HTTP_PORT", "eighty", "PASSERELLE_HTTP_PORT"),
        ("PASSERELLE_STORE_ID", "store 1!", "PASSERELLE_STORE_ID"),
        ("PASSERELLE_MQTT_URL", "http://x", "PASSERELLE_MQTT_URL"),
        ("PASSERELLE_ONLINE_STORE_URL", "ftp://x", "PASSERELLE_ONLINE_STORE_URL"),
        ("PASSERELLE_TIER_MULTIPLIERS", "not json", "PASSERELLE_TIER_MULTIPLIERS"),
        ("PASSERELLE_OUTBOX_RETENTION_DAYS", "3", "PASSERELLE_OUTBOX_RETENTION_DAYS"),
    ],
)
def test_a_bad_value_names_the_key(monkeypatch, key, value, named):
    monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert named in str(err.value)


def test_unknown_key_in_file_and_bad_toml(tmp_path):
    cfg = tmp_path / "p.toml"
    cfg.write_text('stor_id = "S1"\n')
    with pytest.raises(ConfigError, match="PASSERELLE_STOR_ID.*not a known setting"):
        load_settings(cfg)
    cfg.write_text("store_id = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(cfg)
    with pytest.raises(ConfigError, match="file not found"):
        load_settings(tmp_path / "missing.toml")


def test_bad_printer_names_its_field(tmp_path):
    cfg = tmp_path / "p.toml"
    cfg.write_text('[[printers]]\nname = "front"\nconnection = "network"\n')
    with pytest.raises(ConfigError, match=r"PASSERELLE_PRINTERS \(printers\[0\]\)"):
        load_settings(cfg)


def test_secrets_from_files_and_never_shown(tmp_path, monkeypatch):
    (tmp_path / "pw").write_text("s3cret\n")
    monkeypatch.setenv("PASSERELLE_MQTT_PASSWORD_FILE", str(tmp_path / "pw"))
    s = load_settings()
    assert s.mqtt_password == "s3cret"
    assert "s3cret" not in str(s.redacted())
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "online_store_token").write_text("tok")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    assert load_settings().online_store_token == "tok"
