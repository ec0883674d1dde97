"""Stock end to end, every part real: the edge (its API, and its workers as a process, as
systemd runs them), Mosquitto, and the reference online store.

- a sale of 2 lowers available by 2 and the web shows it within seconds;
- the web refuses a click-and-collect order of more than the store has, accepts one it has,
  and sees the reservation come back in the figures;
- another store's figures come down the chain: the kiosk can say "3 at S002";
- a burst of 1,000 sales of one SKU reaches the web as far fewer events, ending on the right
  figure and the latest version.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.publish as mqtt_publish
import pytest
import requests
from flask.testing import FlaskClient
from online_store import OnlineStore
from online_store.shop import ShopError

from edge.stock import service as stock
from edge.store import db
from tests.stock.conftest import stock_events
from tests.support import both_sides
from tests.support.broker import Broker
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow
PREFIX = both_sides.PREFIX


@pytest.fixture
def online(tmp_path: Path, mosquitto: Broker) -> Iterator[tuple[OnlineStore, str]]:
    with both_sides.online_store(str(tmp_path / "online.db"), mosquitto, ["S001", "S002"]) as pair:
        yield pair


@pytest.fixture
def edge_workers(
    tmp_path: Path, db_path: Path, mosquitto: Broker, online: tuple[OnlineStore, str]
) -> Iterator[None]:
    with both_sides.edge_workers(tmp_path, db_path, mosquitto, online[1], "all"):
        yield


def web_figures(store: OnlineStore, store_id: str, sku: str) -> dict[str, Any] | None:
    with store.connection() as conn:
        row = conn.execute(
            "SELECT * FROM store_stock WHERE store_id = ? AND sku = ?", (store_id, sku)
        ).fetchone()
        return dict(row) if row else None


def test_stock_reaches_the_web_and_comes_back_down_the_chain(
    client: FlaskClient,
    headers: Callable[..., dict[str, str]],
    catalogue: list[str],
    conn: sqlite3.Connection,
    online: tuple[OnlineStore, str],
    edge_workers: None,
    mosquitto: Broker,
) -> None:
    store, url = online
    r = client.post(
        "/api/v1/stock/receipts",
        json={"ref": "BL-1", "lines": [{"sku": "SKU-MUG", "qty": 5}]},
        headers=headers("staff", Idempotency_Key="r-1"),
    )
    assert r.status_code == 201, r.json
    wait_until(
        lambda: (web_figures(store, "S001", "SKU-MUG") or {}).get("available") == 5,
        what="the receipt on the web",
    )
    r = client.post(
        "/api/v1/sales",
        json={"terminal_id": "pos-1", "currency": "EUR", "lines": [{"sku": "SKU-MUG", "qty": 2}]},
        headers=headers("pos", Idempotency_Key="s-1"),
    )
    assert r.status_code == 201, r.json
    wait_until(
        lambda: "available at S001: 3" in requests.get(f"{url}/products", timeout=5).text,
        timeout=10,
        what="the sale of 2 on the web's product page",
    )

    # The web promises no more than the store has, and sees the reservation come back.
    with pytest.raises(ShopError, match="only 3 × Mug") as refused:
        store.place_order(_customer(store), "S001", {"SKU-MUG": 4})
    assert refused.value.code == "not_enough_stock"
    order = store.place_order(_customer(store), "S001", {"SKU-MUG": 2})
    wait_until(
        lambda: (web_figures(store, "S001", "SKU-MUG") or {}).get("reserved") == 2,
        what="the order's reservation on the web",
    )
    assert web_figures(store, "S001", "SKU-MUG")["available"] == 1  # type: ignore[index]
    held = conn.execute(
        "SELECT qty FROM stock_reservations WHERE order_id = ? AND closed IS NULL",
        (order["order_id"],),
    ).fetchone()
    assert held[0] == 2

    # Another store's figures: up from "S002", re-published on the chain, kept by this edge.
    event = {
        "specversion": "1.0", "id": str(uuid.uuid4()), "source": "/stores/S002",
        "type": "stock.changed", "time": "2026-11-22T10:15:00Z", "sequence": "1",
        "datacontenttype": "application/json",
        "data": {"sku": "SKU-MUG", "store_id": "S002", "on_hand": 3, "reserved": 0,
                 "available": 3, "version": 1, "reason": "count",
                 "occurred_at": "2026-11-22T10:15:00Z"},
    }  # fmt: skip
    mqtt_publish.single(
        f"{PREFIX}/stores/S002/up/stock.changed",
        json.dumps(event),
        qos=1,
        hostname="127.0.0.1",
        port=mosquitto.port,
    )

    def kiosk_says_s002() -> Any:
        r = client.get("/api/v1/stock/lookup?q=SKU-MUG", headers=headers("kiosk"))
        return r.json["items"][0]["elsewhere"]

    elsewhere = wait_until(kiosk_says_s002, what="S002's mugs at S001's kiosk")
    assert elsewhere[0]["store_id"] == "S002" and elsewhere[0]["available"] == 3
    assert store.dead_letters() == []

    # A burst: 1,000 sales of one SKU, each in its own transaction, while the worker sends.
    src = "/stores/S001"
    with db.write(conn):
        stock.move(conn, "SKU-CREME", "count", 1000, source=src, actor="test")
    for i in range(1000):
        with db.write(conn):
            stock.sold(conn, [("SKU-CREME", 1)], sale_id=f"burst-{i}", actor="pos-1", source=src)
    final = conn.execute("SELECT version FROM stock_levels WHERE sku = 'SKU-CREME'").fetchone()[0]
    assert final == 1001
    wait_until(
        lambda: (web_figures(store, "S001", "SKU-CREME") or {}).get("version") == final,
        timeout=15,
        what="the burst's last version on the web",
    )
    assert web_figures(store, "S001", "SKU-CREME")["on_hand"] == 0  # type: ignore[index]
    sent = stock_events(conn, "SKU-CREME")
    assert len(sent) < 200, len(sent)  # far fewer events than changes
    assert [e["version"] for e in sent] == sorted(e["version"] for e in sent)
    seqs = [r[0] for r in conn.execute("SELECT sequence FROM outbox ORDER BY sequence")]
    assert seqs == list(range(1, len(seqs) + 1))
    assert store.dead_letters() == []


def _customer(store: OnlineStore) -> str:
    return str(store.upsert_customer(first_name="Ana", last_name="Web", locale="fr")["customer_id"])
