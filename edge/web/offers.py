"""Coupons at the till and the kiosk, a member's offers, and the overuse flag in /readyz and
/metrics. The rules are in ``edge/offers/rules.py``, checking a code in ``service.py`` and
what the screens show in ``views.py``; this module parses, calls and renders."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

from flask import Blueprint
from flask.blueprints import BlueprintSetupState
from prometheus_client.core import GaugeMetricFamily, Metric
from pydantic import ConfigDict, Field

from edge.config import Settings
from edge.customers import views as customers
from edge.errors import Forbidden, InvalidInput, NotFound
from edge.offers import rules as offer_rules
from edge.offers import service as offers
from edge.offers import views as offer_views
from edge.offers.texts import pick_locale
from edge.sales import service as sales
from edge.store import state
from edge.system import metrics
from edge.web import access
from edge.web.context import current_principal, get_db, settings
from edge.web.customers import member_in_front
from edge.web.models import Card, CouponCode, Id, In, Locale, Out, SaleLineIn
from edge.web.routing import operation

bp = Blueprint("offers", __name__)

# -- shapes --------------------------------------------------------------------------------------


class CouponCheckIn(In):
    code: CouponCode
    lines: list[SaleLineIn] = Field(
        default_factory=list,
        max_length=500,
        description="the basket (sku, qty), priced from the catalogue; empty: the code alone",
    )
    customer_id: Id | None = Field(
        default=None, description="the member at the till (not accepted from the kiosk)"
    )
    locale: Locale | None = Field(
        default=None, description="the shopper's language; default: the member's, or the store's"
    )


class OfferInfo(Out):
    offer_id: str
    title: str
    kind: str
    value: int
    min_total: int
    skus: list[str]
    valid_from: str | None
    valid_until: str | None


class LineDiscount(Out):
    sku: str
    qty: int
    discount: int


class CouponCheckOut(Out):
    code: str
    valid: bool = Field(description="the code can be used now (whatever the basket)")
    applies: bool = Field(description="the code applies to the basket sent")
    discount: int = Field(description="what it takes off this basket, in minor units")
    reason: str | None = Field(description=f"why not: one of {', '.join(offer_rules.REASONS)}")
    message: str | None = Field(description="the reason in the shopper's language")
    currency: str
    lines: list[LineDiscount]
    offer: OfferInfo | None
    personal: bool = Field(description="a personal code: valid only with its member's card")
    uses_left: int | None
    customer_id: str | None = Field(description="whose code it is; never shown to the kiosk")


class Scan(Out):
    payload: str = Field(description="what to encode: the code, as the till's scanner types it")
    symbologies: list[str]


class MemberCoupon(OfferInfo):
    coupon_id: str
    code: str
    uses_left: int
    valid_now: bool
    scan: Scan
    why: str | None = Field(
        default=None, description="why the member got it, in their language (issue 22)"
    )


class MemberOffers(Out):
    customer_id: str
    locale: str
    coupons: list[MemberCoupon] = Field(description="the member's own unused coupons")
    offers: list[MemberCoupon] = Field(description="codes anyone may use")


class OffersQuery(In):
    model_config = ConfigDict(strict=False, extra="forbid")
    card: Card | None = Field(
        default=None, description="kiosk role: the scanned card, proof the shopper is present"
    )
    locale: Locale | None = None


def coupon_rules() -> offer_rules.CouponRules:
    s = settings()
    return offer_rules.CouponRules(
        currency=s.currency,
        locale=s.locale,
        timezone=s.timezone,
        offline_grace_seconds=s.offline_grace_seconds,
        offline_max_discount=s.offline_coupon_max_discount,
    )


# -- operations ----------------------------------------------------------------------------------


@operation(
    bp,
    "/coupons/check",
    "POST",
    name="coupons.check",
    tags=["coupons"],
    summary="Is this code valid, does it apply to the basket, and what does it take off",
    body=CouponCheckIn,
    responses={200: CouponCheckOut},
)
def check(body: CouponCheckIn) -> CouponCheckOut:
    """A refused code is a 200 with ``applies: false``, a ``reason`` code and a ``message``
    in the shopper's language; a malformed code or basket is a 4xx. The kiosk checks a code
    on its own (no customer) and never learns whose it is."""
    conn = get_db()
    s = settings()
    kiosk = current_principal().role not in access.STORE_STAFF
    if kiosk and body.customer_id:
        raise Forbidden(
            "the kiosk checks a code without a customer",
            field="customer_id",
            code="forbidden_field",
        )
    member_locale = None
    if body.customer_id:
        try:
            member_locale = customers.find(conn, customer_id=body.customer_id)["locale"]
        except NotFound as exc:
            raise InvalidInput(
                f"unknown customer {body.customer_id!r}",
                field="customer_id",
                code="unknown_customer",
            ) from exc
    lines = sales.price_lines(conn, body, s.currency)
    result = offers.check(
        conn,
        body.code,
        [offer_rules.BasketLine(ln.sku, ln.qty, ln.unit_price) for ln in lines],
        rules=coupon_rules(),
        customer_id=body.customer_id,
        locale=pick_locale(body.locale, member_locale, s.locale),
        offline_seconds=state.link(conn)["offline_seconds"],
        reveal_customer=not kiosk,
    )
    return CouponCheckOut(**result)


@operation(
    bp,
    "/customers/<customer_id>/offers",
    name="offers.for_customer",
    tags=["coupons", "customers"],
    summary="A member's unused coupons and the offers anyone may use, in their language",
    query=OffersQuery,
    responses={200: MemberOffers},
)
def for_customer(customer_id: str, query: OffersQuery) -> MemberOffers:
    """A kiosk must also send the scanned ``card``, as for the history: it reads only the
    offers of the member standing in front of it."""
    conn = get_db()
    row = member_in_front(conn, customer_id, query.card)
    locale = pick_locale(query.locale, row["locale"], settings().locale)
    return MemberOffers(**offer_views.for_customer(conn, customer_id, locale=locale))


# -- readiness and metrics -----------------------------------------------------------------------


def _readiness(conn: sqlite3.Connection, _status: dict[str, Any]) -> tuple[str, Any, str | None]:
    flagged = offer_views.overused(conn)
    detail = {"overused": len(flagged), "flagged": flagged[:20]}
    return "coupons", detail, "coupon_overuse" if flagged else None


def _collect(conn: object, _settings: Settings) -> Iterator[Metric]:
    assert isinstance(conn, sqlite3.Connection)
    gauge = GaugeMetricFamily(
        "passerelle_coupon_overuse",
        "Coupons used more often than allowed once every channel was merged",
    )
    gauge.add_metric([], float(len(offer_views.overused(conn))))
    yield gauge


@bp.record_once
def _register_extras(_state: BlueprintSetupState) -> None:
    """Hook into /readyz and /metrics once the app is built (edge.health imports this
    package, so it cannot be imported from here at module level)."""
    from edge.web import health

    if _readiness not in health.READINESS_EXTRAS:
        health.READINESS_EXTRAS.append(_readiness)
    if _collect not in metrics.EXTRA_COLLECTORS:
        metrics.EXTRA_COLLECTORS.append(_collect)
