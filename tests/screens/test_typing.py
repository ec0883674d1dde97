"""Typing by hand on the kiosk and the till (issue 23): a person's speed, a visible field, and
codes told apart by their format; the till's placeholder and the board's messages in view."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.screens.conftest import check_accessibility, kiosk_page, scan, staff_login

pytestmark = pytest.mark.browser

CARD = "PC000000000001"  # Élodie's
HUMAN_MS = 100  # between two keys: a person (a scanner: under 60 ms, common.js)


def lookups(page) -> list[str]:
    """The card lookups the page asks for, as they are sent."""
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url) if "/customers/lookup" in r.url else None)
    return seen


def test_the_kiosk_takes_a_card_typed_by_hand_and_a_coupon_by_its_format(new_page, shop):
    shop.offer("OFF-5", {"fr": "5 € offerts", "en": "5 EUR off"}, "amount", 500)
    shop.coupon("cp-x", "OFF-5", "BIENVENUE5", None, "sms")
    page = kiosk_page(new_page, shop)
    asked = lookups(page)
    # typed anywhere on the page, at a person's pace: the bar shows it as typed
    page.keyboard.type(CARD[:6], delay=HUMAN_MS)
    bar = page.locator("#typed-bar")
    expect(bar).to_be_visible()
    expect(bar.locator(".typed-text")).to_have_text(CARD[:6])
    page.keyboard.press("Backspace")  # a person corrects a key
    expect(bar.locator(".typed-text")).to_have_text(CARD[:5])
    check_accessibility(page)
    page.keyboard.type(CARD[5:], delay=HUMAN_MS)
    page.keyboard.press("Enter")
    expect(page.locator("#member-hello")).to_have_text("Bonjour Élodie !")
    expect(bar).to_be_hidden()
    assert len(asked) == 1

    # the card view's own field, with its keypad
    page.get_by_role("button", name="Terminé").click()
    page.locator("[data-go='scan-help']").click()
    page.locator("#view-scan-help .keypad button[data-key='PC']").click()
    page.locator("#card-input").press("End")  # after what the keypad typed
    page.keyboard.type("000000000001", delay=HUMAN_MS)
    expect(page.locator("#card-input")).to_have_value(CARD)
    check_accessibility(page)
    page.locator("#card-input").press("Enter")
    expect(page.locator("#member-hello")).to_have_text("Bonjour Élodie !")

    # a coupon's code is asked of the coupons, never first as a card
    page.get_by_role("button", name="Terminé").click()
    asked.clear()
    page.keyboard.type("BIENVENUE5", delay=HUMAN_MS)
    page.keyboard.press("Enter")
    expect(page.locator("#coupon-title")).to_have_text("5 € offerts")
    assert asked == []


def test_the_till_takes_typed_cards_and_tells_a_coupon_by_its_format(new_page, shop):
    shop.offer("OFF-5", {"fr": "5 € offerts", "en": "5 EUR off"}, "amount", 500)
    shop.coupon("cp-x", "OFF-5", "BIENVENUE5", None, "sms")
    page = staff_login(new_page, shop, "pos", "st-ines")
    # the customer field's placeholder is whole (it was cut after "tapez")
    expect(page.locator("#customer-input")).to_have_attribute(
        "placeholder", "Scannez la carte ou tapez un numéro"
    )
    assert _fits(page, "#customer-input") and _fits(page, "#search-input")

    page.keyboard.type(CARD, delay=HUMAN_MS)  # anywhere on the page
    expect(page.locator("#typed-bar .typed-text")).to_have_text(CARD)
    page.keyboard.press("Enter")
    expect(page.locator("#customer-name")).to_have_text("Élodie Durand")
    page.locator("#customer-clear").click()
    page.locator("#search-input").press_sequentially(CARD, delay=HUMAN_MS)  # in the search field
    page.locator("#search-input").press("Enter")
    expect(page.locator("#customer-name")).to_have_text("Élodie Durand")
    expect(page.locator("#search-input")).to_have_value("")

    scan(page, "3760123450031")  # a product, so that the code applies
    expect(page.locator("#basket-lines tr")).to_have_count(1)
    asked = lookups(page)
    failed: list[int] = []
    page.on("response", lambda r: failed.append(r.status) if r.status >= 400 else None)
    scan(page, "BIENVENUE5")
    expect(page.locator(".coupon-row[data-code='BIENVENUE5']")).to_be_visible()
    assert asked == [] and failed == []


def _fits(page, selector: str) -> bool:
    """Whether a field's placeholder fits in its box (the text measured in the field's font)."""
    return page.evaluate(
        """(sel) => {
          const el = document.querySelector(sel);
          const cs = getComputedStyle(el);
          const ctx = document.createElement("canvas").getContext("2d");
          ctx.font = `${cs.fontWeight} ${cs.fontSize} ${cs.fontFamily}`;
          const room = el.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
          return ctx.measureText(el.placeholder).width <= room;
        }""",
        selector,
    )
