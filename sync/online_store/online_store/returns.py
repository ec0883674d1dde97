"""Returns in the one history, on the online store's side (issue 16).

- A store's ``return.recorded`` is kept (the order or purchase shows the returned lines and
  the refund) and published again on the chain, as store sales come back as
  ``purchase.recorded``, so that every store counts what was already returned.
- The web's own returns (``return_order``) count every return already made, in any store:
  never more than was bought. They are published on the chain too (``channel`` web), with
  the ledger entries that take back the points earned on the goods.

A return's ledger moves from a store arrive as ``loyalty.entry`` events of their own.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from typing import Any

from online_store import coupons, streams
from online_store.db import now_iso
from online_store.shop import ShopError, new_id, record_loyalty


def _purchase_of(conn: sqlite3.Connection, ident: str) -> sqlite3.Row | None:
    """The purchase a return names: a purchase (store sale or web) by id, or an order's."""
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM purchases WHERE purchase_id = ?", (ident,)
    ).fetchone()
    if row is None:
        row = conn.execute(
            "SELECT p.* FROM purchase_orders o JOIN purchases p ON p.purchase_id = o.purchase_id "
            "WHERE o.order_id = ? ORDER BY o.paid_by = 'web' DESC LIMIT 1",
            (ident,),
        ).fetchone()
    return row


def _keep(
    conn: sqlite3.Connection, d: Mapping[str, Any], channel: str, store_id: str | None
) -> bool:
    purchase = _purchase_of(conn, d["original"]["id"])
    cur = conn.execute(
        "INSERT INTO returns (return_id, channel, store_id, original_kind, original_id, "
        "purchase_id, customer_id, occurred_at, currency, total_refunded, points_reversed, "
        "points_restored, reason, lines, refunds, exchange_of) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (return_id) DO NOTHING",
        (
            d["return_id"],
            channel,
            store_id,
            d["original"]["kind"],
            d["original"]["id"],
            purchase["purchase_id"] if purchase else None,
            d.get("customer_id"),
            d["occurred_at"],
            d["currency"],
            d["total_refunded"],
            d["points_reversed"],
            d["points_restored"],
            d["reason"],
            json.dumps(d["lines"], ensure_ascii=False),
            json.dumps(d["refunds"]),
            d.get("exchange_of"),
        ),
    )
    if not cur.rowcount:
        return False
    streams.append(
        conn, streams.CHAIN, "return.recorded", {**d, "store_id": store_id, "channel": channel}
    )
    return True


def apply_store_return(conn: sqlite3.Connection, store_id: str, d: dict[str, Any]) -> None:
    """A store took goods back (of its sale, another store's, or one of our orders). A
    refund in store credit names the voucher the till made: it becomes a coupon here and
    in every store (``coupons.store_credit_voucher``), once, with the return."""
    if not _keep(conn, d, "store", store_id):
        return
    for refund in d["refunds"]:
        if refund.get("voucher"):
            coupons.store_credit_voucher(conn, store_id, d, refund)


def returned(conn: sqlite3.Connection, purchase_id: str, order_id: str | None) -> dict[str, int]:
    """Units of each SKU already taken back from a purchase, by the web or any store."""
    out: dict[str, int] = {}
    for r in conn.execute(
        "SELECT lines FROM returns WHERE purchase_id = ? OR original_id IN (?, ?)",
        (purchase_id, purchase_id, order_id or purchase_id),
    ):
        for ln in json.loads(r["lines"]):
            out[ln["sku"]] = out.get(ln["sku"], 0) + int(ln["qty"])
    return out


def _share(amount: int, qty: int, already: int, units: int) -> int:
    return amount * (already + units) // qty - amount * already // qty


def return_order(
    conn: sqlite3.Connection,
    ident: str,
    quantities: dict[str, int],
    reason: str = "returned by post",
) -> dict[str, Any]:
    """A web return (by post) of a web order or purchase: refused beyond what was bought
    minus what the web and every store already took back."""
    purchase = _purchase_of(conn, ident)
    if purchase is None:
        raise ShopError(f"no purchase or order {ident!r}", code="not_found", status=404)
    order = conn.execute(
        "SELECT order_id FROM purchase_orders WHERE purchase_id = ?", (purchase["purchase_id"],)
    ).fetchone()
    order_id = order[0] if order else None
    lines = json.loads(purchase["lines"])
    gross = [ln["qty"] * ln["unit_price"] for ln in lines]
    whole = sum(gross) or 1
    # What each SKU was paid: the purchase total spread over the lines' prices.
    paid = {ln["sku"]: purchase["total"] * g // whole for ln, g in zip(lines, gross, strict=True)}
    earned = {
        ln["sku"]: purchase["points_earned"] * g // whole
        for ln, g in zip(lines, gross, strict=True)
    }
    bought = {ln["sku"]: ln for ln in lines}
    done = returned(conn, purchase["purchase_id"], order_id)
    out_lines, points = [], 0
    for sku, qty in quantities.items():
        if sku not in bought:
            raise ShopError(f"{sku} is not in this purchase", field="sku")
        left = bought[sku]["qty"] - done.get(sku, 0)
        if not 1 <= qty <= left:
            raise ShopError(
                f"{qty} x {sku} cannot come back: {left} left to return",
                field=f"qty_{sku}",
                code="more_than_bought",
                status=409,
            )
        n = bought[sku]["qty"]
        out_lines.append(
            {
                "sku": sku,
                "name": bought[sku]["name"],
                "qty": qty,
                "refund": _share(paid[sku], n, done.get(sku, 0), qty),
            }
        )
        points += _share(earned[sku], n, done.get(sku, 0), qty)
    if not out_lines:
        raise ShopError("choose what comes back", field="lines")
    total = sum(ln["refund"] for ln in out_lines)
    at = now_iso()
    rid = new_id("wr")
    data = {
        "return_id": rid,
        "terminal_id": None,
        "cashier_id": None,
        "customer_id": purchase["customer_id"],
        "original": {
            "kind": "order" if order_id or purchase["channel"] == "web" else "sale",
            "id": order_id or purchase["purchase_id"],
        },
        "occurred_at": at,
        "currency": purchase["currency"],
        "lines": out_lines,
        "total_refunded": total,
        "refunds": [{"method": "card", "amount": total}] if total else [],
        "points_reversed": points if purchase["customer_id"] else 0,
        "points_restored": 0,
        "reason": reason[:200] or "returned",
    }
    _keep(conn, data, "web", None)
    if data["points_reversed"]:
        record_loyalty(
            conn,
            {
                "entry_id": new_id("wl"),
                "customer_id": purchase["customer_id"],
                "points": -data["points_reversed"],
                "reason": "adjust",
                "ref": rid,
                "channel": "web",
                "store_id": None,
                "occurred_at": at,
            },
        )
    return data


def returns_of(conn: sqlite3.Connection, customer_id: str) -> list[dict[str, Any]]:
    """A customer's returns, web and store, newest first (the account page)."""
    rows = conn.execute(
        "SELECT * FROM returns WHERE customer_id = ? ORDER BY occurred_at DESC", (customer_id,)
    ).fetchall()
    return [
        {**dict(r), "lines": json.loads(r["lines"]), "refunds": json.loads(r["refunds"])}
        for r in rows
    ]
