"""The campaign's mobile landing page: who came (once each), and the sign-up that enrols a
new member or enriches a known one, records their explicit consent per channel and their
answer to the campaign's question, and issues the coupon by e-mail and/or SMS as chosen.

A form with bad fields saves nothing: ``validate`` is pure and names each bad field in the
shopper's language; only a clean form reaches ``sign_up``, which runs in one transaction.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Any

from online_store import campaigns, profiles, shop, sms
from online_store.db import now_iso
from online_store.landing_texts import t


class LandingInvalid(Exception):
    """Bad fields: ``errors`` maps each field to its message in the shopper's language."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class SignUp:
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    answer: int | None
    consent_email: bool
    consent_sms: bool
    send_by: list[str] = field(default_factory=list)


def validate(form: dict[str, Any], lang: str, n_options: int) -> SignUp:
    """The form, checked whole; LandingInvalid with every bad field at once."""
    errors: dict[str, str] = {}
    first = str(form.get("first_name") or "").strip()
    last = str(form.get("last_name") or "").strip()
    if not 1 <= len(first) <= 200:
        errors["first_name"] = t(lang, "err_first_name")
    if not 1 <= len(last) <= 200:
        errors["last_name"] = t(lang, "err_last_name")
    email = str(form.get("email") or "").strip() or None
    if email is not None and (len(email) > 254 or not shop.EMAIL_RE.match(email)):
        errors["email"] = t(lang, "err_email")
    raw_phone = str(form.get("phone") or "").strip()
    phone = sms.e164(raw_phone, lang) if raw_phone else None
    if raw_phone and phone is None:
        errors["phone"] = t(lang, "err_phone")
    if not email and not raw_phone and "email" not in errors:
        errors["email"] = t(lang, "err_contact")
    answer = None
    if n_options:
        raw = str(form.get("answer") or "")
        if not (raw.isdigit() and 1 <= int(raw) <= n_options):
            errors["answer"] = t(lang, "err_answer")
        else:
            answer = int(raw)
    consent_email = form.get("consent_email") in ("on", "1", "true", True)
    consent_sms = form.get("consent_sms") in ("on", "1", "true", True)
    send_by = [c for c in ("email", "sms") if form.get(f"send_{c}") in ("on", "1", "true", True)]
    if "email" in send_by and not (email and consent_email):
        errors.setdefault("send_email", t(lang, "err_send_email"))
    if "sms" in send_by and not (raw_phone and consent_sms):
        errors.setdefault("send_sms", t(lang, "err_send_sms"))
    if errors:
        raise LandingInvalid(errors)
    return SignUp(first, last, email, phone, answer, consent_email, consent_sms, send_by)


def visit(conn: sqlite3.Connection, campaign_id: str, visitor_id: str, sms_id: str | None) -> None:
    """Count a visitor once per campaign (a reload or a second tab is the same visitor)."""
    if (
        sms_id
        and not conn.execute(
            "SELECT 1 FROM sms_in WHERE sms_id = ? AND campaign_id = ?", (sms_id, campaign_id)
        ).fetchone()
    ):
        sms_id = None  # only a link we sent counts as "came by SMS"
    conn.execute(
        "INSERT INTO landing_visits (campaign_id, visitor_id, sms_id, first_at) "
        "VALUES (?, ?, ?, ?) ON CONFLICT (campaign_id, visitor_id) DO NOTHING",
        (campaign_id, visitor_id, sms_id, now_iso()),
    )


def _find_member(conn: sqlite3.Connection, s: SignUp) -> sqlite3.Row | None:
    for column, value in (("phone", s.phone), ("email", s.email)):
        if value:
            row = conn.execute(
                f"SELECT * FROM customers WHERE {column} = ? "  # noqa: S608 - fixed names
                "ORDER BY version DESC LIMIT 1",
                (value,),
            ).fetchone()
            if row is not None:
                return row
    return None


def sign_up(
    conn: sqlite3.Connection, campaign: dict[str, Any], s: SignUp, lang: str, visitor_id: str
) -> dict[str, Any]:
    """Enrol or enrich the member, record consent and answer, issue and send the coupon.

    A known member (same phone, else same e-mail) is enriched: empty fields are filled, a
    field they already have is never overwritten from an anonymous form. Consent is given
    only by a ticked box; a ticked SMS box lifts an earlier STOP of that number.
    """
    member = _find_member(conn, s)
    grant = {f"consent_{c}": True for c in ("email", "sms") if getattr(s, f"consent_{c}")}
    if member is None:
        created = shop.upsert_customer(
            conn,
            {
                "first_name": s.first_name,
                "last_name": s.last_name,
                "email": s.email,
                "phone": s.phone,
                "locale": lang,
                **grant,
            },
        )
        customer_id, new_member = created["customer_id"], True
    else:
        customer_id, new_member = member["customer_id"], False
        filled = {
            "first_name": member["first_name"] or s.first_name,
            "last_name": member["last_name"] or s.last_name,
            "email": member["email"] or s.email,
            "phone": member["phone"] or s.phone,
        }
        if any(filled[k] != member[k] for k in filled):
            shop.upsert_customer(
                conn,
                {**filled, "tier": member["tier"], "locale": member["locale"], **grant},
                customer_id,
            )
        elif grant:
            profiles.set_consents(conn, customer_id, {k[8:]: True for k in grant})
    if s.consent_sms and s.phone:
        conn.execute("DELETE FROM sms_stops WHERE phone = ?", (s.phone,))
    known = campaigns.existing_coupon(conn, campaign["campaign_id"], customer_id)
    if known is not None:
        return {"customer_id": customer_id, "coupon": known, "sent": [], "again": True,
                "card": shop.customer(conn, customer_id)["loyalty_card"],
                "first_name": s.first_name}  # fmt: skip
    conn.execute(
        "INSERT INTO campaign_signups (campaign_id, customer_id, answer, new_member, delivery, "
        "visitor_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            campaign["campaign_id"],
            customer_id,
            s.answer,
            int(new_member),
            ",".join(s.send_by),
            visitor_id,
            now_iso(),
        ),
    )
    coupon, sent = campaigns.issue(conn, campaign, customer_id, deliver=s.send_by)
    return {
        "customer_id": customer_id,
        "coupon": coupon,
        "sent": sent,
        "again": False,
        "card": shop.customer(conn, customer_id)["loyalty_card"],
        "first_name": s.first_name,
    }
