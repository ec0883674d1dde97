"""One browser, three screens (issue 23, item 1): a shop's tablet keeps the staff board and
the till open in two tabs, next to a paired kiosk, in ONE browser context (one cookie jar).
Before, each login replaced the one ``session`` cookie: the board showed "the kiosk role may
not call GET /pickups" once the kiosk was paired in another tab."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.screens.conftest import STAFF_VIEWPORT, Shop, pair_kiosk, scan, text

pytestmark = pytest.mark.browser


def _login(page: Any, shop: Shop, screen: str, staff_id: str) -> None:
    pin = next(s["pin"] for s in shop.demo["staff"] if s["staff_id"] == staff_id)
    page.goto(f"{shop.url}/login?screen={screen}")
    page.locator(f"label.who-card:has(input[value='{staff_id}'])").click()
    for digit in pin:
        page.locator(f".keypad button[data-key='{digit}']").click()
    page.get_by_role("button", name=re.compile("Se connecter|Log in")).click()
    page.wait_for_url(re.compile(f"/{screen}$"))


def test_board_till_and_kiosk_in_tabs_of_one_browser(browser: Any, shop: Shop) -> None:
    ctx = browser.new_context(viewport=STAFF_VIEWPORT, locale="fr-FR", timezone_id="Europe/Paris")
    ctx.set_default_timeout(10_000)
    try:
        till_login = ctx.new_page()  # a login form loaded before anybody logs in elsewhere
        till_login.goto(f"{shop.url}/login?screen=pos")

        board = ctx.new_page()
        _login(board, shop, "staff", "st-lucas")
        kiosk = ctx.new_page()
        pair_kiosk(kiosk, shop)

        # The till's form, loaded before both, still logs in (its CSRF token was kept).
        till_login.locator("label.who-card:has(input[value='st-ines'])").click()
        for digit in "3456":
            till_login.locator(f".keypad button[data-key='{digit}']").click()
        till_login.get_by_role("button", name=re.compile("Se connecter")).click()
        till_login.wait_for_url(re.compile(r"/pos$"))

        # Each tab acts as its own screen, with its own role, side by side.
        till_login.bring_to_front()  # the tab in use, as on the tablet
        scan(till_login, "PC000000000001")
        expect(till_login.locator("#customer-name")).to_have_text("Élodie Durand")
        kiosk.bring_to_front()
        scan(kiosk, "PC000000000001")
        expect(kiosk.locator("#view-member")).to_be_visible()
        assert "Durand" not in text(kiosk.locator("#view-member").inner_text())  # masked
        # the board's poll goes through as the board: no "the kiosk role may not call" toast
        board.bring_to_front()
        with board.expect_response(re.compile(r"/api/v1/pickups")) as polled:
            board.reload()
        assert polled.value.status == 200
        expect(board.locator("#toast")).to_be_hidden()

        cookies = {c["name"] for c in ctx.cookies()}
        assert cookies == {"passerelle_screens"}, cookies  # never Flask's shared "session"

        # Logging out of the till leaves the board and the kiosk as they were.
        till_login.get_by_role("button", name=re.compile("Se déconnecter|Log out")).click()
        till_login.wait_for_url(re.compile(r"/login\?screen=pos"))
        board.reload()
        board.wait_for_url(re.compile(r"/staff$"))
        kiosk.goto(f"{shop.url}/kiosk")
        kiosk.wait_for_url(re.compile(r"/kiosk$"))
    finally:
        ctx.close()
