"""Both sides for real: the store edge (its API, and its sync worker as a process, as systemd
runs it) and the reference online store, on one Mosquitto. What the demo shows, checked:
a web customer and a web purchase reach the store; a store sale reaches the web account."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from online_store import OnlineStore

from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow


def test_web_and_store_see_one_history(
    client: FlaskClient,
    headers: Callable[..., dict[str, str]],
    seeded: dict[str, Any],
    conn: sqlite3.Connection,
    online: tuple[OnlineStore, str],
    edge_worker: None,
) -> None:
    store, _ = online

    # Web → store: a new customer, then a web purchase with its points.
    web_id = store.upsert_customer(first_name="Nina", last_name="Web", locale="en")["customer_id"]
    wait_until(
        lambda: conn.execute("SELECT 1 FROM customers WHERE customer_id = ?", (web_id,)).fetchone(),
        timeout=30,
        what="the web customer in the store",
    )
    web_purchase = store.record_web_purchase("c-0001", {"SKU-MUG": 1})

    def in_store_history() -> bool:
        r = client.get("/api/v1/customers/c-0001/history?limit=50", headers=headers("pos"))
        return web_purchase["purchase_id"] in {i.get("purchase_id") for i in r.json["items"]}

    wait_until(in_store_history, timeout=30, what="the web purchase in the store's history")

    # Store → web: a sale at the till lands in the web account, with its points.
    before = store.balance("c-0001")
    r = client.post(
        "/api/v1/sales",
        json={"terminal_id": "pos-1", "customer_id": "c-0001", "currency": "EUR",
              "lines": [{"sku": "SKU-CAFE-250", "qty": 3}]},
        headers=headers("pos", Idempotency_Key="e2e-1"),
    )  # fmt: skip
    assert r.status_code == 201, r.json
    sale_id = r.json["sale_id"]
    wait_until(
        lambda: sale_id in {p["purchase_id"] for p in store.purchases("c-0001")},
        timeout=30,
        what="the store sale in the web account",
    )
    wait_until(lambda: store.balance("c-0001") > before, what="the store's points on the web")
    assert store.dead_letters() == []
    # The sale came back down as purchase.recorded: the store still counts it once.
    wait_until(
        lambda: any(
            e["data"]["purchase_id"] == sale_id
            for e in store.events("chain")
            if e["type"] == "purchase.recorded"
        ),
        what="the sale re-published on the chain",
    )
    count = conn.execute(
        "SELECT COUNT(*) FROM purchases WHERE purchase_id = ?", (sale_id,)
    ).fetchone()[0]
    assert count == 1
