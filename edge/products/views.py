"""Read models of the products area: the catalogue as the store sees it, looked up by barcode
at the till or searched by name. Prices are never taken from a client: the sale reads them
here (``get_active``)."""

from __future__ import annotations

import sqlite3
from typing import Any

from edge.errors import InvalidInput


def _out(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "sku": row["sku"],
        "name": row["name"],
        "barcode": row["barcode"],
        "price": row["price"],
        "currency": row["currency"],
        "active": bool(row["active"]),
    }


def search(
    conn: sqlite3.Connection, *, barcode: str | None = None, q: str | None = None, limit: int = 20
) -> list[dict[str, Any]]:
    if barcode:
        rows = conn.execute(
            "SELECT * FROM products WHERE barcode = ? AND active = 1 LIMIT ?", (barcode, limit)
        ).fetchall()
    elif q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = conn.execute(
            "SELECT * FROM products WHERE active = 1 AND (name LIKE ? ESCAPE '\\' OR sku = ?) "
            "ORDER BY name COLLATE NOCASE LIMIT ?",
            (pattern, q, limit),
        ).fetchall()
    else:
        raise InvalidInput("give a barcode or a search text q", field="q")
    return [_out(r) for r in rows]


def get_active(conn: sqlite3.Connection, sku: str) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM products WHERE sku = ? AND active = 1", (sku,)).fetchone()
