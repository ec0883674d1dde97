"""Orders, tenders and returns on the screens, in real Chromium (issue 16): cash with the
change due, a return at the till, the board's "take payment" opening the till whose sale
hands the order over, and the kiosk history with a click-and-collect order and a return."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.screens.conftest import (
    STAFF_VIEWPORT,
    check_accessibility,
    kiosk_page,
    scan,
    staff_login,
    text,
)
from tests.screens.test_board import order

pytestmark = pytest.mark.browser

MUG = "3760123450017"  # 12,90 €


def test_cash_with_change_then_a_line_returned_at_the_till(new_page, shop):
    page = staff_login(new_page, shop, "pos", "st-ines")
    scan(page, MUG)
    scan(page, MUG)
    expect(page.locator("#total")).to_have_text("25,80\u00a0€")
    page.locator("#cash-given").fill("30")
    expect(page.locator("#change-due")).to_have_text("Monnaie à rendre : 4,20\u00a0€")
    page.locator("#pay-cash").click()
    expect(page.locator("#sale-done-change")).to_have_text("Monnaie à rendre : 4,20\u00a0€")
    assert shop.count("SELECT change_due FROM sales") == 420
    sale_id = page.locator("body").get_attribute("data-sale-id")

    page.locator("#mode-toggle").click()
    expect(page.locator("#returns-title")).to_have_text("Retour ou échange")
    page.locator("#return-id").fill(sale_id or "")
    page.locator("#return-id").press("Enter")
    row = page.locator("#return-lines tr[data-sku='SKU-MUG']")
    expect(row).to_contain_text("12,90")
    row.locator("input").fill("1")
    expect(page.locator("#return-total")).to_have_text("12,90\u00a0€")
    check_accessibility(page)
    page.locator("#return-confirm").click()
    expect(page.locator("#return-done-title")).to_have_text("Remboursé : 12,90\u00a0€")
    assert shop.count("SELECT COUNT(*) FROM returns") == 1
    # The same line twice more than bought: refused with the screen's words.
    page.locator("#new-return").click()
    page.locator("#return-id").fill(sale_id or "")
    page.locator("#return-id").press("Enter")
    expect(page.locator("#return-lines tr[data-sku='SKU-MUG']")).to_contain_text("1")
    page.locator("#return-lines input").fill("2")
    page.locator("#return-confirm").click()
    expect(page.locator("#return-message")).to_contain_text(
        "Plus que ce qui a été acheté, ou déjà retourné."
    )
    assert shop.count("SELECT COUNT(*) FROM returns") == 1

    # No receipt: the member's card lists their purchases of both channels to pick from.
    page.locator("#return-id").fill("PC000000000001")
    page.locator("#return-id").press("Enter")
    picks = page.locator("#return-history button")
    expect(picks.first).to_be_visible()
    assert picks.count() >= 3  # the demo's web and store purchases
    picks.first.click()
    expect(page.locator("#return-lines tr").first).to_be_visible()
    expect(page.locator("#return-receipt")).not_to_be_checked()


def sold_and_brought_back(new_page, shop, barcode: str, price: str):
    """The cashier sells one item by card, then opens Returns with that sale's one line."""
    page = staff_login(new_page, shop, "pos", "st-ines")
    scan(page, barcode)
    page.locator("#pay-card").click()
    expect(page.locator("#sale-done-title")).to_contain_text(price)
    sale_id = page.locator("body").get_attribute("data-sale-id")
    page.locator("#mode-toggle").click()
    page.locator("#return-id").fill(sale_id or "")
    page.locator("#return-id").press("Enter")
    page.locator("#return-lines input").fill("1")
    return page


def test_an_exchange_at_the_till_pays_only_the_difference(new_page, shop):
    page = sold_and_brought_back(new_page, shop, MUG, "12,90")
    page.locator("#exchange-start").click()
    expect(page.locator("#exchange-title")).to_contain_text("12,90")
    scan(page, "3760123450031")  # the candle instead: 24,50 €
    expect(page.locator("#total")).to_have_text("11,60\u00a0€")
    page.locator("#pay-card").click()
    expect(page.locator("#sale-done-title")).to_have_text(
        "Échange enregistré : 11,60\u00a0€ à payer"
    )
    assert shop.count("SELECT COUNT(*) FROM returns WHERE kind = 'exchange'") == 1
    assert shop.count("SELECT COUNT(*) FROM sales WHERE exchange_of IS NOT NULL") == 1


