"""Member lookup, history and enrolment."""

from __future__ import annotations

import sqlite3

from flask import Blueprint, Response

from edge.customers import service as customers
from edge.customers import views as members
from edge.errors import Forbidden, NotFound
from edge.loyalty.rules import LoyaltyRules
from edge.web import access
from edge.web.context import current_principal, get_db, settings
from edge.web.models import (
    Customer,
    CustomerSummary,
    EnrollIn,
    HistoryPage,
    HistoryQuery,
    LookupQuery,
    MaskedQuery,
    MaskedSummary,
    ProfileIn,
)
from edge.web.routing import operation, plain_answer

bp = Blueprint("customers", __name__)


def rules() -> LoyaltyRules:
    s = settings()
    return LoyaltyRules(
        points_per_unit=s.points_per_unit,
        redeem_points_per_unit=s.redeem_points_per_unit,
        tier_multipliers=s.tier_multipliers,
        offline_grace_seconds=s.offline_grace_seconds,
        offline_redeem_cap=s.offline_redeem_cap,
    )


def member_in_front(conn: sqlite3.Connection, customer_id: str, card: str | None) -> sqlite3.Row:
    """Object-level authorisation for a member's own data (history, offers).

    Store staff read any member; a kiosk reads only the member standing in front of it, so it
    must send the scanned card, and the card must be that member's.
    """
    if current_principal().role in access.STORE_STAFF:
        return members.find(conn, customer_id=customer_id)
    if not card:
        raise Forbidden(
            "the kiosk needs the scanned card to read a member's data",
            field="card",
            code="card_required",
        )
    row = members.find(conn, card=card)
    if row["customer_id"] != customer_id:
        raise NotFound("no member matches this card", field="card", code="customer_not_found")
    return row


@operation(
    bp,
    "/customers/lookup",
    name="customers.lookup",
    tags=["customers"],
    summary="Find a member by loyalty card (any role) or phone (store staff)",
    query=LookupQuery,
    responses={200: CustomerSummary},
)
def lookup(query: LookupQuery) -> Response:
    """The kiosk sees the last name masked; a phone lookup is for store staff only, so a
    stranger at the kiosk cannot find people by their number."""
    who = current_principal()
    if query.phone and not query.card and who.role not in access.PHONE_LOOKUP:
        raise Forbidden(
            "the kiosk looks members up by card only", field="phone", code="forbidden_role"
        )
    row = members.find(get_db(), card=query.card, phone=None if query.card else query.phone)
    s = settings()
    return plain_answer(  # a CustomerSummary (the kiosk's path: no model built)
        members.summary(
            get_db(),
            row,
            currency=s.currency,
            rules=rules(),
            masked=who.role not in access.UNMASKED_NAMES,
        )
    )


@operation(
    bp,
    "/customers/masked",
    name="customers.masked",
    tags=["customers"],
    summary="Whether a phone number has a member card, masked (any role; for the kiosk)",
    query=MaskedQuery,
    responses={200: MaskedSummary},
)
def masked(query: MaskedQuery) -> MaskedSummary:
    """The kiosk's answer to a typed phone number: initials and a masked number, nothing
    more (no points, no history); the screens rate-limit it."""
    row = members.find(get_db(), phone=query.phone)
    return MaskedSummary(**members.masked_summary(row))


@operation(
    bp,
    "/customers/<customer_id>/history",
    name="customers.history",
    tags=["customers"],
    summary="Web and store purchases of a member, newest first",
    query=HistoryQuery,
    responses={200: HistoryPage},
)
def history(customer_id: str, query: HistoryQuery) -> Response:
    """A kiosk must also send the scanned ``card``: it reads only the history of the member
    standing in front of it (object-level authorisation)."""
    conn = get_db()
    member_in_front(conn, customer_id, query.card)
    # a HistoryPage (the kiosk's path: no model built)
    return plain_answer(members.history(conn, customer_id, limit=query.limit, cursor=query.cursor))


@operation(
    bp,
    "/customers/<customer_id>",
    name="customers.get",
    tags=["customers"],
    summary="A member's details (store staff)",
    responses={200: Customer},
)
def get_customer(customer_id: str) -> Customer:
    conn = get_db()
    return Customer(**members.detail(conn, members.find(conn, customer_id=customer_id)))


@operation(
    bp,
    "/customers",
    "POST",
    name="customers.enroll",
    tags=["customers"],
    summary="Enrol a new member in the store (emits customer.enrolled)",
    body=EnrollIn,
    responses={201: Customer},
)
def enroll(body: EnrollIn) -> tuple[Customer, int]:
    conn = get_db()
    s = settings()
    created = customers.enroll(conn, body.model_dump(), source=s.up_source, store_id=s.store_id)
    return Customer(**created), 201


@operation(
    bp,
    "/customers/<customer_id>",
    "PATCH",
    name="customers.update",
    tags=["customers"],
    summary="Correct a member's e-mail, phone, language, names or consents (customer.updated)",
    body=ProfileIn,
    responses={200: Customer},
)
def update(customer_id: str, body: ProfileIn) -> Customer:
    """At the till, or at the kiosk after a card scan (the kiosk sends the ``card``: it
    changes only the member standing in front of it). Only the fields sent change; the online
    store owns the record and answers with its new version."""
    conn = get_db()
    member_in_front(conn, customer_id, body.card)
    s = settings()
    principal = current_principal()
    changes = body.model_dump(exclude_unset=True, exclude={"card"})
    if "consents" in changes:
        changes["consents"] = {k: v for k, v in changes["consents"].items() if v is not None}
    updated = customers.update_profile(
        conn,
        principal,
        customers.ProfileUpdate(customer_id=customer_id, changes=changes),
        source=s.up_source,
        locale=s.locale,
    )
    return Customer(**updated)
