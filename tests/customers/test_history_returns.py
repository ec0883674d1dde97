"""The history shows what came back of each purchase (issue 16), read for a whole page at once
(issue 21): each purchase its own returns, oldest first, with their lines in order; a purchase
with nothing returned an empty list."""

from __future__ import annotations

import sqlite3
from typing import Any

from edge.store import db


def _return(conn: sqlite3.Connection, rid: str, purchase_id: str, at: str, lines: int) -> None:
    with db.write(conn):
        conn.execute(
            "INSERT INTO returns (return_id, kind, original_kind, original_id, purchase_id, "
            "occurred_at, currency, total_refunded, reason, origin, recorded_at) "
            "VALUES (?, 'return', 'sale', ?, ?, ?, 'EUR', ?, 'damaged', 'local', ?)",
            (rid, purchase_id, purchase_id, at, 100 * lines, at),
        )
        for n in range(lines, 0, -1):  # written last line first: the answer orders them
            conn.execute(
                "INSERT INTO return_lines (return_id, line_no, sku, name, qty, refund) "
                "VALUES (?, ?, ?, 'Thing', 1, 100)",
                (rid, n, f"SKU-{n}"),
            )


def test_each_purchase_shows_its_own_returns_oldest_first(
    client: Any, headers: Any, seeded: Any, conn: sqlite3.Connection
) -> None:
    url = "/api/v1/customers/c-0001/history"
    items = client.get(url, headers=headers("pos")).json["items"]
    assert len(items) >= 2
    first, second = items[0]["purchase_id"], items[1]["purchase_id"]
    _return(conn, "r-late", first, "2026-11-20T10:00:00.000Z", 1)
    _return(conn, "r-early", first, "2026-11-19T10:00:00.000Z", 2)
    _return(conn, "r-other", second, "2026-11-21T10:00:00.000Z", 1)
    items = client.get(url, headers=headers("pos")).json["items"]
    by_id = {i["purchase_id"]: i["returns"] for i in items}
    assert [r["return_id"] for r in by_id[first]] == ["r-early", "r-late"]
    assert [ln["sku"] for ln in by_id[first][0]["lines"]] == ["SKU-1", "SKU-2"]
    assert by_id[first][0]["total_refunded"] == 200
    assert [r["return_id"] for r in by_id[second]] == ["r-other"]
    assert all(by_id[i["purchase_id"]] == [] for i in items[2:])
