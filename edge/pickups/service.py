"""Click-and-collect moves: what staff, the shopper and the clock do to an order.

Each public function here is one operation and runs in one ``db.write`` transaction that
changes the order, writes its ``pickup.updated`` up-event, its audit row and its print job
together, so nothing is ever half-done; it takes an ``Actor`` and returns the order as
``views.order_view`` shows it (or raises an ``edge.errors`` domain error). The rules it
applies are in ``rules``; the down-event handlers (``handlers``) reuse ``emit_update``,
``update_order`` and ``record_audit`` inside the inbox's transaction instead.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

from edge.actor import Actor
from edge.config import Settings
from edge.errors import Conflict, DomainError, Forbidden, InvalidInput
from edge.pickups import checkin_guard
from edge.pickups.redaction import KEY_NAME as PICKUP_KEY
from edge.pickups.rules import (
    CLOSED,
    DOCUMENTS,
    Action,
    cancellation,
    code_matches,
    format_time,
    is_overdue,
    locked_error,
    locks_at,
    next_status,
    normalise_order_number,
    parse_presented_code,
    parse_time,
    same_order_number,
    staff_of,
    wrong_code_error,
)
from edge.pickups.texts import shopper_message
from edge.pickups.views import (
    checkin_answer,
    customer_locale,
    get_row,
    order_lines,
    order_view,
    print_data,
)
from edge.printing import queue
from edge.stock import service as stock
from edge.store import audit, outbox
from edge.store.db import now_iso, write
from edge.store.keys import box_key

# -- shared steps (the caller holds the transaction) -------------------------------------------


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


def _enqueue(
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


def _key(conn: sqlite3.Connection) -> bytes:
    """The box key of the pickup codes' HMAC (issue 19; ``edge.store.keys``)."""
    return box_key(conn, PICKUP_KEY)


def _audit(
    conn: sqlite3.Connection, who: Actor, action: str, row: sqlite3.Row, **detail: Any
) -> None:
    record_audit(conn, who.staff_id or who.name, who.role, action, row, **detail)


