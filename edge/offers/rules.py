"""Cross-channel offers and coupons, pure: the one place that decides whether a code applies
to a basket and what it takes off.

A campaign (e-mail, SMS, web, TV) makes an *offer* on the online store and issues *coupons*
(codes) for it, personal or for anyone; a code is spent once its uses are spent in any
channel. Reading the store's copy and redeeming are in ``service.py``, what the screens
show in ``views.py``, the down-events in ``handlers.py``; this module does no I/O, so that
the arithmetic below is tested with hypothesis alone.

Rounding, in integer minor units:

- the *eligible amount* is the sum of the eligible lines (SKUs of the offer, or every line
  when the offer lists none), each line counted at what is still to pay on it after the
  coupons applied before this one in the same sale;
- ``percent``: discount = floor(eligible × value / 100), so the shop never gives a fraction
  of a cent more than announced; ``amount``: discount = min(value, eligible);
- the discount is never below zero and never above the eligible amount, hence never above
  the basket;
- it is spread over the eligible lines in proportion to their amounts by the largest
  remainder method (floor of each share, then one unit more to the lines with the largest
  remainders, earlier lines first on ties): the per-line discounts sum exactly to the
  coupon's discount and none exceeds its line.

``min_total`` is compared with what the whole basket still costs before this coupon (the
subtotal minus the coupons applied before it in the same sale).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

MAX_CODES_PER_SALE = 5

# Why a code does not apply, in the order they are checked. ``offline_limit`` is the
# store's own offline policy (see ``offline_cap``).
REASONS = (
    "unknown",
    "inactive",
    "not_yet_valid",
    "expired",
    "other_customer",
    "already_used",
    "no_eligible_item",
    "min_total_not_reached",
    "offline_limit",
)


@dataclass(frozen=True)
class Offer:
    offer_id: str
    kind: str  # "percent" (value 1-100) or "amount" (value in minor units)
    value: int
    min_total: int = 0
    skus: frozenset[str] = frozenset()
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    active: bool = True
    title: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Coupon:
    coupon_id: str
    code: str
    offer_id: str
    customer_id: str | None = None
    max_uses: int = 1
    uses: int = 0  # redemptions known here, from every channel

    @property
    def uses_left(self) -> int:
        return max(0, self.max_uses - self.uses)


@dataclass(frozen=True)
class BasketLine:
    sku: str
    qty: int
    unit_price: int

    @property
    def amount(self) -> int:
        return self.qty * self.unit_price


@dataclass(frozen=True)
class Verdict:
    """The answer for one code on one basket: ``reason`` is None when it applies."""

    reason: str | None
    discount: int = 0
    line_discounts: tuple[int, ...] = ()
    eligible: int = 0
    facts: Mapping[str, Any] = field(default_factory=dict)

    @property
    def applies(self) -> bool:
        return self.reason is None


@dataclass(frozen=True)
class Applied:
    """One code applied to a sale: what it takes off and how that is spread over the lines."""

    coupon: Coupon
    offer: Offer
    discount: int
    line_discounts: tuple[int, ...]


@dataclass(frozen=True)
class CouponRules:
    """The store's settings the coupon rules need (built from ``Settings`` by the callers)."""

    currency: str = "EUR"
    locale: str = "fr"
    timezone: str = "Europe/Paris"
    offline_grace_seconds: int = 600
    offline_max_discount: int = 5000

    def cap(self, offline_seconds: float | None) -> int | None:
        return offline_cap(
            offline_seconds,
            grace_seconds=self.offline_grace_seconds,
            max_discount=self.offline_max_discount,
        )


