"""The catalogue as the store sees it: looked up by barcode at the till, searched by name,
kept in step by ``product.upserted``. Prices are never taken from a client."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

from edge.errors import InvalidInput
from edge.store.db import now_iso


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


def apply_upserted(conn: sqlite3.Connection, d: Mapping[str, Any]) -> bool:
    """``product.upserted``: apply only a newer version."""
    cur = conn.execute(
        "INSERT INTO products (sku, version, name, barcode, price, currency, active, updated_at) "
        "VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (sku) DO UPDATE SET version=excluded.version, "
        "name=excluded.name, barcode=excluded.barcode, price=excluded.price, "
        "currency=excluded.currency, active=excluded.active, updated_at=excluded.updated_at "
        "WHERE excluded.version > products.version",
        (
            d["sku"],
            int(d["version"]),
            d["name"],
            d.get("barcode"),
            int(d["price"]),
            d["currency"],
            int(bool(d.get("active", True))),
            now_iso(),
        ),
    )
    return cur.rowcount == 1
