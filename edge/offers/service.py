"""Offers and coupons against the store's copy: reading a code, checking it, applying the
sale's codes, redeeming them, and the flag raised when the merged redemptions of a code
exceed its uses.

The store learns offers, coupons and other channels' uses from down-events (``handlers.py``)
and redeems codes at the till (``coupon.redeemed`` up). Whether a code applies and for how
much is decided in ``rules.py``; this module reads and writes around it.

Every writer here (``redeem``, ``insert_redemption``, ``flag_overuse``) runs in its
caller's transaction and opens none: the till redeems inside the sale's transaction
(``edge/sales/service.py``), the down-events inside the inbox's. ``check`` and
``apply_codes`` only read.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from edge.errors import Conflict, InvalidInput
from edge.offers.rules import (
    MAX_CODES_PER_SALE,
    Applied,
    BasketLine,
    Coupon,
    CouponRules,
    Offer,
    Verdict,
    code_reason,
    evaluate,
    offer_facts,
)
from edge.offers.texts import message
from edge.offers.views import describe_offer, offer_from_row
from edge.store import audit, outbox
from edge.store.db import now_iso
from edge.store.ids import new_id
from edge.store.state import parse_time

log = logging.getLogger("passerelle.offers")


# -- reading the store's copy --------------------------------------------------------------------


def uses(conn: sqlite3.Connection, coupon_id: str) -> int:
    """How many times a code was used, in every channel known here."""
    row = conn.execute(
        "SELECT COUNT(*) FROM coupon_redemptions WHERE coupon_id = ?", (coupon_id,)
    ).fetchone()
    return int(row[0])


def load(conn: sqlite3.Connection, code: str) -> tuple[Coupon | None, Offer | None]:
    """The coupon of a code (any case) with its uses from every channel, and its offer."""
    row = conn.execute("SELECT * FROM coupons WHERE code = ?", (code.strip(),)).fetchone()
    if row is None:
        return None, None
    coupon = Coupon(
        coupon_id=row["coupon_id"],
        code=row["code"],
        offer_id=row["offer_id"],
        customer_id=row["customer_id"],
        max_uses=int(row["max_uses"]),
        uses=uses(conn, row["coupon_id"]),
    )
    offer_row = conn.execute(
        "SELECT * FROM offers WHERE offer_id = ?", (row["offer_id"],)
    ).fetchone()
    return coupon, offer_from_row(offer_row) if offer_row else None


def check(
    conn: sqlite3.Connection,
    code: str,
    lines: Sequence[BasketLine],
    *,
    rules: CouponRules,
    customer_id: str | None,
    locale: str,
    offline_seconds: float | None,
    reveal_customer: bool,
    now: datetime | None = None,
) -> dict[str, Any]:
    """``coupons/check``: is the code usable, does it apply to this basket, for how much.

    ``reveal_customer`` False (the kiosk) checks a personal code without its owner and never
    says whose it is: the shopper learns what it gives and that it needs the member's card.
    """
    now = now or datetime.now(UTC)
    coupon, offer = load(conn, code)
    cap = rules.cap(offline_seconds)
    valid_reason = code_reason(
        coupon, offer, now=now, customer_id=customer_id, check_customer=reveal_customer
    )
    if lines:
        verdict = evaluate(
            coupon,
            offer,
            lines,
            now=now,
            customer_id=customer_id,
            check_customer=reveal_customer,
            cap=cap,
        )
    else:
        verdict = Verdict(valid_reason, facts=offer_facts(offer))
    reason = verdict.reason
    body: dict[str, Any] = {
        "code": coupon.code if coupon else code,
        "valid": valid_reason is None,
        "applies": bool(lines) and reason is None,
        "discount": verdict.discount if reason is None else 0,
        "reason": reason,
        "message": message(
            reason, locale, currency=rules.currency, timezone=rules.timezone, facts=verdict.facts
        )
        if reason
        else None,
        "currency": rules.currency,
        "lines": [
            {"sku": ln.sku, "qty": ln.qty, "discount": d}
            for ln, d in zip(lines, verdict.line_discounts or [0] * len(lines), strict=True)
        ],
        "offer": describe_offer(offer, locale) if coupon and offer else None,
        "personal": bool(coupon and coupon.customer_id),
        "uses_left": coupon.uses_left if coupon else None,
        "customer_id": coupon.customer_id if coupon and reveal_customer else None,
    }
    return body


# -- at the till ---------------------------------------------------------------------------------


def apply_codes(
    conn: sqlite3.Connection,
    codes: Sequence[str],
    lines: Sequence[BasketLine],
    *,
    rules: CouponRules,
    customer_id: str | None,
    locale: str,
    offline_seconds: float | None,
    now: datetime | None = None,
) -> list[Applied]:
    """Apply the sale's codes in the order given; raise on the first that does not apply.

    A spent code (in any channel known here) is a 409; every other refusal a 422 whose code
    is ``coupon_<reason>`` and whose message is in the shopper's language. Each code takes
    its share of what the earlier ones left, so together they never exceed the basket.
    """
    now = now or datetime.now(UTC)
    if len(codes) > MAX_CODES_PER_SALE:
        raise InvalidInput(
            f"at most {MAX_CODES_PER_SALE} coupon codes per sale", field="coupon_codes"
        )
    cap = rules.cap(offline_seconds)
    already = [0] * len(lines)
    applied: list[Applied] = []
    seen_codes: set[str] = set()
    seen_offers: set[str] = set()
    for i, code in enumerate(codes):
        where = f"coupon_codes[{i}]"
        if code.strip().upper() in seen_codes:
            raise InvalidInput(
                f"the code {code!r} is given twice", field=where, code="coupon_duplicate"
            )
        seen_codes.add(code.strip().upper())
        coupon, offer = load(conn, code)
        verdict = evaluate(
            coupon, offer, lines, now=now, customer_id=customer_id, already=already, cap=cap
        )
        if verdict.reason is not None or coupon is None or offer is None:
            reason = verdict.reason or "unknown"
            text = message(
                reason,
                locale,
                currency=rules.currency,
                timezone=rules.timezone,
                facts=verdict.facts,
            )
            error = Conflict if reason == "already_used" else InvalidInput
            raise error(text, field=where, code=f"coupon_{reason}")
        if offer.offer_id in seen_offers:
            raise InvalidInput(
                "two codes of the same offer cannot be combined in one sale",
                field=where,
                code="coupon_same_offer",
            )
        seen_offers.add(offer.offer_id)
        already = [a + d for a, d in zip(already, verdict.line_discounts, strict=True)]
        applied.append(Applied(coupon, offer, verdict.discount, verdict.line_discounts))
    return applied


def redeem(
    conn: sqlite3.Connection,
    applied: Sequence[Applied],
    *,
    sale_id: str,
    store_id: str,
    source: str,
    occurred_at: str,
) -> list[dict[str, Any]]:
    """Write each redemption and its ``coupon.redeemed`` up-event in the sale's transaction.

    Returns what the sale's answer shows: ``[{code, coupon_id, discount}]``.
    """
    out = []
    for a in applied:
        redemption = {
            "redemption_id": new_id(),
            "coupon_id": a.coupon.coupon_id,
            "channel": "store",
            "store_id": store_id,
            "ref": sale_id,
            "discount": a.discount,
            "occurred_at": occurred_at,
        }
        insert_redemption(conn, redemption, origin="local")
        conn.executemany(
            "INSERT INTO coupon_redemption_lines (redemption_id, line_no, discount) VALUES (?,?,?)",
            [
                (redemption["redemption_id"], n, d)
                for n, d in enumerate(a.line_discounts, start=1)
                if d
            ],
        )
        outbox.append(conn, source, "coupon.redeemed", redemption, time=occurred_at)
        out.append({"code": a.coupon.code, "coupon_id": a.coupon.coupon_id, "discount": a.discount})
    return out


# -- uses from every channel ---------------------------------------------------------------------


def checked_time(value: Any, *, required: bool = False) -> str | None:
    """An RFC 3339 time from a message, checked to carry its offset (a naive time would make
    every later comparison fail); a bad one raises ValueError, so the event is refused."""
    if value is None:
        if required:
            raise ValueError("a required time is missing")
        return None
    when = parse_time(str(value))
    if when is None or when.tzinfo is None:
        raise ValueError(f"{value!r} is not an RFC 3339 time with an offset")
    return str(value)


def insert_redemption(conn: sqlite3.Connection, r: Mapping[str, Any], origin: str) -> bool:
    """One use of a code, once per ``redemption_id``: ``local`` from the till, ``down`` from
    another channel (or our own coming back); True when it was new here."""
    discount = int(r["discount"])
    if discount < 0:
        raise ValueError(f"redemption {r.get('redemption_id')!r}: negative discount")
    cur = conn.execute(
        "INSERT OR IGNORE INTO coupon_redemptions (redemption_id, coupon_id, channel, store_id, "
        "ref, discount, occurred_at, origin, recorded_at) VALUES (?,?,?,?,?,?,?,?,?)",
        (
            str(r["redemption_id"]),
            str(r["coupon_id"]),
            str(r["channel"]),
            r.get("store_id"),
            r.get("ref"),
            discount,
            checked_time(r["occurred_at"], required=True),
            origin,
            now_iso(),
        ),
    )
    return cur.rowcount == 1


def flag_overuse(conn: sqlite3.Connection, coupon_id: str) -> bool:
    """Flag a coupon whose merged redemptions exceed its uses: a double use across channels
    while the link was down. Recorded in ``coupon_overuse`` (for /readyz and the metrics,
    with the current count) and once in the audit log, with the redemptions known when it
    was flagged; True when something new was flagged."""
    row = conn.execute(
        "SELECT code, max_uses FROM coupons WHERE coupon_id = ?", (coupon_id,)
    ).fetchone()
    if row is None:  # the coupon is not known yet: checked again when it arrives
        return False
    count = uses(conn, coupon_id)
    if count <= row["max_uses"]:
        return False
    known = conn.execute(
        "SELECT uses FROM coupon_overuse WHERE coupon_id = ?", (coupon_id,)
    ).fetchone()
    if known is not None and known["uses"] >= count:
        return False
    stamp = now_iso()
    conn.execute(
        "INSERT INTO coupon_overuse (coupon_id, max_uses, uses, flagged_at, updated_at) "
        "VALUES (?,?,?,?,?) ON CONFLICT (coupon_id) DO UPDATE SET uses = excluded.uses, "
        "max_uses = excluded.max_uses, updated_at = excluded.updated_at",
        (coupon_id, row["max_uses"], count, stamp, stamp),
    )
    log.warning(
        "coupon %s (%s) used %d times for %d allowed: double use across channels",
        coupon_id,
        row["code"],
        count,
        row["max_uses"],
    )
    if known is not None:
        return True  # already in the audit log; the flag's count is brought up to date
    redemptions = [
        dict(r)
        for r in conn.execute(
            "SELECT redemption_id, channel, store_id, ref, discount, occurred_at, origin "
            "FROM coupon_redemptions WHERE coupon_id = ? ORDER BY occurred_at, redemption_id",
            (coupon_id,),
        )
    ]
    audit.record(
        conn,
        actor="sync",
        role=None,
        action="coupon.overuse",
        target=coupon_id,
        detail={"code": row["code"], "max_uses": row["max_uses"], "redemptions": redemptions},
    )
    return True
