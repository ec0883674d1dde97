"""A sale's receipt: the sale decides what its receipt says; ``hardware`` only prints it.

``sale_receipt_data`` turns the sale as the API answers it into the data of the
``sale_receipt`` layout; ``reprint`` queues the same receipt again for a recorded sale.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from edge.errors import NotFound
from edge.printing import queue
from edge.sales.views import get_sale, sale_body


def sale_receipt_data(
    body: dict[str, Any],
    *,
    store_name: str,
    payment_method: str,
    terminal_id: str | None = None,
    customer: Any = None,
) -> dict[str, Any]:
    """What a sale receipt prints, from the sale as the API answers it (``sale_body``).

    ``customer`` is the member's row (or None), named as the kiosk shows them ("Élodie D."):
    a receipt left on the counter must not carry a full name."""
    keys = (
        "sale_id",
        "occurred_at",
        "currency",
        "subtotal",
        "discount",
        "points_value",
        "total",
        "points_earned",
        "points_redeemed",
        "points_balance",
        "lines",
        "coupons",
        "payments",
        "change_due",
        "order_id",
    )
    data = {k: body[k] for k in keys if k in body}
    data.update(store_name=store_name, payment_method=payment_method)
    if terminal_id:
        data["terminal_id"] = terminal_id
    if customer is not None:
        first, last = customer["first_name"], customer["last_name"]
        name = " ".join(part for part in (first, f"{last[0].upper()}." if last else "") if part)
        if name:
            data["customer_name"] = name
    return data


def reprint(
    conn: sqlite3.Connection,
    sale_id: str,
    *,
    store_name: str,
    requested_by: str,
) -> dict[str, Any]:
    """A new receipt job for a recorded sale, naming the job it repeats; never a drawer kick.

    The caller holds the write transaction and records the audit row in it."""
    original = conn.execute(
        "SELECT * FROM print_jobs WHERE document = 'sale_receipt' AND ref = ? "
        "AND reprint_of IS NULL ORDER BY job_id LIMIT 1",
        (sale_id,),
    ).fetchone()
    if original is not None:
        data = json.loads(original["data"])
        locale = original["locale"]
    else:
        row = get_sale(conn, sale_id)
        if row is None:
            raise NotFound(f"no sale {sale_id!r}", field="sale_id")
        data = sale_receipt_data(
            sale_body(conn, row),
            store_name=store_name,
            payment_method=row["payment_method"],
            terminal_id=row["terminal_id"],
        )
        locale = row["locale"]
    job_id = queue.enqueue(
        conn,
        document="sale_receipt",
        data=data,
        ref=sale_id,
        locale=locale,
        reprint_of=original["job_id"] if original is not None else None,
        requested_by=requested_by,
    )
    out = queue.get_job(conn, job_id)
    assert out is not None
    return queue.job_dict(out)