def admin_login(page, shop, screen):
    """An admin chooses nobody on the login screen and types their id (login.html)."""
    pin = next(s["pin"] for s in shop.demo["staff"] if s["staff_id"] == "st-manon")
    if "/login" not in page.url:
        page.goto(f"{shop.url}/login?screen={screen}")
    page.locator("details.who-other summary").click()
    page.locator("input[name='staff_other']").fill("st-manon")
    page.locator("#pin").fill(pin)
    page.get_by_role("button", name=re.compile("Se connecter|Log in")).click()
    page.wait_for_url(re.compile(f"/{screen}$"))
    return page


def test_take_payment_on_the_board_opens_the_till_whose_sale_hands_over(new_page, shop):
    shop.place_order(order("W-400001", "246810", "James O'Neill", "c-0002", paid=False))
    board = admin_login(new_page(STAFF_VIEWPORT), shop, "staff")  # a manager (admin)
    card = board.locator("article[data-number='W-400001']")
    card.locator("button[data-action='prepare']").click()
    board.locator("article[data-number='W-400001'] button[data-action='ready']").click()
    board.locator("article[data-number='W-400001'] button[data-action='collect']").click()
    board.locator("#handover-code").fill("246810")
    board.locator("#take-payment").click()
    # The till has its own login; the order and the code wait in this tab meanwhile.
    board.wait_for_url(re.compile(r"/login\?screen=pos"))
    admin_login(board, shop, "pos")
    expect(board.locator("#order-title")).to_have_text("Commande W-400001 à payer")
    expect(board.locator("#order-code")).to_have_value("246810")
    expect(board.locator("#total")).to_have_text("25,80\u00a0€")
    board.locator("#pay-card").click()
    expect(board.locator("#sale-done-title")).to_have_text("Commande W-400001 payée et remise.")
    assert (
        shop.count(
            "SELECT COUNT(*) FROM pickup_orders WHERE order_number = 'W-400001' "
            "AND status = 'collected' AND paid_in_store = 1"
        )
        == 1
    )
    assert shop.count("SELECT COUNT(*) FROM sales WHERE order_id = 'o-W-400001'") == 1


def test_kiosk_history_shows_a_click_and_collect_order_and_a_return(new_page, shop):
    shop.place_order(order("W-500001", "135791", "James O'Neill", "c-0002"))
    shop.deliver(
        "purchase.recorded",
        {
            "purchase_id": "wp-500001", "customer_id": "c-0002", "channel": "web",
            "store_id": "S001", "occurred_at": "2026-12-04T09:00:00Z", "currency": "EUR",
            "total": 2580, "points_earned": 25, "order_id": "o-W-500001", "fulfilment": "pickup",
            "lines": [{"sku": "SKU-MUG", "name": "Mug « Passerelle »", "qty": 2,
                       "unit_price": 1290}],
        },
    )  # fmt: skip
    shop.deliver(
        "return.recorded",
        {
            "return_id": "wr-500001", "terminal_id": None, "cashier_id": None,
            "customer_id": "c-0002", "original": {"kind": "order", "id": "o-W-500001"},
            "occurred_at": "2026-12-04T10:00:00Z", "currency": "EUR",
            "lines": [{"sku": "SKU-MUG", "name": "Mug « Passerelle »", "qty": 1, "refund": 1290}],
            "total_refunded": 1290, "refunds": [{"method": "card", "amount": 1290}],
            "points_reversed": 12, "points_restored": 0, "reason": "web return",
            "store_id": None, "channel": "web",
        },
    )  # fmt: skip
    page = kiosk_page(new_page, shop)
    scan(page, "PC000000000002")  # James, locale en
    item = page.locator("#member-history li.purchase").first
    expect(item.locator(".purchase-order")).to_have_text("Click & collect at S001: To prepare")
    assert text(item.locator(".purchase-return").inner_text()) == (
        "Returned: Mug « Passerelle » (−€12.90)"
    )


