"""The sales area's pure values: what the till asks for and what a priced line is.

No database and no web here: the web layer turns its request model into a ``NewSale``, the
service prices it from the catalogue and records it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol


class LineLike(Protocol):
    """Anything with a SKU, a quantity and maybe a price: a sale's line or a basket's."""

    @property
    def sku(self) -> str: ...
    @property
    def qty(self) -> int: ...
    @property
    def unit_price(self) -> int | None: ...


@dataclass(frozen=True)
class SaleLine:
    """One line as the till sends it; ``unit_price``, when sent, must equal the catalogue's."""

    sku: str
    qty: int
    name: str | None = None
    unit_price: int | None = None


@dataclass(frozen=True)
class NewSale:
    """A sale to record: the command the till sends, already validated for shape."""

    terminal_id: str
    currency: str
    lines: Sequence[SaleLine]
    customer_id: str | None = None
    redeem_points: int = 0
    payment_method: str = "card"
    coupon_codes: Sequence[str] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        """The request as JSON data, for the idempotency hash (same keys as the API body)."""
        d = asdict(self)
        d["lines"] = [asdict(ln) for ln in self.lines]
        d["coupon_codes"] = list(self.coupon_codes)
        return d


@dataclass(frozen=True)
class PricedLine:
    sku: str
    name: str
    qty: int
    unit_price: int

    @property
    def amount(self) -> int:
        return self.qty * self.unit_price

    def as_dict(self) -> dict[str, Any]:
        return {"sku": self.sku, "name": self.name, "qty": self.qty, "unit_price": self.unit_price}
