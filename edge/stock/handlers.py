"""Down-events of the stock area: other stores' stock, re-published by the online store on
the chain (``stock.changed``), so the kiosk can say "not here, but 3 at S002".

Click-and-collect reservations come with ``order.placed`` / ``order.cancelled``, whose
handlers belong to the pickups area: they call ``edge.stock.service.reserve_order`` and
``release_order`` in the same transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

from edge.store.db import now_iso
from edge.store.inbox import ApplyContext, Handler


def on_stock_changed(conn: sqlite3.Connection, d: Mapping[str, Any], ctx: ApplyContext) -> bool:
    """Keep another store's figures; never an older version over a newer one. Our own
    figures coming back on the chain are ignored: this store's table is the truth."""
    store_id = d.get("store_id")
    if not store_id or store_id == ctx.store_id:
        return False
    cur = conn.execute(
        "INSERT INTO stock_elsewhere (store_id, sku, on_hand, reserved, available, version, "
        "occurred_at, received_at) VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (store_id, sku) DO "
        "UPDATE SET on_hand = excluded.on_hand, reserved = excluded.reserved, "
        "available = excluded.available, version = excluded.version, "
        "occurred_at = excluded.occurred_at, received_at = excluded.received_at "
        "WHERE excluded.version > stock_elsewhere.version",
        (
            store_id,
            d["sku"],
            int(d["on_hand"]),
            int(d["reserved"]),
            int(d["available"]),
            int(d["version"]),
            d["occurred_at"],
            now_iso(),
        ),
    )
    return cur.rowcount == 1


HANDLERS: dict[str, Handler] = {"stock.changed": on_stock_changed}