def test_a_store_credit_refund_shows_a_voucher_that_pays_at_once(new_page, shop):
    # the candle, 24,50 €, no member: a code anyone may use
    page = sold_and_brought_back(new_page, shop, "3760123450031", "24,50")
    page.locator("#refund-method").select_option("store_credit")
    page.locator("#return-confirm").click()
    expect(page.locator("#return-done-title")).to_have_text("Remboursé : 24,50\u00a0€")
    expect(page.locator("#voucher-text")).to_contain_text("Avoir de 24,50\u00a0€, valable jusqu'au")
    code = page.locator("#voucher-code").inner_text()
    assert re.fullmatch(r"AV-[A-HJ-NP-Z2-9]{10}", code), code
    check_accessibility(page)
    # The code pays a new sale here at once: nothing to wait for from the online store.
    page.locator("#mode-toggle").click()
    scan(page, MUG)
    scan(page, code)
    expect(page.locator(f"#coupon-rows [data-code='{code}']")).to_contain_text("Avoir")
    expect(page.locator("#pos-message")).to_contain_text("11,60\u00a0€")  # what is not used
    expect(page.locator("#total")).to_have_text("0,00\u00a0€")


def test_the_kiosk_lists_a_members_voucher_with_their_offers(new_page, shop):
    api = shop.app.test_client()
    pos = {"Authorization": f"Bearer {shop.demo['tokens']['pos']}"}
    sale = api.post("/api/v1/sales", headers={**pos, "Idempotency-Key": "k-sale"}, json={
        "terminal_id": "pos-1", "currency": "EUR", "customer_id": "c-0002",
        "lines": [{"sku": "SKU-MUG", "qty": 1}]}).json  # fmt: skip
    ret = api.post("/api/v1/returns", headers={**pos, "Idempotency-Key": "k-ret"}, json={
        "terminal_id": "pos-1", "original": {"kind": "sale", "id": sale["sale_id"]},
        "reason": "gift", "refund_method": "store_credit"})  # fmt: skip
    assert ret.status_code == 201, ret.json
    code = ret.json["refunds"][0]["voucher"]["code"]
    page = kiosk_page(new_page, shop)
    scan(page, "PC000000000002")  # James, locale en
    offer = page.locator("#member-offers li.offer", has_text=code)
    expect(offer.locator(".offer-title")).to_have_text("Store credit")


def test_the_void_button_needs_a_managers_pin(new_page, shop):
    page = staff_login(new_page, shop, "pos", "st-ines")
    scan(page, MUG)
    page.locator("#pay-card").click()
    expect(page.locator("#sale-done-title")).to_contain_text("12,90")
    sale_id = page.locator("body").get_attribute("data-sale-id") or ""
    page.locator("#mode-toggle").click()
    page.locator("#void-last").click()
    expect(page.locator("#manager-fields")).to_be_visible()
    expect(page.locator("#return-message")).to_contain_text(sale_id[-8:])
    # The cashier types her own id and PIN: she is no manager, refused, nothing written.
    page.locator("#manager-id").fill("st-ines")
    page.locator("#manager-pin").fill("3456")
    page.locator("#void-last").click()
    expect(page.locator("#return-message")).to_contain_text("Seul un responsable peut faire cela.")
    assert shop.count("SELECT COUNT(*) FROM returns") == 0
    page.locator("#manager-id").fill("st-manon")
    page.locator("#manager-pin").fill("246810")
    page.locator("#void-last").click()
    expect(page.locator("#return-done-title")).to_have_text("Remboursé : 12,90\u00a0€")
    assert shop.count("SELECT COUNT(*) FROM returns WHERE kind = 'void' AND original_id = ?",
                      sale_id) == 1  # fmt: skip
    assert shop.count("SELECT COUNT(*) FROM sales WHERE sale_id = ?", sale_id) == 1  # kept
