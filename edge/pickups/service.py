"""Click-and-collect moves: what staff, the shopper and the clock do to an order.

Each public function here is one operation and runs in one ``db.write`` transaction that
changes the order, writes its ``pickup.updated`` up-event, its audit row and its print job
together, so nothing is ever half-done; it takes an ``Actor`` and returns the order as
``views.order_view`` shows it (or raises an ``edge.errors`` domain error). The rules it
applies are in ``rules``; the steps inside a transaction in ``steps`` (which the down-event
handlers reuse inside the inbox's); the handover in ``handover``, the shopper's check-in in
``checkin``: their operations are importable from here too.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

from edge.actor import Actor
from edge.config import Settings
from edge.errors import Conflict, Forbidden
from edge.pickups.checkin import checkin
from edge.pickups.handover import check_for_payment, collect, collect_paid_at_till
from edge.pickups.rules import (
    DOCUMENTS,
    Action,
    cancellation,
    format_time,
    is_overdue,
    next_status,
    parse_time,
    staff_of,
)
from edge.pickups.steps import (
    audit_move,
    emit_update,
    enqueue_paper,
    record_audit,
    update_order,
)
from edge.pickups.views import (
    get_row,
    order_view,
)
from edge.printing import queue
from edge.stock import service as stock
from edge.store.db import now_iso, write

# -- moves by staff, one transaction each ------------------------------------------------------


def _staff_move(
    conn: sqlite3.Connection, order_id: str, action: Action, who: Actor, settings: Settings
) -> dict[str, Any]:
    """Prepare or ready: the status moves, the web hears it; a ready order's slip prints."""
    with write(conn):
        row = get_row(conn, order_id)
        status = next_status(row["status"], action, row["order_number"])
        stamp = now_iso()
        staff = staff_of(who)
        changes: dict[str, Any] = {"status": status, "updated_at": stamp, "updated_by": staff}
        if status == "ready":
            changes["ready_at"] = stamp
        row = update_order(conn, order_id, **changes)
        emit_update(conn, settings.up_source, row, staff, stamp)
        audit_move(conn, who, action, row, status=status)
        if status == "ready":
            enqueue_paper(conn, row, settings, who, "pickup_slip")
    return order_view(conn, order_id)


def start_preparing(
    conn: sqlite3.Connection, order_id: str, who: Actor, settings: Settings
) -> dict[str, Any]:
    return _staff_move(conn, order_id, "prepare", who, settings)


def mark_ready(
    conn: sqlite3.Connection, order_id: str, who: Actor, settings: Settings
) -> dict[str, Any]:
    """Ready on the shelf: the web tells the shopper, and a pickup slip is queued."""
    return _staff_move(conn, order_id, "ready", who, settings)


def cancel(
    conn: sqlite3.Connection, order_id: str, reason: str, who: Actor, settings: Settings
) -> dict[str, Any]:
    """Staff cancel with a reason (goods damaged, out of stock…)."""
    with write(conn):
        row = get_row(conn, order_id)
        next_status(row["status"], "cancel", row["order_number"])
        stamp = now_iso()
        staff = staff_of(who)
        row = update_order(
            conn, order_id, **cancellation(row["status"], reason, "staff", stamp, staff)
        )
        stock.release_order(conn, order_id, actor=staff or who.name, source=settings.up_source)
        emit_update(conn, settings.up_source, row, staff, stamp)
        audit_move(conn, who, "cancel", row, reason=reason)
    return order_view(conn, order_id)


def unlock(
    conn: sqlite3.Connection, order_id: str, who: Actor, settings: Settings
) -> dict[str, Any]:
    """Only a manager (or an admin) lifts a wrong-code lock, after checking the shopper's ID."""
    if not (who.is_manager or who.role == "admin"):
        raise Forbidden("only a manager may unlock an order", field=None, code="manager_required")
    with write(conn):
        row = get_row(conn, order_id)
        if not row["locked"]:
            raise Conflict(
                f"order {row['order_number']} is not locked (status {row['status']})",
                code="not_locked",
            )
        row = update_order(
            conn,
            order_id,
            locked=0,
            locked_at=None,
            wrong_codes=0,
            updated_at=now_iso(),
            updated_by=staff_of(who),
        )
        audit_move(conn, who, "unlock", row)
    return order_view(conn, order_id)


