"""The online-store side's shop: customers, products, orders, purchases, offers and coupons.

Each function that changes something runs inside the caller's ``db.write(conn)`` and appends
the events it announces (``streams.append``) in that same transaction, so the shop's state,
its streams and the backfill endpoint can never disagree. The rules are deliberately plain:
this is a reference peer for the store edge, not a web shop.
"""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from uuid6 import uuid7

from online_store import streams
from online_store.db import next_counter, now_iso
from sync import contract

CURRENCY = "EUR"
TIERS = {"standard": Decimal("1"), "silver": Decimal("1.25"), "gold": Decimal("1.5")}
LOCALES = ("fr", "en")
PICKUP_DAYS = 5
# The small catalogue published as product.upserted at start (the demo store's own SKUs).
PRODUCTS = [
    ("SKU-CAFE-250", "Café moulu 250 g", "3017620422003", 450),
    ("SKU-THE-VERT", "Thé vert bio", "3263850123456", 590),
    ("SKU-CREME", "Crème brûlée ×2", "3033490004521", 399),
    ("SKU-PAIN-EPI", "Pain d'épices", "3245390012345", 325),
    ("SKU-CHOCO-NOIR", "Chocolat noir 70 %", "7622300441937", 249),
    ("SKU-MUG", "Mug « Passerelle »", "3760123450017", 1290),
    ("SKU-TORCHON", "Torchon lin écru", "3760123450024", 1500),
    ("SKU-BOUGIE", "Bougie parfumée été", "3760123450031", 2450),
    ("SKU-CONFITURE", "Confiture fraise–rhubarbe", "3760123450048", 520),
    ("SKU-SAVON", "Savon de Marseille", "3760123450055", 350),
]
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE_RE = re.compile(r"^\+[1-9][0-9]{1,14}$")
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes are typed too


class ShopError(Exception):
    """A refused action: ``code`` for programs, ``message`` for people, ``field`` if one."""

    def __init__(
        self, message: str, *, code: str = "invalid", field: str | None = None, status: int = 400
    ) -> None:
        super().__init__(message)
        self.message, self.code, self.field, self.status = message, code, field, status


def new_id(prefix: str) -> str:
    """Time-ordered (UUIDv7) like the event ids: every store keeps them as B-tree keys."""
    return f"{prefix}-{uuid7().hex}"


def _in(days: float) -> str:
    at = datetime.now(UTC) + timedelta(days=days)
    return at.isoformat(timespec="seconds").replace("+00:00", "Z")


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# -- products ------------------------------------------------------------------------------


def publish_catalogue(conn: sqlite3.Connection) -> int:
    """Announce every catalogue product not announced yet; how many were new."""
    new = 0
    for sku, name, barcode, price in PRODUCTS:
        if conn.execute("SELECT 1 FROM products WHERE sku = ?", (sku,)).fetchone():
            continue
        data = {
            "sku": sku,
            "version": 1,
            "name": name,
            "barcode": barcode,
            "price": price,
            "currency": CURRENCY,
            "active": True,
        }
        conn.execute(
            "INSERT INTO products (sku, version, name, barcode, price, currency, active) "
            "VALUES (:sku, :version, :name, :barcode, :price, :currency, :active)",
            data,
        )
        streams.append(conn, streams.CHAIN, "product.upserted", data)
        new += 1
    return new


