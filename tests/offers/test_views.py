"""Read models of the offers that need no database: the codes' lines on a sale receipt."""

from __future__ import annotations

from edge.offers.rules import Applied, Coupon, Offer
from edge.offers.views import receipt_coupons


def coupon_of(offer: Offer) -> Coupon:
    return Coupon(coupon_id="c", code="CODE", offer_id=offer.offer_id)


def test_receipt_lines_of_the_codes():
    offer = Offer("o", "percent", 10, title={"fr": "10 % sur tout", "en": "10% off"})
    applied = [Applied(coupon_of(offer), offer, 258, (258,))]
    assert receipt_coupons(applied, "en") == [{"code": "CODE", "title": "10% off", "discount": 258}]
    only_en = Offer("o", "percent", 10, title={"en": "Spring"})
    assert (
        receipt_coupons([Applied(coupon_of(only_en), only_en, 1, (1,))], "fr")[0]["title"]
        == "Spring"
    )
