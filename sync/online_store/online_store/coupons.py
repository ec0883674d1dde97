"""The online store's offers and coupons: offers created on its pages, personal codes issued
to members, and each code spent once in either channel (the web's redemptions and the
stores' ``coupon.redeemed``). Like the rest of the shop, each function runs inside the
caller's ``db.write(conn)`` and appends the events it announces in that transaction."""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from online_store import consents, letters, streams
from online_store.auth import Refused
from online_store.db import now_iso
from online_store.shop import CODE_ALPHABET, ShopError, _in, _when, customer, new_id


def create_offer(
    conn: sqlite3.Connection,
    *,
    title_fr: str,
    title_en: str,
    kind: str,
    value: int,
    min_total: int = 0,
    skus: list[str] | None = None,
    valid_days: int = 30,
) -> dict[str, Any]:
    """A cross-channel offer, usable on the web and in every store: ``offer.upserted``."""
    title = {k: v.strip() for k, v in (("fr", title_fr), ("en", title_en)) if v and v.strip()}
    if not title:
        raise ShopError("give the offer a title", field="title_fr")
    if kind not in ("percent", "amount"):
        raise ShopError("kind must be percent or amount", field="kind")
    if not 1 <= value <= (100 if kind == "percent" else 1_000_000):
        raise ShopError("value out of range", field="value")
    if min_total < 0:
        raise ShopError("min_total cannot be negative", field="min_total")
    if not 1 <= valid_days <= 366:
        raise ShopError("valid_days must be 1 to 366", field="valid_days")
    skus = sorted(set(skus or []))
    for sku in skus:
        if not conn.execute("SELECT 1 FROM products WHERE sku = ?", (sku,)).fetchone():
            raise ShopError(f"unknown product {sku!r}", field="skus")
    data = {
        "offer_id": new_id("of"),
        "version": 1,
        "title": title,
        "kind": kind,
        "value": value,
        "min_total": min_total,
        "skus": skus,
        "valid_from": now_iso(),
        "valid_until": _in(valid_days),
        "active": True,
    }
    conn.execute(
        "INSERT INTO offers (offer_id, version, title, kind, value, min_total, skus, valid_from, "
        "valid_until, active) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
        (
            data["offer_id"],
            1,
            json.dumps(title, ensure_ascii=False),
            kind,
            value,
            min_total,
            json.dumps(skus),
            data["valid_from"],
            data["valid_until"],
        ),
    )
    streams.append(conn, streams.CHAIN, "offer.upserted", data)
    return data


