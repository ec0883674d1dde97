"""Down-events of the customers area: the one customer record and the one purchase history."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

from edge.customers import service as customers
from edge.pickups import handlers as pickups
from edge.store.inbox import ApplyContext, Handler


def customer_upserted(conn: sqlite3.Connection, d: Mapping[str, Any], ctx: ApplyContext) -> bool:
    return customers.apply_upserted(conn, d)


def customer_erased(conn: sqlite3.Connection, d: Mapping[str, Any], ctx: ApplyContext) -> bool:
    erased = customers.apply_erased(conn, d)
    pickups.erase_customer(conn, d["customer_id"])  # the name on their click-and-collect orders
    return erased


def purchase_recorded(conn: sqlite3.Connection, d: Mapping[str, Any], ctx: ApplyContext) -> bool:
    # Our own sales come back with purchase_id = sale_id: INSERT OR IGNORE keeps one.
    return customers.insert_purchase(conn, d, origin="down")


HANDLERS: dict[str, Handler] = {
    "customer.upserted": customer_upserted,
    "customer.erased": customer_erased,
    "purchase.recorded": purchase_recorded,
}
