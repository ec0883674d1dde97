"""The contract's vocabulary: prefixes, sources, which stream carries which event type, and
the one error every check raises (CONTRACT.md, "Event types")."""

from __future__ import annotations

import re
from typing import Literal

SCHEMA_BASE = "https://passerelle.example/schemas/v1/"
DEFAULT_PREFIX = "passerelle/v1"
STORE_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
CHAIN_SOURCE = "/web/chain"

# Which stream may carry which event type (CONTRACT.md, "Event types").
UP_TYPES = frozenset(
    {
        "sale.recorded",
        "loyalty.entry",
        "customer.enrolled",
        "pickup.updated",
        "coupon.redeemed",
        "customer.updated",  # 1.1: details or consents changed at the till or the kiosk
        "stock.changed",
        "return.recorded",
    }
)
CHAIN_TYPES = frozenset(
    {
        "customer.upserted",
        "customer.erased",
        "purchase.recorded",
        "loyalty.entry",
        "product.upserted",
        "offer.upserted",
        "coupon.issued",
        "coupon.redeemed",
        "stock.changed",
        "return.recorded",
    }
)
STORE_DOWN_TYPES = frozenset({"order.placed", "order.cancelled", "replay.requested"})
EVENT_TYPES = UP_TYPES | CHAIN_TYPES | STORE_DOWN_TYPES

Direction = Literal["up", "down"]


class ContractError(ValueError):
    """A message that breaks the contract; ``str()`` names what is wrong and where."""

    def __init__(self, message: str, *, path: str = "") -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.reason = message
        self.path = path
