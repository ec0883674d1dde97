"""Down-events of the returns area: every return of the chain, the web's own and other
stores', comes back as ``return.recorded`` so that "never more than bought" counts them.
This store's own returns come back with the same ``return_id``: kept once. A store-credit
refund names its voucher (``voucher.coupon_id``); the coupon itself comes as ``coupon.issued``
from the online store, the only one that issues coupons."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping
from typing import Any

from edge.returns import views
from edge.store import audit
from edge.store.db import now_iso
from edge.store.inbox import ApplyContext, Handler

log = logging.getLogger("passerelle.returns")


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
    _flag_overrun(conn, purchase, d)
    return True


def _flag_overrun(
    conn: sqlite3.Connection, purchase: sqlite3.Row | None, d: Mapping[str, Any]
) -> None:
    """Two channels took the same goods back while neither knew of the other's return (the
    link was down, or both at once): the money went back twice, and nothing here can undo
    that. Kept, never hidden: flagged in the log and in the audit log, like a coupon used
    twice across channels."""
    if purchase is None:
        return
    row = conn.execute("SELECT * FROM purchases WHERE purchase_id = ?", (purchase[0],)).fetchone()
    b = views.bought(conn, row, d["original"]["kind"])
    bought: dict[str, int] = {}
    for ln in b.lines:
        bought[ln.sku] = bought.get(ln.sku, 0) + ln.qty
    over = {
        sku: qty - bought.get(sku, 0)
        for sku, qty in views.returned(conn, b).items()
        if qty > bought.get(sku, 0)
    }
    if not over:
        return
    log.warning("purchase %s: more returned than bought (%s): a return made in two "
                "channels at once", b.purchase_id, over)  # fmt: skip
    audit.record(
        conn,
        actor="sync",
        role=None,
        action="return.overrun",
        target=b.purchase_id,
        detail={"return_id": d["return_id"], "store_id": d.get("store_id"), "over": over},
    )


HANDLERS: dict[str, Handler] = {"return.recorded": return_recorded}
