"""The shopper's check-in at the kiosk or the counter: an order number and a code, answered
the same way whatever is wrong, so a stranger learns nothing about anyone's order.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from edge.actor import Actor
from edge.config import Settings
from edge.errors import Conflict, InvalidInput
from edge.pickups import checkin_guard
from edge.pickups.rules import (
    CLOSED,
    code_matches,
    next_status,
    normalise_order_number,
    parse_presented_code,
    same_order_number,
    staff_of,
)
from edge.pickups.steps import (
    audit_move,
    code_key,
    emit_update,
    update_order,
)
from edge.pickups.texts import shopper_message
from edge.pickups.views import (
    checkin_answer,
    customer_locale,
)
from edge.store.db import now_iso, write

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
            code_matches("-", number, "h1:" + "0" * 64, presented_code, code_key(conn))
            raise failed
        if row["locked"] or checkin_guard.waiting(row):
            raise failed
        if not code_matches(
            row["order_id"], row["order_number"], row["code_hash"], presented_code, code_key(conn)
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
                audit_move(conn, who, "checkin", row)
    if counted:
        raise failed
    return checkin_answer(row, lang)
