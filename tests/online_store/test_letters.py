"""The online store's messages to a shopper (issue 23): the order confirmation with its QR
code, one language per message, dates in the shopper's language and times in the store's
zone; the pages' times named with their zone, and the site's icon."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from online_store import OnlineStore, letters

from tests.online_store.test_online_store_web import post, store, web  # noqa: F401 - fixtures

ORDER = {
    "order_number": "W-100001",
    "pickup_code": "042917",
    "store_id": "S001",
    "total": 2580,
    "currency": "EUR",
    "paid": True,
    "placed_at": "2026-12-04T17:06:00Z",
    "pickup_by": "2026-12-09T23:30:00Z",  # already the 10th in Paris
}
ELODIE = {"first_name": "Élodie", "email": "elodie@example.fr", "locale": "fr"}
JAMES = {"first_name": "James", "email": "james@example.com", "locale": "en"}
ENGLISH = re.compile(r"\b(Your|code:|until|Pick|Hello|Thank|order)\b")
FRENCH = re.compile(r"\b(Votre|jusqu|Retirez|Bonjour|Merci|commande)\b")


def test_the_order_confirmation_carries_number_code_and_qr_in_french() -> None:
    m = letters.order_letter(ELODIE, ORDER)
    assert m.locale == "fr" and m.to_address == "elodie@example.fr"
    assert "W-100001" in m.subject and "042917" in m.subject
    assert "W-100001" in m.body and "042917" in m.body and "S001" in m.body
    assert "10 décembre 2026" in m.body  # the store's day, written the French way
    assert "25,80\xa0€" in m.body
    assert m.qr_text == "PSRL:W-100001:042917"  # what the kiosk reads
    assert not ENGLISH.search(m.subject + m.body), m.body


def test_the_order_confirmation_in_english() -> None:
    m = letters.order_letter(JAMES, {**ORDER, "paid": False})
    assert "December 10, 2026" in m.body and "€25.80" in m.body and "to pay at pickup" in m.body
    assert not FRENCH.search(m.subject + m.body), m.body


def test_a_coupon_e_mail_is_in_one_language() -> None:
    titles = {"fr": "10 % sur tout", "en": "10% off everything"}
    fr = letters.coupon_letter(
        ELODIE, titles, "ABCD234567", "2027-01-03T22:59:59Z", ORDER["placed_at"]
    )
    assert fr.subject == "10 % sur tout" and "ABCD234567" in fr.body
    assert "3 janvier 2027" in fr.body and fr.qr_text == "ABCD234567"
    assert not ENGLISH.search(fr.body) and "2027-01-03" not in fr.body, fr.body
    en = letters.coupon_letter(
        JAMES, titles, "ABCD234567", "2027-01-03T22:59:59Z", ORDER["placed_at"]
    )
    assert en.subject == "10% off everything" and "January 3, 2027" in en.body
    assert not FRENCH.search(en.body), en.body


def test_times_are_the_stores_with_the_zone_named() -> None:
    assert letters.local_datetime("2026-12-04T17:06:00Z", "en") == "4 Dec 2026, 18:06 (France Time)"
    assert (
        letters.local_datetime("2026-07-04T17:06:00Z", "fr")
        == "4 juil. 2026, 19:06 (heure : France)"
    )


def test_an_order_placed_on_the_web_is_confirmed_with_its_qr_code(
    web: FlaskClient,  # noqa: F811
    store: OnlineStore,  # noqa: F811
) -> None:
    cid = store.upsert_customer(
        first_name="Élodie", last_name="Durand", email="elodie@example.fr", locale="fr"
    )["customer_id"]
    status, page = post(web, f"/customers/{cid}/orders", {"store_id": "S001", "qty_SKU-MUG": "1"})
    assert status == 200
    number = re.search(r"Order (W-\d+) placed", page).group(1)
    code = re.search(r'class="code">(\d{6})<', page).group(1)
    assert "<svg" in page and "(France Time)" in page  # the confirmation page: QR, local time
    messages = web.get("/messages").get_data(as_text=True)
    letter = re.search(r'<p class="letter">(.*?)</p>', messages, re.S).group(1)
    assert number in letter and code in letter and "Bonjour Élodie" in letter
    assert "<svg" in messages and "(France Time)" in messages
    assert "Your code" not in messages


def test_the_site_has_an_icon(web: FlaskClient) -> None:  # noqa: F811
    resp = web.get("/favicon.ico")
    assert resp.status_code == 200 and resp.mimetype == "image/svg+xml"
    assert 'rel="icon"' in web.get("/").get_data(as_text=True)
