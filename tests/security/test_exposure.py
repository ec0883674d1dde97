"""What the box shows to whoever asks (issue 19 items 5 and 6): /readyz counts only,
/metrics for loopback or a token, the board role reads names only, the kiosk finds nobody by
phone, and the backfill speaks HTTPS (or loopback) and reads bounded answers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from edge.config import ConfigError, load_settings
from sync import backfill

REMOTE = {"REMOTE_ADDR": "192.168.1.50"}  # a phone on the shop's Wi-Fi


def test_readyz_shows_counts_never_coupon_codes(client, seeded, conn):
    from edge.offers import views

    flagged = [{"code": "SECRET-CODE-42", "uses": 3}]
    original = views.overused
    views.overused = lambda _conn: flagged  # type: ignore[assignment]
    try:
        body = client.get("/readyz", environ_base=REMOTE).get_data(as_text=True)
    finally:
        views.overused = original  # type: ignore[assignment]
    assert "SECRET-CODE-42" not in body and '"flagged":1' in body


def test_metrics_answer_loopback_or_the_token(app_config, db_path):
    from edge.web.app import create_app

    app = create_app({**app_config, "METRICS_TOKEN": "scrape-me-" + "x" * 20})
    client = app.test_client()
    assert client.get("/metrics").status_code == 200  # the test client is 127.0.0.1
    r = client.get("/metrics", environ_base=REMOTE)
    assert r.status_code == 401 and "passerelle_" not in r.get_data(as_text=True)
    wrong = {"Authorization": "Bearer nope"}
    assert client.get("/metrics", environ_base=REMOTE, headers=wrong).status_code == 401
    right = {"Authorization": "Bearer scrape-me-" + "x" * 20}
    assert client.get("/metrics", environ_base=REMOTE, headers=right).status_code == 200


def test_the_board_role_reads_names_only(client, headers, seeded):
    r = client.get("/api/v1/customers/c-0001", headers=headers("staff"))
    assert r.status_code == 403
    r = client.get("/api/v1/customers/lookup?phone=%2B33612345678", headers=headers("staff"))
    assert r.status_code == 403
    r = client.get("/api/v1/customers/c-0001", headers=headers("pos"))
    assert r.status_code == 200 and r.json["email"]  # the till still serves the member


def test_the_kiosk_role_finds_nobody_by_phone(client, headers, seeded):
    for phone in ("%2B33612345678", "%2B33600000000"):
        for path in ("/api/v1/customers/masked", "/api/v1/customers/lookup"):
            r = client.get(f"{path}?phone={phone}", headers=headers("kiosk"))
            assert r.status_code == 403, path


def test_backfill_is_https_except_to_this_machine():
    for url in ("http://shop.example.net", "http://192.168.1.10:8090", "ftp://x"):
        with pytest.raises(ValueError, match="https"):
            backfill.Backfill(url, "t")
        with pytest.raises(ConfigError, match="ONLINE_STORE_URL"):
            load_settings(online_store_url=url)
    for url in ("https://shop.example.net", "http://127.0.0.1:8090", "http://localhost:1"):
        backfill.Backfill(url, "t").close()
        load_settings(online_store_url=url)


@pytest.fixture
def huge_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setattr(backfill, "MAX_PAGE_BYTES", 256 * 1024)  # the cap, made small to test

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            chunk = b" " * 65536
            try:
                self.wfile.write(b"[")
                for _ in range(backfill.MAX_PAGE_BYTES // len(chunk) + 4):
                    self.wfile.write(chunk)
                self.wfile.write(b"]")
            except OSError:
                pass  # the client stopped reading: what we want

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_backfill_refuses_an_endless_answer(huge_endpoint: str):
    client = backfill.Backfill(huge_endpoint, "t", retries=0)
    try:
        with pytest.raises(backfill.BackfillError, match="larger than"):
            client.page("/web/chain", 0)
    finally:
        client.close()
