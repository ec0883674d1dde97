"""The staff pickup board in real Chromium, with the kiosk beside it: an order from
``order.placed`` to the shopper's check-in at the kiosk, the alert on the board (seen and
heard, without a reload), and the handover against the pickup code."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.screens.conftest import (
    check_accessibility,
    kiosk_page,
    scan,
    screenshot,
    staff_login,
    text,
)

pytestmark = pytest.mark.browser


def iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def order(number: str, code: str, name: str, customer: str | None, **more: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    data: dict[str, Any] = {
        "order_id": f"o-{number}",
        "order_number": number,
        "customer_id": customer,
        "customer_name": name,
        "pickup_code": code,
        "currency": "EUR",
        "total": 2580,
        "paid": True,
        "lines": [{"sku": "SKU-MUG", "name": "Mug « Passerelle »", "qty": 2, "unit_price": 1290}],
        "placed_at": iso(now - timedelta(hours=3)),
        "pickup_by": iso(now + timedelta(days=2)),
    }
    data.update(more)
    return data


def test_order_to_checkin_alert_and_handover(new_page, shop):
    now = datetime.now(UTC)
    shop.place_order(order("W-100234", "481516", "Élodie Durand", "c-0001"))
    shop.place_order(
        order(
            "W-100240",
            "230342",
            "James O'Neill",
            "c-0002",
            total=1040,
            lines=[
                {
                    "sku": "SKU-CONFITURE",
                    "name": "Confiture fraise–rhubarbe",
                    "qty": 2,
                    "unit_price": 520,
                }
            ],
            pickup_by=iso(now + timedelta(days=1)),
        )
    )
    shop.place_order(
        order(
            "W-100251",
            "777001",
            "Camille Roux",
            None,
            paid=False,
            total=2450,
            lines=[
                {"sku": "SKU-BOUGIE", "name": "Bougie parfumée été", "qty": 1, "unit_price": 2450}
            ],
            pickup_by=iso(now + timedelta(days=4)),
        )
    )

    shop.place_order(
        order(
            "W-100262",
            "404040",
            "Nadia Benali",
            None,
            total=1538,
            lines=[
                {"sku": "SKU-THE-VERT", "name": "Thé vert bio", "qty": 1, "unit_price": 590},
                {"sku": "SKU-SAVON", "name": "Savon de Marseille", "qty": 2, "unit_price": 350},
                {
                    "sku": "SKU-CHOCO-NOIR",
                    "name": "Chocolat noir 70 %",
                    "qty": 1,
                    "unit_price": 249,
                },
            ],
            pickup_by=iso(now + timedelta(days=3)),
        )
    )

    board = staff_login(new_page, shop, "staff", "st-lucas")
    received = board.locator("#cards-received article")
    expect(received).to_have_count(4)
    # Oldest deadline first.
    assert received.evaluate_all("els => els.map(e => e.dataset.number)") == [
        "W-100240",
        "W-100234",
        "W-100262",
        "W-100251",
    ]
    card = board.locator("article[data-number='W-100234']")
    card.get_by_role("button", name="Préparer").click()
    expect(board.locator("#cards-preparing article[data-number='W-100234']")).to_have_count(1)
    board.locator("article[data-number='W-100234']").get_by_role(
        "button", name="Marquer prête"
    ).click()
    expect(board.locator("#cards-ready article[data-number='W-100234']")).to_have_count(1)
    board.locator("article[data-number='W-100240']").get_by_role("button", name="Préparer").click()
    expect(board.locator("#cards-preparing article[data-number='W-100240']")).to_have_count(1)
    expect(board.locator("#alerts .alert")).to_have_count(0)
    chimes_before = int(board.locator("body").get_attribute("data-chimes") or 0)

    # The shopper scans the QR code of their e-mail at the kiosk.
    kiosk = kiosk_page(new_page, shop)
    scan(kiosk, "PSRL:W-100234:481516")
    expect(kiosk.locator("#checkin-title")).to_have_text("Votre commande W-100234 est prête !")
    expect(kiosk.locator("#checkin-where")).to_contain_text("un membre de l'équipe")
    check_accessibility(kiosk)
    screenshot(kiosk, "kiosk-checkin")

    # The board sees it by itself (polling), with the visible alert and the chime.
    alert = board.locator("#alerts .alert")
    expect(alert).to_have_count(1)
    expect(alert).to_contain_text("Élodie Durand attend au comptoir pour la commande W-100234")
    expect(board.locator("body")).to_have_attribute(
        "data-chimes", re.compile(rf"^(?!{chimes_before}$)\d+$")
    )
    expect(board.locator("#cards-ready article[data-number='W-100234']")).to_have_class(
        re.compile("is-checked-in")
    )
    check_accessibility(board)
    screenshot(board, "staff-board")

    # The slip can be printed again from the card.
    board.locator("article[data-number='W-100234']").get_by_role(
        "button", name="Imprimer le bon"
    ).click()
    expect(board.locator("#toast")).to_have_text("Bon envoyé à l'imprimante.")

    # Handover: a wrong code is refused with the server's words, the right one goes through.
    alert.get_by_role("button", name="Remettre").click()
    dialog = board.locator("#handover-dialog")
    expect(dialog).to_be_visible()
    for digit in "000000":
        dialog.locator(f".keypad button[data-key='{digit}']").click()
    dialog.get_by_role("button", name="Confirmer la remise").click()
    expect(board.locator("#handover-message")).to_contain_text("wrong pickup code")
    for digit in "481516":
        dialog.locator(f".keypad button[data-key='{digit}']").click()
    screenshot(board, "staff-handover")
    dialog.get_by_role("button", name="Confirmer la remise").click()
    expect(dialog).to_be_hidden()
    expect(board.locator("article[data-number='W-100234']")).to_have_count(0)
    expect(board.locator("#alerts .alert")).to_have_count(0)
    assert shop.count("SELECT COUNT(*) FROM pickup_orders WHERE status = 'collected'") == 1

    # Cancellation asks for a reason.
    board.locator("article[data-number='W-100251']").get_by_role("button", name="Annuler").click()
    cancel = board.locator("#cancel-dialog")
    cancel.get_by_role("button", name="Annuler la commande").click()
    expect(board.locator("#cancel-message")).to_have_text("Indiquez le motif de l'annulation.")
    cancel.get_by_role("button", name="Rupture de stock").click()
    cancel.get_by_role("button", name="Annuler la commande").click()
    expect(cancel).to_be_hidden()
    expect(board.locator("article[data-number='W-100251']")).to_have_count(0)
    assert (
        shop.count(
            "SELECT COUNT(*) FROM pickup_orders WHERE status = 'cancelled' "
            "AND cancel_reason = 'Rupture de stock'"
        )
        == 1
    )
    assert board.js_errors == [] and kiosk.js_errors == []


def test_typed_checkin_and_a_wrong_code_at_the_kiosk(new_page, shop):
    shop.place_order(order("W-200001", "135790", "James O'Neill", "c-0002"))
    kiosk = kiosk_page(new_page, shop)
    kiosk.get_by_role("button", name=re.compile("Retirer une commande")).click()
    for key in "200001":
        kiosk.locator(f"#view-pickup .keypad button[data-key='{key}']").click()
    kiosk.locator("#code-input").click()
    for key in "999999":
        kiosk.locator(f"#view-pickup .keypad button[data-key='{key}']").click()
    kiosk.get_by_role("button", name="Je suis arrivé·e").click()
    expect(kiosk.locator("#pickup-message")).to_contain_text("Nous ne trouvons pas de commande")
    kiosk.locator("#code-input").fill("135790")
    kiosk.get_by_role("button", name="Je suis arrivé·e").click()
    # James reads English: the API answers in the shopper's language, the kiosk follows.
    expect(kiosk.locator("#checkin-title")).to_have_text("Your order W-200001 is being prepared.")
    assert "checked in" in text(kiosk.locator("#checkin-note").inner_text())
    expect(kiosk.locator("#checkin-where")).to_contain_text("click & collect counter")
    assert shop.count("SELECT COUNT(*) FROM pickup_orders WHERE checked_in_at IS NOT NULL") == 1


def test_web_cancellation_of_a_ready_order_says_to_put_the_goods_back(new_page, shop):
    shop.place_order(order("W-300001", "112233", "James O'Neill", "c-0002"))
    board = staff_login(new_page, shop, "staff", "st-lucas")
    card = board.locator("article[data-number='W-300001']")
    card.get_by_role("button", name="Préparer").click()
    board.locator("#cards-preparing article[data-number='W-300001']").get_by_role(
        "button", name="Marquer prête"
    ).click()
    expect(board.locator("#cards-ready article[data-number='W-300001']")).to_have_count(1)
    shop.deliver("order.cancelled", {"order_id": "o-W-300001", "reason": "changed my mind"})
    warning = board.locator("#alerts .alert.warning")
    expect(warning).to_contain_text(
        "W-300001 · Annulée par le site : remettez les articles en rayon."
    )
    expect(board.locator("article[data-number='W-300001']")).to_have_count(0)
    warning.get_by_role("button", name="Remis en rayon").click()  # staff confirm it
    expect(board.locator("#alerts .alert.warning")).to_have_count(0)
    assert shop.count("SELECT put_back FROM pickup_orders WHERE order_id = 'o-W-300001'") == 0
