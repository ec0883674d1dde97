"""What the shopper reads at the kiosk about their order, in their language.

The sentences are gettext messages in the edge's ``shopper`` catalogue (``edge.translations``,
which says why that one and not the screens'): ``TEXTS`` names each by its key, as an
English msgid; ``MESSAGES`` is the same table per language, read once from the catalogues.
This module reads files, so it is no ``rules.py``; it imports nothing of Flask.
"""

from __future__ import annotations

from edge.translations import LOCALES, N_, catalogue

TEXTS: dict[str, str] = {
    "wait_preparing": N_(
        "Thank you, you are checked in. Your order {number} is being prepared: a member of "
        "staff will bring it to you shortly."
    ),
    "wait_ready": N_(
        "Thank you, you are checked in. Your order {number} is ready: a member of staff is "
        "bringing it to you."
    ),
    # appended to the wait_* sentence, hence the space the caller does not add
    "pay": N_("You will pay at the counter."),
    "failed": N_(
        "We cannot find an order with this number and code. Check them in your e-mail or ask "
        "a member of staff."
    ),
    "closed": N_(
        "Order {number} can no longer be picked up (status: {status}). Please ask a member "
        "of staff."
    ),
}
APPENDED = frozenset({"pay"})


def _translated(locale: str) -> dict[str, str]:
    cat = catalogue(locale)
    return {
        key: (" " if key in APPENDED else "") + cat.gettext(msgid) for key, msgid in TEXTS.items()
    }


# locale → key → sentence ({number}, {status} to fill)
MESSAGES: dict[str, dict[str, str]] = {locale: _translated(locale) for locale in LOCALES}


def shopper_message(key: str, locale: str, **values: str) -> str:
    texts = MESSAGES.get(locale) or MESSAGES["en"]
    return texts[key].format(**values)
