"""Down-events of the pickups area: web orders placed and cancelled for this store, and the
part of ``customer.erased`` that concerns their orders.

These run inside the inbox's transaction (the sync worker applies one event at a time and
records it as seen in the same commit), so they never open one themselves; each is safe to
apply twice.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

from edge.errors import InvalidInput
from edge.pickups.events import OrderCancelled, OrderPlaced, validated
from edge.pickups.redaction import KEY_NAME as PICKUP_KEY
from edge.pickups.rules import OPEN, Status, cancellation, code_hash, format_time, parse_time
from edge.pickups.steps import emit_update, record_audit, update_order
from edge.pickups.views import get_row
from edge.stock import service as stock
from edge.store import privacy
from edge.store.db import now_iso
from edge.store.inbox import ApplyContext, Handler
from edge.store.keys import box_key

ERASED_NAME = privacy.ERASED


def on_order_placed(conn: sqlite3.Connection, d: Mapping[str, Any], ctx: ApplyContext) -> bool:
    """``order.placed``: keep the order once, however often it is delivered, and tell the web
    the store has it (``received``). If its ``order.cancelled`` came first, the order arrives
    already cancelled and the web hears ``cancelled``."""
    order = validated(OrderPlaced, d)
    existing = conn.execute(
        "SELECT order_id FROM pickup_orders WHERE order_id = ? OR order_number = ?",
        (order.order_id, order.order_number),
    ).fetchone()
    if existing is not None:
        if existing["order_id"] != order.order_id:
            raise InvalidInput(
                f"order number {order.order_number} already belongs to order "
                f"{existing['order_id']}",
                field="order_number",
            )
        return False
    tomb = conn.execute(
        "SELECT reason FROM pickup_tombstones WHERE order_id = ?", (order.order_id,)
    ).fetchone()
    stamp = now_iso()
    status: Status = "cancelled" if tomb else "received"
    conn.execute(
        "INSERT INTO pickup_orders (order_id, order_number, customer_id, customer_name, "
        "code_hash, currency, total, paid, placed_at, pickup_by, status, cancel_reason, "
        "cancelled_by, closed_at, received_at, updated_at) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            order.order_id,
            order.order_number,
            order.customer_id,
            order.customer_name,
            code_hash(order.order_id, order.pickup_code, box_key(conn, PICKUP_KEY)),
            order.currency,
            order.total,
            int(order.paid),
            format_time(parse_time(order.placed_at)),
            format_time(parse_time(order.pickup_by)),
            status,
            tomb["reason"] if tomb else None,
            "web" if tomb else None,
            stamp if tomb else None,
            stamp,
            stamp,
        ),
    )
    conn.executemany(
        "INSERT INTO pickup_lines (order_id, line_no, sku, name, qty, unit_price) "
        "VALUES (?,?,?,?,?,?)",
        [
            (order.order_id, i, ln.sku, ln.name, ln.qty, ln.unit_price)
            for i, ln in enumerate(order.lines, start=1)
        ],
    )
    if tomb:
        conn.execute("DELETE FROM pickup_tombstones WHERE order_id = ?", (order.order_id,))
    else:
        stock.reserve_order(
            conn, order.order_id, [(ln.sku, ln.qty) for ln in order.lines], source=ctx.source
        )
    emit_update(conn, ctx.source, get_row(conn, order.order_id), None, stamp)
    return True


def on_order_cancelled(conn: sqlite3.Connection, d: Mapping[str, Any], ctx: ApplyContext) -> bool:
    """``order.cancelled`` from the web, whatever the order's state:

    - not here yet: remember it (a tombstone), the order will arrive cancelled;
    - open: cancelled; a ``ready`` order is flagged so the staff screen says to put the goods
      back on the shelves;
    - collected: the goods have left the shop, so it stays ``collected`` and the store says
      ``collected`` again, so the web does not refund them;
    - already cancelled or expired: nothing to do.
    """
    event = validated(OrderCancelled, d)
    row = conn.execute(
        "SELECT * FROM pickup_orders WHERE order_id = ?", (event.order_id,)
    ).fetchone()
    if row is None:
        cur = conn.execute(
            "INSERT OR IGNORE INTO pickup_tombstones (order_id, reason, received_at) "
            "VALUES (?,?,?)",
            (event.order_id, event.reason, now_iso()),
        )
        return cur.rowcount == 1
    if row["status"] == "collected":
        emit_update(conn, ctx.source, row, row["collected_by"], row["collected_at"])
        record_audit(conn, "web", None, "cancel_refused", row, reason=event.reason)
        return True
    if row["status"] not in OPEN:
        return False
    stamp = now_iso()
    row = update_order(
        conn, row["order_id"], **cancellation(row["status"], event.reason, "web", stamp, None)
    )
    stock.release_order(conn, row["order_id"], actor="web", source=ctx.source)
    emit_update(conn, ctx.source, row, None, stamp)
    return True


def erase_customer(conn: sqlite3.Connection, customer_id: str) -> int:
    """``customer.erased`` (GDPR): the name goes from the person's orders; the order number
    and the pickup code still identify an open order at the counter."""
    cur = conn.execute(
        "UPDATE pickup_orders SET customer_name = ?, updated_at = ? WHERE customer_id = ?",
        (ERASED_NAME, now_iso(), customer_id),
    )
    return cur.rowcount


HANDLERS: dict[str, Handler] = {
    "order.placed": on_order_placed,
    "order.cancelled": on_order_cancelled,
}
