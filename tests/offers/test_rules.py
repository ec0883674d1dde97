"""The discount rules of edge/offers/rules.py, pure: properties (hypothesis) and worked examples.

No database: this file imports nothing of the edge but ``edge.offers.rules``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from edge.offers import rules as offers
from edge.offers.rules import BasketLine, Coupon, Offer

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
SKUS = ["A", "B", "C", "D"]

lines_st = st.lists(
    st.builds(
        BasketLine,
        sku=st.sampled_from(SKUS),
        qty=st.integers(1, 50),
        unit_price=st.integers(0, 100_000),
    ),
    min_size=1,
    max_size=12,
)
offer_st = st.one_of(
    st.builds(
        Offer,
        offer_id=st.just("o"),
        kind=st.just("percent"),
        value=st.integers(1, 100),
        min_total=st.integers(0, 50_000),
        skus=st.frozensets(st.sampled_from(SKUS), max_size=3),
    ),
    st.builds(
        Offer,
        offer_id=st.just("o"),
        kind=st.just("amount"),
        value=st.integers(1, 10_000_000),
        min_total=st.integers(0, 50_000),
        skus=st.frozensets(st.sampled_from(SKUS), max_size=3),
    ),
)


def coupon_of(offer: Offer, **over: object) -> Coupon:
    return Coupon(coupon_id="c", code="CODE", offer_id=offer.offer_id, **over)  # type: ignore[arg-type]


@settings(max_examples=400, deadline=None)
@given(offer=offer_st, lines=lines_st)
def test_discount_is_bounded_integral_and_spread_exactly(offer, lines):
    v = offers.evaluate(coupon_of(offer), offer, lines, now=NOW, customer_id=None)
    eligible = offers.eligible_amounts(offer, lines)
    if v.applies:
        assert isinstance(v.discount, int)
        assert 0 <= v.discount <= sum(eligible) <= sum(ln.amount for ln in lines)
        assert len(v.line_discounts) == len(lines)
        assert all(isinstance(d, int) and d >= 0 for d in v.line_discounts)
        assert sum(v.line_discounts) == v.discount
        # each line's share is within that line, and only eligible lines get a share
        assert all(d <= e for d, e in zip(v.line_discounts, eligible, strict=True))
        if offer.kind == "percent":
            assert v.discount == sum(eligible) * offer.value // 100
        else:
            assert v.discount == min(offer.value, sum(eligible))
    else:
        assert v.discount == 0 or v.reason == "offline_limit"
        assert v.reason in offers.REASONS


@settings(max_examples=200, deadline=None)
@given(offers_=st.lists(offer_st, min_size=1, max_size=4), lines=lines_st)
def test_several_codes_never_take_more_than_the_basket(offers_, lines):
    """Codes applied one after the other share what the earlier ones left."""
    already = [0] * len(lines)
    for offer in offers_:
        v = offers.evaluate(
            coupon_of(offer), offer, lines, now=NOW, customer_id=None, already=already
        )
        if v.applies:
            already = [a + d for a, d in zip(already, v.line_discounts, strict=True)]
    assert all(0 <= a <= ln.amount for a, ln in zip(already, lines, strict=True))


@given(total=st.integers(0, 10**9), weights=st.lists(st.integers(0, 10**7), min_size=1))
def test_largest_remainder_spread(total, weights):
    total = min(total, sum(weights))
    parts = offers.spread(total, weights)
    assert sum(parts) == total
    assert all(0 <= p <= w for p, w in zip(parts, weights, strict=True))
    # never more than one unit away from the exact proportional share
    if sum(weights):
        assert all(
            abs(p - total * w / sum(weights)) < 1 for p, w in zip(parts, weights, strict=True)
        )


def test_worked_examples():
    ten = Offer("o", "percent", 10)
    basket = [BasketLine("A", 1, 999), BasketLine("B", 2, 333)]  # 999 + 666 = 1665
    v = offers.evaluate(coupon_of(ten), ten, basket, now=NOW, customer_id=None)
    assert v.discount == 166  # floor(166.5)
    assert v.line_discounts == (100, 66)  # 99.9 → 99 +1 (largest remainder), 66.6 → 66
    five = Offer("o", "amount", 500, min_total=2000)
    v = offers.evaluate(coupon_of(five), five, basket, now=NOW, customer_id=None)
    assert v.reason == "min_total_not_reached" and v.facts["missing"] == 335
    big = Offer("o", "amount", 10_000)
    v = offers.evaluate(coupon_of(big), big, basket, now=NOW, customer_id=None)
    assert v.discount == 1665 and v.line_discounts == (999, 666)  # never more than the basket
    mugs = Offer("o", "percent", 50, skus=frozenset({"B"}))
    v = offers.evaluate(coupon_of(mugs), mugs, basket, now=NOW, customer_id=None)
    assert v.discount == 333 and v.line_discounts == (0, 333)
    only_c = Offer("o", "percent", 50, skus=frozenset({"C"}))
    v = offers.evaluate(coupon_of(only_c), only_c, basket, now=NOW, customer_id=None)
    assert v.reason == "no_eligible_item"


def test_reasons_in_order():
    day = timedelta(days=1)
    base = Offer("o", "percent", 10, valid_from=NOW - day, valid_until=NOW + day)
    mine = coupon_of(base, customer_id="c1")
    basket = [BasketLine("A", 1, 1000)]

    def reason(coupon: Coupon | None, offer: Offer | None, who: str | None = "c1") -> str | None:
        return offers.evaluate(coupon, offer, basket, now=NOW, customer_id=who).reason

    assert reason(None, None) == "unknown"
    assert reason(mine, None) == "unknown"  # the coupon arrived before its offer
    assert reason(mine, Offer("o", "percent", 10, active=False)) == "inactive"
    assert reason(mine, Offer("o", "percent", 10, valid_from=NOW + day)) == "not_yet_valid"
    assert reason(mine, Offer("o", "percent", 10, valid_until=NOW - day)) == "expired"
    assert reason(mine, base, who="c2") == "other_customer"
    assert reason(mine, base, who=None) == "other_customer"
    assert reason(coupon_of(base, customer_id="c1", uses=1), base) == "already_used"
    # a stranger's spent code says "personal", not whether its owner used it
    assert reason(coupon_of(base, customer_id="c1", uses=1), base, who="c2") == "other_customer"
    assert reason(coupon_of(base, max_uses=3, uses=2), base) is None
    assert reason(mine, base) is None


def test_offline_cap_applies_to_personal_codes_past_the_grace():
    assert offers.offline_cap(None, grace_seconds=600, max_discount=5000) is None
    assert offers.offline_cap(599, grace_seconds=600, max_discount=5000) is None
    assert offers.offline_cap(601, grace_seconds=600, max_discount=5000) == 5000
    offer = Offer("o", "amount", 6000)
    basket = [BasketLine("A", 1, 10_000)]
    personal = coupon_of(offer, customer_id="c1")
    v = offers.evaluate(personal, offer, basket, now=NOW, customer_id="c1", cap=5000)
    assert v.reason == "offline_limit"
    v = offers.evaluate(coupon_of(offer), offer, basket, now=NOW, customer_id=None, cap=5000)
    assert v.applies and v.discount == 6000  # a code for anyone is not capped
    small = Offer("o", "amount", 5000)
    v = offers.evaluate(personal, small, basket, now=NOW, customer_id="c1", cap=5000)
    assert v.applies
