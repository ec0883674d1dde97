"""The return receipt and the tenders on a sale receipt: layouts as data, rendered to the
real ESC/POS bytes in both languages; a cash refund kicks the drawer after the cut."""

from __future__ import annotations

import pytest

from hardware.render import Renderer
from tests.printing.decode import decode

RETURN = {
    "return_id": "01a2-return",
    "occurred_at": "2026-12-04T10:00:00Z",
    "original_id": "01a2-sale",
    "lines": [{"sku": "SKU-MUG", "name": "Mug « Passerelle »", "qty": 1, "refund": 1032}],
    "total_refunded": 1032,
    "refunds": [{"method": "cash", "amount": 1032}],
    "points_reversed": 10,
    "points_restored": 0,
    "points_balance": 120,
    "reason": "damaged",
    "approved_by": "Manon",
    "store_name": "Épicerie Passerelle",
    "void": False,
}


@pytest.mark.parametrize(
    ("locale", "words"),
    [
        ("fr", ["RETOUR", "Achat d'origine", "TOTAL REMBOURSÉ", "-10,32 €", "Points retirés",
                "Remboursé par espèces", "Validé par Manon"]),
        ("en", ["RETURN", "Original purchase", "TOTAL REFUNDED", "-€10.32", "Points taken back",
                "Refunded by cash", "Approved by Manon"]),
    ],
)  # fmt: skip
def test_a_return_receipt_in_both_languages(locale: str, words: list[str]) -> None:
    paper = decode(Renderer(locale=locale, width=42).render("return_receipt", RETURN,
                                                             open_drawer=True))  # fmt: skip
    for w in words:
        assert w in paper.text.replace("\u00a0", " "), (w, paper.text)
    assert paper.drawer_kicks == [0]
    void = decode(
        Renderer(locale="fr", width=42).render("return_receipt", {**RETURN, "void": True})
    )
    assert "*** ANNULATION ***" in void.text and "RETOUR" not in void.text


def test_a_sale_receipt_prints_each_tender_and_the_change() -> None:
    data = {
        "sale_id": "s-1", "occurred_at": "2026-12-04T10:00:00Z", "currency": "EUR",
        "lines": [{"name": "Bougie", "qty": 1, "unit_price": 2450}], "subtotal": 2450,
        "total": 2450, "payment_method": "cash", "change_due": 550,
        "payments": [{"method": "voucher", "amount": 1000}, {"method": "cash", "amount": 1450}],
        "store_name": "Épicerie Passerelle",
    }  # fmt: skip
    text = decode(Renderer(locale="fr", width=42).render("sale_receipt", data)).text
    text = text.replace("\u00a0", " ")
    assert "Payé par bon d'achat" in text and "Payé par espèces" in text
    assert "Monnaie rendue" in text and "5,50 €" in text


@pytest.mark.parametrize(
    ("locale", "words"),
    [
        ("fr", ["AVOIR", "Montant", "24,50 €", "Valable jusqu'au", "Une seule utilisation"]),
        ("en", ["STORE CREDIT VOUCHER", "Value", "€24.50", "Valid until", "One use, in store"]),
    ],
)
def test_a_store_credit_refund_prints_its_voucher_code_and_qr(
    locale: str, words: list[str]
) -> None:
    data = {
        **RETURN,
        "refunds": [{"method": "store_credit", "amount": 2450}],
        "voucher_code": "AV-K7M2Q9XH4R",
        "voucher_amount": 2450,
        "voucher_valid_until": "2027-12-04T10:00:00Z",
    }
    paper = decode(Renderer(locale=locale, width=42).render("return_receipt", data))
    text = paper.text.replace("\u00a0", " ")
    for w in [*words, "AV-K7M2Q9XH4R"]:
        assert w in text, (w, text)
    assert paper.qr_codes == ["AV-K7M2Q9XH4R", "01a2-return"]  # the voucher's, then the return's
    plain = decode(Renderer(locale=locale, width=42).render("return_receipt", RETURN))
    assert plain.qr_codes == ["01a2-return"] and "AV-" not in plain.text
