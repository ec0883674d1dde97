"""TLS and username/password from the configuration, against a Mosquitto that requires both."""

from __future__ import annotations

import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edge.store import db, outbox, state
from tests.support.broker import Broker
from tests.support.waiting import wait_until
from tests.sync.conftest import EdgeSync, edge_settings
from tests.sync.events import data_for


def _certificates(folder: Path) -> dict[str, Path]:
    """A throw-away CA and a server certificate for 127.0.0.1, made with openssl."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_key, ca, key, csr, crt = (
        folder / n for n in ("ca.key", "ca.crt", "server.key", "server.csr", "server.crt")
    )

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    run(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=test-ca",
        "-keyout",
        str(ca_key),
        "-out",
        str(ca),
    )
    run(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        str(key),
        "-out",
        str(csr),
    )
    ext = folder / "san.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1\n")
    run(
        "x509",
        "-req",
        "-in",
        str(csr),
        "-CA",
        str(ca),
        "-CAkey",
        str(ca_key),
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        str(ext),
        "-out",
        str(crt),
    )
    return {"ca": ca, "cert": crt, "key": key}


def test_tls_with_username_and_password(
    tmp_path: Path, make_broker: Callable[..., Broker], db_path: Path, edge_db: sqlite3.Connection
) -> None:
    certs = _certificates(tmp_path / "certs")
    passwords = tmp_path / "passwords"
    subprocess.run(
        ["mosquitto_passwd", "-c", "-b", str(passwords), "store-S001", "s3cret"], check=True
    )
    broker = make_broker(
        extra_conf=(
            f"cafile {certs['ca']}\ncertfile {certs['cert']}\nkeyfile {certs['key']}\n"
            f"password_file {passwords}"
        )
    )
    url = f"mqtts://127.0.0.1:{broker.port}"
    with db.write(edge_db):
        outbox.append(edge_db, "/stores/S001", "sale.recorded", data_for("sale.recorded", 1))

    def settings(**extra: Any) -> Any:
        return edge_settings(
            db_path,
            broker,
            None,
            mqtt_url=url,
            mqtt_ca_file=certs["ca"],
            mqtt_username="store-S001",
            **extra,
        )

    wrong = EdgeSync(settings(mqtt_password="wrong")).start()
    refused = wait_until(lambda: wrong.worker.refused, 15, what="the broker's refusal")
    assert not wrong.worker.connected.is_set()
    wrong.halt()
    assert outbox.backlog(edge_db)[0] == 1 and not state.link(edge_db)["connected"]

    edge = EdgeSync(settings(mqtt_password="s3cret")).start()
    wait_until(edge.worker.subscribed.is_set, 15, what="TLS connection with the password")
    wait_until(lambda: outbox.backlog(edge_db)[0] == 0, 15, what="the sale acknowledged")
    edge.halt()
    assert "authori" in refused.lower() or "password" in refused.lower()
