"""`passerelle run` with only STORE_ID (and a database path) set, as a real process: it
answers lookups, history and idempotent sales, with the contract's up-events in the outbox."""

from __future__ import annotations

import signal
import sqlite3

import requests

from edge.config import load_settings
from edge.store import db
from edge.system import demo
from tests.support import proc
from tests.support.broker import free_port
from tests.support.waiting import wait_until


def test_run_answers_with_only_a_store_id(tmp_path):
    path = tmp_path / "store.db"
    conn = db.open_database(path)
    seeded = demo.seed(conn, load_settings(db_path=path, store_id="S009"))
    conn.close()
    port = free_port()
    env = proc.env(
        store_id="S009", db_path=path, http_port=port, mqtt_url=f"mqtt://127.0.0.1:{free_port()}"
    )  # no broker: the link is down
    p = proc.start(proc.passerelle("run"), env, tmp_path / "run.log")
    base = f"http://127.0.0.1:{port}"
    try:

        def up():
            try:
                return requests.get(base + "/healthz", timeout=1).ok
            except requests.RequestException:
                return False

        wait_until(up, timeout=30, what="the API to answer")
        h = {"Authorization": f"Bearer {seeded['tokens']['pos']}"}
        r = requests.get(base + "/api/v1/customers/lookup?card=PC000000000002", headers=h)
        assert r.status_code == 200 and r.json()["first_name"] == "James"
        cid = r.json()["customer_id"]
        assert requests.get(f"{base}/api/v1/customers/{cid}/history", headers=h).json()["items"]
        sale = {
            "terminal_id": "pos-1",
            "customer_id": cid,
            "currency": "EUR",
            "lines": [{"sku": "SKU-SAVON", "qty": 3}],
        }
        h["Idempotency-Key"] = "run-1"
        first = requests.post(base + "/api/v1/sales", json=sale, headers=h)
        again = requests.post(base + "/api/v1/sales", json=sale, headers=h)
        assert first.status_code == 201 and again.json() == first.json()
        ready = requests.get(base + "/readyz").json()
        assert ready["outbox"]["backlog"] >= 2 and ready["link"]["connected"] is False
        rows = (
            sqlite3.connect(path)
            .execute("SELECT type, source FROM outbox WHERE sent_at IS NULL ORDER BY sequence")
            .fetchall()
        )
        assert ("sale.recorded", "/stores/S009") in rows
        assert requests.get(base + "/metrics").text.count("passerelle_outbox_backlog") >= 1
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=30)
    log = (tmp_path / "run.log").read_text()
    assert p.returncode == 0, f"exit {p.returncode}; log tail:\n{log[-3000:]}"
    assert "died" not in log and "Traceback" not in log, log[-3000:]


def test_run_stops_on_a_burst_of_sigint_and_sigterm(tmp_path):
    """Ctrl-C on the demo reaches the whole process group, then the script sends SIGTERM:
    a second signal landing while the first handler was inside Event.set() used to
    deadlock the edge (it never exited)."""
    path = tmp_path / "store.db"
    db.open_database(path).close()
    port = free_port()
    env = proc.env(db_path=path, http_port=port, mqtt_url=f"mqtt://127.0.0.1:{free_port()}")
    p = proc.start(proc.passerelle("run"), env, tmp_path / "run.log")
    try:

        def up():
            try:
                return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok
            except requests.RequestException:
                return False

        wait_until(up, timeout=30, what="the API to answer")
        for n in range(200):
            p.send_signal(signal.SIGINT if n % 2 else signal.SIGTERM)
        assert p.wait(timeout=40) == 0, (tmp_path / "run.log").read_text()[-3000:]
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
