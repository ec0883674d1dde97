"""The campaign the demo tells (issue 22): a TV spot says "text THE to 38 000", the text
brings the landing page's link, the page signs the shopper up with their consent and sends a
personal coupon, which the kiosk shows and the till takes. Also the demo members' consents
(Élodie: e-mail and SMS; James: e-mail; François: none). Safe to run twice."""

from __future__ import annotations

import sqlite3

from online_store import campaigns, consents
from online_store.db import now_iso

KEYWORD = "THE"
SLUG = "printemps-du-the"
CONSENTS = {"c-0001": {"email": True, "sms": True}, "c-0002": {"email": True, "sms": False}}


def seed(conn: sqlite3.Connection) -> None:
    """The caller holds ``db.write``."""
    for customer_id, wanted in CONSENTS.items():
        if (
            conn.execute("SELECT 1 FROM customers WHERE customer_id = ?", (customer_id,)).fetchone()
            and not conn.execute(
                "SELECT 1 FROM customer_consents WHERE customer_id = ?", (customer_id,)
            ).fetchone()
        ):
            consents.store(conn, customer_id, wanted, now_iso())
    if conn.execute("SELECT 1 FROM campaigns WHERE keyword = ?", (KEYWORD,)).fetchone():
        return
    campaigns.create(
        conn,
        name="Printemps du thé (spot TV)",
        keyword=KEYWORD,
        slug=SLUG,
        channels=["tv", "sms", "web", "email", "store"],
        title_fr="−20 % sur le thé vert bio",
        title_en="20% off organic green tea",
        kind="percent",
        value=20,
        skus=["SKU-THE-VERT"],
        valid_days=30,
        question_fr="Combien de tasses de thé buvez-vous par jour ?",
        question_en="How many cups of tea do you drink a day?",
        options_fr="1, 2 à 3, 4 et plus",
        options_en="1, 2 to 3, 4 or more",
        audience={"bought": {"skus": [], "category": "epicerie", "days": 30}},
    )
