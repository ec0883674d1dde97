"""The online-store side's demo data: the chain's members and their history before the sync
started, the same people and purchases ``passerelle demo`` puts in the store, so that the
web account and the kiosk show one history and one balance from the first minute.

Written as plain rows, not as events: both sides already hold this history (it stands for
what the two systems shared before), so nothing is announced. Safe to run twice.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta

from online_store.shop import CURRENCY, PRODUCTS

MEMBERS = [
    ("c-0001", "PC000000000001", "Élodie", "Durand", "elodie.durand@example.fr", "+33612345678",
     "gold", "fr"),
    ("c-0002", "PC000000000002", "James", "O'Neill", "james@example.com", "+447700900123",
     "standard", "en"),
    ("c-0003", "PC000000000003", "François", "Lefèvre", "f.lefevre@example.fr", "+33698765432",
     "silver", "fr"),
]  # fmt: skip
# customer, channel, store, days ago, [(sku, qty)]: the store's demo history, same ids.
HISTORY: list[tuple[str, str, str | None, int, list[tuple[str, int]]]] = [
    ("c-0001", "web", None, 3, [("SKU-BOUGIE", 1), ("SKU-MUG", 2)]),
    ("c-0001", "store", "S001", 10, [("SKU-CAFE-250", 2)]),
    ("c-0001", "web", None, 20, [("SKU-TORCHON", 1)]),
    ("c-0002", "web", None, 5, [("SKU-THE-VERT", 3)]),
    ("c-0003", "store", "S042", 8, [("SKU-CHOCO-NOIR", 4), ("SKU-SAVON", 1)]),
]


def seed(conn: sqlite3.Connection) -> None:
    """Insert the demo members and history if missing; the caller holds ``db.write``."""
    now = datetime.now(UTC)
    conn.executemany(
        "INSERT OR IGNORE INTO customers (customer_id, version, loyalty_card, first_name, "
        "last_name, email, phone, tier, locale) VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?)",
        MEMBERS,
    )
    names = {sku: (name, price) for sku, name, _, price in PRODUCTS}
    for n, (cid, channel, store, days, items) in enumerate(HISTORY):
        lines = [
            {"sku": s, "name": names[s][0], "qty": q, "unit_price": names[s][1]} for s, q in items
        ]
        total = sum(q * names[s][1] for s, q in items)
        at = (now - timedelta(days=days)).isoformat(timespec="seconds").replace("+00:00", "Z")
        pid = f"demo-{channel}-{n}"
        conn.execute(
            "INSERT OR IGNORE INTO purchases (purchase_id, customer_id, channel, store_id, "
            "occurred_at, currency, total, lines, points_earned) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (pid, cid, channel, store, at, CURRENCY, total, json.dumps(lines), total // 100),
        )
        conn.execute(
            "INSERT OR IGNORE INTO loyalty_entries (entry_id, customer_id, points, reason, ref, "
            "channel, store_id, occurred_at) VALUES (?, ?, ?, 'purchase', ?, ?, ?, ?)",
            (f"demo-entry-{n}", cid, total // 100, pid, channel, store, at),
        )
    conn.execute(
        "INSERT OR IGNORE INTO loyalty_entries (entry_id, customer_id, points, reason, ref, "
        "channel, store_id, occurred_at) VALUES ('demo-bonus-1', 'c-0001', 1500, 'bonus', "
        "'welcome', 'web', NULL, ?)",
        (now.isoformat(timespec="seconds").replace("+00:00", "Z"),),
    )
