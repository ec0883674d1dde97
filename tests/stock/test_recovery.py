"""A restored database is behind its own stock: the online store's copy of our up-stream
brings back the figures the web last knew, and our versions never go back below them."""

from __future__ import annotations

import sqlite3
import uuid

from edge.config import Settings
from edge.stock import service as stock
from edge.store import db, outbox
from sync import recovery
from tests.stock.conftest import STAFF, level, stock_events


def test_a_restore_takes_back_the_figures_the_web_knew_and_never_an_older_version(
    catalogue: list[str], conn: sqlite3.Connection, settings: Settings
) -> None:
    src = settings.up_source
    stock.receive(conn, {"SKU-MUG": 10}, STAFF, settings)  # what last night's backup holds
    with db.write(conn):
        outbox.mark_sent(conn, src, [1])
    # The day the restore lost: the web has version 5 of the mugs, 6 on the shelf.
    lost = {"sku": "SKU-MUG", "store_id": "S001", "on_hand": 6, "reserved": 2, "available": 4,
            "version": 5, "reason": "sale", "occurred_at": "2026-11-22T16:00:00.000Z"}  # fmt: skip
    remote = [
        {"specversion": "1.0", "id": str(uuid.uuid4()), "source": src, "type": "stock.changed",
         "time": lost["occurred_at"], "sequence": "2", "datacontenttype": "application/json",
         "data": lost},
    ]  # fmt: skip
    with db.write(conn):
        recovery.reconcile(conn, "S001", remote, 2)
    assert level(conn, "SKU-MUG") == (6, 0)  # on hand as the web knew it; holds come back
    with db.write(conn):
        assert stock.flush(conn, src) == 1
    events = stock_events(conn, "SKU-MUG")
    assert [(e["sequence"], e["version"], e["sent"]) for e in events] == [
        (1, 1, True),
        (2, 5, True),  # the web's copy, kept at its number
        (3, 6, False),  # ours again, one version past what the web has: it will apply it
    ]
    with db.write(conn):
        stock.sold(conn, [("SKU-MUG", 1)], sale_id="s-after", actor="pos-1", source=src)
    assert conn.execute("SELECT version FROM stock_levels WHERE sku = 'SKU-MUG'").fetchone()[0] == 7