def code_reason(
    coupon: Coupon | None,
    offer: Offer | None,
    *,
    now: datetime,
    customer_id: str | None,
    check_customer: bool = True,
) -> str | None:
    """Whether the code itself can be used now, whatever the basket (None = it can).

    A coupon whose offer has not reached the store yet is ``unknown`` here: without its
    offer the store cannot know what it gives. ``other_customer`` comes before
    ``already_used`` so that a stranger's code tells nothing about its owner's purchases.
    """
    if coupon is None or offer is None:
        return "unknown"
    if not offer.active:
        return "inactive"
    if offer.valid_from is not None and now < offer.valid_from:
        return "not_yet_valid"
    if offer.valid_until is not None and now > offer.valid_until:
        return "expired"
    if check_customer and coupon.customer_id is not None and coupon.customer_id != customer_id:
        return "other_customer"
    if coupon.uses >= coupon.max_uses:
        return "already_used"
    return None


def eligible_amounts(
    offer: Offer, lines: Sequence[BasketLine], already: Sequence[int] | None = None
) -> list[int]:
    """Per line, what the offer may take a share of: what is still to pay on an eligible
    line (after earlier coupons of the same sale), 0 on the others."""
    prior = list(already) if already is not None else [0] * len(lines)
    return [
        max(0, ln.amount - prior[i]) if not offer.skus or ln.sku in offer.skus else 0
        for i, ln in enumerate(lines)
    ]


def discount_for(offer: Offer, eligible: int) -> int:
    """The discount on an eligible amount: percent rounded down, amount capped; 0 ≤ d ≤ eligible."""
    if eligible <= 0 or offer.value <= 0:
        return 0
    d = eligible * min(offer.value, 100) // 100 if offer.kind == "percent" else offer.value
    return max(0, min(d, eligible))


def spread(total: int, weights: Sequence[int]) -> list[int]:
    """Split ``total`` over ``weights`` by the largest remainder; the parts sum to ``total``.

    Needs 0 ≤ total ≤ sum(weights); each part is then at most its weight.
    """
    whole = sum(weights)
    if total <= 0 or whole <= 0:
        return [0] * len(weights)
    if total > whole:
        raise ValueError("cannot spread more than the weights hold")
    parts = [total * w // whole for w in weights]
    rest = total - sum(parts)
    order = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] % whole), i))
    for i in order[:rest]:
        parts[i] += 1
    return parts


def offline_cap(
    offline_seconds: float | None, *, grace_seconds: int, max_discount: int
) -> int | None:
    """The most a personal code may take off now, or None when there is no limit.

    While the link is down the store cannot see a personal code spent on the web; past the
    grace period the risk of a double use is bounded by this cap per code.
    """
    if offline_seconds is None or offline_seconds <= grace_seconds:
        return None
    return max_discount


def evaluate(
    coupon: Coupon | None,
    offer: Offer | None,
    lines: Sequence[BasketLine],
    *,
    now: datetime,
    customer_id: str | None,
    already: Sequence[int] | None = None,
    check_customer: bool = True,
    cap: int | None = None,
) -> Verdict:
    """Does this code apply to this basket, and for how much (see the module's docstring)."""
    reason = code_reason(
        coupon, offer, now=now, customer_id=customer_id, check_customer=check_customer
    )
    if reason is not None or coupon is None or offer is None:
        return Verdict(reason or "unknown", facts=offer_facts(offer))
    weights = eligible_amounts(offer, lines, already)
    eligible = sum(weights)
    if eligible <= 0:
        return Verdict("no_eligible_item", facts=offer_facts(offer))
    prior = sum(already) if already is not None else 0
    basket = sum(ln.amount for ln in lines) - prior
    if basket < offer.min_total:
        return Verdict(
            "min_total_not_reached",
            eligible=eligible,
            facts={**offer_facts(offer), "missing": offer.min_total - basket},
        )
    discount = discount_for(offer, eligible)
    if cap is not None and coupon.customer_id is not None and discount > cap:
        return Verdict("offline_limit", discount=discount, eligible=eligible, facts={"cap": cap})
    return Verdict(None, discount, tuple(spread(discount, weights)), eligible, offer_facts(offer))


def offer_facts(offer: Offer | None) -> dict[str, Any]:
    """What a refusal's message may name: the offer's dates and its minimum basket."""
    if offer is None:
        return {}
    return {
        "valid_from": offer.valid_from,
        "valid_until": offer.valid_until,
        "min_total": offer.min_total,
    }
