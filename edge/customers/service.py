"""Members: lookup by card or phone, the one web+store history, enrolment in the store, and
the down-events that keep the store's copy of a customer in step with the online store."""

from __future__ import annotations

import base64
import json
import secrets
import sqlite3
from collections.abc import Mapping
from typing import Any

from edge.errors import Conflict, InvalidInput, NotFound
from edge.loyalty import service as loyalty
from edge.store import outbox, privacy
from edge.store.db import now_iso
from edge.store.ids import new_id

PERSONAL_FIELDS = ("loyalty_card", "first_name", "last_name", "email", "phone")


def mask_name(value: str | None) -> str | None:
    """``Dupont`` → ``D.``: enough for a shopper to recognise themself, not for a stranger."""
    if not value:
        return value
    return value[0].upper() + "."


def mask_phone(value: str | None) -> str | None:
    if not value:
        return value
    return value[:3] + "•" * max(0, len(value) - 5) + value[-2:]


def find(
    conn: sqlite3.Connection,
    *,
    card: str | None = None,
    phone: str | None = None,
    customer_id: str | None = None,
) -> sqlite3.Row:
    """The one customer matching; NotFound with the field that was searched otherwise."""
    if card:
        row = conn.execute(
            "SELECT * FROM customers WHERE loyalty_card = ? AND erased_at IS NULL", (card,)
        ).fetchone()
        field = "card"
    elif phone:
        row = conn.execute(
            "SELECT * FROM customers WHERE phone = ? AND erased_at IS NULL "
            "ORDER BY updated_at DESC LIMIT 1",
            (phone,),
        ).fetchone()
        field = "phone"
    elif customer_id:
        row = conn.execute(
            "SELECT * FROM customers WHERE customer_id = ? AND erased_at IS NULL", (customer_id,)
        ).fetchone()
        field = "customer_id"
    else:
        raise InvalidInput("give a card or a phone number", field="card")
    if row is None:
        raise NotFound(
            f"no member matches this {field.replace('_', ' ')}",
            field=field,
            code="customer_not_found",
        )
    return row


def summary(
    conn: sqlite3.Connection,
    row: sqlite3.Row,
    *,
    currency: str,
    rules: loyalty.LoyaltyRules,
    masked: bool,
) -> dict[str, Any]:
    balance = loyalty.balance(conn, row["customer_id"])
    return {
        "customer_id": row["customer_id"],
        "first_name": row["first_name"],
        "last_name": mask_name(row["last_name"]) if masked else row["last_name"],
        "tier": row["tier"],
        "points_balance": balance,
        "points_value": loyalty.redeem_value(max(balance, 0), currency, rules),
        "currency": currency,
        "locale": row["locale"],
    }


def masked_summary(row: sqlite3.Row) -> dict[str, Any]:
    """What a phone number alone may reveal at the kiosk: that a card exists, and initials
    and a masked number the shopper recognises as theirs. No points, no tier, no purchases:
    whoever types a stranger's number learns nothing worth having; the card itself (proof
    that its holder is present) unlocks the rest."""
    return {
        "first_name": mask_name(row["first_name"]),
        "last_name": mask_name(row["last_name"]),
        "phone": mask_phone(row["phone"]),
        "has_card": bool(row["loyalty_card"]),
        "locale": row["locale"],
    }


def detail(conn: sqlite3.Connection, row: sqlite3.Row) -> dict[str, Any]:
    return {
        "customer_id": row["customer_id"],
        "loyalty_card": row["loyalty_card"],
        "first_name": row["first_name"],
        "last_name": row["last_name"],
        "email": row["email"],
        "phone": row["phone"],
        "tier": row["tier"],
        "locale": row["locale"],
        "points_balance": loyalty.balance(conn, row["customer_id"]),
    }


# -- history ---------------------------------------------------------------------------------


