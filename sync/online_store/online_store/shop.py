"""The online-store side's shop: customers, products, purchases and points (web
checkout and orders: ``checkout.py``; offers and coupons: ``coupons.py``).

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

from uuid_utils import uuid7

from online_store import consents, streams
from online_store.db import now_iso

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
    return conn.execute("SELECT * FROM products WHERE active = 1 ORDER BY name").fetchall()


def basket(conn: sqlite3.Connection, quantities: dict[str, int]) -> list[dict[str, Any]]:
    """Order lines from ``{sku: qty}``, priced from the catalogue (never from the client)."""
    lines = []
    for sku, qty in quantities.items():
        if not qty:
            continue
        if not isinstance(qty, int) or not 1 <= qty <= 99:
            raise ShopError(f"quantity of {sku} must be 1 to 99", field=f"qty_{sku}")
        p = conn.execute("SELECT * FROM products WHERE sku = ? AND active = 1", (sku,)).fetchone()
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


def _customer_data(row: sqlite3.Row, conn: sqlite3.Connection | None = None) -> dict[str, Any]:
    keys = ("customer_id", "version", "loyalty_card", "first_name", "last_name")
    data = {k: row[k] for k in (*keys, "email", "phone", "tier", "locale")}
    if conn is not None:  # contract 1.1: the consents travel with the record
        data["consents"] = consents.of(conn, row["customer_id"])
    return data


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
    before: dict[str, Any] = {}
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
        before = dict(current)
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
    cid, version = clean["customer_id"], clean["version"]
    changed = [
        k
        for k in ("first_name", "last_name", "email", "phone", "locale")
        if before.get(k) != clean[k]
    ]
    wanted = {
        c: bool(fields[f"consent_{c}"]) for c in consents.CHANNELS if f"consent_{c}" in fields
    }
    if wanted:
        was = consents.of(conn, cid)
        changed += [f"consents.{c}" for c, v in wanted.items() if was[c] != v]
        consents.store(conn, cid, wanted, now_iso())
    consents.touch(conn, cid, changed, version)
    data = _customer_data(customer(conn, cid), conn)
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
        conn,
        streams.CHAIN,
        "customer.upserted",
        _customer_data(customer(conn, row["customer_id"]), conn),
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


def sent_messages(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    return conn.execute("SELECT * FROM sent_messages ORDER BY id DESC").fetchall()
