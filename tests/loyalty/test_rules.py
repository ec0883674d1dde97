"""Loyalty maths, as properties: whatever the amounts, the rules hold (no database)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.errors import InvalidInput
from edge.loyalty import rules as loyalty

RULES = loyalty.LoyaltyRules()


@given(
    paid=st.integers(min_value=-(10**6), max_value=10**9),
    tier=st.sampled_from(["standard", "silver", "gold", "unknown"]),
)
def test_points_are_whole_never_negative_and_grow_with_the_tier(paid, tier):
    pts = loyalty.points_earned(paid, tier, "EUR", RULES)
    assert isinstance(pts, int) and pts >= 0
    assert pts >= loyalty.points_earned(paid, "standard", "EUR", RULES) or tier == "unknown"
    if paid > 0:
        assert pts <= paid // 100 * 1.5


def test_defaults_one_point_per_euro_and_100_points_per_euro():
    assert loyalty.points_earned(2599, "standard", "EUR", RULES) == 25
    assert loyalty.points_earned(2000, "gold", "EUR", RULES) == 30
    assert loyalty.redeem_value(100, "EUR", RULES) == 100
    assert loyalty.points_earned(2599, "standard", "JPY", RULES) == 2599  # no minor unit


@given(points=st.integers(0, 10**6), balance=st.integers(0, 10**6), payable=st.integers(0, 10**6))
def test_redemption_never_exceeds_balance_nor_amount_due(points, balance, payable):
    try:
        value = loyalty.check_redemption(
            points=points, balance=balance, payable=payable, currency="EUR", rules=RULES
        )
    except InvalidInput:
        assert points > balance or loyalty.redeem_value(points, "EUR", RULES) > payable
    else:
        assert points <= balance and 0 <= value <= payable


def test_offline_cap_applies_only_after_the_grace():
    kw = dict(
        points=800, balance=5000, payable=10**6, currency="EUR", rules=RULES, redeemed_today=500
    )
    assert loyalty.check_redemption(offline_seconds=None, **kw) == 800
    assert loyalty.check_redemption(offline_seconds=60, **kw) == 800
    with pytest.raises(InvalidInput) as err:
        loyalty.check_redemption(offline_seconds=3600, **kw)
    assert err.value.code == "offline_redeem_cap"