def _encode_cursor(occurred_at: str, purchase_id: str) -> str:
    raw = json.dumps([occurred_at, purchase_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[str, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        occurred_at, purchase_id = json.loads(raw)
        if not isinstance(occurred_at, str) or not isinstance(purchase_id, str):
            raise ValueError
        return occurred_at, purchase_id
    except (ValueError, TypeError, json.JSONDecodeError) as exc:
        raise InvalidInput("cursor is not one this API gave out", field="cursor") from exc


def history(
    conn: sqlite3.Connection, customer_id: str, *, limit: int = 20, cursor: str | None = None
) -> dict[str, Any]:
    """Web and store purchases in one list, newest first, keyset-paginated (stable while new
    purchases arrive, and as fast on page 500 as on page 1)."""
    if cursor:
        at, pid = _decode_cursor(cursor)
        rows = conn.execute(
            "SELECT * FROM purchases WHERE customer_id = ? AND (occurred_at, purchase_id) < (?, ?) "
            "ORDER BY occurred_at DESC, purchase_id DESC LIMIT ?",
            (customer_id, at, pid, limit + 1),
        ).fetchall()
    else:
        rows = conn.execute(
            "SELECT * FROM purchases WHERE customer_id = ? "
            "ORDER BY occurred_at DESC, purchase_id DESC LIMIT ?",
            (customer_id, limit + 1),
        ).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    lines: dict[str, list[dict[str, Any]]] = {r["purchase_id"]: [] for r in rows}
    if rows:
        marks = ",".join("?" * len(rows))
        for ln in conn.execute(
            f"SELECT purchase_id, sku, name, qty, unit_price FROM purchase_lines "  # noqa: S608
            f"WHERE purchase_id IN ({marks}) ORDER BY purchase_id, line_no",
            list(lines),
        ):
            lines[ln["purchase_id"]].append(
                {
                    "sku": ln["sku"],
                    "name": ln["name"],
                    "qty": ln["qty"],
                    "unit_price": ln["unit_price"],
                }
            )
    items = [
        {
            "purchase_id": r["purchase_id"],
            "channel": r["channel"],
            "store_id": r["store_id"],
            "occurred_at": r["occurred_at"],
            "currency": r["currency"],
            "total": r["total"],
            "lines": lines[r["purchase_id"]],
            "points_earned": r["points_earned"],
        }
        for r in rows
    ]
    next_cursor = _encode_cursor(rows[-1]["occurred_at"], rows[-1]["purchase_id"]) if more else None
    return {"items": items, "next_cursor": next_cursor}


def insert_purchase(conn: sqlite3.Connection, p: Mapping[str, Any], origin: str) -> bool:
    """Add a purchase to the one history once; False if its id is already there (the chain's
    echo of our own sale, or a duplicate delivery)."""
    cur = conn.execute(
        "INSERT OR IGNORE INTO purchases (purchase_id, customer_id, channel, store_id, "
        "occurred_at, currency, total, points_earned, origin, recorded_at) "
        "VALUES (?,?,?,?,?,?,?,?,?,?)",
        (
            p["purchase_id"],
            p.get("customer_id"),
            p["channel"],
            p.get("store_id"),
            p["occurred_at"],
            p["currency"],
            p["total"],
            p.get("points_earned", 0),
            origin,
            now_iso(),
        ),
    )
    if cur.rowcount != 1:
        return False
    conn.executemany(
        "INSERT INTO purchase_lines (purchase_id, line_no, sku, name, qty, unit_price) "
        "VALUES (?,?,?,?,?,?)",
        [
            (p["purchase_id"], i, ln["sku"], ln["name"], ln["qty"], ln["unit_price"])
            for i, ln in enumerate(p["lines"], start=1)
        ],
    )
    return True


# -- enrolment (store) and down-events (web) -----------------------------------------------------


def new_card_number() -> str:
    """A printable card number for a member enrolled in the store without a card."""
    return "PC" + "".join(secrets.choice("0123456789") for _ in range(12))


def enroll(
    conn: sqlite3.Connection, data: Mapping[str, Any], *, source: str, store_id: str
) -> dict[str, Any]:
    """Create a member in the store and announce it (``customer.enrolled``). Caller holds the
    write transaction."""
    card = data.get("loyalty_card") or new_card_number()
    if conn.execute("SELECT 1 FROM customers WHERE loyalty_card = ?", (card,)).fetchone():
        raise Conflict(
            "this loyalty card belongs to another member", field="loyalty_card", code="card_taken"
        )
    customer_id = new_id()
    stamp = now_iso()
    conn.execute(
        "INSERT INTO customers (customer_id, loyalty_card, first_name, last_name, email, phone, "
        "tier, locale, version, origin, created_at, updated_at) "
        "VALUES (?,?,?,?,?,?,'standard',?,0,'store',?,?)",
        (
            customer_id,
            card,
            data["first_name"],
            data["last_name"],
            data.get("email"),
            data.get("phone"),
            data.get("locale", "fr"),
            stamp,
            stamp,
        ),
    )
    outbox.append(
        conn,
        source,
        "customer.enrolled",
        {
            "customer_id": customer_id,
            "loyalty_card": card,
            "first_name": data["first_name"],
            "last_name": data["last_name"],
            "email": data.get("email"),
            "phone": data.get("phone"),
            "locale": data.get("locale", "fr"),
        },
    )
    row = conn.execute("SELECT * FROM customers WHERE customer_id = ?", (customer_id,)).fetchone()
    return detail(conn, row)


def apply_upserted(conn: sqlite3.Connection, d: Mapping[str, Any]) -> bool:
    """``customer.upserted``: apply only a newer version; an erased person stays erased."""
    row = conn.execute(
        "SELECT version, erased_at FROM customers WHERE customer_id = ?", (d["customer_id"],)
    ).fetchone()
    if row is not None and (row["erased_at"] or int(d["version"]) <= row["version"]):
        return False
    stamp = now_iso()
    # A card may move from one customer to another (merge on the web): free it first.
    conn.execute(
        "UPDATE customers SET loyalty_card = NULL WHERE loyalty_card = ? AND customer_id != ?",
        (d.get("loyalty_card"), d["customer_id"]),
    )
    conn.execute(
        "INSERT INTO customers (customer_id, loyalty_card, first_name, last_name, email, phone, "
        "tier, locale, version, origin, created_at, updated_at) "
        "VALUES (?,?,?,?,?,?,?,?,?,'web',?,?) ON CONFLICT (customer_id) DO UPDATE SET "
        "loyalty_card=excluded.loyalty_card, first_name=excluded.first_name, "
        "last_name=excluded.last_name, email=excluded.email, phone=excluded.phone, "
        "tier=excluded.tier, locale=excluded.locale, version=excluded.version, "
        "updated_at=excluded.updated_at",
        (
            d["customer_id"],
            d.get("loyalty_card"),
            d.get("first_name"),
            d.get("last_name"),
            d.get("email"),
            d.get("phone"),
            d.get("tier") or "standard",
            d.get("locale") or "fr",
            int(d["version"]),
            stamp,
            stamp,
        ),
    )
    return True


def apply_erased(conn: sqlite3.Connection, d: Mapping[str, Any]) -> bool:
    """``customer.erased`` (GDPR): personal data goes; purchases and points stay, anonymous.

    A row is kept as a tombstone (no personal field) so that an older ``customer.upserted``
    delivered late cannot bring the person back. Every other trace of the person (the
    ``customer.enrolled`` outbox row, stored responses, print data, search indexes) is
    scrubbed in the same transaction (``edge.privacy``).
    """
    stamp = now_iso()
    row = conn.execute(
        "SELECT * FROM customers WHERE customer_id = ?", (d["customer_id"],)
    ).fetchone()
    if row is not None:
        privacy.erase_traces(
            conn,
            privacy.Identity(
                customer_id=row["customer_id"],
                card=row["loyalty_card"],
                email=row["email"],
                phone=row["phone"],
                first_name=row["first_name"],
                last_name=row["last_name"],
            ),
        )
    conn.execute(
        "INSERT INTO customers (customer_id, tier, locale, version, origin, erased_at, "
        "created_at, updated_at) VALUES (?, 'standard', 'fr', 0, 'web', ?, ?, ?) "
        "ON CONFLICT (customer_id) DO UPDATE SET loyalty_card = NULL, first_name = NULL, "
        "last_name = NULL, email = NULL, phone = NULL, erased_at = excluded.erased_at, "
        "updated_at = excluded.updated_at",
        (d["customer_id"], stamp, stamp, stamp),
    )
    return True
