"""Down-events of the pickups area: web orders placed and cancelled for this store."""

from __future__ import annotations

from edge.pickups import service as pickups
from edge.store.inbox import Handler

HANDLERS: dict[str, Handler] = {
    "order.placed": pickups.on_order_placed,
    "order.cancelled": pickups.on_order_cancelled,
}