def reprint(
    conn: sqlite3.Connection, order_id: str, who: Actor, settings: Settings
) -> dict[str, Any]:
    """Queue the slip again (ready) or the handover receipt again (collected)."""
    with write(conn):
        row = get_row(conn, order_id)
        document = DOCUMENTS.get(row["status"])
        if document is None:
            raise Conflict(
                f"order {row['order_number']} is {row['status']}: there is nothing to reprint "
                "(a slip is printed for a ready order, a receipt for a collected one)",
                field="status",
                code="invalid_transition",
            )
        last = conn.execute(
            "SELECT * FROM print_jobs WHERE ref = ? AND document = ? "
            "AND reprint_of IS NULL ORDER BY job_id DESC LIMIT 1",
            (order_id, document),
        ).fetchone()
        staff = staff_of(who)
        if last is None:  # the first print was purged: print what the order says now
            job_id = enqueue_paper(conn, row, settings, who, document)
        else:  # the same paper again (same staff, same times), marked as a copy
            job_id = queue.enqueue(
                conn,
                document=document,
                data=json.loads(last["data"]),
                ref=order_id,
                locale=last["locale"],
                printer_role=last["printer_role"],
                reprint_of=last["job_id"],
                requested_by=staff,
            )
        audit_move(conn, who, "reprint", row, document=document, job_id=job_id)
    return {"job_id": job_id, "document": document, "order_id": order_id}


def goods_put_back(
    conn: sqlite3.Connection, order_id: str, who: Actor, settings: Settings
) -> dict[str, Any]:
    """Staff confirm the goods of a cancelled or expired order are back on the shelves: the
    board stops asking."""
    with write(conn):
        row = get_row(conn, order_id)
        if not row["put_back"]:
            raise Conflict(
                f"order {row['order_number']} is {row['status']}: it has no goods to put back",
                field="put_back",
                code="nothing_to_put_back",
            )
        row = update_order(
            conn, order_id, put_back=0, updated_at=now_iso(), updated_by=staff_of(who)
        )
        audit_move(conn, who, "put_back", row)
    return order_view(conn, order_id)


# -- expiry (the periodic job) ------------------------------------------------------------------


def expire_overdue(
    conn: sqlite3.Connection, settings: Settings, now: datetime | None = None
) -> list[str]:
    """Ready orders past ``pickup_by`` + ``pickup_grace_hours`` become expired (and their
    goods go back to the shelves). Returns the order ids expired."""
    now = now or datetime.now(UTC)
    cutoff = format_time(now - timedelta(hours=settings.pickup_grace_hours))
    expired: list[str] = []
    with write(conn):
        rows = conn.execute(
            "SELECT * FROM pickup_orders WHERE status = 'ready' AND pickup_by < ? "
            "ORDER BY pickup_by",
            (cutoff,),
        ).fetchall()
        for row in rows:
            if not is_overdue(parse_time(row["pickup_by"]), now, settings.pickup_grace_hours):
                continue
            next_status(row["status"], "expire", row["order_number"])
            stamp = now_iso()
            row = update_order(
                conn,
                row["order_id"],
                status="expired",
                put_back=1,
                closed_at=stamp,
                updated_at=stamp,
                updated_by=None,
            )
            stock.release_order(conn, row["order_id"], actor="system", source=settings.up_source)
            emit_update(conn, settings.up_source, row, None, stamp)
            record_audit(conn, "system", None, "expire", row, pickup_by=row["pickup_by"])
            expired.append(row["order_id"])
    return expired


def expiry_job(conn: sqlite3.Connection, settings: Settings) -> int:
    """``edge.system.jobs.PERIODIC`` entry."""
    return len(expire_overdue(conn, settings))


__all__ = [
    "cancel",
    "check_for_payment",
    "checkin",
    "collect",
    "collect_paid_at_till",
    "emit_update",
    "expire_overdue",
    "expiry_job",
    "goods_put_back",
    "mark_ready",
    "record_audit",
    "reprint",
    "start_preparing",
    "unlock",
    "update_order",
]
