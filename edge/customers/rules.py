"""The customers area's pure rules: what is personal, how much of a name a screen may show,
the history's page cursor, a new card number, and a member's corrections and consents.

No database here: the views and the service apply these to the rows they read.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from collections.abc import Mapping
from typing import Any

import phonenumbers

from edge.errors import InvalidInput

PERSONAL_FIELDS = ("loyalty_card", "first_name", "last_name", "email", "phone")


def mask_name(value: str | None) -> str | None:
    """``Dupont`` → ``D.``: enough for a shopper to recognise themself, not for a stranger."""
    if not value:
        return value
    return value[0].upper() + "."


def mask_phone(value: str | None) -> str | None:
    if not value:
        return value
    return value[:3] + "•" * max(0, len(value) - 5) + value[-2:]


def encode_cursor(occurred_at: str, purchase_id: str) -> str:
    """The position after the last purchase of a history page, opaque to the client."""
    raw = json.dumps([occurred_at, purchase_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str]:
    """The position ``encode_cursor`` gave out; InvalidInput for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        occurred_at, purchase_id = json.loads(raw)
        if not isinstance(occurred_at, str) or not isinstance(purchase_id, str):
            raise ValueError
        return occurred_at, purchase_id
    except (ValueError, TypeError, json.JSONDecodeError) as exc:
        raise InvalidInput("cursor is not one this API gave out", field="cursor") from exc


def new_card_number() -> str:
    """A printable card number for a member enrolled in the store without a card."""
    return "PC" + "".join(secrets.choice("0123456789") for _ in range(12))


# -- profile corrections and consents (issue 22) ----------------------------------------------

CONSENT_CHANNELS = ("email", "sms")
PROFILE_FIELDS = ("email", "phone", "locale", "first_name", "last_name")
REGIONS = {"fr": "FR", "en": "GB"}
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def e164(raw: str, locale: str = "fr") -> str:
    """A number typed at the till or the kiosk (``06 12 34 56 78``, ``+44 7700 900123``) in
    E.164, read in the store's country when it has no ``+``; InvalidInput otherwise."""
    text = raw.strip()
    try:
        number = phonenumbers.parse(text, REGIONS.get(locale, "FR"))
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput(
            "this is not a phone number", field="phone", code="phone_invalid"
        ) from exc
    if len(text) > 32 or not phonenumbers.is_valid_number(number):
        raise InvalidInput("this is not a valid phone number", field="phone", code="phone_invalid")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def profile_changes(
    current: Mapping[str, Any], wanted: Mapping[str, Any], *, locale: str, at: str
) -> dict[str, Any]:
    """What a member asked to change that really differs from the store's copy, in the
    contract's ``customer.updated`` ``changes`` shape (consents carry ``updated_at``).

    ``wanted`` holds only the fields sent: a field absent is left alone, ``None`` clears an
    e-mail or a phone. A consent is a yes or a no, per channel.
    """
    changes: dict[str, Any] = {}
    for name in PROFILE_FIELDS:
        if name not in wanted:
            continue
        value = wanted[name]
        if name == "phone" and value is not None:
            value = e164(str(value), locale)
        if name == "email" and value is not None:
            value = str(value).strip()
            if len(value) > 254 or not EMAIL_RE.match(value):
                raise InvalidInput(
                    "this is not an e-mail address", field="email", code="email_invalid"
                )
        if name in ("first_name", "last_name", "locale") and not value:
            raise InvalidInput(f"{name.replace('_', ' ')} cannot be empty", field=name)
        if value != current.get(name):
            changes[name] = value
    consents = {
        channel: bool(value)
        for channel, value in (wanted.get("consents") or {}).items()
        if channel in CONSENT_CHANNELS
        and bool(value) != bool(current.get(f"consent_{channel}") or False)
    }
    if consents:
        changes["consents"] = {**consents, "updated_at": at}
    return changes


def may_send(consents: Mapping[str, Any] | None, channel: str) -> bool:
    """No marketing message to a channel without the member's consent (unknown = no)."""
    return bool(consents and consents.get(channel))
