"""Down-events of the returns area: every return of the chain, the web's own and other
stores', comes back as ``return.recorded`` so that "never more than bought" counts them.
This store's own returns come back with the same ``return_id``: kept once. A store-credit
refund names its voucher (``voucher.coupon_id``); the coupon itself comes as ``coupon.issued``
from the online store, the only one that issues coupons."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

from edge.store.db import now_iso
from edge.store.inbox import ApplyContext, Handler


def return_recorded(conn: sqlite3.Connection, d: Mapping[str, Any], ctx: ApplyContext) -> bool:
    original = d["original"]
    purchase = conn.execute(
        "SELECT purchase_id FROM purchases WHERE purchase_id = ? OR order_id = ? "
        "ORDER BY channel = 'web' DESC LIMIT 1",
        (original["id"], original["id"]),
    ).fetchone()
    cur = conn.execute(
        "INSERT INTO returns (return_id, kind, original_kind, original_id, purchase_id, "
        "store_id, terminal_id, cashier_id, customer_id, occurred_at, currency, total_refunded, "
        "points_reversed, points_restored, reason, exchange_of, origin, recorded_at) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,'down',?) ON CONFLICT (return_id) DO NOTHING",
        (
            d["return_id"],
            "exchange" if d.get("exchange_of") else "return",
            original["kind"],
            original["id"],
            purchase["purchase_id"] if purchase else original["id"],
            d.get("store_id"),
            d.get("terminal_id"),
            d.get("cashier_id"),
            d.get("customer_id"),
            d["occurred_at"],
            d["currency"],
            d["total_refunded"],
            d["points_reversed"],
            d["points_restored"],
            d["reason"],
            d.get("exchange_of"),
            now_iso(),
        ),
    )
    if cur.rowcount != 1:
        return False
    conn.executemany(
        "INSERT INTO return_lines (return_id, line_no, sku, name, qty, refund) "
        "VALUES (?,?,?,?,?,?)",
        [
            (d["return_id"], n, ln["sku"], ln["name"], ln["qty"], ln["refund"])
            for n, ln in enumerate(d["lines"], start=1)
        ],
    )
    conn.executemany(
        "INSERT INTO return_refunds (return_id, n, method, amount, coupon_id) VALUES (?,?,?,?,?)",
        [
            (d["return_id"], n, r["method"], r["amount"], (r.get("voucher") or {}).get("coupon_id"))
            for n, r in enumerate(d["refunds"], start=1)
            if r["amount"]
        ],
    )
    return True


HANDLERS: dict[str, Handler] = {"return.recorded": return_recorded}
