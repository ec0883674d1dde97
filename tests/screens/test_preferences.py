"""Consents and contact details at the till, in real Chromium (issue 22): the cashier
corrects a member's phone and consents, the store's copy changes at once and
``customer.updated`` waits in the outbox; a bad number is named and changes nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.screens.conftest import iso, kiosk_page, scan, staff_login

pytestmark = pytest.mark.browser


def test_the_cashier_sets_consents_and_corrects_the_phone(new_page, shop):
    page = staff_login(new_page, shop, "pos", "st-ines")
    page.locator("#customer-input").fill("PC000000000002")
    page.locator("#customer-input").press("Enter")
    expect(page.locator("#prefs-box")).to_be_visible()
    expect(page.locator("#pref-email")).to_be_checked()  # James agreed to e-mails only
    expect(page.locator("#pref-sms")).not_to_be_checked()

    page.fill("#pref-phone", "12")
    page.click("#pref-save")
    expect(page.locator("#pref-message")).to_contain_text(
        "Ce numéro de téléphone n'est pas valide."
    )
    assert shop.count("SELECT COUNT(*) FROM outbox WHERE type = 'customer.updated'") == 0

    page.fill("#pref-phone", "+44 7911 123456")
    page.uncheck("#pref-email")
    page.click("#pref-save")
    expect(page.locator("#pref-message")).to_have_text("C'est enregistré. Merci !")
    c = shop.conn()
    try:
        row = c.execute("SELECT * FROM customers WHERE customer_id = 'c-0002'").fetchone()
        assert (row["phone"], row["consent_email"], row["consent_sms"]) == ("+447911123456", 0, 0)
        (data,) = c.execute("SELECT data FROM outbox WHERE type = 'customer.updated'").fetchone()
    finally:
        c.close()
    changes = json.loads(data)["changes"]
    assert changes["phone"] == "+447911123456" and changes["consents"]["email"] is False
    assert page.js_errors == []


def test_the_kiosk_says_why_an_offer_is_meant_for_this_member(new_page, shop):
    shop.offer("of-tea", {"fr": "−20 % sur le thé", "en": "20% off tea"}, "percent", 20)
    shop.deliver(
        "coupon.issued",
        {
            "coupon_id": "cp-tea", "offer_id": "of-tea", "code": "TEA20", "customer_id": "c-0001",
            "issued_at": iso(datetime.now(UTC) - timedelta(hours=1)), "channel": "email",
            "reason": {"fr": "parce que vous avez acheté Café moulu 250 g en mars",
                       "en": "because you bought Café moulu 250 g in March"},
        },
    )  # fmt: skip
    page = kiosk_page(new_page, shop)
    scan(page, "PC000000000001")
    offer = page.locator("#member-offers .offer")
    expect(offer.locator(".offer-code")).to_have_text("TEA20")
    expect(offer.locator(".offer-why")).to_have_text(
        "parce que vous avez acheté Café moulu 250 g en mars"
    )
    assert page.js_errors == []