def _wrong_code(
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
    _audit(conn, who, "wrong_code", row, wrong_codes=wrong, at=where, locked=lock)
    return wrong


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
        _audit(conn, who, action, row, status=status)
        if status == "ready":
            _enqueue(conn, row, settings, who, "pickup_slip")
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
        _audit(conn, who, "cancel", row, reason=reason)
    return order_view(conn, order_id)


def collect(
    conn: sqlite3.Connection,
    order_id: str,
    presented_code: str,
    who: Actor,
    settings: Settings,
    *,
    payment_collected: bool = False,
) -> dict[str, Any]:
    """The verified handover of a paid order. A wrong code is counted (and committed) before
    the 422, so retrying cannot escape the lock; the order locks at ``pickup_max_wrong_codes``.

    An order not paid online is never handed over here: it is paid at the till, and the sale
    collects it in its own transaction (``collect_paid_at_till``). ``payment_collected`` is
    kept for old clients and no longer lets an unpaid order go."""
    del payment_collected  # a tick box is not a payment (issue 16)
    failure: DomainError | None = None
    with write(conn):
        row = get_row(conn, order_id)
        next_status(row["status"], "collect", row["order_number"])
        if row["locked"]:
            raise locked_error(row["order_number"])
        if not code_matches(
            row["order_id"], row["order_number"], row["code_hash"], presented_code, _key(conn)
        ):
            wrong = _wrong_code(conn, row, who, settings, "collect")
            failure = wrong_code_error(row["order_number"], wrong, settings.pickup_max_wrong_codes)
        elif not row["paid"]:
            raise Conflict(
                f"order {row['order_number']} was not paid online: take the payment at the "
                "till (a sale with its order_id), which hands it over",
                field="payment",
                code="payment_required",
            )
        else:
            _hand_over(conn, order_id, who, settings)
    if failure is not None:
        raise failure
    return order_view(conn, order_id)


# -- payment at pickup: the till's sale collects the order -------------------------------------


def check_for_payment(
    conn: sqlite3.Connection, order_id: str, presented_code: str, who: Actor, settings: Settings
) -> sqlite3.Row:
    """Before the till takes payment for an order: it must be ready, unpaid, unlocked, and
    the shopper's code right. A wrong code is counted and committed here, in a transaction of
    its own, so that failing the sale cannot undo the count."""
    failure: DomainError | None = None
    with write(conn):
        row = get_row(conn, order_id)
        next_status(row["status"], "collect", row["order_number"])
        if row["locked"]:
            raise locked_error(row["order_number"])
        if row["paid"]:
            raise Conflict(
                f"order {row['order_number']} was paid online: hand it over on the board",
                field="order_id",
                code="already_paid",
            )
        if not code_matches(
            row["order_id"], row["order_number"], row["code_hash"], presented_code, _key(conn)
        ):
            wrong = _wrong_code(conn, row, who, settings, "till")
            failure = wrong_code_error(row["order_number"], wrong, settings.pickup_max_wrong_codes)
    if failure is not None:
        raise failure
    return row


def collect_paid_at_till(
    conn: sqlite3.Connection,
    order_id: str,
    sale_id: str,
    presented_code: str,
    who: Actor,
    settings: Settings,
) -> sqlite3.Row:
    """Hand over an unpaid order in the transaction of the sale that paid for it (the caller
    holds it): collected, ``pickup.updated`` with the ``sale_id``, audit, handover receipt.
    Checked again here, inside the lock: two tills cannot both take the payment, and no sale
    hands over goods without the shopper's code (``check_for_payment`` counts wrong ones)."""
    row = get_row(conn, order_id)
    next_status(row["status"], "collect", row["order_number"])
    if not code_matches(
        row["order_id"], row["order_number"], row["code_hash"], presented_code, _key(conn)
    ):
        raise InvalidInput("wrong pickup code", field="pickup_code", code="wrong_pickup_code")
    if row["paid"] or row["paid_in_store"] or row["locked"]:
        raise Conflict(
            f"order {row['order_number']} cannot be paid at the till now",
            field="order_id",
            code="already_paid" if row["paid"] or row["paid_in_store"] else "pickup_locked",
        )
    return _hand_over(conn, order_id, who, settings, sale_id=sale_id)


def _hand_over(
    conn: sqlite3.Connection,
    order_id: str,
    who: Actor,
    settings: Settings,
    *,
    sale_id: str | None = None,
) -> sqlite3.Row:
    """The handover itself, in the caller's transaction, whether the order was paid online
    (the board) or by the till's ``sale_id``: collected, its reserved stock consumed,
    ``pickup.updated``, the audit row and the handover receipt."""
    stamp = now_iso()
    staff = staff_of(who)
    paid_here = {"paid_in_store": 1} if sale_id is not None else {}
    row = update_order(
        conn,
        order_id,
        status="collected",
        collected_at=stamp,
        collected_by=staff,
        **paid_here,
        closed_at=stamp,
        updated_at=stamp,
        updated_by=staff,
    )
    stock.collect_order(
        conn,
        order_id,
        [(ln["sku"], ln["qty"]) for ln in order_lines(conn, [order_id])[order_id]],
        actor=staff or who.name,
        source=settings.up_source,
    )
    emit_update(conn, settings.up_source, row, staff, stamp, sale_id=sale_id)
    _audit(conn, who, "collect", row, **({"sale_id": sale_id} if sale_id is not None else {}))
    _enqueue(conn, row, settings, who, "handover_receipt")
    return row


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
        _audit(conn, who, "unlock", row)
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
            job_id = _enqueue(conn, row, settings, who, document)
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
        _audit(conn, who, "reprint", row, document=document, job_id=job_id)
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
        _audit(conn, who, "put_back", row)
    return order_view(conn, order_id)


# -- the shopper's check-in --------------------------------------------------------------------


def checkin(
    conn: sqlite3.Connection,
    order_number: str | None,
    presented_code: str,
    who: Actor,
    settings: Settings,
    locale: str | None = None,
) -> dict[str, Any]:
    """The shopper's "I am here for W-100234, code 123456", at the kiosk or the counter.

    Unknown number, wrong code and locked order all get the same 422 in the same words, so a
    stranger learns nothing about anyone's order; a wrong code on a real order slows that
    order's check-in down (``checkin_guard``) but never locks its handover.
    """
    fallback = locale or settings.locale
    failed = InvalidInput(shopper_message("failed", fallback), code="checkin_failed")
    qr_number, _ = parse_presented_code(presented_code)
    if order_number and qr_number and not same_order_number(order_number, qr_number):
        raise failed
    number = normalise_order_number(order_number or qr_number or "")
    if not number:
        raise failed
    counted = False
    with write(conn):
        row = conn.execute(
            "SELECT * FROM pickup_orders WHERE order_number = ? COLLATE NOCASE", (number,)
        ).fetchone()
        if row is None:
            # Hash anyway, so an unknown number costs what a wrong code costs.
            code_matches("-", number, "h1:" + "0" * 64, presented_code, _key(conn))
            raise failed
        if row["locked"] or checkin_guard.waiting(row):
            raise failed
        if not code_matches(
            row["order_id"], row["order_number"], row["code_hash"], presented_code, _key(conn)
        ):
            checkin_guard.count_failure(conn, row, who)  # slows, never locks (issue 19)
            counted = True
        else:
            checkin_guard.reset(conn, row["order_id"])
            lang = locale or customer_locale(conn, row["customer_id"], settings.locale)
            if row["status"] in CLOSED:
                raise Conflict(
                    shopper_message(
                        "closed", lang, number=row["order_number"], status=row["status"]
                    ),
                    field="status",
                    code="invalid_transition",
                )
            next_status(row["status"], "checkin", row["order_number"])
            if row["checked_in_at"] is None:
                stamp = now_iso()
                staff = staff_of(who)
                row = update_order(
                    conn,
                    row["order_id"],
                    checked_in_at=stamp,
                    checked_in_by=who.staff_id or who.name,
                    updated_at=stamp,
                    updated_by=staff,
                )
                emit_update(conn, settings.up_source, row, staff, stamp)
                _audit(conn, who, "checkin", row)
    if counted:
        raise failed
    return checkin_answer(row, lang)


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
