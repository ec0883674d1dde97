"""Read models of the sales area: a recorded sale as the API and the receipts show it."""

from __future__ import annotations

import sqlite3
from typing import Any

from edge.loyalty import views as loyalty
from edge.offers import views as offers


def get_sale(conn: sqlite3.Connection, sale_id: str) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM sales WHERE sale_id = ?", (sale_id,)).fetchone()


def sale_body(conn: sqlite3.Connection, row: sqlite3.Row) -> dict[str, Any]:
    """A recorded sale as the API shows it (reprints, lookups by id)."""
    lines = [
        {"sku": r["sku"], "name": r["name"], "qty": r["qty"], "unit_price": r["unit_price"]}
        for r in conn.execute(
            "SELECT * FROM purchase_lines WHERE purchase_id = ? ORDER BY line_no", (row["sale_id"],)
        )
    ]
    return {
        "sale_id": row["sale_id"],
        "occurred_at": row["occurred_at"],
        "currency": row["currency"],
        "subtotal": row["subtotal"],
        "discount": row["discount"],
        "points_value": row["points_value"],
        "total": row["total"],
        "points_earned": row["points_earned"],
        "points_redeemed": row["points_redeemed"],
        "points_balance": loyalty.balance(conn, row["customer_id"]) if row["customer_id"] else None,
        "lines": lines,
        "coupons": offers.sale_coupons(conn, row["sale_id"]),
        "order_id": row["order_id"],
        "payments": payments(conn, row["sale_id"]),
        "change_due": row["change_due"],
        "exchange_of": row["exchange_of"],
    }


def payments(conn: sqlite3.Connection, sale_id: str) -> list[dict[str, Any]]:
    """A sale's tenders, in the order they were taken."""
    return [
        {"method": r["method"], "amount": r["amount"]}
        for r in conn.execute(
            "SELECT method, amount FROM sale_payments WHERE sale_id = ? ORDER BY n", (sale_id,)
        )
    ]