def offers(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    rows = conn.execute("SELECT * FROM offers ORDER BY valid_from DESC").fetchall()
    return [
        {**dict(r), "title": json.loads(r["title"]), "skus": json.loads(r["skus"])} for r in rows
    ]


def issue_coupon(
    conn: sqlite3.Connection, offer_id: str, customer_id: str, *, max_uses: int = 1
) -> dict[str, Any]:
    """One code of an offer for one customer: ``coupon.issued`` (channel email), and the
    e-mail "sent" by writing it to the sent-messages table."""
    offer = conn.execute("SELECT * FROM offers WHERE offer_id = ?", (offer_id,)).fetchone()
    if offer is None:
        raise ShopError(f"no offer {offer_id!r}", field="offer_id", code="not_found", status=404)
    member = customer(conn, customer_id)
    data = {
        "coupon_id": new_id("cp"),
        "offer_id": offer_id,
        "code": "".join(secrets.choice(CODE_ALPHABET) for _ in range(10)),
        "customer_id": customer_id,
        "max_uses": max_uses,
        "issued_at": now_iso(),
        "channel": "email",
    }
    conn.execute(
        "INSERT INTO coupons (coupon_id, offer_id, code, customer_id, max_uses, issued_at, "
        "channel) VALUES (:coupon_id, :offer_id, :code, :customer_id, :max_uses, :issued_at, "
        ":channel)",
        data,
    )
    streams.append(conn, streams.CHAIN, "coupon.issued", data)
    if not consents.allows(conn, customer_id, "email"):
        return data  # issue 22: no offer by e-mail without consent (the kiosk still shows it)
    letters.record(
        conn,
        letters.coupon_letter(
            member,
            json.loads(offer["title"]),
            str(data["code"]),
            offer["valid_until"],
            str(data["issued_at"]),
        ),
    )
    return data


def coupon_discount(offer: sqlite3.Row, lines: list[dict[str, Any]], at: datetime) -> int:
    """What an offer takes off a basket, in minor units; ShopError (409) if it does not apply.

    percent: of the eligible lines, rounded down; amount: at most the eligible lines.
    """
    if not offer["active"] or not _when(offer["valid_from"]) <= at <= _when(offer["valid_until"]):
        raise ShopError("this code is not valid today", code="not_valid_now", status=409)
    skus = set(json.loads(offer["skus"]))
    total = sum(ln["qty"] * ln["unit_price"] for ln in lines)
    eligible = sum(ln["qty"] * ln["unit_price"] for ln in lines if not skus or ln["sku"] in skus)
    if total < offer["min_total"]:
        raise ShopError("the minimum amount is not reached", code="min_total", status=409)
    if eligible == 0:
        raise ShopError("no item in the basket is part of this offer", code="no_item", status=409)
    if offer["kind"] == "percent":
        return int(eligible * offer["value"] // 100)
    return int(min(offer["value"], eligible))


def redeem(
    conn: sqlite3.Connection,
    code: str,
    customer_id: str | None,
    lines: list[dict[str, Any]],
    ref: str,
) -> int:
    """Redeem a code in a web order or purchase: ``coupon.redeemed`` (channel web). A code
    whose uses are spent in any channel (store redemptions count too) is refused."""
    code = code.strip().upper()
    coupon = conn.execute("SELECT * FROM coupons WHERE code = ?", (code,)).fetchone()
    if coupon is None:
        raise ShopError(f"unknown code {code!r}", field="coupon_code", code="unknown_code")
    if coupon["customer_id"] is not None and coupon["customer_id"] != customer_id:
        raise ShopError(
            "this code belongs to another customer",
            field="coupon_code",
            code="other_customer",
            status=409,
        )
    uses = conn.execute(
        "SELECT COUNT(*) FROM redemptions WHERE coupon_id = ?", (coupon["coupon_id"],)
    ).fetchone()[0]
    if uses >= coupon["max_uses"]:
        raise ShopError(
            "this code was already used", field="coupon_code", code="already_used", status=409
        )
    offer = conn.execute(
        "SELECT * FROM offers WHERE offer_id = ?", (coupon["offer_id"],)
    ).fetchone()
    try:
        discount = coupon_discount(offer, lines, datetime.now(UTC))
    except ShopError as exc:
        exc.field = "coupon_code"
        raise
    record_redemption(
        conn,
        {
            "redemption_id": new_id("rd"),
            "coupon_id": coupon["coupon_id"],
            "channel": "web",
            "store_id": None,
            "ref": ref,
            "discount": discount,
            "occurred_at": now_iso(),
        },
    )
    return discount


def record_redemption(conn: sqlite3.Connection, data: dict[str, Any]) -> bool:
    """Keep a redemption (web or store) and announce it on the chain; False if known."""
    cur = conn.execute(
        "INSERT OR IGNORE INTO redemptions (redemption_id, coupon_id, channel, store_id, ref, "
        "discount, occurred_at) VALUES (:redemption_id, :coupon_id, :channel, :store_id, :ref, "
        ":discount, :occurred_at)",
        data,
    )
    if cur.rowcount:
        streams.append(conn, streams.CHAIN, "coupon.redeemed", data)
    return bool(cur.rowcount)


def coupons(conn: sqlite3.Connection, customer_id: str | None = None) -> list[dict[str, Any]]:
    """Coupons with their offer's title and how often they were used, in any channel."""
    sql = (
        "SELECT c.*, o.title, o.valid_until, (SELECT COUNT(*) FROM redemptions r "
        "WHERE r.coupon_id = c.coupon_id) AS uses FROM coupons c "
        "JOIN offers o ON o.offer_id = c.offer_id"
    )
    args: tuple[str, ...] = ()
    if customer_id is not None:
        sql, args = sql + " WHERE c.customer_id = ?", (customer_id,)
    rows = conn.execute(sql + " ORDER BY c.issued_at DESC", args).fetchall()
    return [{**dict(r), "title": json.loads(r["title"])} for r in rows]


# -- store-credit vouchers (issue 16) -------------------------------------------------------

VOUCHER_TITLE = {"fr": "Avoir", "en": "Store credit"}
VOUCHER_MAX_DAYS = 3650


def store_credit_voucher(
    conn: sqlite3.Connection, store_id: str, ret: Mapping[str, Any], refund: Mapping[str, Any]
) -> bool:
    """A store refunded in store credit and made the voucher at its till: make the same
    offer and coupon here (the ids follow from the return, the code is the store's), so the
    voucher works on the web and in every store, and publish them on the chain. Applying
    it again makes nothing new; True when the coupon is new.

    The store is trusted with no more than its own refund: the ids must be the return's,
    the value is the refund's amount (at most what the return refunded), and a code that
    another coupon holds is refused (the event goes to the dead letters, nothing written).
    """
    v = refund["voucher"]
    ident = f"sc-{ret['return_id']}"
    amount = int(refund["amount"])
    if refund["method"] != "store_credit":
        raise Refused(f"store {store_id}: a voucher on a {refund['method']} refund")
    if v["coupon_id"] != ident or v["offer_id"] != ident:
        raise Refused(f"store {store_id}: a voucher's ids must be {ident!r}")
    if not 0 < amount <= int(ret["total_refunded"]):
        raise Refused(f"store {store_id}: a voucher of {amount} for a return of less")
    start, until = _when(ret["occurred_at"]), _when(v["valid_until"])
    if not start < until <= start + timedelta(days=VOUCHER_MAX_DAYS):
        raise Refused(f"store {store_id}: voucher {ident} valid until {v['valid_until']!r}")
    code = str(v["code"]).strip().upper()
    holder = conn.execute("SELECT coupon_id FROM coupons WHERE code = ?", (code,)).fetchone()
    if holder is not None and holder["coupon_id"] != ident:
        raise Refused(f"store {store_id}: the code of voucher {ident} belongs to another coupon")
    offer = {
        "offer_id": ident,
        "version": 1,
        "title": VOUCHER_TITLE,
        "kind": "amount",
        "value": amount,
        "min_total": 0,
        "skus": [],
        "valid_from": ret["occurred_at"],
        "valid_until": v["valid_until"],
        "active": True,
    }
    cur = conn.execute(
        "INSERT INTO offers (offer_id, version, title, kind, value, min_total, skus, valid_from, "
        "valid_until, active) VALUES (?, 1, ?, 'amount', ?, 0, '[]', ?, ?, 1) "
        "ON CONFLICT (offer_id) DO NOTHING",
        (ident, json.dumps(VOUCHER_TITLE), amount, ret["occurred_at"], v["valid_until"]),
    )
    if cur.rowcount:
        streams.append(conn, streams.CHAIN, "offer.upserted", offer)
    coupon = {
        "coupon_id": ident,
        "offer_id": ident,
        "code": code,
        "customer_id": ret.get("customer_id"),
        "max_uses": 1,
        "issued_at": ret["occurred_at"],
        "channel": "store",
    }
    cur = conn.execute(
        "INSERT INTO coupons (coupon_id, offer_id, code, customer_id, max_uses, issued_at, "
        "channel) VALUES (:coupon_id, :offer_id, :code, :customer_id, :max_uses, :issued_at, "
        ":channel) ON CONFLICT (coupon_id) DO NOTHING",
        coupon,
    )
    if not cur.rowcount:
        return False
    streams.append(conn, streams.CHAIN, "coupon.issued", coupon)
    return True
