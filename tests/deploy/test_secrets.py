"""Secrets come from files or systemd credentials and are never printed: not by the CLI
(its output or its errors), not by /readyz (see test_systemd), not by the settings' repr."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from edge.config import load_settings
from tests.support import proc

PASSWORD, TOKEN, KEY = "mqtt-Pw-5150", "shop-Tok-8086", "sess-Key-6502"


@pytest.fixture
def creds(tmp_path: Path) -> Path:
    d = tmp_path / "credentials"
    d.mkdir()
    (d / "mqtt_password").write_text(PASSWORD + "\n")
    (d / "online_store_token").write_text(TOKEN + "\n")
    (d / "secret_key").write_text(KEY + "\n")
    return d


def test_credentials_are_read_and_redacted(creds: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    s = load_settings()
    assert (s.mqtt_password, s.online_store_token, s.secret_key) == (PASSWORD, TOKEN, KEY)
    shown = str(s.redacted())
    assert PASSWORD not in shown and TOKEN not in shown and KEY not in shown


def test_secret_files_take_the_place_of_values(tmp_path: Path) -> None:
    f = tmp_path / "pw"
    f.write_text(PASSWORD)
    assert load_settings(mqtt_password_file=str(f)).mqtt_password == PASSWORD
    with pytest.raises(Exception, match="mqtt_password_file: cannot read") as err:
        load_settings(mqtt_password_file=str(tmp_path / "missing"))
    assert PASSWORD not in str(err.value)


@pytest.mark.parametrize(
    "args",
    [
        ("sync", "status"),
        ("sync", "status", "--json"),
        ("db", "upgrade"),
        ("token", "list"),
        ("token", "create", "--role", "pos", "--name", "pos-9"),
    ],
)
def test_cli_never_prints_secrets(args: tuple[str, ...], creds: Path, tmp_path: Path) -> None:
    environ = proc.env(db_path=tmp_path / "store.db", log_level="DEBUG")
    environ["CREDENTIALS_DIRECTORY"] = str(creds)
    res = subprocess.run(
        proc.passerelle(*args), env=environ, cwd=proc.ROOT, capture_output=True, text=True
    )
    assert res.returncode == 0, res.stderr
    for secret in (PASSWORD, TOKEN, KEY):
        assert secret not in res.stdout + res.stderr


def test_a_bad_config_error_names_the_key_not_the_secret(tmp_path: Path) -> None:
    environ = proc.env(
        db_path=tmp_path / "store.db", mqtt_password=PASSWORD, http_port="not-a-port"
    )
    res = subprocess.run(
        proc.passerelle("db", "upgrade"), env=environ, cwd=proc.ROOT, capture_output=True, text=True
    )
    assert res.returncode != 0
    assert "PASSERELLE_HTTP_PORT" in res.stderr
    assert PASSWORD not in res.stdout + res.stderr
