"""Store-credit vouchers, made at the till in the return's transaction.

A refund in store credit is a coupon code of the contract: an ``amount`` offer for the whole
basket, one use, for the return's member (or anyone without one). Only the online store
publishes ``coupon.issued``, but the shop must work offline, so the edge writes the offer and
the coupon into its own copy at once, through the very appliers the down-events use (the
rows are the ones ``offer.upserted`` and ``coupon.issued`` would make), and announces the
voucher in ``return.recorded``. The online store then makes the same coupon, with the ids
derived from the return and the same code, and publishes it to every store and the web: this
store applies it as a no-op (same ids), so there is never a second coupon.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

from edge.offers.handlers import apply_coupon_issued, apply_offer_upserted
from edge.returns.rules import Voucher, voucher_code, voucher_id

TITLE = {"fr": "Avoir", "en": "Store credit"}


def _free_code(conn: sqlite3.Connection) -> str:
    """A code no coupon here holds (50 random bits: a clash is for the paranoid)."""
    for _ in range(8):
        code = voucher_code()
        if conn.execute("SELECT 1 FROM coupons WHERE code = ?", (code,)).fetchone() is None:
            return code
    raise RuntimeError("no free voucher code after 8 draws: the random source is broken")


def issue(
    conn: sqlite3.Connection,
    *,
    return_id: str,
    amount: int,
    customer_id: str | None,
    stamp: str,
    valid_days: int,
) -> Voucher:
    """Make the voucher of a return in the caller's transaction, usable here at once."""
    ident = voucher_id(return_id)
    start = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    until = (start + timedelta(days=valid_days)).isoformat(timespec="seconds")
    voucher = Voucher(
        code=_free_code(conn),
        coupon_id=ident,
        offer_id=ident,
        amount=amount,
        valid_until=until.replace("+00:00", "Z"),
    )
    apply_offer_upserted(conn, offer_data(voucher, stamp))
    apply_coupon_issued(conn, coupon_data(voucher, customer_id, stamp))
    return voucher


def offer_data(v: Voucher, stamp: str) -> dict[str, object]:
    """The voucher's offer as ``offer.upserted`` carries it (version 1, never changed)."""
    return {
        "offer_id": v.offer_id,
        "version": 1,
        "title": TITLE,
        "kind": "amount",
        "value": v.amount,
        "min_total": 0,
        "skus": [],
        "valid_from": stamp,
        "valid_until": v.valid_until,
        "active": True,
    }


def coupon_data(v: Voucher, customer_id: str | None, stamp: str) -> dict[str, object]:
    """The voucher's coupon as ``coupon.issued`` carries it (channel ``store``)."""
    return {
        "coupon_id": v.coupon_id,
        "offer_id": v.offer_id,
        "code": v.code,
        "customer_id": customer_id,
        "max_uses": 1,
        "issued_at": stamp,
        "channel": "store",
    }
