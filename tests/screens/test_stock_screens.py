"""Store stock on the screens in real Chromium (issue 17): the kiosk's "is it in store?" by
scan and by name, the till's stock beside each product, the staff's stock page and the
board's "short", and the reference online store's availability and refusal."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from online_store import OnlineStore
from online_store import db as online_db
from online_store import stock as online_stock
from playwright.sync_api import expect

from edge.actor import Actor
from edge.stock import service as stock
from tests.screens.conftest import (
    Shop,
    check_accessibility,
    iso,
    kiosk_page,
    scan,
    screenshot,
    staff_login,
    text,
)
from tests.support.broker import Broker

pytestmark = pytest.mark.browser
MUG = "3760123450017"
STAFF = Actor(name="Lucas", role="staff", staff_id="st-lucas")


def _stock(shop: Shop, lines: dict[str, int]) -> None:
    conn = shop.conn()
    try:
        stock.receive(conn, lines, STAFF, shop.app.config["SETTINGS"], ref="BL-1")
    finally:
        conn.close()


def _nearby(shop: Shop, store_id: str, sku: str, available: int) -> None:
    shop.deliver(
        "stock.changed",
        {"sku": sku, "store_id": store_id, "on_hand": available, "reserved": 0,
         "available": available, "version": 1, "reason": "count",
         "occurred_at": "2026-11-22T10:15:00Z"},
    )  # fmt: skip


def test_kiosk_says_here_or_nearby_by_scan_and_by_name(new_page: Any, shop: Shop) -> None:
    _stock(shop, {"SKU-MUG": 4})
    _nearby(shop, "S002", "SKU-MUG", 3)
    _nearby(shop, "S003", "SKU-BOUGIE", 2)
    page = kiosk_page(new_page, shop)
    scan(page, MUG)
    expect(page.locator("#view-product")).to_be_visible()
    item = page.locator("#product-results li.stock-item[data-sku='SKU-MUG']")
    expect(item.locator(".stock-here")).to_have_text("Dans ce magasin : 4 disponible(s)")
    expect(item.locator(".stock-elsewhere li")).to_have_text(["Disponible à S002 : 3"])
    assert "12,90 €" in text(item.locator(".stock-price").inner_text())
    check_accessibility(page)
    screenshot(page, "kiosk-stock")

    page.locator("#product-input").fill("bougie")
    page.locator("#product-form button[type=submit]").click()
    candle = page.locator("#product-results li.stock-item[data-sku='SKU-BOUGIE']")
    expect(candle.locator(".stock-here")).to_have_text(
        "Pas disponible dans ce magasin en ce moment."
    )
    expect(candle.locator(".stock-elsewhere li")).to_have_text(["Disponible à S003 : 2"])
    # Back to welcome: the answer is gone from the page.
    page.locator("#view-product").get_by_role("button", name="Retour").click()
    expect(page.locator("#product-results li")).to_have_count(0)
    assert page.js_errors == []


def test_staff_count_board_short_and_till_stock(new_page: Any, shop: Shop) -> None:
    _stock(shop, {"SKU-MUG": 1})
    order = {
        "order_id": "o-stock-1", "order_number": "W-200001", "customer_id": "c-0002",
        "customer_name": "James O'Neill", "pickup_code": "123456", "currency": "EUR",
        "total": 2580, "paid": True,
        "lines": [{"sku": "SKU-MUG", "name": "Mug « Passerelle »", "qty": 2, "unit_price": 1290}],
        "placed_at": "2026-11-22T10:00:00Z", "pickup_by": iso(__import__("datetime").datetime.now(
            __import__("datetime").UTC) + __import__("datetime").timedelta(days=3)),
    }  # fmt: skip
    shop.deliver("order.placed", order)
    board = staff_login(new_page, shop, "staff", "st-lucas")
    card = board.locator("article[data-number='W-200001']")
    expect(card.locator(".order-lines .short")).to_have_text(" · manque : 1 sur 2")

    board.get_by_role("link", name="Stock").click()
    board.wait_for_url(re.compile(r"/staff/stock$"))
    board.locator("#sku-input").fill(MUG)
    board.get_by_role("button", name="Trouver").click()
    expect(board.locator("#fig-on-hand")).to_have_text("1")
    expect(board.locator("#fig-reserved")).to_have_text("2")
    expect(board.locator("#fig-available")).to_have_text("-1")
    board.locator("#count-qty").fill("5")
    board.locator("#count-form").get_by_role("button", name="Enregistrer").click()
    expect(board.locator("#stock-message")).to_have_text("Enregistré : en rayon 1 → 5")
    expect(board.locator("#fig-on-hand")).to_have_text("5")
    expect(board.locator("#movements tr").first).to_have_attribute("data-reason", "count")
    board.locator("#adjust-reason").select_option("damaged")
    board.locator("#adjust-qty").fill("-1")
    board.locator("#adjust-form").get_by_role("button", name="Enregistrer").click()
    expect(board.locator("#fig-on-hand")).to_have_text("4")
    assert "Ajustement" in board.locator("#movements tr").first.inner_text()
    screenshot(board, "staff-stock")
    assert shop.count("SELECT COUNT(*) FROM stock_movements WHERE sku = 'SKU-MUG'") == 4

    till = staff_login(new_page, shop, "pos", "st-ines")
    till.locator("#search-input").fill("mug")
    till.locator("#search-input").press("Enter")
    expect(till.locator("#search-results li[data-sku='SKU-MUG'] .result-stock")).to_have_text(
        "stock 4"
    )
    assert board.js_errors == [] and till.js_errors == []


@pytest.fixture
def online(tmp_path: Path, mosquitto: Broker) -> Iterator[tuple[OnlineStore, str]]:
    store = OnlineStore(str(tmp_path / "online.db"), mosquitto.url, "passerelle/v1", ["S001"])
    store.start()
    url = store.serve()
    yield store, url
    store.stop()


def test_online_store_shows_availability_and_refuses_more(
    new_page: Any, online: tuple[OnlineStore, str]
) -> None:
    store, url = online
    with store.connection() as conn, online_db.write(conn):
        online_stock.apply_changed(
            conn,
            "S001",
            {"sku": "SKU-MUG", "store_id": "S001", "on_hand": 5, "reserved": 2, "available": 3,
             "version": 7, "reason": "sale", "occurred_at": "2026-11-22T10:15:00.000Z"},
        )  # fmt: skip
    customer = store.upsert_customer(first_name="Ana", last_name="Web", locale="fr")
    page = new_page()
    page.goto(f"{url}/products")
    row = page.locator("#products tr[data-sku='SKU-MUG']")
    expect(row).to_contain_text("available at S001: 3")
    expect(row).to_contain_text("updated 22 Nov 2026, 11:15")  # the shop's local time
    page.goto(f"{url}/customers/{customer['customer_id']}")
    order_form = page.locator("form", has=page.get_by_role("button", name="Place the order"))
    expect(order_form.locator("span.stock[data-store='S001']").first).to_have_text(
        "available at S001: 3"
    )
    order_form.get_by_label("quantity of Mug « Passerelle »").fill("4")
    order_form.get_by_role("button", name="Place the order").click()
    expect(page.locator(".error")).to_contain_text("only 3 × Mug « Passerelle » available at S001")
    page.go_back()
    order_form = page.locator("form", has=page.get_by_role("button", name="Place the order"))
    order_form.get_by_label("quantity of Mug « Passerelle »").fill("2")
    order_form.get_by_role("button", name="Place the order").click()
    expect(page.locator("table.order-stock")).to_contain_text("available at S001: 3")
    assert page.js_errors == []
