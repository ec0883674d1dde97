"""The stores' stock, as the web knows it: each store's ``stock.changed``, applied never older
over newer, re-published on the chain (so every edge can say "3 at S002"), shown on the
product and order pages with when it was last updated, and checked when a shopper orders
click-and-collect: the web never promises more than the store has available.

A store that has never sent a figure for a SKU has not said anything about it: such an order
is accepted (the store's board shows it short if the shelf cannot cover it).
"""

from __future__ import annotations

import json
import sqlite3
from typing import TYPE_CHECKING, Any

from online_store import db, shop, streams
from online_store.shop import ShopError

if TYPE_CHECKING:
    from flask import Flask


def apply_changed(conn: sqlite3.Connection, store_id: str, d: dict[str, Any]) -> bool:
    """A store's figures for one SKU (the caller holds the transaction). Applied only if its
    version is greater than the one kept, then re-published on the chain for every store.
    The topic names the store: figures claiming another store are refused (dead letter)."""
    claimed = d.get("store_id")
    if claimed is not None and claimed != store_id:
        conn.execute(
            "INSERT INTO dead_letters (topic, payload, reason, received_at) VALUES (?, ?, ?, ?)",
            (
                f"stores/{store_id}/up/stock.changed",
                json.dumps(d, ensure_ascii=False),
                f"data.store_id {claimed!r} is not the topic's store {store_id!r}",
                db.now_iso(),
            ),
        )
        return False
    data = {**d, "store_id": store_id}
    cur = conn.execute(
        "INSERT INTO store_stock (store_id, sku, on_hand, reserved, available, version, reason, "
        "occurred_at, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (store_id, sku) DO UPDATE SET on_hand = excluded.on_hand, "
        "reserved = excluded.reserved, available = excluded.available, "
        "version = excluded.version, reason = excluded.reason, "
        "occurred_at = excluded.occurred_at, received_at = excluded.received_at "
        "WHERE excluded.version > store_stock.version",
        (
            store_id,
            data["sku"],
            int(data["on_hand"]),
            int(data["reserved"]),
            int(data["available"]),
            int(data["version"]),
            data["reason"],
            data["occurred_at"],
            db.now_iso(),
        ),
    )
    if cur.rowcount != 1:
        return False
    streams.append(conn, streams.CHAIN, "stock.changed", data)
    return True


def by_sku(conn: sqlite3.Connection) -> dict[str, list[dict[str, Any]]]:
    """Every SKU's figures per store: ``{sku: [{"store_id", "available", "updated_at"}]}``."""
    out: dict[str, list[dict[str, Any]]] = {}
    for r in conn.execute(
        "SELECT store_id, sku, available, occurred_at FROM store_stock ORDER BY sku, store_id"
    ):
        out.setdefault(r["sku"], []).append(
            {
                "store_id": r["store_id"],
                "available": max(int(r["available"]), 0),
                "updated_at": r["occurred_at"],
            }
        )
    return out


def available(conn: sqlite3.Connection, store_id: str, sku: str) -> int | None:
    """What the store last said it has available (None: it never said)."""
    row = conn.execute(
        "SELECT available FROM store_stock WHERE store_id = ? AND sku = ?", (store_id, sku)
    ).fetchone()
    return None if row is None else max(int(row[0]), 0)


def check_order(conn: sqlite3.Connection, store_id: str, lines: list[dict[str, Any]]) -> None:
    """Refuse a click-and-collect order for more than the store has available, saying which
    product and how many there are (``ShopError``, code ``not_enough_stock``)."""
    for line in lines:
        have = available(conn, store_id, line["sku"])
        if have is not None and line["qty"] > have:
            raise ShopError(
                f"only {have} × {line['name']} available at {store_id}: "
                f"you asked for {line['qty']}",
                field=f"qty_{line['sku']}",
                code="not_enough_stock",
                status=409,
            )


def init_app(app: Flask, store: Any) -> None:
    """The products page (availability per store, last update) and ``stock_by_sku()`` for
    the templates of the order pages. ``store`` is the ``OnlineStore`` (its connections)."""
    from flask import render_template

    def stock_by_sku() -> dict[str, list[dict[str, Any]]]:
        with store.connection() as conn:
            return by_sku(conn)

    app.jinja_env.globals["stock_by_sku"] = stock_by_sku

    @app.get("/products")
    def products() -> str:
        with store.connection() as conn:
            return render_template(
                "products.html",
                products=shop.products(conn),
                stock=by_sku(conn),
                stores=store.stores,
            )
