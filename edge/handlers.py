"""The one table of down-event handlers: event type -> the handler of the area that owns it.

The sync consumer reads this table; each area keeps its handlers in its own ``handlers.py``.
A type that two areas claimed would be a bug, so building the table refuses it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from edge.customers import handlers as customers
from edge.loyalty import handlers as loyalty
from edge.offers import handlers as offers
from edge.pickups import handlers as pickups
from edge.products import handlers as products
from edge.returns import handlers as returns
from edge.stock import handlers as stock
from edge.store import inbox
from edge.store.inbox import Handler


def _merge(tables: Iterable[Mapping[str, Handler]]) -> dict[str, Handler]:
    merged: dict[str, Handler] = {}
    for table in tables:
        for type_, handler in table.items():
            if type_ in merged:
                raise RuntimeError(f"two handlers for down-event type {type_!r}")
            merged[type_] = handler
    return merged


HANDLERS: dict[str, Handler] = _merge(
    (
        customers.HANDLERS,
        loyalty.HANDLERS,
        products.HANDLERS,
        pickups.HANDLERS,
        offers.HANDLERS,
        stock.HANDLERS,
        returns.HANDLERS,
        {"replay.requested": inbox.replay_requested},
    )
)
