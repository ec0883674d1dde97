"""mqtts with a CA file and an optional client certificate, against a real Mosquitto that
speaks TLS only, with certificates made by the test; the edge's own sync worker runs as
`passerelle sync` with its password handed over as a systemd credential."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.store import db, outbox
from tests.deploy.tls import Pki, TlsBroker, make_pki
from tests.support import proc
from tests.support.waiting import wait_until
from tests.sync.events import data_for


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


# -- the edge's own MQTT client (sync worker) over mqtts -------------------------------------


def _sync_process(
    tmp_path: Path, broker: TlsBroker, name: str, creds: Path, **settings: object
) -> tuple[subprocess.Popen[bytes], Path]:
    environ = proc.env(
        db_path=tmp_path / "store.db",
        store_id="S001",
        mqtt_url=broker.url,
        mqtt_username="S001",
        **settings,
    )
    environ["CREDENTIALS_DIRECTORY"] = str(creds)  # mqtt_password as systemd hands it over
    log = tmp_path / f"{name}.log"
    return proc.start(proc.passerelle("sync"), environ, log), log


@pytest.fixture
def creds(tmp_path: Path) -> Path:
    d = tmp_path / "credentials"
    d.mkdir()
    (d / "mqtt_password").write_text("store-pw\n")
    return d


@pytest.fixture
def sale_waiting(tmp_path: Path) -> Path:
    path = tmp_path / "store.db"
    conn = db.open_database(path)
    with db.write(conn):
        outbox.append(conn, "/stores/S001", "sale.recorded", data_for("sale.recorded", 1))
    conn.close()
    return path


def _backlog(path: Path) -> int:
    conn = db.connect(path)
    try:
        return outbox.backlog(conn)[0]
    finally:
        conn.close()


def _stop(p: subprocess.Popen[bytes]) -> None:
    p.terminate()
    try:
        p.wait(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(timeout=10)


def test_edge_publishes_over_mqtts_with_a_client_certificate(
    tmp_path: Path, mtls_broker: TlsBroker, pki: Pki, creds: Path, sale_waiting: Path
) -> None:
    """The real sync worker, as `passerelle sync` runs it: CA file, client certificate and
    key, password from the credentials directory; the sale leaves the outbox."""
    p, log = _sync_process(
        tmp_path,
        mtls_broker,
        "good",
        creds,
        mqtt_ca_file=pki.ca,
        mqtt_cert_file=pki.client_cert,
        mqtt_key_file=pki.client_key,
    )
    try:
        wait_until(lambda: _backlog(sale_waiting) == 0, timeout=30, what="the sale published")
    finally:
        _stop(p)
    assert "store-pw" not in log.read_text()


# What Mosquitto logs when the edge's handshake fails (its port probe at start-up logs an
# "unexpected eof", so that one proves nothing).
HANDSHAKE_ERROR = {
    "wrong CA": "alert unknown ca",  # the edge does not trust the broker's certificate
    "no client certificate": "peer did not return a certificate",
}


@pytest.mark.parametrize("case", sorted(HANDSHAKE_ERROR))
def test_edge_refuses_or_is_refused_without_the_right_certificates(
    tmp_path: Path, mtls_broker: TlsBroker, pki: Pki, creds: Path, sale_waiting: Path, case: str
) -> None:
    extra: dict[str, object] = {"mqtt_ca_file": pki.other_ca if case == "wrong CA" else pki.ca}
    if case == "wrong CA":
        extra.update(mqtt_cert_file=pki.client_cert, mqtt_key_file=pki.client_key)
    p, log = _sync_process(tmp_path, mtls_broker, case.replace(" ", "-"), creds, **extra)
    broker_log = mtls_broker.log
    try:
        # the TLS handshake fails, seen by the broker; nothing is published
        wait_until(
            lambda: broker_log.exists() and HANDSHAKE_ERROR[case] in broker_log.read_text(),
            timeout=30,
            what="the failed handshake",
        )
        assert _backlog(sale_waiting) == 1
    finally:
        _stop(p)
    assert "store-pw" not in log.read_text()
