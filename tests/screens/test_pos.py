"""The cashier's till in real Chromium: scans, points redemption, one sale per double tap,
enrolment, the language switch of the staff screens."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.screens.conftest import check_accessibility, scan, screenshot, staff_login, text

pytestmark = pytest.mark.browser


MUG = "3760123450017"  # 12,90 €
CAFE = "3017620422003"  # 4,50 €


def test_sale_with_points_and_a_double_tap_records_one_sale(new_page, shop):
    page = staff_login(new_page, shop, "pos", "st-ines")
    expect(page.locator("#basket-empty")).to_be_visible()
    scan(page, MUG)
    expect(page.locator("#basket-lines tr")).to_have_count(1)
    scan(page, MUG)
    scan(page, CAFE)
    expect(page.locator("#basket-lines tr[data-sku='SKU-MUG'] .qty-value")).to_have_text("2")
    expect(page.locator("#basket-lines tr")).to_have_count(2)
    assert text(page.locator("#total").inner_text()) == "30,30 €"

    scan(page, "PC000000000001")  # the member's card, scanned at the till
    expect(page.locator("#customer-name")).to_have_text("Élodie Durand")
    assert "1 574 points" in text(page.locator("#customer-meta").inner_text())

    # A redemption the rules refuse: the server's own message is shown.
    page.locator("#redeem-input").fill("5000")
    page.locator("#pay-card").click()
    expect(page.locator("#pos-message")).to_contain_text("the balance is 1574")
    assert shop.count("SELECT COUNT(*) FROM sales") == 0

    page.locator("#redeem-input").fill("500")
    assert text(page.locator("#total").inner_text()) == "25,30 €"
    check_accessibility(page)
    page.locator("#pay-card").dblclick()
    expect(page.locator("#sale-done-title")).to_have_text(re.compile("Vente enregistrée"))
    assert text(page.locator("#sale-done-title").inner_text()) == "Vente enregistrée : 25,30 €"
    expect(page.locator("#sale-done-points")).to_contain_text("Nouveau solde")
    screenshot(page, "pos-sale")
    jobs = shop.count("SELECT COUNT(*) FROM print_jobs")
    page.get_by_role("button", name="Réimprimer le ticket").click()
    expect(page.locator("#toast")).to_have_text("Ticket envoyé à l'imprimante.")
    assert shop.count("SELECT COUNT(*) FROM print_jobs") == jobs + 1

    assert shop.count("SELECT COUNT(*) FROM sales") == 1
    assert shop.count("SELECT points_redeemed FROM sales") == 500
    assert shop.count("SELECT total FROM sales") == 2530
    sale_id = page.locator("body").get_attribute("data-sale-id")

    # The same key sent again (a retry after a lost answer) gets the first sale back.
    replay = page.evaluate(
        """async () => {
            const r = await fetch('/api/v1/sales', {method: 'POST', headers: {
              'Content-Type': 'application/json', 'X-CSRFToken': P.config.csrf,
              'Idempotency-Key': 'k-' + document.body.dataset.saleId}, body: '{}'});
            return r.status;
        }"""
    )
    assert replay == 422  # a new key with a bad body is refused, nothing recorded
    assert shop.count("SELECT COUNT(*) FROM sales") == 1

    page.get_by_role("button", name="Nouvelle vente").click()
    expect(page.locator("#basket-empty")).to_be_visible()
    assert page.locator("body").get_attribute("data-sale-id") is None
    assert sale_id
    assert page.js_errors == []


def test_product_search_and_enrolment(new_page, shop):
    page = staff_login(new_page, shop, "pos", "st-ines")
    page.locator("#search-input").fill("bougie")
    page.locator("#search-input").press("Enter")
    page.get_by_role("button", name=re.compile("Bougie parfumée")).click()
    expect(page.locator("#basket-lines tr[data-sku='SKU-BOUGIE']")).to_have_count(1)

    page.get_by_role("button", name="Nouveau membre").click()
    page.locator("#e-first").fill("Zoé")
    page.locator("#e-last").fill("Martin")
    page.locator("#e-phone").fill("+33600000001")
    scan(page, "PC000000000777")  # the new card, scanned into the form
    expect(page.locator("#e-card")).to_have_value("PC000000000777")
    page.get_by_role("button", name="Créer").click()
    expect(page.locator("#customer-name")).to_have_text("Zoé Martin")
    assert shop.count("SELECT COUNT(*) FROM customers WHERE loyalty_card = 'PC000000000777'") == 1
    assert shop.count("SELECT COUNT(*) FROM outbox WHERE type = 'customer.enrolled'") == 1

    # A phone number finds the member at the till (staff may; the kiosk may not).
    page.locator("#customer-clear").click()
    page.locator("#customer-input").fill("+33 6 12 34 56 78")
    page.locator("#customer-input").press("Enter")
    expect(page.locator("#customer-name")).to_have_text("Élodie Durand")


def test_language_switch_on_staff_screens(new_page, shop):
    page = new_page()
    page.goto(f"{shop.url}/login?screen=pos")
    expect(page.locator("h1")).to_have_text("Caisse")
    check_accessibility(page)
    screenshot(page, "login")
    page.get_by_role("button", name="English").click()
    expect(page.locator("h1")).to_have_text("Till")
    expect(page.locator("legend")).to_have_text("Who are you?")
    page.locator("label.who-card:has(input[value='st-ines'])").click()
    page.locator("#pin").fill("3456")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#pay-card")).to_have_text("Card paid")
    scan(page, MUG)
    expect(page.locator("#total")).to_have_text("€12.90")
    page.get_by_role("button", name="Français").click()
    expect(page.locator("#pay-card")).to_have_text("Payé par carte")


def test_wrong_pin_and_wrong_role(new_page, shop):
    page = new_page()
    page.goto(f"{shop.url}/login?screen=pos")
    page.locator("label.who-card:has(input[value='st-ines'])").click()
    page.locator("#pin").fill("0000")
    page.get_by_role("button", name="Se connecter").click()
    expect(page.locator(".message.error")).to_have_text("Code PIN incorrect.")
    # Lucas (staff role) is not offered on the till, and cannot open it.
    expect(page.locator("input[value='st-lucas']")).to_have_count(0)


def test_coupon_codes_at_the_till(new_page, shop):
    shop.offer(
        "OFF-MUG",
        {"fr": "20 % sur les mugs", "en": "20% off mugs"},
        "percent",
        20,
        skus=["SKU-MUG"],
    )
    shop.coupon("cp-mug20", "OFF-MUG", "MUG20", None, "sms")
    page = staff_login(new_page, shop, "pos", "st-ines")
    scan(page, MUG)
    expect(page.locator("#basket-lines tr")).to_have_count(1)
    scan(page, "MUG20")  # the code of the text message, scanned or typed
    row = page.locator(".coupon-row[data-code='MUG20']")
    expect(row).to_contain_text("20 % sur les mugs")
    expect(page.locator("#total")).to_have_text("10,32\u00a0€")
    scan(page, MUG)  # the server prices the code again for the new basket
    expect(row).to_contain_text("−5,16\u00a0€")
    expect(page.locator("#total")).to_have_text("20,64\u00a0€")
    scan(page, "NOPE42")
    expect(page.locator("#pos-message")).to_have_text("Code inconnu : NOPE42")
    page.locator("#pay-cash").click()
    expect(page.locator("#sale-done-title")).to_have_text("Vente enregistrée : 20,64\u00a0€")
    assert shop.count("SELECT discount FROM sales") == 516
