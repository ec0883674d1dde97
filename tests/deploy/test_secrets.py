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
    # read-only commands refuse a database that does not exist (issue 23): make it first
    subprocess.run(proc.passerelle("db", "upgrade"), env=environ, cwd=proc.ROOT, check=True)
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


def test_the_api_binds_to_loopback_by_default_and_says_so(tmp_path: Path) -> None:
    from edge.system.runner import api_banner
    from tests.support.broker import free_port, wait_port
    from tests.support.waiting import wait_until

    assert load_settings().http_host == "127.0.0.1"
    assert "reachable from the network" in api_banner(load_settings(http_host="0.0.0.0"))
    port = free_port()
    log = tmp_path / "serve.log"
    p = proc.start(
        proc.passerelle("serve"), proc.env(db_path=tmp_path / "s.db", http_port=port), log
    )
    try:
        wait_port(port, timeout=30)
        wait_until(lambda: "Listening at" in log.read_text(), what="gunicorn's bind line")
    finally:
        p.terminate()
        p.wait(timeout=30)
    out = log.read_text()
    assert f"API on http://127.0.0.1:{port} (loopback only)" in out
    assert f"Listening at: http://127.0.0.1:{port}" in out
