"""mqtts with a CA file and an optional client certificate, against a real Mosquitto that
speaks TLS only, with certificates made by the test."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deploy.tls import Pki, TlsBroker, make_pki


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def mtls_broker(tmp_path: Path, pki: Pki) -> Iterator[TlsBroker]:
    broker = TlsBroker(
        tmp_path / "broker", pki, require_certificate=True, users={"S001": "store-pw"}
    ).start()
    yield broker
    broker.kill()


def pub(broker: TlsBroker, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.port), "-t", "t", "-m", "m",
         "-q", "1", *args],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip


def test_the_tls_broker_accepts_only_verified_clients(mtls_broker: TlsBroker, pki: Pki) -> None:
    """The fixture itself: right CA + client certificate + password in; anything less out."""
    cert = ["--cert", str(pki.client_cert), "--key", str(pki.client_key)]
    login = ["-u", "S001", "-P", "store-pw"]
    assert pub(mtls_broker, "--cafile", str(pki.ca), *cert, *login).returncode == 0
    assert pub(mtls_broker, "--cafile", str(pki.other_ca), *cert, *login).returncode != 0
    assert pub(mtls_broker, "--cafile", str(pki.ca), *login).returncode != 0
    assert pub(mtls_broker, "--cafile", str(pki.ca), *cert, "-u", "S001", "-P", "x").returncode
    assert pub(mtls_broker, *login).returncode != 0  # plain MQTT on a TLS port
