"""Why a code does not apply, and amounts and titles, in the shopper's language.

The reasons are gettext messages in the edge's ``shopper`` catalogue (``edge.translations``,
which says why that one and not the screens'): ``REASONS`` holds their English msgids,
``MESSAGES`` the same per language, read once from the catalogues. This module reads files,
so it is no ``rules.py``; it imports nothing of Flask.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from babel.dates import format_datetime, get_timezone
from babel.numbers import format_currency, get_currency_precision

from edge.translations import LOCALES, N_, catalogue

# Each reason a code does not apply, as its English msgid ({placeholders} filled by message()).
REASONS: dict[str, str] = {
    "unknown": N_("This code is not recognised."),
    "inactive": N_("This offer has been withdrawn."),
    "not_yet_valid": N_("This code is valid from {valid_from}."),
    "expired": N_("This code expired on {valid_until}."),
    "other_customer": N_(
        "This code is personal: it is valid only for the member it was sent to, with their card."
    ),
    "already_used": N_("This code has already been used."),
    "no_eligible_item": N_("No item in the basket is covered by this offer."),
    "min_total_not_reached": N_(
        "This offer needs a purchase of at least {min_total} ({missing} to go)."
    ),
    "offline_limit": N_(
        "The link to the online store is down: a personal code worth more than {cap} cannot be "
        "accepted until it is back."
    ),
}

# reason → locale → sentence, read once from the catalogues
MESSAGES: Mapping[str, Mapping[str, str]] = {
    reason: {locale: catalogue(locale).gettext(msgid) for locale in LOCALES}
    for reason, msgid in REASONS.items()
}


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
