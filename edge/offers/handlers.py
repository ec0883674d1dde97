"""Down-events of the offers area: versioned offers, immutable coupons, idempotent uses."""

from __future__ import annotations

from edge.offers import service as offers
from edge.store.inbox import Handler

HANDLERS: dict[str, Handler] = {
    "offer.upserted": offers.apply_offer_upserted,
    "coupon.issued": offers.apply_coupon_issued,
    "coupon.redeemed": offers.apply_coupon_redeemed,
}
