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


METHODS = ("card", "cash", "voucher", "store_credit", "other")
"""Tenders of the contract (``payments[].method``). No card data ever reaches the box: the
card terminal stays outside, and the cashier records what it accepted."""


@dataclass(frozen=True)
class Payment:
    """One tender: ``tendered`` is the cash handed over (the change is the difference)."""

    method: str
    amount: int
    tendered: int | None = None


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
    payments: Sequence[Payment] = field(default_factory=tuple)
    order_id: str | None = None
    pickup_code: str | None = None
    exchange_of: str | None = None
    credit: int = 0
    cash_tendered: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """The request as JSON data, for the idempotency hash (same keys as the API body;
        the 1.1 keys only when used, so a retry across an upgrade still matches)."""
        d = asdict(self)
        d["lines"] = [asdict(ln) for ln in self.lines]
        d["coupon_codes"] = list(self.coupon_codes)
        d["payments"] = [asdict(p) for p in self.payments]
        for key in (
            "payments",
            "order_id",
            "pickup_code",
            "exchange_of",
            "credit",
            "cash_tendered",
        ):
            if not d[key]:
                del d[key]
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


def settle(
    payments: Sequence[Payment],
    total: int,
    default_method: str,
    *,
    credit: int = 0,
    cash_tendered: int | None = None,
) -> tuple[list[Payment], int]:
    """The tenders of a sale and the change due.

    Without tenders, the whole total is paid by ``default_method`` (the 1.0 request). With
    them, they must sum to the total exactly (a 422 naming ``payments`` otherwise); cash may
    say what was handed over, never less than its amount. ``credit`` is what the returned
    half of an exchange is worth: it pays first, as store credit, and the tenders pay the
    difference."""
    used = min(credit, total)
    first = [Payment("store_credit", used)] if used else []
    due = total - used
    if not payments:
        if cash_tendered is None or default_method != "cash":
            return (first + [Payment(default_method, due)] if due else first), 0
        if cash_tendered < due:
            raise InvalidInput(
                f"cash tendered {cash_tendered} is less than the {due} due",
                field="cash_tendered",
                code="not_enough_cash",
            )
        return (first + [Payment("cash", due, cash_tendered)] if due else first), (
            cash_tendered - due
        )
    change = 0
    for i, p in enumerate(payments):
        if p.method not in METHODS:
            raise InvalidInput(
                f"method must be one of {', '.join(METHODS)}", field=f"payments[{i}].method"
            )
        if p.amount <= 0:
            raise InvalidInput("a tender amount must be positive", field=f"payments[{i}].amount")
        if p.tendered is not None:
            if p.method != "cash":
                raise InvalidInput(
                    "only cash has an amount tendered", field=f"payments[{i}].tendered"
                )
            if p.tendered < p.amount:
                raise InvalidInput(
                    f"cash tendered {p.tendered} is less than its amount {p.amount}",
                    field=f"payments[{i}].tendered",
                )
            change += p.tendered - p.amount
    paid = sum(p.amount for p in payments)
    if paid != due:
        raise InvalidInput(
            f"the tenders sum to {paid} but {due} is due",
            field="payments",
            code="payments_mismatch",
        )
    return first + list(payments), change
