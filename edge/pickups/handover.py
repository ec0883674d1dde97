"""The handover of an order: at the counter for an order paid online (``collect``), or in the
till's sale that takes the payment (``check_for_payment`` then ``collect_paid_at_till``).
A wrong code is counted and committed before the refusal, so retrying cannot escape the lock.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from edge.actor import Actor
from edge.config import Settings
from edge.errors import Conflict, DomainError, InvalidInput
from edge.pickups.rules import (
    code_matches,
    locked_error,
    next_status,
    staff_of,
    wrong_code_error,
)
from edge.pickups.steps import (
    audit_move,
    code_key,
    count_wrong_code,
    emit_update,
    enqueue_paper,
    update_order,
)
from edge.pickups.views import (
    get_row,
    order_lines,
    order_view,
)
from edge.stock import service as stock
from edge.store.db import now_iso, write


def _collectable(conn: sqlite3.Connection, order_id: str) -> sqlite3.Row:
    """The order, if it may be handed over now (ready and not locked), in the caller's
    transaction; else the domain error that says why."""
    row = get_row(conn, order_id)
    next_status(row["status"], "collect", row["order_number"])
    if row["locked"]:
        raise locked_error(row["order_number"])
    return row


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
        row = _collectable(conn, order_id)
        if not code_matches(
            row["order_id"], row["order_number"], row["code_hash"], presented_code, code_key(conn)
        ):
            wrong = count_wrong_code(conn, row, who, settings, "collect")
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
        row = _collectable(conn, order_id)
        if row["paid"]:
            raise Conflict(
                f"order {row['order_number']} was paid online: hand it over on the board",
                field="order_id",
                code="already_paid",
            )
        if not code_matches(
            row["order_id"], row["order_number"], row["code_hash"], presented_code, code_key(conn)
        ):
            wrong = count_wrong_code(conn, row, who, settings, "till")
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
        row["order_id"], row["order_number"], row["code_hash"], presented_code, code_key(conn)
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
    audit_move(conn, who, "collect", row, **({"sale_id": sale_id} if sale_id is not None else {}))
    enqueue_paper(conn, row, settings, who, "handover_receipt")
    return row
