"""The edge as a real process, SIGKILLed in the middle of its work, then restarted.

The named fault points (``PASSERELLE_FAULT``) put the kill exactly in the windows that
matter: after the broker's PUBACK but before the outbox row is marked sent, and after a
down-event's transaction committed but before its acknowledgement.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from edge.config import load_settings
from edge.staff import service as auth
from edge.store import db, outbox
from edge.system import demo
from tests.support import proc
from tests.support.broker import Broker, free_port
from tests.support.waiting import wait_until
from tests.sync.conftest import applied, scalar, wait_applied
from tests.sync.events import data_for
from tests.sync.support import PREFIX, TOKEN, Collector, WebSide

pytestmark = pytest.mark.slow


class EdgeProcess:
    """Parts of the edge as real processes, each in its own process group: the API
    (``passerelle serve``, gunicorn) and the sync worker (``passerelle worker sync``), as in
    a split deployment; they meet only in the database."""

    def __init__(self, tmp_path: Path, db_path: Path, broker: Broker, web: WebSide) -> None:
        self.tmp_path = tmp_path
        self.log = tmp_path / "edge.log"
        self.http_port = free_port()
        self.settings = {
            "store_id": "S001",
            "db_path": db_path,
            "mqtt_url": broker.url,
            "topic_prefix": PREFIX,
            "secret_key": "test",
            "http_port": self.http_port,
            "http_workers": 1,
            "online_store_url": web.url,
            "online_store_token": TOKEN,
        }
        self.procs: list[subprocess.Popen[bytes]] = []
        self.proc: subprocess.Popen[bytes] | None = None  # the sync worker

    def start(self, *args: str, fault: str | None = None) -> EdgeProcess:
        environ = proc.env(**self.settings)
        if fault:
            environ["PASSERELLE_FAULT"] = fault
        p = proc.start(proc.passerelle(*args), environ, self.log)
        self.procs.append(p)
        if args[0] == "worker":
            self.proc = p
        return self

    def kill(self) -> None:
        """SIGKILL every part, as a power cut or the OOM killer would."""
        for p in self.procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM, as systemd stops it; then whatever is left of each group."""
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
                p.wait(timeout=30)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)

    def killed_itself(self) -> bool:
        return self.proc is not None and self.proc.poll() == -signal.SIGKILL

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@pytest.fixture
def edge_proc(tmp_path: Path, db_path: Path, broker: Broker, web: WebSide) -> Iterator[EdgeProcess]:
    db.open_database(db_path).close()
    e = EdgeProcess(tmp_path, db_path, broker, web)
    yield e
    e.stop()


def add_sales(conn: sqlite3.Connection, n: int) -> None:
    for i in range(n):
        with db.write(conn):
            outbox.append(conn, "/stores/S001", "sale.recorded", data_for("sale.recorded", i))


def test_edge_killed_mid_burst_of_sales(
    edge_proc: EdgeProcess, db_path: Path, collector: Collector
) -> None:
    conn = db.connect(db_path)
    settings = load_settings(None, db_path=db_path, store_id="S001")
    demo.seed(conn, settings)
    token = auth.create_token(conn, name="pos-crash", role="pos")
    url = f"http://127.0.0.1:{edge_proc.http_port}"
    edge_proc.start("serve").start("worker", "sync")
    wait_until(lambda: _ready(url) or edge_proc.procs[0].poll() is not None, 30, what="API")
    assert _ready(url), edge_proc.log_text()
    acked: list[str] = []
    refused = threading.Event()

    def till() -> None:
        while not refused.is_set():
            try:
                r = requests.post(
                    f"{url}/api/v1/sales",
                    json={
                        "terminal_id": "pos-1",
                        "currency": "EUR",
                        "lines": [{"sku": "SKU-MUG", "qty": 1}],
                    },
                    headers={
                        "Authorization": f"Bearer {token}",
                        "Idempotency-Key": str(uuid.uuid4()),
                    },
                    timeout=5,
                )
            except requests.RequestException:
                refused.set()
                return
            if r.status_code == 201:
                acked.append(r.json()["sale_id"])

    t = threading.Thread(target=till)
    t.start()
    wait_until(lambda: len(collector.distinct("sale.recorded")) >= 10, 30, what="sales flowing")
    edge_proc.kill()  # mid-burst: the till is still selling
    t.join(timeout=10)
    assert acked, edge_proc.log_text()
    edge_proc.start("run")
    wait_until(
        lambda: (
            {m["data"]["sale_id"] for m in collector.distinct("sale.recorded").values()}
            >= set(acked)
        ),
        60,
        what="every acknowledged sale published",
    )
    edge_proc.stop()
    in_db = {r[0] for r in conn.execute("SELECT sale_id FROM sales")}
    published = [m["data"]["sale_id"] for m in collector.distinct("sale.recorded").values()]
    last = outbox.last_sequence(conn, "/stores/S001")
    assert set(acked) <= in_db  # every sale the API acknowledged survived the kill
    assert len(published) == len(set(published)) == len(in_db)  # each once in effect
    assert collector.sequences() == list(range(1, last + 1))
    assert not collector.invalid
    conn.close()


