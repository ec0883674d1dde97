"""The real edges in the chain run: ``passerelle run`` as systemd starts it, sales over HTTP.

Each gets its broker URL list through ``PASSERELLE_MQTT_URL`` and
``PASSERELLE_MQTT_FAILOVER_URLS`` and the protocol through ``PASSERELLE_MQTT_PROTOCOL``:
nothing else tells it which broker it talks to. Its products come down the chain stream (the
online store's catalogue) like a new store's; its counts are read from its own database.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

import requests

from bench import procs
from bench.chain.brokers import free_port
from bench.chain.downstream import _epoch
from sync import contract


class RealEdge:
    def __init__(
        self,
        store_id: str,
        workdir: Path,
        urls: list[str],
        protocol: str,
        online_url: str,
        token: str,
    ) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.store_id = store_id
        self.db_path = workdir / "edge.db"
        self.port = free_port()
        self.log = workdir / "edge.log"
        self.settings = {
            "store_id": store_id,
            "db_path": self.db_path,
            "http_port": self.port,
            "http_host": "127.0.0.1",
            "mqtt_url": urls[0],
            "mqtt_failover_urls": ",".join(urls[1:]),
            "mqtt_protocol": protocol,
            "online_store_url": online_url,
            "online_store_token": token,
            "secret_key": "chain-run-only-session-key",
            "log_level": "WARNING",
        }
        self.proc: procs.Proc | None = None
        self.pos_token = self.staff_token = ""
        self.stocked = False
        self.sales_ok = self.sales_refused = 0

    def start(self) -> RealEdge:
        from edge.staff import service as staff
        from edge.store import db

        conn = db.open_database(self.db_path)
        try:
            self.pos_token = staff.create_token(conn, name="chain-run", role="pos")
            self.staff_token = staff.create_token(conn, name="chain-run-staff", role="staff")
        finally:
            conn.close()
        self.proc = procs.start_edge(self.settings, self.log)
        return self

    def receive_goods(self) -> bool:
        """A delivery of mugs (refused until the catalogue came down): the shop then takes
        click-and-collect orders for this store, which checks the store's stock first."""
        try:
            r = requests.post(
                f"http://127.0.0.1:{self.port}/api/v1/stock/receipts",
                json={"ref": "chain-run", "lines": [{"sku": "SKU-MUG", "qty": 1000}]},
                headers={
                    "Authorization": f"Bearer {self.staff_token}",
                    "Idempotency-Key": str(uuid.uuid4()),
                },
                timeout=5,
            )
        except requests.RequestException:
            return False
        return r.status_code < 300

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()

    def sale(self) -> None:
        """One till sale through the edge's API (refused until the catalogue came down)."""
        if not self.stocked:
            self.stocked = self.receive_goods()
        try:
            r = requests.post(
                f"http://127.0.0.1:{self.port}/api/v1/sales",
                json={
                    "terminal_id": "pos-1",
                    "currency": "EUR",
                    "lines": [{"sku": "SKU-MUG", "qty": 1}],
                },
                headers={
                    "Authorization": f"Bearer {self.pos_token}",
                    "Idempotency-Key": str(uuid.uuid4()),
                },
                timeout=5,
            )
        except requests.RequestException:
            self.sales_refused += 1
            return
        if r.status_code < 300:
            self.sales_ok += 1
        else:
            self.sales_refused += 1

    def move_pickups(self) -> None:
        """Real edges leave their orders on the board (the staff screens are not driven)."""

    def _conn(self) -> sqlite3.Connection:
        conn = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=30)
        conn.row_factory = sqlite3.Row
        return conn

    def state(self) -> dict[str, Any]:
        """Sent (sequences handed out), applied down-streams, orders on the board."""
        conn = self._conn()
        try:
            source = contract.up_source(self.store_id)
            sent = conn.execute(
                "SELECT COALESCE(MAX(last_sequence), 0) FROM outbox_streams WHERE source = ?",
                (source,),
            ).fetchone()[0]
            streams = {
                r["source"]: r for r in conn.execute("SELECT * FROM inbox_streams").fetchall()
            }
            chain = streams.get(contract.CHAIN_SOURCE)
            mine = streams.get(contract.store_down_source(self.store_id))
            orders = conn.execute("SELECT COUNT(*) FROM pickup_orders").fetchone()[0]
            order_events = conn.execute(
                "SELECT COUNT(*), COUNT(DISTINCT id) FROM inbox WHERE type = 'order.placed'"
            ).fetchone()
            return {
                "sent": int(sent),
                "applied_chain": int(chain["last_sequence"]) if chain else 0,
                "applied_store": int(mine["last_sequence"]) if mine else 0,
                "orders": int(orders),
                "applied_twice": int(order_events[0]) - int(order_events[1]),
                "backfilled": sum(int(r["gaps_fetched"]) for r in streams.values()),
                "inbox_duplicates": 0,  # the edge keeps no such count in its database
            }
        finally:
            conn.close()

    def outbox_ids(self) -> dict[int, str]:
        conn = self._conn()
        try:
            return {
                int(r[0]): str(r[1])
                for r in conn.execute(
                    "SELECT sequence, id FROM outbox WHERE source = ?",
                    (contract.up_source(self.store_id),),
                )
            }
        finally:
            conn.close()

    def order_lags(self, online: sqlite3.Connection) -> list[float]:
        """Web order placed (its event's time) → applied on this store's board."""
        conn = self._conn()
        try:
            applied = {
                str(r[0]): str(r[1])
                for r in conn.execute(
                    "SELECT id, applied_at FROM inbox WHERE type = 'order.placed'"
                )
            }
        finally:
            conn.close()
        lags = []
        for r in online.execute(
            "SELECT id, time FROM events WHERE source = ? AND type = 'order.placed'",
            (contract.store_down_source(self.store_id),),
        ):
            at = applied.get(str(r[0]))
            if at:
                lags.append(_epoch(at) - _epoch(str(r[1])))
        return lags


def wait(cond: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.2)
    return False
