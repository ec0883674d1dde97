"""Read models of the offers area: what an offer gives as the screens show it, a member's
coupons at the kiosk, the codes of a sale and of its receipt, and the overuse flags.

Nothing here writes; the rules that decide whether a code applies are in ``rules.py``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from edge.offers.rules import Applied, Offer
from edge.offers.texts import title_in
from edge.store.state import parse_time


def offer_from_row(row: sqlite3.Row) -> Offer:
    """An offer as the store keeps it (``offers`` table) turned into the rules' dataclass."""
    return Offer(
        offer_id=row["offer_id"],
        kind=row["kind"],
        value=int(row["value"]),
        min_total=int(row["min_total"]),
        skus=frozenset(json.loads(row["skus"] or "[]")),
        valid_from=parse_time(row["valid_from"]),
        valid_until=parse_time(row["valid_until"]),
        active=bool(row["active"]),
        title=json.loads(row["title"] or "{}"),
    )


def describe_offer(offer: Offer, locale: str) -> dict[str, Any]:
    """What an offer gives, as the screens and the till show it (no customer data)."""
    return {
        "offer_id": offer.offer_id,
        "title": title_in(offer.title, locale),
        "kind": offer.kind,
        "value": offer.value,
        "min_total": offer.min_total,
        "skus": sorted(offer.skus),
        "valid_from": _iso(offer.valid_from),
        "valid_until": _iso(offer.valid_until),
    }


def _iso(when: datetime | None) -> str | None:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z") if when else None


def for_customer(
    conn: sqlite3.Connection, customer_id: str, *, locale: str, now: datetime | None = None
) -> dict[str, Any]:
    """A member's unused personal coupons and the codes anyone may use, usable now or later.

    Expired, withdrawn and spent codes are left out; each code comes with what to encode in a
    QR code or a Code 128 barcode (the code itself, which is what the till's scanner types).
    """
    now = now or datetime.now(UTC)
    rows = conn.execute(
        "SELECT c.*, (SELECT COUNT(*) FROM coupon_redemptions r "
        "             WHERE r.coupon_id = c.coupon_id) AS uses "
        "FROM coupons c JOIN offers o ON o.offer_id = c.offer_id "
        "WHERE (c.customer_id = ? OR c.customer_id IS NULL) AND o.active = 1 "
        "ORDER BY c.issued_at DESC, c.coupon_id",
        (customer_id,),
    ).fetchall()
    offers_by_id: dict[str, Offer] = {}
    personal: list[dict[str, Any]] = []
    public: list[dict[str, Any]] = []
    for row in rows:
        offer = offers_by_id.get(row["offer_id"])
        if offer is None:
            offer_row = conn.execute(
                "SELECT * FROM offers WHERE offer_id = ?", (row["offer_id"],)
            ).fetchone()
            offer = offers_by_id[row["offer_id"]] = offer_from_row(offer_row)
        if row["uses"] >= row["max_uses"]:
            continue
        if offer.valid_until is not None and now > offer.valid_until:
            continue
        item = {
            **describe_offer(offer, locale),
            "coupon_id": row["coupon_id"],
            "code": row["code"],
            "uses_left": row["max_uses"] - row["uses"],
            "valid_now": offer.valid_from is None or offer.valid_from <= now,
            "scan": {"payload": row["code"], "symbologies": ["qr", "code128"]},
            # issue 22: why this member got it ("because you bought … in March")
            "why": title_in(json.loads(row["reason"]), locale) if row["reason"] else None,
        }
        (personal if row["customer_id"] else public).append(item)
    return {"customer_id": customer_id, "locale": locale, "coupons": personal, "offers": public}


def receipt_coupons(applied: Sequence[Applied], locale: str) -> list[dict[str, Any]]:
    """What the sale receipt prints for its codes: ``[{code, title, discount}]``, the title in
    the receipt's language."""
    return [
        {"code": a.coupon.code, "title": title_in(a.offer.title, locale), "discount": a.discount}
        for a in applied
    ]


def sale_coupons(conn: sqlite3.Connection, sale_id: str) -> list[dict[str, Any]]:
    """The codes redeemed by one of this store's sales (for a sale looked up later)."""
    rows = conn.execute(
        "SELECT c.code, r.coupon_id, r.discount FROM coupon_redemptions r "
        "JOIN coupons c ON c.coupon_id = r.coupon_id "
        "WHERE r.ref = ? AND r.origin = 'local' ORDER BY r.rowid",
        (sale_id,),
    ).fetchall()
    return [dict(r) for r in rows]


def overused(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Coupons flagged as used beyond their uses, newest first (for /readyz and /metrics)."""
    rows = conn.execute(
        "SELECT o.coupon_id, c.code, o.max_uses, o.uses, o.flagged_at, o.updated_at "
        "FROM coupon_overuse o LEFT JOIN coupons c ON c.coupon_id = o.coupon_id "
        "ORDER BY o.updated_at DESC, o.coupon_id"
    ).fetchall()
    return [dict(r) for r in rows]
