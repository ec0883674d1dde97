"""Cross-channel offers and coupons: the one place that decides whether a code applies to a
basket and what it takes off.

A campaign (e-mail, SMS, web, TV) makes an *offer* on the online store and issues *coupons*
(codes) for it, personal or for anyone; a code is spent once its uses are spent in any
channel. The store learns all three from down-events (``offer.upserted``, ``coupon.issued``,
``coupon.redeemed``) and redeems codes at the till (``coupon.redeemed`` up).

Pure rules first (no I/O, tested with hypothesis), then the database side: reading a code,
checking it, redeeming it in the sale's transaction, the down-event handlers, and the flag
raised when the merged redemptions of a code exceed its uses.

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

import json
import logging
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from edge.errors import Conflict, InvalidInput
from edge.offers.texts import LOCALES, MESSAGES, message, money, pick_locale, title_in  # noqa: F401
from edge.store import audit, outbox
from edge.store.db import now_iso
from edge.store.ids import new_id
from edge.store.state import parse_time

if TYPE_CHECKING:
    from edge.store.inbox import ApplyContext

log = logging.getLogger("passerelle.offers")

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


# -- pure rules --------------------------------------------------------------------------------


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
        return Verdict(reason or "unknown", facts=_facts(offer))
    weights = eligible_amounts(offer, lines, already)
    eligible = sum(weights)
    if eligible <= 0:
        return Verdict("no_eligible_item", facts=_facts(offer))
    prior = sum(already) if already is not None else 0
    basket = sum(ln.amount for ln in lines) - prior
    if basket < offer.min_total:
        return Verdict(
            "min_total_not_reached",
            eligible=eligible,
            facts={**_facts(offer), "missing": offer.min_total - basket},
        )
    discount = discount_for(offer, eligible)
    if cap is not None and coupon.customer_id is not None and discount > cap:
        return Verdict("offline_limit", discount=discount, eligible=eligible, facts={"cap": cap})
    return Verdict(None, discount, tuple(spread(discount, weights)), eligible, _facts(offer))


def _facts(offer: Offer | None) -> dict[str, Any]:
    if offer is None:
        return {}
    return {
        "valid_from": offer.valid_from,
        "valid_until": offer.valid_until,
        "min_total": offer.min_total,
    }


# -- reading the store's copy --------------------------------------------------------------------


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


def _offer_from_row(row: sqlite3.Row) -> Offer:
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


def uses(conn: sqlite3.Connection, coupon_id: str) -> int:
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
    return coupon, _offer_from_row(offer_row) if offer_row else None


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
        verdict = Verdict(valid_reason, facts=_facts(offer))
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


@dataclass(frozen=True)
class Applied:
    """One code applied to a sale: what it takes off and how that is spread over the lines."""

    coupon: Coupon
    offer: Offer
    discount: int
    line_discounts: tuple[int, ...]


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


# -- at the kiosk --------------------------------------------------------------------------------


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
            offer = offers_by_id[row["offer_id"]] = _offer_from_row(offer_row)
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
        }
        (personal if row["customer_id"] else public).append(item)
    return {"customer_id": customer_id, "locale": locale, "coupons": personal, "offers": public}


# -- down-events ---------------------------------------------------------------------------------


def _utc(value: Any, *, required: bool = False) -> str | None:
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


def apply_offer_upserted(
    conn: sqlite3.Connection, d: Mapping[str, Any], ctx: ApplyContext | None = None
) -> bool:
    """``offer.upserted``: keep only a newer version (an old one delivered late is ignored)."""
    kind = str(d["kind"])
    value = int(d["value"])
    if kind not in ("percent", "amount") or value < 0 or (kind == "percent" and value > 100):
        raise ValueError(f"offer {d.get('offer_id')!r}: bad kind/value {kind!r}/{value!r}")
    title = d.get("title") or {}
    if not isinstance(title, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in title.items()
    ):
        raise ValueError("offer title must be an object of locale → text")
    skus = d.get("skus") or []
    if not isinstance(skus, list | tuple) or not all(isinstance(x, str) for x in skus):
        raise ValueError("offer skus must be a list of SKUs")
    valid_from, valid_until = _utc(d.get("valid_from")), _utc(d.get("valid_until"))
    cur = conn.execute(
        "INSERT INTO offers (offer_id, version, title, kind, value, min_total, skus, valid_from, "
        "valid_until, active, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?) "
        "ON CONFLICT (offer_id) DO UPDATE SET version=excluded.version, title=excluded.title, "
        "kind=excluded.kind, value=excluded.value, min_total=excluded.min_total, "
        "skus=excluded.skus, valid_from=excluded.valid_from, valid_until=excluded.valid_until, "
        "active=excluded.active, updated_at=excluded.updated_at "
        "WHERE excluded.version > offers.version",
        (
            str(d["offer_id"]),
            int(d["version"]),
            json.dumps(dict(title), ensure_ascii=False, sort_keys=True),
            kind,
            value,
            max(0, int(d.get("min_total") or 0)),
            json.dumps(sorted(set(skus))),
            valid_from,
            valid_until,
            int(bool(d.get("active", True))),
            now_iso(),
        ),
    )
    return cur.rowcount == 1


def apply_coupon_issued(
    conn: sqlite3.Connection, d: Mapping[str, Any], ctx: ApplyContext | None = None
) -> bool:
    """``coupon.issued``: a coupon is immutable, so the first delivery wins and later ones
    are no-ops. It may arrive before its offer, or after redemptions of it (out of order): the
    redemptions already here are then checked against its ``max_uses``."""
    coupon_id = str(d["coupon_id"])
    code = str(d["code"]).strip()
    holder = conn.execute("SELECT coupon_id FROM coupons WHERE code = ?", (code,)).fetchone()
    if holder is not None and holder["coupon_id"] != coupon_id:
        # Two coupons with one code: keep the first, and say so where people look.
        log.warning("coupon %s: code %r already belongs to %s", coupon_id, code, holder[0])
        audit.record(
            conn,
            actor="sync",
            role=None,
            action="coupon.code_conflict",
            target=coupon_id,
            detail={"code": code, "kept": holder["coupon_id"]},
        )
        return False
    cur = conn.execute(
        "INSERT OR IGNORE INTO coupons (coupon_id, offer_id, code, customer_id, max_uses, "
        "issued_at, channel, recorded_at) VALUES (?,?,?,?,?,?,?,?)",
        (
            coupon_id,
            str(d["offer_id"]),
            code,
            d.get("customer_id"),
            max(1, int(d.get("max_uses") or 1)),
            _utc(d["issued_at"], required=True),
            str(d.get("channel") or "web"),
            now_iso(),
        ),
    )
    if cur.rowcount != 1:
        return False
    flag_overuse(conn, coupon_id)
    return True


def apply_coupon_redeemed(
    conn: sqlite3.Connection, d: Mapping[str, Any], ctx: ApplyContext | None = None
) -> bool:
    """``coupon.redeemed``: one use from any channel, once per ``redemption_id`` (our own
    store redemptions come back with the same id and are ignored)."""
    if not insert_redemption(conn, d, origin="down"):
        return False
    flag_overuse(conn, str(d["coupon_id"]))
    return True


def insert_redemption(conn: sqlite3.Connection, r: Mapping[str, Any], origin: str) -> bool:
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
            _utc(r["occurred_at"], required=True),
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


def overused(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Coupons flagged as used beyond their uses, newest first (for /readyz)."""
    rows = conn.execute(
        "SELECT o.coupon_id, c.code, o.max_uses, o.uses, o.flagged_at, o.updated_at "
        "FROM coupon_overuse o LEFT JOIN coupons c ON c.coupon_id = o.coupon_id "
        "ORDER BY o.updated_at DESC, o.coupon_id"
    ).fetchall()
    return [dict(r) for r in rows]
