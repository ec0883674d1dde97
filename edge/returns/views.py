"""Read models of the returns area: a purchase as a return sees it, what was already taken
back (in every channel), and a recorded return as the API and the receipts show it."""

from __future__ import annotations

import sqlite3
from typing import Any

from edge.errors import NotFound
from edge.returns.rules import Bought, BoughtLine


def find_purchase(conn: sqlite3.Connection, kind: str, ident: str) -> sqlite3.Row:
    """The purchase a return takes back from: a store sale by its id (this store's, or
    another's that the online store's history brought down), or a web order by its id, its
    number (``W-100234``) or its purchase id. What this store has never seen is refused: it
    never guesses a price."""
    row: sqlite3.Row | None
    if kind == "sale":
        row = conn.execute(
            "SELECT * FROM purchases WHERE purchase_id = ? AND channel = 'store'", (ident,)
        ).fetchone()
    else:
        number = conn.execute(
            "SELECT order_id FROM pickup_orders WHERE order_number = ?", (ident,)
        ).fetchone()
        order_id = number["order_id"] if number else ident
        row = (
            conn.execute(
                "SELECT * FROM purchases WHERE order_id = ? ORDER BY channel = 'web' DESC LIMIT 1",
                (order_id,),
            ).fetchone()
            or conn.execute(
                "SELECT * FROM purchases WHERE purchase_id = ? AND channel = 'web'", (ident,)
            ).fetchone()
        )
    if row is None:
        what = "sale" if kind == "sale" else "web order"
        raise NotFound(
            f"this store has no {what} {ident!r}, neither its own nor in the history the "
            "online store sent: it cannot be returned here",
            field="original.id",
            code="unknown_original",
        )
    return row


def bought(conn: sqlite3.Connection, row: sqlite3.Row, kind: str) -> Bought:
    """The purchase with what the store knows of how it was paid: for its own sales the
    coupon share of each line, the points redeemed and the tenders."""
    pid = row["purchase_id"]
    lines = conn.execute(
        "SELECT * FROM purchase_lines WHERE purchase_id = ? ORDER BY line_no", (pid,)
    ).fetchall()
    sale = conn.execute("SELECT * FROM sales WHERE sale_id = ?", (pid,)).fetchone()
    shares: dict[int, int] = {}
    payments: list[tuple[str, int]] = []
    redeemed = 0
    if sale is not None:
        for r in conn.execute(
            "SELECT l.line_no, SUM(l.discount) AS d FROM coupon_redemption_lines l "
            "JOIN coupon_redemptions c ON c.redemption_id = l.redemption_id "
            "WHERE c.ref = ? AND c.origin = 'local' GROUP BY l.line_no",
            (pid,),
        ):
            shares[r["line_no"]] = r["d"]
        payments = [
            (p["method"], p["amount"])
            for p in conn.execute(
                "SELECT method, amount FROM sale_payments WHERE sale_id = ? ORDER BY n", (pid,)
            )
        ] or ([(sale["payment_method"], sale["total"])] if sale["total"] else [])
        redeemed = sale["points_redeemed"]
    original_id = pid
    if kind == "order":
        original_id = row["order_id"] or pid
    return Bought(
        purchase_id=pid,
        kind=kind,
        original_id=original_id,
        customer_id=row["customer_id"],
        occurred_at=row["occurred_at"],
        currency=row["currency"],
        lines=[
            BoughtLine(
                ln["sku"], ln["name"], ln["qty"], ln["unit_price"], shares.get(ln["line_no"], 0)
            )
            for ln in lines
        ],
        total=row["total"],
        points_earned=row["points_earned"],
        points_redeemed=redeemed,
        payments=tuple(payments),
        ours=sale is not None,
    )


def returned(conn: sqlite3.Connection, b: Bought) -> dict[str, int]:
    """Units of each SKU already taken back from this purchase, in any channel or store."""
    rows = conn.execute(
        "SELECT l.sku, SUM(l.qty) AS qty FROM returns r JOIN return_lines l "
        "ON l.return_id = r.return_id WHERE r.purchase_id = ? "
        "OR (r.original_kind = 'order' AND r.original_id = ?) GROUP BY l.sku",
        (b.purchase_id, b.original_id),
    ).fetchall()
    return {r["sku"]: int(r["qty"]) for r in rows}


def get_return(conn: sqlite3.Connection, return_id: str) -> dict[str, Any]:
    row = conn.execute("SELECT * FROM returns WHERE return_id = ?", (return_id,)).fetchone()
    if row is None:
        raise NotFound(f"no return {return_id!r}", field="return_id")
    return return_body(conn, row)


def return_body(conn: sqlite3.Connection, row: sqlite3.Row) -> dict[str, Any]:
    rid = row["return_id"]
    return {
        "return_id": rid,
        "kind": row["kind"],
        "original": {"kind": row["original_kind"], "id": row["original_id"]},
        "purchase_id": row["purchase_id"],
        "customer_id": row["customer_id"],
        "occurred_at": row["occurred_at"],
        "currency": row["currency"],
        "lines": [
            {"sku": r["sku"], "name": r["name"], "qty": r["qty"], "refund": r["refund"]}
            for r in conn.execute(
                "SELECT * FROM return_lines WHERE return_id = ? ORDER BY line_no", (rid,)
            )
        ],
        "total_refunded": row["total_refunded"],
        "refunds": [
            _refund(r)
            for r in conn.execute(
                "SELECT f.method, f.amount, f.coupon_id, c.code, c.offer_id, o.valid_until "
                "FROM return_refunds f LEFT JOIN coupons c ON c.coupon_id = f.coupon_id "
                "LEFT JOIN offers o ON o.offer_id = c.offer_id "
                "WHERE f.return_id = ? ORDER BY f.n",
                (rid,),
            )
        ],
        "points_reversed": row["points_reversed"],
        "points_restored": row["points_restored"],
        "reason": row["reason"],
        "approved_by": row["approved_by"],
        "exchange_of": row["exchange_of"],
    }


def _refund(r: sqlite3.Row) -> dict[str, Any]:
    """A refund as the till and the history show it; store credit with its voucher (whose
    code is known here once the coupon is: at once for this store's own returns)."""
    out: dict[str, Any] = {"method": r["method"], "amount": r["amount"]}
    if r["coupon_id"]:
        out["voucher"] = {
            "coupon_id": r["coupon_id"],
            "offer_id": r["offer_id"],
            "code": r["code"],
            "valid_until": r["valid_until"],
        }
    return out


def for_purchases(conn: sqlite3.Connection, purchase_ids: list[str]) -> dict[str, list[Any]]:
    """The returns of several purchases (a history page), by purchase id."""
    out: dict[str, list[Any]] = {pid: [] for pid in purchase_ids}
    if not purchase_ids:
        return out
    marks = ",".join("?" * len(purchase_ids))
    for row in conn.execute(
        f"SELECT * FROM returns WHERE purchase_id IN ({marks}) "  # noqa: S608
        "ORDER BY occurred_at, return_id",
        purchase_ids,
    ):
        out[row["purchase_id"]].append(return_body(conn, row))
    return out
