"""The words the edge itself writes for a shopper: the pickup check-in answers and why a
coupon does not apply, returned by the API in the shopper's language to any terminal.

They are gettext messages (English msgids) in one catalogue beside this module,
``edge/translations/<lang>/LC_MESSAGES/shopper.po`` (domain ``shopper``), read with
``babel.support.Translations``: no Flask, so the area modules that compose these texts
(``edge.pickups.texts``, ``edge.offers.texts``) stay usable from the CLI and the sync worker.
Not the screens' catalogue (``kiosk_ui/translations``): the areas sit below the screens and
must not reach up into their package; the screens read these texts through the areas'
``texts`` modules instead (``kiosk_ui.i18n``), so each sentence is translated once.
The printed tickets have their own catalogue in ``hardware`` (which imports nothing of the
edge). ``make translations`` extracts, merges and compiles all three.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from babel.support import NullTranslations, Translations

LOCALES = ("fr", "en")  # the first is the default
DOMAIN = "shopper"
DIRECTORY = Path(__file__).resolve().parent


def N_(message: str) -> str:
    """Marks a msgid for extraction (pybabel knows ``N_``); the lookup happens later."""
    return message


@cache
def catalogue(locale: str) -> NullTranslations:
    """The shopper catalogue of ``locale``; the English msgids where it has none."""
    return Translations.load(str(DIRECTORY), [locale], domain=DOMAIN)
