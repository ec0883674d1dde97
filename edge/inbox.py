"""Applying down-events: one handler per event type, each a plain function that runs inside
the inbox's write transaction (together with the record of the event's ``(source, id)``).

A handler returns True when the event changed something, False when it was a no-op (an old
version, our own sale echoed back by the chain). Handlers never publish by themselves; where
the store must answer (a cancelled order already collected), they write an outbox row.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from edge import customers, loyalty, offers, pickups, products, state


@dataclass(frozen=True)
class ApplyContext:
    """What a handler may need besides the event: this store's identity and up-stream."""

    store_id: str
    source: str  # this edge's up-source, for events the store must emit in answer
    event_id: str
    event_time: str | None = None


Handler = Callable[[sqlite3.Connection, Mapping[str, Any], ApplyContext], bool]


def _customer_upserted(conn: sqlite3.Connection, d: Mapping[str, Any], ctx: ApplyContext) -> bool:
    return customers.apply_upserted(conn, d)


def _customer_erased(conn: sqlite3.Connection, d: Mapping[str, Any], ctx: ApplyContext) -> bool:
    erased = customers.apply_erased(conn, d)
    pickups.erase_customer(conn, d["customer_id"])  # the name on their click-and-collect orders
    return erased


def _purchase_recorded(conn: sqlite3.Connection, d: Mapping[str, Any], ctx: ApplyContext) -> bool:
    # Our own sales come back with purchase_id = sale_id: INSERT OR IGNORE keeps one.
    return customers.insert_purchase(conn, d, origin="down")


def _loyalty_entry(conn: sqlite3.Connection, d: Mapping[str, Any], ctx: ApplyContext) -> bool:
    # Our own entries come back with the same entry_id: never counted twice.
    return loyalty.insert_entry(conn, d, origin="down")


def _product_upserted(conn: sqlite3.Connection, d: Mapping[str, Any], ctx: ApplyContext) -> bool:
    return products.apply_upserted(conn, d)


def _replay_requested(conn: sqlite3.Connection, d: Mapping[str, Any], ctx: ApplyContext) -> bool:
    # The online store missed some of our up-events: the sync worker publishes again every
    # kept event after ``after``. Recorded durably here; the lowest pending request wins.
    after = int(d["after"])
    current = state.get(conn, REPLAY_KEY)
    if current is not None and int(current) <= after:
        return False
    state.put(conn, REPLAY_KEY, after)
    return True


REPLAY_KEY = "replay_after"

# Event type → handler. Areas add their own rows (order.*, offer.*, coupon.*).
HANDLERS: dict[str, Handler] = {
    "customer.upserted": _customer_upserted,
    "customer.erased": _customer_erased,
    "purchase.recorded": _purchase_recorded,
    "loyalty.entry": _loyalty_entry,
    "product.upserted": _product_upserted,
    "order.placed": pickups.on_order_placed,
    "order.cancelled": pickups.on_order_cancelled,
    # offers and coupons (issue 10): versioned offers, immutable coupons, idempotent uses
    "offer.upserted": offers.apply_offer_upserted,
    "coupon.issued": offers.apply_coupon_issued,
    "coupon.redeemed": offers.apply_coupon_redeemed,
    "replay.requested": _replay_requested,
}
