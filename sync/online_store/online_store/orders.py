"""Click-and-collect orders in the one history (issue 16), on the online store's side.

- An order paid online is a web purchase as soon as it is paid: ``purchase.recorded`` with
  ``channel`` web, its ``order_id``, ``fulfilment`` pickup and ``store_id`` the pickup store,
  and its points, once (``record_paid_order``, called by ``checkout.place_order``).
- An order paid at the till: the store's ``sale.recorded`` carries its ``order_id``; the
  order is marked paid and the store sale is its one purchase (``paid_at_till``): no second
  purchase is recorded here.

Which purchase is which order is kept in ``purchase_orders`` (its table is in ``db.SCHEMA``).
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from online_store import returns
from online_store.shop import new_id, points_for, record_loyalty, record_purchase


def record_paid_order(
    conn: sqlite3.Connection, order: dict[str, Any], store_id: str, tier: str
) -> dict[str, Any]:
    """The purchase of a click-and-collect order paid online, with its points, once."""
    known = conn.execute(
        "SELECT purchase_id FROM purchase_orders WHERE order_id = ?", (order["order_id"],)
    ).fetchone()
    if known is not None:
        return {"purchase_id": known[0]}
    data = {
        "purchase_id": new_id("wp"),
        "customer_id": order["customer_id"],
        "channel": "web",
        "store_id": store_id,
        "occurred_at": order["placed_at"],
        "currency": order["currency"],
        "total": order["total"],
        "lines": order["lines"],
        "points_earned": points_for(order["total"], tier) if order["customer_id"] else 0,
        "order_id": order["order_id"],
        "fulfilment": "pickup",
    }
    record_purchase(conn, data)
    _link(conn, data["purchase_id"], order["order_id"], "web")
    if data["points_earned"]:
        record_loyalty(
            conn,
            {
                "entry_id": new_id("wl"),
                "customer_id": order["customer_id"],
                "points": data["points_earned"],
                "reason": "purchase",
                "ref": data["purchase_id"],
                "channel": "web",
                "store_id": None,
                "occurred_at": data["occurred_at"],
            },
        )
    return data


def paid_at_till(conn: sqlite3.Connection, store_id: str, sale: dict[str, Any]) -> None:
    """A store sale that paid for one of our orders: the order is paid, and that sale is its
    purchase (recorded by the caller as every store sale is), never a second one."""
    order_id = sale["order_id"]
    conn.execute(
        "UPDATE orders SET paid = 1 WHERE order_id = ? AND store_id = ?", (order_id, store_id)
    )
    _link(conn, sale["sale_id"], order_id, "store")


def _link(conn: sqlite3.Connection, purchase_id: str, order_id: str, paid_by: str) -> None:
    conn.execute(
        "INSERT INTO purchase_orders (purchase_id, order_id, fulfilment, paid_by) "
        "VALUES (?, ?, 'pickup', ?) ON CONFLICT (purchase_id) DO NOTHING",
        (purchase_id, order_id, paid_by),
    )


def purchases_of_orders(
    conn: sqlite3.Connection, purchase_ids: list[str]
) -> dict[str, dict[str, Any]]:
    """For the account page: which purchases were click-and-collect orders, with the order's
    number, store and pickup state."""
    if not purchase_ids:
        return {}
    marks = ",".join("?" * len(purchase_ids))
    rows = conn.execute(
        "SELECT p.purchase_id, o.order_id, o.order_number, o.store_id, o.pickup_status, "
        "o.pickup_updated_at FROM purchase_orders p JOIN orders o ON o.order_id = p.order_id "
        f"WHERE p.purchase_id IN ({marks})",  # noqa: S608 - placeholders only
        purchase_ids,
    ).fetchall()
    return {r["purchase_id"]: dict(r) for r in rows}


def cancel_paid(conn: sqlite3.Connection, order_id: str, reason: str) -> dict[str, Any] | None:
    """A paid order cancelled before collection: everything not yet returned comes back as
    a web return (refund and points taken back), so the one history stays right."""
    known = conn.execute(
        "SELECT p.* FROM purchase_orders o JOIN purchases p ON p.purchase_id = o.purchase_id "
        "WHERE o.order_id = ? AND o.paid_by = 'web'",
        (order_id,),
    ).fetchone()
    if known is None:
        return None
    done = returns.returned(conn, known["purchase_id"], order_id)
    left = {
        ln["sku"]: ln["qty"] - done.get(ln["sku"], 0)
        for ln in json.loads(known["lines"])
        if ln["qty"] > done.get(ln["sku"], 0)
    }
    if not left:
        return None
    return returns.return_order(conn, order_id, left, f"order cancelled: {reason}")
