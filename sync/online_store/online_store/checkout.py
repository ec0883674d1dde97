"""What a shopper buys on the web: a delivered purchase, or a click-and-collect order for a
store (placed, cancelled, and followed through the store's ``pickup.updated``). A code given
at checkout is spent here (``coupons.redeem``) in the same transaction as the purchase."""

from __future__ import annotations

import json
import secrets
import sqlite3
from typing import Any

from online_store import letters, stock, streams
from online_store import orders as paid_orders
from online_store.coupons import redeem
from online_store.db import next_counter, now_iso
from online_store.shop import (
    CURRENCY,
    PICKUP_DAYS,
    ShopError,
    _in,
    basket,
    customer,
    new_id,
    points_for,
    record_loyalty,
    record_purchase,
)
from sync import contract


def record_web_purchase(
    conn: sqlite3.Connection,
    customer_id: str,
    quantities: dict[str, int],
    coupon_code: str | None = None,
) -> dict[str, Any]:
    """A purchase on the website: ``purchase.recorded`` (channel web) and its points as a
    ``loyalty.entry``, with a coupon redeemed first if one is given."""
    member = customer(conn, customer_id)
    lines = basket(conn, quantities)
    purchase_id = new_id("wp")
    discount = redeem(conn, coupon_code, customer_id, lines, purchase_id) if coupon_code else 0
    total = sum(ln["qty"] * ln["unit_price"] for ln in lines) - discount
    at = now_iso()
    data = {
        "purchase_id": purchase_id,
        "customer_id": customer_id,
        "channel": "web",
        "store_id": None,
        "occurred_at": at,
        "currency": CURRENCY,
        "total": total,
        "lines": lines,
        "points_earned": points_for(total, member["tier"]),
    }
    record_purchase(conn, data)
    if data["points_earned"]:
        record_loyalty(
            conn,
            {
                "entry_id": new_id("wl"),
                "customer_id": customer_id,
                "points": data["points_earned"],
                "reason": "purchase",
                "ref": purchase_id,
                "channel": "web",
                "store_id": None,
                "occurred_at": at,
            },
        )
    return data


def place_order(
    conn: sqlite3.Connection,
    customer_id: str,
    store_id: str,
    quantities: dict[str, int],
    *,
    stores: list[str],
    paid: bool = True,
    coupon_code: str | None = None,
) -> dict[str, Any]:
    """A click-and-collect order for ``store_id``: ``order.placed`` on that store's stream."""
    if store_id not in stores:
        raise ShopError(f"no store {store_id!r}", field="store_id", code="unknown_store")
    member = customer(conn, customer_id)
    lines = basket(conn, quantities)
    stock.check_order(conn, store_id, lines)  # never more than the store has available
    order_id = new_id("wo")
    discount = redeem(conn, coupon_code, customer_id, lines, order_id) if coupon_code else 0
    data = {
        "order_id": order_id,
        "order_number": f"W-{next_counter(conn, 'order_number', 100001)}",
        "customer_id": customer_id,
        "customer_name": f"{member['first_name']} {member['last_name']}".strip() or "client",
        "pickup_code": f"{secrets.randbelow(1_000_000):06d}",
        "currency": CURRENCY,
        "total": sum(ln["qty"] * ln["unit_price"] for ln in lines) - discount,
        "paid": paid,
        "lines": lines,
        "placed_at": now_iso(),
        "pickup_by": _in(PICKUP_DAYS),
    }
    conn.execute(
        "INSERT INTO orders (order_id, order_number, store_id, customer_id, pickup_code, "
        "currency, total, discount, paid, lines, placed_at, pickup_by) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            order_id,
            data["order_number"],
            store_id,
            customer_id,
            data["pickup_code"],
            CURRENCY,
            data["total"],
            discount,
            paid,
            json.dumps(lines, ensure_ascii=False),
            data["placed_at"],
            data["pickup_by"],
        ),
    )
    streams.append(conn, contract.store_down_source(store_id), "order.placed", data)
    placed = {**data, "store_id": store_id, "discount": discount}
    # the confirmation e-mail, in the same transaction as the order it confirms
    letters.record(conn, letters.order_letter(member, placed))
    if paid:  # paid online: a web purchase in the one history now, with its points (issue 16)
        paid_orders.record_paid_order(conn, data, store_id, member["tier"])
    return placed


def cancel_order(conn: sqlite3.Connection, order_id: str, reason: str) -> dict[str, Any]:
    """Cancel an order not collected yet: ``order.cancelled`` on its store's stream."""
    row = conn.execute("SELECT * FROM orders WHERE order_id = ?", (order_id,)).fetchone()
    if row is None:
        raise ShopError(f"no order {order_id!r}", code="not_found", status=404)
    if row["cancelled_reason"] is not None:
        raise ShopError("this order is already cancelled", code="already_cancelled", status=409)
    if row["pickup_status"] == "collected":
        raise ShopError("this order was collected", code="collected", status=409)
    reason = (reason or "").strip() or "cancelled by the customer"
    conn.execute(
        "UPDATE orders SET cancelled_reason = ? WHERE order_id = ?", (reason[:500], order_id)
    )
    data = {"order_id": order_id, "reason": reason[:500]}
    streams.append(conn, contract.store_down_source(row["store_id"]), "order.cancelled", data)
    paid_orders.cancel_paid(conn, order_id, reason[:150])  # refunded: points taken back
    return data


def pickup_updated(conn: sqlite3.Connection, data: dict[str, Any]) -> None:
    """A store moved one of our orders along (received … collected): show it to the shopper."""
    conn.execute(
        "UPDATE orders SET pickup_status = ?, pickup_updated_at = ? WHERE order_id = ? "
        "AND (pickup_updated_at IS NULL OR pickup_updated_at <= ?)",
        (data["status"], data["occurred_at"], data["order_id"], data["occurred_at"]),
    )


def orders(conn: sqlite3.Connection, customer_id: str | None = None) -> list[dict[str, Any]]:
    sql = "SELECT * FROM orders"
    args: tuple[str, ...] = ()
    if customer_id is not None:
        sql, args = sql + " WHERE customer_id = ?", (customer_id,)
    rows = conn.execute(sql + " ORDER BY placed_at DESC", args).fetchall()
    return [{**dict(r), "lines": json.loads(r["lines"])} for r in rows]
