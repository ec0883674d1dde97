"""Click-and-collect read models: one order, the staff board, the printed papers' data and
what /readyz and /metrics show.

Reads only: nothing here opens a write transaction, so the API, the screens and the services
(which re-read the order they just changed) share the same shapes.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

from edge.actor import Actor
from edge.config import Settings
from edge.errors import InvalidInput, NotFound
from edge.pickups.rules import (
    STATUSES,
    format_time,
    next_step,
    parse_presented_code,
    parse_time,
    staff_actions,
    staff_of,
)
from edge.pickups.texts import MESSAGES, shopper_message
from edge.stock import views as stock_views


def get_row(conn: sqlite3.Connection, order_id: str) -> sqlite3.Row:
    """The order's row, or NotFound (404) naming ``order_id``."""
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM pickup_orders WHERE order_id = ?", (order_id,)
    ).fetchone()
    if row is None:
        raise NotFound(f"no click-and-collect order {order_id!r}", field="order_id")
    return row


def order_lines(conn: sqlite3.Connection, order_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The lines of several orders in one query (the board shows many at once)."""
    out: dict[str, list[dict[str, Any]]] = {oid: [] for oid in order_ids}
    if not order_ids:
        return out
    marks = ",".join("?" * len(order_ids))
    for ln in conn.execute(
        f"SELECT * FROM pickup_lines WHERE order_id IN ({marks}) ORDER BY order_id, line_no",
        order_ids,
    ):
        out[ln["order_id"]].append(
            {"sku": ln["sku"], "name": ln["name"], "qty": ln["qty"], "unit_price": ln["unit_price"]}
        )
    return out


def _view(row: sqlite3.Row, lines: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "order_id": row["order_id"],
        "order_number": row["order_number"],
        "status": row["status"],
        "customer_id": row["customer_id"],
        "customer_name": row["customer_name"],
        "lines": lines,
        "total": row["total"],
        "currency": row["currency"],
        "paid": bool(row["paid"]),
        "placed_at": row["placed_at"],
        "pickup_by": row["pickup_by"],
        "checked_in_at": row["checked_in_at"],
        "ready_at": row["ready_at"],
        "collected_at": row["collected_at"],
        "collected_by": row["collected_by"],
        "cancel_reason": row["cancel_reason"],
        "cancelled_by": row["cancelled_by"],
        "locked": bool(row["locked"]),
        "wrong_codes": row["wrong_codes"],
        "put_back": bool(row["put_back"]),
        "paid_in_store": bool(row["paid_in_store"]),
        "allowed_actions": staff_actions(row["status"]),
        "updated_at": row["updated_at"],
    }


def order_view(conn: sqlite3.Connection, order_id: str) -> dict[str, Any]:
    """One order as the API and the staff screen show it."""
    row = get_row(conn, order_id)
    return _view(row, order_lines(conn, [order_id])[order_id])


def _counts(conn: sqlite3.Connection) -> dict[str, int]:
    """Orders per status, every status named (0 when none)."""
    counts: dict[str, int] = dict.fromkeys(STATUSES, 0)
    for r in conn.execute("SELECT status, COUNT(*) AS n FROM pickup_orders GROUP BY status"):
        counts[r["status"]] = r["n"]
    return counts


def board(conn: sqlite3.Connection, status: str | None = None, limit: int = 200) -> dict[str, Any]:
    """The staff board: orders by ``pickup_by`` (the most urgent first), and counts per status."""
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}", field="status")
    rows = conn.execute(
        "SELECT * FROM pickup_orders WHERE (? IS NULL OR status = ?) "
        "ORDER BY pickup_by, order_number LIMIT ?",
        (status, status, limit),
    ).fetchall()
    lines = order_lines(conn, [r["order_id"] for r in rows])
    counts = _counts(conn)
    short = stock_views.shortages(conn, [r["order_id"] for r in rows])  # "short: 1 of 2"
    return {
        "items": [_view(r, lines[r["order_id"]]) | {"short": short[r["order_id"]]} for r in rows],
        "counts": counts,
    }


def customer_locale(conn: sqlite3.Connection, customer_id: str | None, default: str) -> str:
    """The shopper's language if the store knows the member, else the store's."""
    if customer_id:
        row = conn.execute(
            "SELECT locale FROM customers WHERE customer_id = ? AND erased_at IS NULL",
            (customer_id,),
        ).fetchone()
        if row and row["locale"] in MESSAGES:
            return str(row["locale"])
    return default


def print_data(
    conn: sqlite3.Connection, row: sqlite3.Row, settings: Settings, who: Actor
) -> dict[str, Any]:
    """Everything a pickup slip or a handover receipt shows (never the pickup code), for the
    printing layouts (``hardware/layouts.py``): ``staff`` is the id of the event's
    ``staff_id``, ``handed_over_by`` the name printed on the receipt."""
    return {
        "order_id": row["order_id"],
        "order_number": row["order_number"],
        "customer_name": row["customer_name"],
        "lines": order_lines(conn, [row["order_id"]])[row["order_id"]],
        "total": row["total"],
        "currency": row["currency"],
        "paid": bool(row["paid"]),
        "paid_in_store": bool(row["paid_in_store"]),
        "placed_at": row["placed_at"],
        "pickup_by": row["pickup_by"],
        "ready_at": row["ready_at"],
        "checked_in_at": row["checked_in_at"],
        "collected_at": row["collected_at"],
        "staff": staff_of(who),
        "handed_over_by": who.name if row["collected_at"] else None,
        "store_id": settings.store_id,
        "store_name": settings.store_name,
    }


def checkin_answer(row: sqlite3.Row, lang: str) -> dict[str, Any]:
    """What the kiosk shows a checked-in shopper: the order's state and what to do next, in
    their language; never more about the order than its number."""
    step = next_step(row["status"])
    message = shopper_message(step, lang, number=row["order_number"])
    if not row["paid"]:
        message += shopper_message("pay", lang)
    return {
        "order_number": row["order_number"],
        "status": row["status"],
        "checked_in_at": row["checked_in_at"],
        "next_step": step,
        "to_pay": not row["paid"],
        "message": message,
        "locale": lang,
    }


def stats(conn: sqlite3.Connection, now: datetime | None = None) -> dict[str, Any]:
    """What /readyz and /metrics show: work waiting for the staff, read at scrape time."""
    now = now or datetime.now(UTC)
    counts = _counts(conn)
    oldest = conn.execute(
        "SELECT MIN(ready_at) FROM pickup_orders WHERE status = 'ready'"
    ).fetchone()[0]
    hour_ago = format_time(now - timedelta(hours=1))
    handovers = conn.execute(
        "SELECT COUNT(*) FROM pickup_orders WHERE collected_at >= ?", (hour_ago,)
    ).fetchone()[0]
    waiting = conn.execute(
        "SELECT COUNT(*) FROM pickup_orders WHERE checked_in_at IS NOT NULL "
        "AND status IN ('received', 'preparing', 'ready')"
    ).fetchone()[0]
    locked = conn.execute(
        "SELECT COUNT(*) FROM pickup_orders WHERE locked = 1 "
        "AND status IN ('received', 'preparing', 'ready')"
    ).fetchone()[0]
    put_back = conn.execute("SELECT COUNT(*) FROM pickup_orders WHERE put_back = 1").fetchone()[0]
    return {
        "counts": counts,
        "oldest_ready_age_seconds": (
            max(0.0, (now - parse_time(oldest)).total_seconds()) if oldest else 0.0
        ),
        "handovers_last_hour": int(handovers),
        "checked_in_waiting": int(waiting),
        "locked": int(locked),
        "put_back": int(put_back),
    }


def order_for_till(conn: sqlite3.Connection, order_number: str) -> dict[str, Any]:
    """An order as the till needs it to take its payment (issue 16): no code, no history."""
    number, _ = parse_presented_code(order_number)
    row = conn.execute(
        "SELECT * FROM pickup_orders WHERE order_number = ?", ((number or order_number).strip(),)
    ).fetchone()
    if row is None:
        raise NotFound(f"no click-and-collect order {order_number!r}", field="order_number")
    return {
        "order_id": row["order_id"],
        "order_number": row["order_number"],
        "customer_id": row["customer_id"],
        "customer_name": row["customer_name"],
        "currency": row["currency"],
        "total": row["total"],
        "paid": bool(row["paid"]),
        "status": row["status"],
        "lines": order_lines(conn, [row["order_id"]])[row["order_id"]],
    }
