"""The sales area's pure values and sums: what the till asks for, what a priced line is, what
a sale comes to, what is paid and what is earned.

No database and no web here: the web layer turns its request model into a ``NewSale``, the
service prices it from the catalogue, applies these rules and records it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Protocol

from edge.errors import InvalidInput
from edge.loyalty.rules import LoyaltyRules, points_earned


class LineLike(Protocol):
    """Anything with a SKU, a quantity and maybe a price: a sale's line or a basket's."""

    @property
    def sku(self) -> str: ...
    @property
    def qty(self) -> int: ...
    @property
    def unit_price(self) -> int | None: ...


class HasLines(Protocol):
    """A sale, or a basket checked against a coupon: lines to price from the catalogue."""

    @property
    def lines(self) -> Sequence[LineLike]: ...


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


def check_currency(sale: NewSale, currency: str) -> None:
    """Refuse a sale in another currency than the store's (checked before anything else)."""
    if sale.currency != currency:
        raise InvalidInput(
            f"this store sells in {currency}", field="currency", code="currency_mismatch"
        )


def check_redeemer(sale: NewSale, *, member: bool) -> None:
    """Refuse points redeemed in a sale with no member (``member``: one was found)."""
    if sale.redeem_points and not member:
        raise InvalidInput("points can be redeemed only for a member", field="redeem_points")


@dataclass(frozen=True)
class Totals:
    """What a sale comes to: the lines at catalogue prices, less the coupons' discount, less
    what redeemed points are worth."""

    subtotal: int
    discount: int = 0
    points_value: int = 0

    @classmethod
    def of(cls, lines: Iterable[PricedLine], *, discount: int = 0) -> Totals:
        return cls(subtotal=sum(ln.amount for ln in lines), discount=discount)

    @property
    def payable(self) -> int:
        """What is left after the coupons: the most that points may pay for."""
        return self.subtotal - self.discount

    @property
    def total(self) -> int:
        """What the customer pays, and what earns points."""
        return self.payable - self.points_value

    def with_points(self, value: int) -> Totals:
        return replace(self, points_value=value)


def earned(totals: Totals, tier: str | None, currency: str, rules: LoyaltyRules) -> int:
    """Points a sale earns: none without a member (``tier`` None), else on what was paid."""
    if tier is None:
        return 0
    return points_earned(totals.total, tier, currency, rules)


def ledger_moves(*, redeem_points: int, earned: int) -> list[tuple[int, str]]:
    """The ledger entries of a member's sale, as (points, reason): what was redeemed, then
    what was earned; none for a zero."""
    moves = []
    if redeem_points:
        moves.append((-redeem_points, "redeem"))
    if earned:
        moves.append((earned, "purchase"))
    return moves
