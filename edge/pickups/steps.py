"""Steps of a pickup move that run inside the caller's transaction: the order's row changed
and re-read, its ``pickup.updated`` up-event, its audit row, its paper for the printer, and a
wrong code counted. The operations (``service``, ``handover``, ``checkin``) and the down-event
handlers (``handlers``, inside the inbox's transaction) share them.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from edge.actor import Actor
from edge.config import Settings
from edge.pickups.redaction import KEY_NAME as PICKUP_KEY
from edge.pickups.rules import (
    locks_at,
    staff_of,
)
from edge.pickups.views import (
    customer_locale,
    get_row,
    print_data,
)
from edge.printing import queue
from edge.store import audit, outbox
from edge.store.db import now_iso
from edge.store.keys import box_key


def emit_update(
    conn: sqlite3.Connection,
    source: str,
    row: sqlite3.Row,
    staff_id: str | None,
    occurred_at: str,
    *,
    sale_id: str | None = None,
) -> None:
    """Tell the web the order's state (``pickup.updated``), in the transaction of the change;
    ``sale_id`` (contract 1.1) names the till sale that paid for it on collection."""
    data = {
        "order_id": row["order_id"],
        "status": row["status"],
        "checked_in_at": row["checked_in_at"],
        "staff_id": staff_id,
        "occurred_at": occurred_at,
    }
    if sale_id is not None:
        data["sale_id"] = sale_id
    outbox.append(conn, source, "pickup.updated", data, time=occurred_at)


def update_order(conn: sqlite3.Connection, order_id: str, **changes: Any) -> sqlite3.Row:
    """Set ``changes`` (column names written here, never from a request) and re-read the row."""
    cols = ", ".join(f"{k} = ?" for k in changes)
    conn.execute(
        f"UPDATE pickup_orders SET {cols} WHERE order_id = ?", (*changes.values(), order_id)
    )
    return get_row(conn, order_id)


def enqueue_paper(
    conn: sqlite3.Connection, row: sqlite3.Row, settings: Settings, who: Actor, document: str
) -> int:
    """Queue the order's paper for its printer, in the shopper's language."""
    return queue.enqueue(
        conn,
        document=document,
        data=print_data(conn, row, settings, who),
        ref=row["order_id"],
        locale=customer_locale(conn, row["customer_id"], settings.locale),
        printer_role="pickup_slips" if document == "pickup_slip" else "receipts",
        requested_by=staff_of(who),
    )


def record_audit(
    conn: sqlite3.Connection,
    actor: str,
    role: str | None,
    action: str,
    row: sqlite3.Row,
    **detail: Any,
) -> None:
    """The audit row of a move on an order (``pickup.<action>``), naming its number."""
    audit.record(
        conn,
        actor=actor,
        role=role,
        action=f"pickup.{action}",
        target=row["order_id"],
        detail={"order_number": row["order_number"], **detail},
    )


def code_key(conn: sqlite3.Connection) -> bytes:
    """The box key of the pickup codes' HMAC (issue 19; ``edge.store.keys``)."""
    return box_key(conn, PICKUP_KEY)


def audit_move(
    conn: sqlite3.Connection, who: Actor, action: str, row: sqlite3.Row, **detail: Any
) -> None:
    record_audit(conn, who.staff_id or who.name, who.role, action, row, **detail)


def count_wrong_code(
    conn: sqlite3.Connection, row: sqlite3.Row, who: Actor, settings: Settings, where: str
) -> int:
    """Count a wrong code; lock the order at the limit. Returns the wrong codes so far."""
    wrong: int = row["wrong_codes"] + 1
    lock = locks_at(wrong, settings.pickup_max_wrong_codes)
    stamp = now_iso()
    conn.execute(
        "UPDATE pickup_orders SET wrong_codes = ?, locked = ?, locked_at = ? WHERE order_id = ?",
        (wrong, int(lock), stamp if lock else None, row["order_id"]),
    )
    audit_move(conn, who, "wrong_code", row, wrong_codes=wrong, at=where, locked=lock)
    return wrong
