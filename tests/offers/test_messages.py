"""Why a code does not apply, in the shopper's language: the refusal messages name the facts
(pure: no database)."""

from __future__ import annotations

from datetime import UTC, datetime

from edge.offers.rules import REASONS
from edge.offers.texts import message


def test_messages_in_both_languages_name_the_facts():
    facts = {"min_total": 2000, "missing": 335}
    fr = message("min_total_not_reached", "fr", currency="EUR", timezone="UTC", facts=facts)
    en = message("min_total_not_reached", "en", currency="EUR", timezone="UTC", facts=facts)
    assert "20,00\xa0€" in fr and "3,35\xa0€" in fr
    assert "€20.00" in en and "€3.35" in en
    when = {"valid_until": datetime(2026, 1, 31, 22, 59, tzinfo=UTC)}
    assert "31 janvier 2026" in message(
        "expired", "fr", currency="EUR", timezone="Europe/Paris", facts=when
    )
    for reason in REASONS:
        for loc in ("fr", "en", "de"):
            assert message(reason, loc, currency="EUR", timezone="UTC", facts={})
