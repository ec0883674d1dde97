"""The sales area's pure rules: what a sale comes to, what it earns, which ledger entries it
writes, and the checks made before the database is read (no database)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.errors import InvalidInput
from edge.loyalty.rules import LoyaltyRules, points_earned
from edge.sales import rules
from edge.sales.rules import NewSale, PricedLine, SaleLine, Totals

RULES = LoyaltyRules()

priced_lines = st.lists(
    st.builds(
        PricedLine,
        sku=st.text(min_size=1, max_size=8),
        name=st.text(max_size=8),
        qty=st.integers(1, 50),
        unit_price=st.integers(0, 10**5),
    ),
    max_size=10,
)


@given(lines=priced_lines, discount=st.integers(0, 10**5), points_value=st.integers(0, 10**5))
def test_the_total_is_the_lines_less_discount_less_points(lines, discount, points_value):
    totals = Totals.of(lines, discount=discount).with_points(points_value)
    assert totals.subtotal == sum(ln.qty * ln.unit_price for ln in lines)
    assert totals.payable == totals.subtotal - discount
    assert totals.total == totals.subtotal - discount - points_value
    assert Totals.of(lines).total == totals.subtotal


@given(
    total=st.integers(0, 10**7),
    tier=st.sampled_from(["standard", "silver", "gold"]),
)
def test_a_member_earns_on_what_is_paid_and_a_stranger_earns_nothing(total, tier):
    totals = Totals(subtotal=total)
    assert rules.earned(totals, tier, "EUR", RULES) == points_earned(total, tier, "EUR", RULES)
    assert rules.earned(totals, None, "EUR", RULES) == 0


@given(redeem=st.integers(0, 10**4), earned=st.integers(0, 10**4))
def test_ledger_moves_redeem_then_earn_and_sum_to_the_change(redeem, earned):
    moves = rules.ledger_moves(redeem_points=redeem, earned=earned)
    assert sum(points for points, _ in moves) == earned - redeem
    assert all(points != 0 for points, _ in moves)
    assert [reason for _, reason in moves] == [
        r for r, n in (("redeem", redeem), ("purchase", earned)) if n
    ]


def sale(*, redeem_points: int = 0, coupon_codes: tuple[str, ...] = ()) -> NewSale:
    return NewSale(
        terminal_id="pos-1",
        currency="EUR",
        lines=(SaleLine("SKU", 1),),
        redeem_points=redeem_points,
        coupon_codes=coupon_codes,
    )


def test_a_sale_in_another_currency_is_refused():
    rules.check_currency(sale(), "EUR")
    with pytest.raises(InvalidInput) as err:
        rules.check_currency(sale(), "CHF")
    assert err.value.code == "currency_mismatch" and err.value.field == "currency"


def test_points_are_redeemed_only_for_a_member():
    rules.check_redeemer(sale(), member=False)
    rules.check_redeemer(sale(redeem_points=100), member=True)
    with pytest.raises(InvalidInput) as err:
        rules.check_redeemer(sale(redeem_points=100), member=False)
    assert err.value.field == "redeem_points"


def test_a_new_sale_hashes_as_the_api_body():
    body = sale(coupon_codes=("A",)).as_dict()
    assert body["lines"] == [{"sku": "SKU", "qty": 1, "name": None, "unit_price": None}]
    assert body["coupon_codes"] == ["A"] and body["redeem_points"] == 0
    assert PricedLine("SKU", "Mug", 2, 1290).amount == 2580
