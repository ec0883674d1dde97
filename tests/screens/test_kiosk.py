"""The shopper kiosk in real Chromium: card scan, phone numbers answered alike, idle reset."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.screens.conftest import (
    check_accessibility,
    iso,
    kiosk_page,
    scan,
    screenshot,
    text,
)

pytestmark = pytest.mark.browser


def test_card_scan_shows_member_points_and_both_channels(new_page, shop):
    shop.offer(
        "OFF-10", {"fr": "10 % sur tout le magasin", "en": "10% off everything"}, "percent", 10
    )
    shop.coupon("cp-elodie10", "OFF-10", "ELODIE10", "c-0001", "email")
    page = kiosk_page(new_page, shop)
    expect(page.locator("#welcome-title")).to_have_text("Bienvenue !")
    check_accessibility(page)
    screenshot(page, "kiosk-welcome")

    # No field has the focus: the scanner's keystrokes go to the page.
    assert page.evaluate("document.activeElement === document.body")
    scan(page, "PC000000000001")

    expect(page.locator("#member-hello")).to_have_text("Bonjour Élodie !")
    expect(page.locator("#member-tier")).to_have_text("Membre Or")
    # 50 + 9 + 15 points from purchases and a 1500-point welcome bonus, worth 15,74 €.
    assert text(page.locator("#member-points").inner_text()) == "1 574 points"
    assert text(page.locator("#member-value").inner_text()) == "soit 15,74 €"
    purchases = page.locator("#member-history li.purchase")
    expect(purchases).to_have_count(3)
    channels = purchases.evaluate_all("els => els.map(e => e.dataset.channel)")
    assert channels == ["web", "store", "web"]  # newest first, web and store together
    expect(purchases.nth(1).locator(".channel")).to_have_text("En magasin")
    assert "50,30 €" in text(purchases.nth(0).inner_text())
    # Her own coupon from the e-mail campaign, to use at the till.
    expect(page.locator("#member-offers .offer")).to_have_text(["10 % sur tout le magasinELODIE10"])
    # The kiosk never shows a full last name.
    assert "Durand" not in page.content()
    check_accessibility(page)
    screenshot(page, "kiosk-member")
    assert page.js_errors == []


def test_member_locale_is_followed_and_unknown_card_explained(new_page, shop):
    page = kiosk_page(new_page, shop)
    scan(page, "PC000000000002")  # James, locale en
    expect(page.locator("#member-hello")).to_have_text("Hello James!")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert text(page.locator("#member-value").inner_text()).startswith("worth €")
    expect(page.locator("#member-history .channel")).to_have_text(["Online"])
    page.get_by_role("button", name="Done").click()
    expect(page.locator("#welcome-title")).to_have_text("Bienvenue !")

    scan(page, "PC999999999999")
    expect(page.locator("#welcome-message")).to_contain_text("Nous ne connaissons pas cette carte")


def test_a_phone_number_gets_the_same_answer_member_or_not(new_page, shop):
    """Issue 19: a stranger typing someone's number learns nothing, not even membership."""
    page = kiosk_page(new_page, shop)
    answers = []
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/api/" in r.url else None)
    for number in ("33612345678", "33600000000"):  # Élodie's, and nobody's
        page.get_by_role("button", name=re.compile("Pas de carte")).click()
        for key in number:
            page.locator(f"#view-phone .keypad button[data-key='{key}']").click()
        page.get_by_role("button", name="Chercher").click()
        expect(page.locator("#view-masked")).to_be_visible()
        answers.append(page.locator("main").inner_text())
        page.locator("#view-masked").get_by_role("button", name="Terminé").click()
    assert answers[0] == answers[1]
    assert "caisse" in answers[0] and "É." not in answers[0] and "78" not in answers[0]
    assert asked == []  # the number never left the kiosk


def test_idle_kiosk_forgets_the_shopper(new_page, idle_shop):
    page = kiosk_page(new_page, idle_shop)
    scan(page, "PC000000000002")
    expect(page.locator("#member-hello")).to_have_text("Hello James!")
    # kiosk_idle_seconds = 6: back to welcome, in the store's language, nothing left.
    expect(page.locator("body")).to_have_attribute("data-view", "welcome", timeout=15_000)
    expect(page.locator("#welcome-title")).to_have_text("Bienvenue !")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    assert page.locator("#member-hello").text_content() == ""
    expect(page.locator("#member-history li")).to_have_count(0)
    assert "James" not in page.content()


def test_language_switch_on_the_kiosk(new_page, shop):
    page = kiosk_page(new_page, shop)
    page.get_by_role("button", name="English").click()
    expect(page.locator("#welcome-title")).to_have_text("Welcome!")
    expect(page.get_by_role("button", name="English")).to_have_attribute("aria-pressed", "true")
    page.get_by_role("button", name="Français").click()
    expect(page.locator("#welcome-title")).to_have_text("Bienvenue !")


def test_banner_when_the_link_to_the_online_store_is_down(new_page, shop):
    shop.set_link(False)
    page = kiosk_page(new_page, shop)
    banner = page.locator("#link-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("le magasin continue de fonctionner")
    scan(page, "PC000000000001")  # and the store keeps working
    expect(page.locator("#member-hello")).to_have_text("Bonjour Élodie !")


def test_a_scanned_coupon_code_says_what_it_gives_and_never_whose(new_page, shop):
    now = datetime.now(UTC)
    shop.offer("OFF-5", {"fr": "5 € offerts", "en": "5 EUR off"}, "amount", 500, min_total=2000)
    for coupon_id, code, customer in (
        ("cp-anyone", "BIENVENUE5", None),
        ("cp-j", "JAMES5", "c-0002"),
    ):
        shop.coupon(coupon_id, "OFF-5", code, customer, "sms")
    shop.deliver(
        "coupon.redeemed",
        {
            "redemption_id": "r-web-1",
            "coupon_id": "cp-anyone",
            "channel": "web",
            "store_id": None,
            "ref": "W-1",
            "discount": 500,
            "occurred_at": iso(now - timedelta(minutes=5)),
        },
    )
    page = kiosk_page(new_page, shop)
    scan(page, "james5")  # codes are matched whatever their case
    expect(page.locator("#coupon-title")).to_have_text("5 € offerts")
    expect(page.locator("#coupon-code")).to_have_text("JAMES5")
    expect(page.locator("#coupon-note")).to_contain_text("carte du membre")
    assert "James" not in page.content() and "O'Neill" not in page.content()
    check_accessibility(page)
    screenshot(page, "kiosk-coupon")

    page.get_by_role("button", name="Terminé").click()
    scan(page, "BIENVENUE5")  # already used on the web: the server's reason, in French
    expect(page.locator("#coupon-icon")).to_have_text("✕")
    expect(page.locator("#coupon-note")).not_to_be_empty()
    page.get_by_role("button", name="Terminé").click()
    scan(page, "NOSUCHCODE")  # neither a card nor a coupon
    expect(page.locator("#welcome-message")).to_have_text(
        "Nous ne connaissons pas cette carte. Renseignez-vous à l'accueil."
    )
    assert page.js_errors == []
