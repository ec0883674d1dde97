"""Demo data: a small shop with members who bought on the web and in the store, so that a
newcomer sees one history and one balance right away. Safe to run twice."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

from edge.config import Settings
from edge.customers import service as customers
from edge.loyalty import service as loyalty
from edge.products import handlers as products
from edge.staff import service as auth
from edge.store.db import write

PRODUCTS = [
    ("SKU-CAFE-250", "Café moulu 250 g", "3017620422003", 450),
    ("SKU-THE-VERT", "Thé vert bio", "3263850123456", 590),
    ("SKU-CREME", "Crème brûlée ×2", "3033490004521", 399),
    ("SKU-PAIN-EPI", "Pain d'épices", "3245390012345", 325),
    ("SKU-CHOCO-NOIR", "Chocolat noir 70 %", "7622300441937", 249),
    ("SKU-MUG", "Mug « Passerelle »", "3760123450017", 1290),
    ("SKU-TORCHON", "Torchon lin écru", "3760123450024", 1500),
    ("SKU-BOUGIE", "Bougie parfumée été", "3760123450031", 2450),
    ("SKU-CONFITURE", "Confiture fraise–rhubarbe", "3760123450048", 520),
    ("SKU-SAVON", "Savon de Marseille", "3760123450055", 350),
]

MEMBERS: list[dict[str, Any]] = [
    {
        "customer_id": "c-0001",
        "loyalty_card": "PC000000000001",
        "first_name": "Élodie",
        "last_name": "Durand",
        "email": "elodie.durand@example.fr",
        "phone": "+33612345678",
        "tier": "gold",
        "locale": "fr",
        "consents": {"email": True, "sms": True, "updated_at": None},  # as the online store's
    },
    {
        "customer_id": "c-0002",
        "loyalty_card": "PC000000000002",
        "first_name": "James",
        "last_name": "O'Neill",
        "email": "james@example.com",
        "phone": "+447700900123",
        "tier": "standard",
        "locale": "en",
        "consents": {"email": True, "sms": False, "updated_at": None},
    },
    {
        "customer_id": "c-0003",
        "loyalty_card": "PC000000000003",
        "first_name": "François",
        "last_name": "Lefèvre",
        "email": "f.lefevre@example.fr",
        "phone": "+33698765432",
        "tier": "silver",
        "locale": "fr",
    },
]

TOKENS = {"kiosk": "demo-kiosk", "pos": "demo-pos", "staff": "demo-staff", "admin": "demo-admin"}
STAFF = [
    ("st-manon", "Manon (manager)", "246810", "admin", True),
    ("st-lucas", "Lucas", "2345", "staff", False),
    ("st-ines", "Inès (caisse)", "3456", "pos", False),
]


DEMO_MARK = "demo_database"
"""Kept in sync_state by the first seed: later seeds refill only a database marked so."""


class NotADemoDatabase(Exception):
    """The database holds a real shop's data: the demo never seeds an admin into it."""


def check_own(conn: sqlite3.Connection) -> None:
    """Refuse a database the demo did not make: it would add an admin with a published PIN
    and demo tokens to a real shop (issue 19)."""
    from edge.store import state

    if state.get(conn, DEMO_MARK):
        return
    used = [
        table
        for table in ("staff", "customers", "sales")
        if conn.execute(f"SELECT EXISTS (SELECT 1 FROM {table})").fetchone()[0]  # noqa: S608
    ]
    if used:
        raise NotADemoDatabase(
            f"this database is not a demo database (it holds {', '.join(used)}): the demo "
            "seeds only a new database or one it made itself"
        )


def seed(conn: sqlite3.Connection, settings: Settings) -> dict[str, Any]:
    from edge.store import state

    check_own(conn)
    now = datetime.now(UTC)
    with write(conn):
        state.put(conn, DEMO_MARK, True)
        for sku, name, barcode, price in PRODUCTS:
            products.apply_upserted(
                conn,
                {
                    "sku": sku,
                    "version": 1,
                    "name": name,
                    "barcode": barcode,
                    "price": price,
                    "currency": settings.currency,
                    "active": True,
                },
            )
        for m in MEMBERS:
            customers.apply_upserted(conn, {**m, "version": 1})
        history = [
            ("c-0001", "web", None, 3, [("SKU-BOUGIE", 1), ("SKU-MUG", 2)]),
            ("c-0001", "store", settings.store_id, 10, [("SKU-CAFE-250", 2)]),
            ("c-0001", "web", None, 20, [("SKU-TORCHON", 1)]),
            ("c-0002", "web", None, 5, [("SKU-THE-VERT", 3)]),
            ("c-0003", "store", "S042", 8, [("SKU-CHOCO-NOIR", 4), ("SKU-SAVON", 1)]),
        ]
        prices = {p[0]: (p[1], p[3]) for p in PRODUCTS}
        for n, (cid, channel, store, days, items) in enumerate(history):
            lines: list[dict[str, Any]] = [
                {"sku": s, "name": prices[s][0], "qty": q, "unit_price": prices[s][1]}
                for s, q in items
            ]
            total = sum(ln["qty"] * ln["unit_price"] for ln in lines)
            at = (now - timedelta(days=days)).isoformat(timespec="seconds").replace("+00:00", "Z")
            pid = f"demo-{channel}-{n}"
            points = total // 100
            customers.insert_purchase(
                conn,
                {
                    "purchase_id": pid,
                    "customer_id": cid,
                    "channel": channel,
                    "store_id": store,
                    "occurred_at": at,
                    "currency": settings.currency,
                    "total": total,
                    "points_earned": points,
                    "lines": lines,
                },
                origin="down",
            )
            loyalty.insert_entry(
                conn,
                {
                    "entry_id": f"demo-entry-{n}",
                    "customer_id": cid,
                    "points": points,
                    "reason": "purchase",
                    "ref": pid,
                    "channel": channel,
                    "store_id": store,
                    "occurred_at": at,
                },
                origin="down",
            )
        loyalty.insert_entry(
            conn,
            {
                "entry_id": "demo-bonus-1",
                "customer_id": "c-0001",
                "points": 1500,
                "reason": "bonus",
                "ref": "welcome",
                "channel": "web",
                "store_id": None,
                "occurred_at": now.isoformat(timespec="seconds").replace("+00:00", "Z"),
            },
            origin="down",
        )
    tokens: dict[str, str] = {}
    for role, name in TOKENS.items():
        if conn.execute(
            "SELECT 1 FROM api_tokens WHERE name = ? AND revoked_at IS NULL", (name,)
        ).fetchone():
            auth.revoke_token(conn, name, actor="demo")
        tokens[role] = auth.create_token(conn, name=name, role=role, actor="demo")
    for staff_id, name, pin, role, manager in STAFF:
        if not conn.execute("SELECT 1 FROM staff WHERE staff_id = ?", (staff_id,)).fetchone():
            auth.add_staff(
                conn,
                name=name,
                pin=pin,
                role=role,
                is_manager=manager,
                staff_id=staff_id,
                actor="demo",
            )
    return {
        "tokens": tokens,
        "staff": [{"staff_id": s[0], "name": s[1], "pin": s[2], "role": s[3]} for s in STAFF],
        "cards": [m["loyalty_card"] for m in MEMBERS],
    }
