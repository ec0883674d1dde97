"""Valid events of every type of the contract, for the sync tests (and as living examples)."""

from __future__ import annotations

import copy
import uuid
from typing import Any

T = "2026-11-22T10:15:00Z"
LINES = [{"sku": "SKU-1", "name": "Café moulu", "qty": 2, "unit_price": 450}]


def data_for(type_: str, n: int = 1, store_id: str = "S001") -> dict[str, Any]:
    """A valid ``data`` object of ``type_``; ``n`` varies the ids."""
    samples: dict[str, dict[str, Any]] = {
        "customer.upserted": {
            "customer_id": f"C{n}",
            "version": 1,
            "loyalty_card": f"CARD{n:08d}",
            "first_name": "Ana",
            "last_name": f"Web{n}",
            "email": f"ana{n}@example.com",
            "phone": "+33612345678",
            "tier": "standard",
            "locale": "fr",
        },
        "customer.erased": {"customer_id": f"C{n}"},
        "purchase.recorded": {
            "purchase_id": f"W{n}",
            "customer_id": f"C{n}",
            "channel": "web",
            "store_id": None,
            "occurred_at": T,
            "currency": "EUR",
            "total": 900,
            "lines": LINES,
            "points_earned": 9,
        },
        "loyalty.entry": {
            "entry_id": f"E{n}",
            "customer_id": f"C{n}",
            "points": 10,
            "reason": "bonus",
            "ref": None,
            "channel": "web",
            "store_id": None,
            "occurred_at": T,
        },
        "stock.changed": {
            "sku": f"SKU-{n}",
            "store_id": store_id,
            "on_hand": 3,
            "reserved": 1,
            "available": 2,
            "version": n,
            "reason": "sale",
            "occurred_at": T,
        },
        "product.upserted": {
            "sku": f"SKU-{n}",
            "version": 1,
            "name": f"Product {n}",
            "barcode": f"{3000000000000 + n}",
            "price": 100 + n,
            "currency": "EUR",
            "active": True,
        },
        "offer.upserted": {
            "offer_id": f"O{n}",
            "version": 1,
            "title": {"fr": "Dix pour cent", "en": "Ten percent"},
            "kind": "percent",
            "value": 10,
            "min_total": 0,
            "skus": [],
            "valid_from": T,
            "valid_until": None,
            "active": True,
        },
        "coupon.issued": {
            "coupon_id": f"K{n}",
            "offer_id": "O1",
            "code": f"CODE{n}",
            "customer_id": None,
            "max_uses": 1,
            "issued_at": T,
            "channel": "email",
        },
        "coupon.redeemed": {
            "redemption_id": f"R{n}",
            "coupon_id": f"K{n}",
            "channel": "web",
            "store_id": None,
            "ref": f"W{n}",
            "discount": 100,
            "occurred_at": T,
        },
        "order.placed": {
            "order_id": f"ORD{n}",
            "order_number": f"W-{100000 + n}",
            "customer_id": "C1",
            "customer_name": "Ana Web",
            "pickup_code": "123456",
            "currency": "EUR",
            "total": 900,
            "paid": True,
            "lines": LINES,
            "placed_at": T,
            "pickup_by": "2026-11-25T18:00:00Z",
        },
        "order.cancelled": {"order_id": f"ORD{n}", "reason": "out of stock"},
        "replay.requested": {"after": str(n)},
        "sale.recorded": {
            "sale_id": f"SALE{n}",
            "terminal_id": "pos-1",
            "cashier_id": "st-1",
            "customer_id": None,
            "occurred_at": T,
            "currency": "EUR",
            "total": 900,
            "lines": LINES,
            "discount": 0,
            "coupons": [],
            "points_earned": 0,
            "points_redeemed": 0,
        },
        "customer.enrolled": {
            "customer_id": f"C{n}",
            "loyalty_card": f"CARD{n:08d}",
            "first_name": "Ana",
            "last_name": "Store",
            "email": None,
            "phone": None,
            "locale": "fr",
        },
        "customer.updated": {
            "customer_id": f"C{n}",
            "base_version": 1,
            "changes": {
                "email": f"new{n}@example.com",
                "consents": {"sms": False, "updated_at": T},
            },
        },
        "return.recorded": {
            "return_id": f"R{n}",
            "terminal_id": "pos-1",
            "cashier_id": "st-1",
            "customer_id": f"C{n}",
            "original": {"kind": "sale", "id": f"S{n}"},
            "occurred_at": T,
            "currency": "EUR",
            "lines": [{"sku": "SKU-1", "name": "Café moulu", "qty": 1, "refund": 450}],
            "total_refunded": 450,
            "refunds": [{"method": "card", "amount": 450}],
            "points_reversed": 4,
            "points_restored": 0,
            "reason": "damaged",
        },
        "pickup.updated": {
            "order_id": f"ORD{n}",
            "status": "ready",
            "checked_in_at": None,
            "staff_id": "st-1",
            "occurred_at": T,
        },
    }
    return copy.deepcopy(samples[type_])


def event(
    source: str, type_: str, sequence: int, data: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    """A CloudEvent of the contract."""
    ev = {
        "specversion": "1.0",
        "id": extra.pop("id", None) or str(uuid.uuid4()),
        "source": source,
        "type": type_,
        "time": T,
        "sequence": str(sequence),
        "datacontenttype": "application/json",
        "data": data if data is not None else data_for(type_, sequence),
    }
    ev.update(extra)
    return ev
