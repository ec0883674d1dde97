"""HTTPS on the shop floor (issue 19 item 1): `passerelle tls init` makes the certificate
(self-signed, or signed by the chain's CA), the edge serves it itself under gunicorn, the
screens work in Chromium over it with `__Host-` Secure cookies and HSTS, and plain HTTP on
the same port gets nothing."""

from __future__ import annotations

import http.client
import re
import select
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner
from cryptography import x509

from edge.cli import cli
from tests.screens.conftest import copy_demo
from tests.support import proc
from tests.support.broker import free_port, wait_port


def tls_init(out: Path, *extra: str) -> Any:
    return CliRunner().invoke(cli, ["tls", "init", "--out", str(out), *extra])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, demo_db: Any) -> Iterator[dict[str, Any]]:
    d = tmp_path_factory.mktemp("https")
    r = tls_init(d / "tls", "--host", "shop-s001.local")
    assert r.exit_code == 0, r.output
    db_path = d / "store.db"
    data = copy_demo(demo_db, db_path)
    port = free_port()
    env = proc.env(
        db_path=db_path,
        http_port=port,
        http_workers=1,
        tls_cert_file=d / "tls" / "tls_cert",
        tls_key_file=d / "tls" / "tls_key",
    )
    p = proc.start(proc.passerelle("serve"), env, d / "serve.log")
    try:
        wait_port(port, timeout=30)
        yield {
            "url": f"https://127.0.0.1:{port}",
            "port": port,
            "dir": d,
            "demo": data,
            "db": db_path,
        }
    finally:
        p.terminate()
        p.wait(timeout=30)


def test_the_certificate_names_the_box_and_its_key_is_private(served: dict[str, Any]) -> None:
    cert = x509.load_pem_x509_certificates((served["dir"] / "tls" / "tls_cert").read_bytes())[0]
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "shop-s001.local" in names.get_values_for_type(x509.DNSName)
    assert (served["dir"] / "tls" / "tls_key").stat().st_mode & 0o777 == 0o600
    assert tls_init(served["dir"] / "tls").exit_code != 0  # never replaced without --force


def test_https_with_hsts_and_no_plain_http(served: dict[str, Any]) -> None:
    cafile = str(served["dir"] / "tls" / "tls_cert")
    r = requests.get(served["url"] + "/login?screen=staff", verify=cafile, timeout=10)
    assert r.status_code == 200
    assert r.headers["Strict-Transport-Security"].startswith("max-age=")
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("__Host-passerelle=") and "Secure" in cookie and "Domain" not in cookie
    with pytest.raises(requests.RequestException):  # plain HTTP on the TLS port
        requests.get(f"http://127.0.0.1:{served['port']}/healthz", timeout=5)
    ctx = ssl.create_default_context(cafile=cafile)
    with (
        socket.create_connection(("127.0.0.1", served["port"]), timeout=5) as raw,
        ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        assert tls.version() in ("TLSv1.2", "TLSv1.3")


def test_a_kept_alive_connection_outlives_a_pause(served: dict[str, Any]) -> None:
    """A till that calls again after a few seconds reuses its connection (no new TLS
    handshake): the edge keeps idle connections ``http_keepalive`` (15 s) seconds, not
    gunicorn's 2 s, after which a client held up by a busy box found it closed under its
    next request (the benchmark's wrk counted those as errors)."""
    ctx = ssl.create_default_context(cafile=str(served["dir"] / "tls" / "tls_cert"))
    conn = http.client.HTTPSConnection("127.0.0.1", served["port"], context=ctx, timeout=10)
    try:
        conn.request("GET", "/healthz")
        assert conn.getresponse().read() and conn.sock is not None
        first = conn.sock
        time.sleep(3.2)  # gunicorn's default closes within keepalive + its 1 s loop: 3 s
        closed, _, _ = select.select([first], [], [], 0)  # readable now = the server's EOF
        assert not closed, "the server closed the idle connection"
        conn.request("GET", "/healthz")
        assert conn.getresponse().status == 200
        assert conn.sock is first
    finally:
        conn.close()


@pytest.mark.browser
def test_the_screens_work_in_chromium_over_https(served: dict[str, Any], browser: Any) -> None:
    code = CliRunner().invoke(
        cli, ["kiosk", "pair-code", "demo-kiosk"], env={"PASSERELLE_DB_PATH": str(served["db"])}
    )
    assert code.exit_code == 0, code.output
    pair_code = code.output.strip().splitlines()[-1]
    ctx = None
    try:
        ctx = browser.new_context(ignore_https_errors=True, locale="fr-FR")
        ctx.set_default_timeout(15_000)
        kiosk = ctx.new_page()
        kiosk.goto(f"{served['url']}/kiosk/pair?code={pair_code}")
        kiosk.locator("form:has(#code) button[type=submit]").click()
        kiosk.wait_for_url(re.compile(r"/kiosk$"))
        kiosk.wait_for_selector("#view-welcome:not([hidden])")
        board = ctx.new_page()
        board.goto(f"{served['url']}/login?screen=staff")
        board.locator("label.who-card:has(input[value='st-lucas'])").click()
        board.fill("#pin", "2345")
        board.locator(".pin-box button[type=submit]").click()
        board.wait_for_url(re.compile(r"/staff$"))
        with board.expect_response(re.compile(r"/api/v1/pickups")) as polled:
            board.reload()
        assert polled.value.status == 200
        cookies = {c["name"]: c for c in ctx.cookies()}
        assert set(cookies) == {"__Host-passerelle"}
        assert cookies["__Host-passerelle"]["secure"] and cookies["__Host-passerelle"]["httpOnly"]
    finally:
        if ctx is not None:
            ctx.close()


def test_a_store_certificate_signed_by_the_chain_ca(tmp_path: Path) -> None:
    from tests.deploy.tls import make_pki

    pki = make_pki(tmp_path / "pki")
    r = tls_init(
        tmp_path / "out",
        "--ca-cert",
        str(pki.ca),
        "--ca-key",
        str(tmp_path / "pki" / "test-ca.key"),
    )
    assert r.exit_code == 0, r.output
    leaf, ca = x509.load_pem_x509_certificates((tmp_path / "out" / "tls_cert").read_bytes())
    leaf.verify_directly_issued_by(ca)
    assert ca == x509.load_pem_x509_certificate(pki.ca.read_bytes())  # the chain travels
    wrong = tls_init(tmp_path / "x", "--ca-cert", str(pki.ca), "--ca-key", str(pki.server_key))
    assert wrong.exit_code != 0 and "not the key" in wrong.output
