"""The systemd unit passes ``systemd-analyze verify``, keeps an exposure of 3.0 or lower, and
``passerelle run`` really speaks the notify protocol (READY=1, then WATCHDOG=1)."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from edge.config import load_settings
from tests.support import proc
from tests.support.broker import Broker, free_port

UNIT = proc.ROOT / "systemd" / "passerelle.service"
INSTALLED_EXEC = "/opt/passerelle/.venv/bin/passerelle"
SYSTEMD_ANALYZE = shutil.which("systemd-analyze") or "/usr/bin/systemd-analyze"


def directives(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        key, _, value = line.partition("=")
        out.setdefault(key.strip(), []).append(value.strip())
    return out


UNITS = ("passerelle.service", "passerelle-backup.service", "passerelle-backup.timer")


@pytest.fixture
def units(tmp_path: Path) -> Path:
    """The units with ExecStart pointing at this environment's ``passerelle``: verify checks
    that the binary exists, and /opt/passerelle is where the README installs it."""
    exe = Path(sys.executable).parent / "passerelle"
    assert exe.exists(), f"{exe} missing: install the project into the venv (pip install -e .)"
    d = tmp_path / "units"
    d.mkdir()
    for name in UNITS:
        text = (UNIT.parent / name).read_text()
        if name.endswith(".service"):
            assert INSTALLED_EXEC in text, name
        (d / name).write_text(text.replace(INSTALLED_EXEC, str(exe)))
    return d


def test_unit_has_the_required_settings() -> None:
    d = directives(UNIT.read_text())
    assert d["Type"] == ["notify"]
    assert d["NotifyAccess"] == ["main"]
    assert d["Restart"] == ["on-failure"]
    assert int(d["WatchdogSec"][0]) >= 10  # the runner feeds it every min(5 s, WatchdogSec/2)
    assert d["DynamicUser"] == ["yes"]
    assert d["StateDirectory"] == ["passerelle"]
    assert d["ConfigurationDirectory"] == ["passerelle"]
    creds = {v.split(":", 1)[0] for v in d["LoadCredential"]}
    assert creds == {"mqtt_password", "online_store_token", "secret_key", "tls_cert", "tls_key"}
    assert d["ExecStart"][0].endswith(" run")
    for key, value in {
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "NoNewPrivileges": "yes",
        "PrivateTmp": "yes",
        "DevicePolicy": "closed",
    }.items():
        assert d[key] == [value], key
    assert "AF_PACKET" not in d["RestrictAddressFamilies"][0]
    assert d["SystemCallFilter"][0] == "@system-service"
    assert set(d["SupplementaryGroups"][0].split()) == {"lp", "dialout"}
    # devices: only USB printers and serial lines
    assert all(
        re.fullmatch(r"char-(usb_device|usbmisc|ttyS|ttyUSB|ttyACM) rw", v)
        for v in d["DeviceAllow"]
    )


def test_systemd_analyze_verify(units: Path) -> None:
    paths = [str(units / n) for n in UNITS]
    res = subprocess.run(
        [SYSTEMD_ANALYZE, "verify", *paths], capture_output=True, text=True, timeout=60
    )
    out = res.stdout + res.stderr
    ours = [ln for ln in out.splitlines() if any(n in ln for n in UNITS)]
    assert res.returncode == 0, out
    assert ours == [], ours


@pytest.mark.parametrize("name", ["passerelle.service", "passerelle-backup.service"])
def test_systemd_analyze_security_exposure(units: Path, name: str) -> None:
    res = subprocess.run(
        [SYSTEMD_ANALYZE, "security", "--offline=true", "--no-pager", str(units / name)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    m = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", res.stdout)
    assert m, res.stdout[-2000:]
    exposure = float(m.group(1))
    assert exposure <= 3.0, res.stdout


def test_example_config_loads() -> None:
    s = load_settings(proc.ROOT / "systemd" / "passerelle.toml.example")
    assert s.http_host == "127.0.0.1"
    assert s.mqtt_password is None and s.online_store_token is None  # secrets never in the file
    assert {p.connection for p in s.printers} == {"usb", "network"}


def test_run_notifies_ready_and_feeds_the_watchdog(tmp_path: Path, mosquitto: Broker) -> None:
    """A real ``passerelle run`` with NOTIFY_SOCKET set, as systemd starts it, secrets given as
    credentials: READY=1 once /healthz answers, then WATCHDOG=1; secrets never printed."""
    sock_path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(sock_path))
    sock.settimeout(30)
    creds = tmp_path / "credentials"
    creds.mkdir()
    password, token = "mqtt-Secret-4242", "store-Token-9898"
    (creds / "mqtt_password").write_text(password + "\n")
    (creds / "online_store_token").write_text(token + "\n")
    port = free_port()
    environ = proc.env(
        db_path=tmp_path / "store.db",
        http_port=port,
        mqtt_url=mosquitto.url,
        online_store_url="http://127.0.0.1:9",
    )
    environ.update(
        NOTIFY_SOCKET=str(sock_path),
        WATCHDOG_USEC="1000000",  # every 0.5 s
        CREDENTIALS_DIRECTORY=str(creds),
    )
    log = tmp_path / "run.log"
    p = proc.start(proc.passerelle("run"), environ, log)
    received: list[str] = []
    try:
        while "WATCHDOG=1" not in received:
            try:
                data = sock.recv(4096).decode()
            except TimeoutError:
                pytest.fail(f"no notification; got {received}; log:\n{log.read_text()}")
            received.extend(data.splitlines())
        assert received.index("READY=1") < received.index("WATCHDOG=1")
        # READY means the API answers
        base = f"http://127.0.0.1:{port}"
        assert requests.get(f"{base}/healthz", timeout=5).status_code == 200
        ready = requests.get(f"{base}/readyz", timeout=5)
        assert password not in ready.text and token not in ready.text
        p.terminate()
        assert p.wait(timeout=30) == 0
        sock.setblocking(False)
        while True:  # what was sent before the exit is queued on the socket
            try:
                received.extend(sock.recv(4096).decode().splitlines())
            except BlockingIOError:
                break
        assert "STOPPING=1" in received
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(timeout=10)
        sock.close()
    out = log.read_text()
    assert "loopback only" in out
    assert password not in out and token not in out


def test_admin_wrapper_and_backup_unit_act_as_the_service_user() -> None:
    """passerelle-admin (systemd-run) and the backup unit must share the service's dynamic
    user and state directory, or the files they write would not be the service's."""
    service = directives(UNIT.read_text())
    backup = directives((UNIT.parent / "passerelle-backup.service").read_text())
    admin = (UNIT.parent / "passerelle-admin").read_text()
    assert subprocess.run(["sh", "-n", str(UNIT.parent / "passerelle-admin")]).returncode == 0
    for key in ("DynamicUser", "User", "Group"):
        assert backup[key] == service[key], key
        assert f"--property={key}={service[key][0]}" in admin, key
    assert backup["StateDirectory"][0].split()[0] == service["StateDirectory"][0]
    assert f"--property=StateDirectory={service['StateDirectory'][0]}" in admin
    assert INSTALLED_EXEC in admin


def test_the_admin_helpers_transient_unit_is_sandboxed(tmp_path: Path) -> None:
    """passerelle-admin's systemd-run properties, written as a unit: exposure 3.0 or lower
    too (issue 19)."""
    script = (proc.ROOT / "systemd" / "passerelle-admin").read_text()
    props = re.findall(r"--property=(\S*)", script)
    assert "DynamicUser=yes" in props and "PrivateNetwork=yes" in props
    exe = Path(sys.executable).parent / "passerelle"
    unit = tmp_path / "passerelle-admin-run.service"
    unit.write_text(
        "[Service]\nType=oneshot\n" + "".join(f"{p}\n" for p in props) + f"ExecStart={exe} --help\n"
    )
    res = subprocess.run(
        [SYSTEMD_ANALYZE, "security", "--offline=true", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    m = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", res.stdout)
    assert m, res.stdout[-2000:] + res.stderr
    assert float(m.group(1)) <= 3.0, res.stdout
