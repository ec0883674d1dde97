"""Loyalty maths: what a purchase earns and what redeemed points are worth.

Pure (no database): the sale and the screens call these with the store's ``LoyaltyRules``.
While the link to the online store is down the store cannot see redemptions made on the web,
so a member could spend the same points twice; ``check_redemption`` bounds that risk: past a
grace period offline, redemption per customer per day is capped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal

from babel.numbers import get_currency_precision

from edge.errors import InvalidInput

DEFAULT_TIERS: Mapping[str, float] = {"standard": 1.0, "silver": 1.25, "gold": 1.5}


@dataclass(frozen=True)
class LoyaltyRules:
    points_per_unit: int = 1
    redeem_points_per_unit: int = 100
    tier_multipliers: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_TIERS))
    offline_grace_seconds: int = 600
    offline_redeem_cap: int = 1000


def minor_per_unit(currency: str) -> int:
    """100 for EUR, 1 for JPY: the currency's own precision, from CLDR via Babel."""
    return int(10 ** get_currency_precision(currency))


def points_earned(paid: int, tier: str, currency: str, rules: LoyaltyRules) -> int:
    """Points for an amount actually paid (after discounts and redeemed points).

    Whole currency units only, times the tier's multiplier, rounded down: a customer never
    earns a fraction of a point, and an unknown tier earns as standard.
    """
    if paid <= 0:
        return 0
    units = paid // minor_per_unit(currency)
    multiplier = Decimal(str(rules.tier_multipliers.get(tier, 1.0)))
    points = (Decimal(units) * rules.points_per_unit * multiplier).to_integral_value(ROUND_FLOOR)
    return int(points)


def redeem_value(points: int, currency: str, rules: LoyaltyRules) -> int:
    """What redeemed points are worth in minor units (default 100 points = 1.00)."""
    if points <= 0:
        return 0
    return points * minor_per_unit(currency) // rules.redeem_points_per_unit


def points_for_value(value: int, currency: str, rules: LoyaltyRules) -> int:
    """The fewest points worth at least ``value`` (used to cap a redemption at the basket)."""
    per = minor_per_unit(currency)
    return -(-value * rules.redeem_points_per_unit // per)


def check_redemption(
    *,
    points: int,
    balance: int,
    payable: int,
    currency: str,
    rules: LoyaltyRules,
    redeemed_today: int = 0,
    offline_seconds: float | None = None,
) -> int:
    """Validate a redemption and return its value; raise InvalidInput naming the rule broken."""
    if points < 0:
        raise InvalidInput("redeem_points cannot be negative", field="redeem_points")
    if points == 0:
        return 0
    if points > balance:
        raise InvalidInput(
            f"cannot redeem {points} points: the balance is {balance}",
            field="redeem_points",
            code="insufficient_points",
        )
    value = redeem_value(points, currency, rules)
    if value > payable:
        raise InvalidInput(
            f"{points} points are worth more than the amount to pay; redeem at most "
            f"{points_for_value(payable, currency, rules) - 1 if payable else 0} points",
            field="redeem_points",
            code="redeem_exceeds_total",
        )
    offline = offline_seconds is not None and offline_seconds > rules.offline_grace_seconds
    if offline and redeemed_today + points > rules.offline_redeem_cap:
        left = max(0, rules.offline_redeem_cap - redeemed_today)
        raise InvalidInput(
            f"the link to the online store is down: at most {rules.offline_redeem_cap} "
            f"points a day may be redeemed per customer until it is back ({left} left today)",
            field="redeem_points",
            code="offline_redeem_cap",
        )
    return value