def products(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    return conn.execute("SELECT * FROM products WHERE active ORDER BY name").fetchall()


def basket(conn: sqlite3.Connection, quantities: dict[str, int]) -> list[dict[str, Any]]:
    """Order lines from ``{sku: qty}``, priced from the catalogue (never from the client)."""
    lines = []
    for sku, qty in quantities.items():
        if not qty:
            continue
        if not isinstance(qty, int) or not 1 <= qty <= 99:
            raise ShopError(f"quantity of {sku} must be 1 to 99", field=f"qty_{sku}")
        p = conn.execute("SELECT * FROM products WHERE sku = ? AND active", (sku,)).fetchone()
        if p is None:
            raise ShopError(f"unknown product {sku!r}", field="sku", code="unknown_product")
        lines.append({"sku": sku, "name": p["name"], "qty": qty, "unit_price": p["price"]})
    if not lines:
        raise ShopError("the basket is empty: choose at least one product", field="lines")
    return lines


# -- customers -----------------------------------------------------------------------------


def customer(conn: sqlite3.Connection, customer_id: str) -> sqlite3.Row:
    row = conn.execute("SELECT * FROM customers WHERE customer_id = ?", (customer_id,)).fetchone()
    if row is None:
        raise ShopError(f"no customer {customer_id!r}", code="not_found", status=404)
    return row


def customers(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    return conn.execute("SELECT * FROM customers ORDER BY last_name, first_name").fetchall()


def _customer_data(row: sqlite3.Row) -> dict[str, Any]:
    keys = ("customer_id", "version", "loyalty_card", "first_name", "last_name")
    return {k: row[k] for k in (*keys, "email", "phone", "tier", "locale")}


def upsert_customer(
    conn: sqlite3.Connection, fields: dict[str, Any], customer_id: str | None = None
) -> dict[str, Any]:
    """Create (no ``customer_id``) or edit a customer; announce ``customer.upserted`` with
    version + 1. Empty e-mail or phone mean none."""
    clean: dict[str, Any] = {}
    for name in ("first_name", "last_name"):
        value = str(fields.get(name) or "").strip()
        if not 1 <= len(value) <= 200:
            raise ShopError(f"{name.replace('_', ' ')} is required", field=name)
        clean[name] = value
    email = str(fields.get("email") or "").strip() or None
    if email is not None and not EMAIL_RE.match(email):
        raise ShopError(f"{email!r} is not an e-mail address", field="email")
    phone = str(fields.get("phone") or "").replace(" ", "") or None
    if phone is not None and not PHONE_RE.match(phone):
        raise ShopError("phone must be in E.164 form, like +33612345678", field="phone")
    tier = fields.get("tier") or "standard"
    if tier not in TIERS:
        raise ShopError(f"tier must be one of {', '.join(TIERS)}", field="tier")
    locale = fields.get("locale") or "fr"
    if locale not in LOCALES:
        raise ShopError(f"locale must be one of {', '.join(LOCALES)}", field="locale")
    clean.update(email=email, phone=phone, tier=tier, locale=locale)
    if customer_id is None:
        clean.update(
            customer_id=new_id("web"),
            version=1,
            loyalty_card="PC" + "".join(secrets.choice("0123456789") for _ in range(12)),
        )
        conn.execute(
            "INSERT INTO customers (customer_id, version, loyalty_card, first_name, last_name, "
            "email, phone, tier, locale) VALUES (:customer_id, :version, :loyalty_card, "
            ":first_name, :last_name, :email, :phone, :tier, :locale)",
            clean,
        )
    else:
        current = customer(conn, customer_id)
        clean.update(
            customer_id=customer_id,
            version=current["version"] + 1,
            loyalty_card=current["loyalty_card"],
        )
        conn.execute(
            "UPDATE customers SET version = :version, first_name = :first_name, "
            "last_name = :last_name, email = :email, phone = :phone, tier = :tier, "
            "locale = :locale WHERE customer_id = :customer_id",
            clean,
        )
    data = _customer_data(customer(conn, clean["customer_id"]))
    streams.append(conn, streams.CHAIN, "customer.upserted", data)
    return data


def enrolled_in_store(conn: sqlite3.Connection, store_id: str, data: dict[str, Any]) -> None:
    """A member who signed up in a store becomes a customer of the chain (version 1), and
    every store hears of them as ``customer.upserted``. Known already: nothing to do."""
    if conn.execute(
        "SELECT 1 FROM customers WHERE customer_id = ?", (data["customer_id"],)
    ).fetchone():
        return
    card = data.get("loyalty_card")
    if card and conn.execute("SELECT 1 FROM customers WHERE loyalty_card = ?", (card,)).fetchone():
        card = None  # the card belongs to someone else here: the web keeps its own
    row = {
        "customer_id": data["customer_id"],
        "version": 1,
        "loyalty_card": card,
        "first_name": data.get("first_name"),
        "last_name": data.get("last_name"),
        "email": data.get("email"),
        "phone": data.get("phone"),
        "tier": "standard",
        "locale": data.get("locale") or "fr",
        "enrolled_in": store_id,
    }
    conn.execute(
        "INSERT INTO customers (customer_id, version, loyalty_card, first_name, last_name, "
        "email, phone, tier, locale, enrolled_in) VALUES (:customer_id, :version, "
        ":loyalty_card, :first_name, :last_name, :email, :phone, :tier, :locale, :enrolled_in)",
        row,
    )
    streams.append(
        conn, streams.CHAIN, "customer.upserted", _customer_data(customer(conn, row["customer_id"]))
    )


# -- purchases and loyalty -----------------------------------------------------------------


def points_for(total: int, tier: str) -> int:
    """One point per whole euro paid, times the tier's multiplier, rounded down."""
    units = Decimal(total // 100) * TIERS.get(tier, Decimal(1))
    return int(units.to_integral_value(ROUND_FLOOR))


def record_purchase(conn: sqlite3.Connection, data: dict[str, Any]) -> bool:
    """Keep a purchase (web or store) and announce it on the chain; False if known already."""
    cur = conn.execute(
        "INSERT OR IGNORE INTO purchases (purchase_id, customer_id, channel, store_id, "
        "occurred_at, currency, total, lines, points_earned) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            data["purchase_id"],
            data["customer_id"],
            data["channel"],
            data["store_id"],
            data["occurred_at"],
            data["currency"],
            data["total"],
            json.dumps(data["lines"], ensure_ascii=False),
            data["points_earned"],
        ),
    )
    if cur.rowcount:
        streams.append(conn, streams.CHAIN, "purchase.recorded", data)
    return bool(cur.rowcount)


def record_loyalty(conn: sqlite3.Connection, data: dict[str, Any]) -> bool:
    """Keep a loyalty entry and announce it on the chain; False if known already."""
    cur = conn.execute(
        "INSERT OR IGNORE INTO loyalty_entries (entry_id, customer_id, points, reason, ref, "
        "channel, store_id, occurred_at) VALUES (:entry_id, :customer_id, :points, :reason, "
        ":ref, :channel, :store_id, :occurred_at)",
        data,
    )
    if cur.rowcount:
        streams.append(conn, streams.CHAIN, "loyalty.entry", data)
    return bool(cur.rowcount)


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


def purchases(conn: sqlite3.Connection, customer_id: str) -> list[dict[str, Any]]:
    """Web and store purchases together, newest first."""
    rows = conn.execute(
        "SELECT * FROM purchases WHERE customer_id = ? ORDER BY occurred_at DESC, purchase_id",
        (customer_id,),
    ).fetchall()
    return [{**dict(r), "lines": json.loads(r["lines"])} for r in rows]


def balance(conn: sqlite3.Connection, customer_id: str) -> int:
    """A balance is the sum of the customer's entries, from every channel."""
    row = conn.execute(
        "SELECT COALESCE(SUM(points), 0) FROM loyalty_entries WHERE customer_id = ?",
        (customer_id,),
    ).fetchone()
    return int(row[0])


# -- click-and-collect orders --------------------------------------------------------------


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
    return {**data, "store_id": store_id, "discount": discount}


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


# -- offers and coupons --------------------------------------------------------------------


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
    titles = json.loads(offer["title"])
    locale = member["locale"] if member["locale"] in titles else next(iter(titles))
    greeting = "Bonjour" if member["locale"] == "fr" else "Hello"
    conn.execute(
        "INSERT INTO sent_messages (to_address, subject, body, code, sent_at) "
        "VALUES (?, ?, ?, ?, ?)",
        (
            member["email"] or f"{member['first_name']} (no e-mail address)",
            titles[locale],
            f"{greeting} {member['first_name']}, {titles[locale]}: "
            f"{data['code']} (until {offer['valid_until'][:10]})",
            data["code"],
            data["issued_at"],
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


def sent_messages(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    return conn.execute("SELECT * FROM sent_messages ORDER BY id DESC").fetchall()