def _ready(url: str) -> bool:
    try:
        return requests.get(f"{url}/healthz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def test_sync_killed_after_puback_before_mark(
    edge_proc: EdgeProcess, db_path: Path, collector: Collector
) -> None:
    conn = db.connect(db_path)
    add_sales(conn, 300)
    edge_proc.start("worker", "sync", fault="after_puback_before_mark:1")
    wait_until(edge_proc.killed_itself, 30, what="the fault point's kill")
    arrived_before = sum(collector.ids().values())
    assert outbox.backlog(conn)[0] > 0  # acked by the broker, not marked: the window
    edge_proc.start("worker", "sync")
    wait_until(lambda: outbox.backlog(conn)[0] == 0, 30, what="outbox drained")
    wait_until(lambda: len(collector.distinct()) == 300, 30, what="all 300 at the collector")
    arrived = sum(collector.ids().values())
    edge_proc.stop()
    assert arrived > 300 and arrived_before > 0  # the window's batch came twice...
    assert collector.sequences() == list(range(1, 301))  # ...and nothing is missing
    assert not collector.invalid
    conn.close()


def test_sync_killed_after_apply_before_ack(
    edge_proc: EdgeProcess, db_path: Path, web: WebSide, collector: Collector
) -> None:
    conn = db.connect(db_path)
    edge_proc.start("worker", "sync", fault="after_apply_before_ack:2")
    wait_until(lambda: applied(conn) == 0 and _subscribed(collector), 30, what="edge up")
    wait_until(lambda: collector.statuses and collector.statuses[-1]["online"], 30)
    # A new session makes the applier fetch both streams from the backfill endpoint first;
    # after that, everything comes by MQTT alone.
    wait_until(lambda: web.requests >= 2, 30, what="the new session's backfill")
    # Three bursts, each waited for: the second batch that carries events (where the fault
    # point fires) is at the latest the first one of the second burst, so the kill comes
    # after some events were committed and before all of them were.
    _bursts_until_killed(edge_proc, web, conn)
    committed = applied(conn)
    edge_proc.start("worker", "sync")
    wait_applied(conn, 600)
    edge_proc.stop()
    assert 0 < committed < 600
    assert scalar(conn, "SELECT COUNT(*) FROM loyalty_entries") == 600  # nothing twice
    assert scalar(conn, "SELECT COUNT(*) FROM inbox") == 600
    assert scalar(conn, "SELECT COUNT(*) FROM dead_letters") == 0
    conn.close()


def _bursts_until_killed(edge_proc: EdgeProcess, web: WebSide, conn: sqlite3.Connection) -> None:
    """600 ledger entries in three bursts of 200, each waited for until the fault point
    kills the edge (the second batch that carries events)."""
    for burst in range(3):
        sent = [
            web.make("loyalty.entry", data_for("loyalty.entry", burst * 200 + i))
            for i in range(1, 201)
        ]
        web.publish_many(sent)
        if not edge_proc.killed_itself():
            target = 200 * (burst + 1)

            def burst_done(target: int = target) -> bool:
                return applied(conn) >= target or edge_proc.killed_itself()

            wait_until(burst_done, 30, what=f"burst {burst + 1} applied, or the kill")
    wait_until(edge_proc.killed_itself, 30, what="the fault point's kill")


def _subscribed(collector: Collector) -> Any:
    return collector.statuses


def test_sync_killed_after_apply_before_commit_loses_nothing(
    edge_proc: EdgeProcess, db_path: Path, web: WebSide, collector: Collector
) -> None:
    """Killed with a batch applied but not committed: the broker must still hold every event
    of it (a message is acknowledged only after its commit). No backfill endpoint here, so
    an event acknowledged before its commit would be lost for good, and this test would wait
    for it in vain."""
    edge_proc.settings["online_store_url"] = ""
    conn = db.connect(db_path)
    edge_proc.start("worker", "sync", fault="after_apply_before_commit:2")
    wait_until(lambda: _subscribed(collector), 30, what="edge up")
    _bursts_until_killed(edge_proc, web, conn)
    committed = applied(conn)
    edge_proc.start("worker", "sync")
    wait_applied(conn, 600)
    edge_proc.stop()
    assert committed < 600
    assert scalar(conn, "SELECT COUNT(*) FROM loyalty_entries") == 600
    assert scalar(conn, "SELECT COUNT(*) FROM inbox") == 600
    assert scalar(conn, "SELECT COUNT(*) FROM dead_letters") == 0
    conn.close()
