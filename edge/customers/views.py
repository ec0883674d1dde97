"""Read models of the customers area: a member found by card, phone or id, as the till, the
kiosk and the staff see them, and the one web+store purchase history."""

from __future__ import annotations

import sqlite3
from typing import Any

from edge.customers.rules import decode_cursor, encode_cursor, mask_name, mask_phone
from edge.errors import InvalidInput, NotFound
from edge.loyalty.rules import LoyaltyRules, redeem_value
from edge.loyalty.views import balance as points_balance


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
    rules: LoyaltyRules,
    masked: bool,
) -> dict[str, Any]:
    balance = points_balance(conn, row["customer_id"])
    return {
        "customer_id": row["customer_id"],
        "first_name": row["first_name"],
        "last_name": mask_name(row["last_name"]) if masked else row["last_name"],
        "tier": row["tier"],
        "points_balance": balance,
        "points_value": redeem_value(max(balance, 0), currency, rules),
        "currency": currency,
        "locale": row["locale"],
        "consents": consents(row),  # issue 22: what the member agreed to, per channel
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
        "points_balance": points_balance(conn, row["customer_id"]),
        "version": row["version"],
        "consents": consents(row),
    }


def consents(row: sqlite3.Row) -> dict[str, Any]:
    """Marketing consent per channel as the store knows it (unknown = no)."""
    keys = row.keys()
    return {
        "email": bool(row["consent_email"]) if "consent_email" in keys else False,
        "sms": bool(row["consent_sms"]) if "consent_sms" in keys else False,
        "updated_at": row["consents_updated_at"] if "consents_updated_at" in keys else None,
    }


# A page's purchases, each with whether anything of it came back: the page's returns are then
# read only for those (``returns_of``); most purchases have none, and most pages then need no
# query of the returns at all (one statement fewer per page: 7 µs). An index search per row.
PAGE_COLUMNS = (
    "p.*, EXISTS (SELECT 1 FROM returns r WHERE r.purchase_id = p.purchase_id) AS has_returns"
)


def history(
    conn: sqlite3.Connection, customer_id: str, *, limit: int = 20, cursor: str | None = None
) -> dict[str, Any]:
    """Web and store purchases in one list, newest first, keyset-paginated (stable while new
    purchases arrive, and as fast on page 500 as on page 1)."""
    if cursor:
        at, pid = decode_cursor(cursor)
        rows = conn.execute(
            f"SELECT {PAGE_COLUMNS} FROM purchases p "  # noqa: S608
            "WHERE customer_id = ? AND (occurred_at, purchase_id) < (?, ?) "
            "ORDER BY occurred_at DESC, purchase_id DESC LIMIT ?",
            (customer_id, at, pid, limit + 1),
        ).fetchall()
    else:
        rows = conn.execute(
            f"SELECT {PAGE_COLUMNS} FROM purchases p WHERE customer_id = ? "  # noqa: S608
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
    returned = returns_of(conn, [r["purchase_id"] for r in rows if r["has_returns"]])
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
            **orders_and_returns(conn, r, returned.get(r["purchase_id"], [])),
        }
        for r in rows
    ]
    next_cursor = encode_cursor(rows[-1]["occurred_at"], rows[-1]["purchase_id"]) if more else None
    return {"items": items, "next_cursor": next_cursor}


def returns_of(
    conn: sqlite3.Connection, purchase_ids: list[str]
) -> dict[str, list[dict[str, Any]]]:
    """What came back of each purchase of a page, in any channel, oldest first: one query for
    the page's returns and one for their lines (a query per purchase was a fifth of a
    history page's SQL, and most purchases have no return)."""
    if not purchase_ids:
        return {}
    marks = ",".join("?" * len(purchase_ids))
    found = conn.execute(
        f"SELECT * FROM returns WHERE purchase_id IN ({marks}) "  # noqa: S608
        "ORDER BY purchase_id, occurred_at",
        purchase_ids,
    ).fetchall()
    out: dict[str, list[dict[str, Any]]] = {}
    if not found:
        return out
    by_return: dict[str, list[dict[str, Any]]] = {ret["return_id"]: [] for ret in found}
    marks = ",".join("?" * len(by_return))
    for ln in conn.execute(
        f"SELECT * FROM return_lines WHERE return_id IN ({marks}) "  # noqa: S608
        "ORDER BY return_id, line_no",
        list(by_return),
    ):
        by_return[ln["return_id"]].append(
            {"sku": ln["sku"], "name": ln["name"], "qty": ln["qty"], "refund": ln["refund"]}
        )
    for ret in found:
        out.setdefault(ret["purchase_id"], []).append(
            {
                "return_id": ret["return_id"],
                "occurred_at": ret["occurred_at"],
                "total_refunded": ret["total_refunded"],
                "lines": by_return[ret["return_id"]],
            }
        )
    return out


def orders_and_returns(
    conn: sqlite3.Connection, r: sqlite3.Row, returns: list[dict[str, Any]]
) -> dict[str, Any]:
    """What the one history shows besides the lines (issue 16): the click-and-collect order a
    purchase was, with its pickup state when this store holds it ("ready at S001",
    "collected on …"), and what came back of it, in any channel (``returns_of``)."""
    out: dict[str, Any] = {
        "order_id": r["order_id"],
        "fulfilment": r["fulfilment"],
        "order_number": None,  # every field of HistoryItem, in its order: the API writes
        "pickup_status": None,  # this dict as it is (edge.web.routing.plain_answer)
        "collected_at": None,
    }
    if r["order_id"]:
        order = conn.execute(
            "SELECT order_number, status, collected_at FROM pickup_orders WHERE order_id = ?",
            (r["order_id"],),
        ).fetchone()
        if order is not None:
            out.update(
                order_number=order["order_number"],
                pickup_status=order["status"],
                collected_at=order["collected_at"],
            )
    out["returns"] = returns
    return out
