"""Why a code does not apply, and amounts and titles, in the shopper's language."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from babel.dates import format_datetime, get_timezone
from babel.numbers import format_currency, get_currency_precision

MESSAGES: Mapping[str, Mapping[str, str]] = {
    "unknown": {
        "fr": "Ce code n'est pas reconnu.",
        "en": "This code is not recognised.",
    },
    "inactive": {
        "fr": "Cette offre n'est plus proposée.",
        "en": "This offer has been withdrawn.",
    },
    "not_yet_valid": {
        "fr": "Ce code sera valable à partir du {valid_from}.",
        "en": "This code is valid from {valid_from}.",
    },
    "expired": {
        "fr": "Ce code a expiré le {valid_until}.",
        "en": "This code expired on {valid_until}.",
    },
    "other_customer": {
        "fr": "Ce code est personnel : il ne vaut que pour le membre à qui il a été envoyé, "
        "sur présentation de sa carte.",
        "en": "This code is personal: it is valid only for the member it was sent to, "
        "with their card.",
    },
    "already_used": {
        "fr": "Ce code a déjà été utilisé.",
        "en": "This code has already been used.",
    },
    "no_eligible_item": {
        "fr": "Aucun article du panier n'est concerné par cette offre.",
        "en": "No item in the basket is covered by this offer.",
    },
    "min_total_not_reached": {
        "fr": "Cette offre demande un achat d'au moins {min_total} (encore {missing}).",
        "en": "This offer needs a purchase of at least {min_total} ({missing} to go).",
    },
    "offline_limit": {
        "fr": "La liaison avec la boutique en ligne est coupée : un code personnel de plus de "
        "{cap} ne peut pas être accepté avant son retour.",
        "en": "The link to the online store is down: a personal code worth more than {cap} "
        "cannot be accepted until it is back.",
    },
}

LOCALES = ("fr", "en")


def pick_locale(*candidates: str | None) -> str:
    for c in candidates:
        if c in LOCALES:
            return c
    return LOCALES[0]


def money(amount: int, currency: str, locale: str) -> str:
    return format_currency(
        Decimal(amount).scaleb(-get_currency_precision(currency)), currency, locale=locale
    )


def message(
    reason: str, locale: str, *, currency: str, timezone: str, facts: Mapping[str, Any]
) -> str:
    """The reason in the shopper's language, with the dates and amounts it mentions."""
    loc = pick_locale(locale)
    tz = get_timezone(timezone)
    values: dict[str, str] = {}
    for key in ("valid_from", "valid_until"):
        when = facts.get(key)
        if isinstance(when, datetime):
            pattern = "d MMMM y HH:mm" if loc == "fr" else "MMMM d, y h:mm a"
            values[key] = format_datetime(when, pattern, tzinfo=tz, locale=loc)
    for key in ("min_total", "missing", "cap"):
        if isinstance(facts.get(key), int):
            values[key] = money(int(facts[key]), currency, loc)
    text = MESSAGES[reason][loc]
    try:
        return text.format(**values)
    except KeyError:  # a fact the message needs is missing: say the general reason
        return text.split("{")[0].rstrip(" :(") + "."


def title_in(title: Mapping[str, str], locale: str) -> str:
    """The title in the shopper's language, else in any language the offer has."""
    return title.get(locale) or title.get("fr") or title.get("en") or next(iter(title.values()), "")
