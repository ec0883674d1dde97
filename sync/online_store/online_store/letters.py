"""What the online store writes to a shopper: the order confirmation and the coupon e-mail.

Building a message is kept apart from sending it: ``order_letter`` and ``coupon_letter`` only
make a ``Letter`` (pure, no database, no network), and ``record`` hands it to the transport
(here the sent-messages table that the demo's "Sent messages" page shows). Each letter is in
ONE language, the customer's (``fr`` or ``en``, else the shop's French), with its dates and
times written the way that language writes them (Babel, CLDR) and in the store's time zone,
named, so that "18:06" is never a UTC time read as a local one.

The QR code of an order is the pickup payload that the kiosk and the board read,
``PSRL:<order number>:<pickup code>``; the QR code of a coupon is its code.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_currency

# The stores' time zone: the reference chain's shops are all in France. Times are stored in
# UTC (the contract's format) and written for people in this zone.
TIMEZONE = "Europe/Paris"
DEFAULT_LOCALE = "fr"
QR_PREFIX = "PSRL"  # the pickup payload's mark (edge.pickups.rules.QR_PREFIX, the contract's)

TEXTS: dict[str, dict[str, str]] = {
    "fr": {
        "order_subject": "Votre commande {number} : code de retrait {code}",
        "order_body": (
            "Bonjour {name},\n\n"
            "Merci pour votre commande {number} ({total}, {paid}).\n"
            "Retirez-la au magasin {store} jusqu'au {until}.\n\n"
            "Votre code de retrait : {code}\n\n"
            "À la borne du magasin, scannez le code QR ci-dessous, ou tapez le numéro de "
            "commande {number} et le code {code}."
        ),
        "paid": "payée en ligne",
        "to_pay": "à régler au retrait",
        "coupon_body": (
            "Bonjour {name},\n\n"
            "{title} : votre code {code}, valable jusqu'au {until}.\n"
            "Montrez-le en caisse (code QR ci-dessous) ou saisissez-le en ligne."
        ),
    },
    "en": {
        "order_subject": "Your order {number}: pickup code {code}",
        "order_body": (
            "Hello {name},\n\n"
            "Thank you for your order {number} ({total}, {paid}).\n"
            "Pick it up at store {store} until {until}.\n\n"
            "Your pickup code: {code}\n\n"
            "At the store's kiosk, scan the QR code below, or type the order number "
            "{number} and the code {code}."
        ),
        "paid": "paid online",
        "to_pay": "to pay at pickup",
        "coupon_body": (
            "Hello {name},\n\n"
            "{title}: your code {code}, valid until {until}.\n"
            "Show it at the till (QR code below) or type it online."
        ),
    },
}


@dataclass(frozen=True)
class Letter:
    """One message, ready for any transport: who, what, and the text its QR code carries."""

    to_address: str
    subject: str
    body: str
    qr_text: str | None
    locale: str
    sent_at: str


def language(locale: str | None) -> str:
    return locale if locale in TEXTS else DEFAULT_LOCALE


def when(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def local_datetime(iso: str, locale: str, tz: str = TIMEZONE) -> str:
    """``4 déc. 2026, 18:06 (heure : France)`` / ``4 Dec 2026, 18:06 (France Time)``: the
    store's time, in the reader's language, with its zone named (CLDR's location format)."""
    return format_datetime(when(iso), "d MMM y, HH:mm (VVVV)", tzinfo=ZoneInfo(tz), locale=locale)


def local_date(iso: str, locale: str, tz: str = TIMEZONE) -> str:
    """``9 décembre 2026`` / ``9 December 2026``: the day in the store's time zone."""
    return format_date(when(iso).astimezone(ZoneInfo(tz)).date(), "long", locale=locale)


def _to(member: sqlite3.Row | dict[str, Any]) -> str:
    return str(member["email"] or f"{member['first_name']} (no e-mail address)")


def pickup_payload(order_number: str, pickup_code: str) -> str:
    return f"{QR_PREFIX}:{order_number}:{pickup_code}"


def order_letter(
    member: sqlite3.Row | dict[str, Any], order: dict[str, Any], tz: str = TIMEZONE
) -> Letter:
    """The order confirmation: number, pickup code, the day to come by, the QR code."""
    lang = language(member["locale"])
    t = TEXTS[lang]
    values = {
        "name": member["first_name"],
        "number": order["order_number"],
        "code": order["pickup_code"],
        "store": order["store_id"],
        "until": local_date(order["pickup_by"], lang, tz),
        "total": format_currency(order["total"] / 100, order["currency"], locale=lang),
        "paid": t["paid"] if order["paid"] else t["to_pay"],
    }
    return Letter(
        to_address=_to(member),
        subject=t["order_subject"].format(**values),
        body=t["order_body"].format(**values),
        qr_text=pickup_payload(order["order_number"], order["pickup_code"]),
        locale=lang,
        sent_at=order["placed_at"],
    )


def coupon_letter(
    member: sqlite3.Row | dict[str, Any],
    titles: dict[str, str],
    code: str,
    valid_until: str,
    issued_at: str,
    tz: str = TIMEZONE,
) -> Letter:
    """The coupon e-mail: the offer's title in the customer's language (the other language's
    title only when the offer has none in theirs), the code, its last day, its QR code."""
    lang = language(member["locale"])
    title = titles.get(lang) or next(iter(titles.values()))
    values = {
        "name": member["first_name"],
        "title": title,
        "code": code,
        "until": local_date(valid_until, lang, tz),
    }
    return Letter(
        to_address=_to(member),
        subject=title,
        body=TEXTS[lang]["coupon_body"].format(**values),
        qr_text=code,
        locale=lang,
        sent_at=issued_at,
    )


def record(conn: sqlite3.Connection, letter: Letter) -> None:
    """The demo's transport: the letter on the "Sent messages" page (the ``code`` column holds
    the QR code's text). Runs in the caller's transaction, with the change it tells of."""
    conn.execute(
        "INSERT INTO sent_messages (to_address, subject, body, code, sent_at) "
        "VALUES (?, ?, ?, ?, ?)",
        (letter.to_address, letter.subject, letter.body, letter.qr_text, letter.sent_at),
    )
