"""Erasure by field, not by substring (issue 18): a short card number of the erased member
must not touch the rows of anyone else, even where it appears inside their ids or SKUs."""

from __future__ import annotations

import json
import sqlite3

from edge.customers import service as customers
from edge.printing import queue
from edge.store import db, outbox
from tests.sync.events import data_for

SOURCE = "/stores/S001"


def _member(conn: sqlite3.Connection, cid: str, card: str, last: str) -> None:
    customers.apply_upserted(
        conn,
        {
            "customer_id": cid,
            "version": 1,
            "loyalty_card": card,
            "first_name": "Ana",
            "last_name": last,
            "email": f"{cid}@example.org",
            "phone": None,
            "tier": "standard",
            "locale": "fr",
        },
    )


def test_a_short_card_erased_leaves_other_rows_intact(conn: sqlite3.Connection) -> None:
    with db.write(conn):
        _member(conn, "c-short", "1234", "Lee")
        _member(conn, "c-other", "CARD-9999", "Lee")
        mine = outbox.append(
            conn,
            SOURCE,
            "customer.enrolled",
            {
                "customer_id": "c-short",
                "loyalty_card": "1234",
                "first_name": "Ana",
                "last_name": "Lee",
                "email": "c-short@example.org",
                "phone": None,
                "locale": "fr",
            },
        )
        # someone else's sale whose ids and SKU contain "1234", and a print job mentioning it
        sale = dict(data_for("sale.recorded", 1), sale_id="s-12345", customer_id="c-other")
        sale["lines"] = [{"sku": "SKU-1234", "name": "Lee 1234 mug", "qty": 1, "unit_price": 1234}]
        theirs = outbox.append(conn, SOURCE, "sale.recorded", sale)
        queue.enqueue(
            conn,
            document="loyalty_ticket",
            data={"customer_id": "c-other", "name": "Ana Lee", "card": "CARD-9999", "note": "1234"},
        )
    rows_before = {
        t: [tuple(r) for r in conn.execute(f"SELECT * FROM {t} ORDER BY 1")]
        for t in ("print_jobs", "purchases", "products")
    }
    secure_delete = conn.execute("PRAGMA secure_delete").fetchone()[0]
    other_data = conn.execute("SELECT data FROM outbox WHERE id = ?", (theirs.id,)).fetchone()[0]

    with db.write(conn):
        customers.apply_erased(conn, {"customer_id": "c-short"})

    # everyone else's rows: byte for byte the same
    assert conn.execute("SELECT data FROM outbox WHERE id = ?", (theirs.id,)).fetchone()[0] == (
        other_data
    )
    for t, rows in rows_before.items():
        assert [tuple(r) for r in conn.execute(f"SELECT * FROM {t} ORDER BY 1")] == rows, t
    other = conn.execute(
        "SELECT loyalty_card, last_name FROM customers WHERE customer_id = ?", ("c-other",)
    ).fetchone()
    assert tuple(other) == ("CARD-9999", "Lee")  # shares the name: untouched
    # the erased member's own event: their values gone, the event still whole
    data = json.loads(
        conn.execute("SELECT data FROM outbox WHERE id = ?", (mine.id,)).fetchone()[0]
    )
    assert data["loyalty_card"] == "erased" and data["last_name"] == "erased"
    assert data["email"] is None and data["customer_id"] == "c-short"
    assert conn.execute("PRAGMA secure_delete").fetchone()[0] == secure_delete  # as it was
