"""Down-events of the products area: the catalogue, owned by the online store and kept in
step by ``product.upserted``."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

from edge.store.db import now_iso
from edge.store.inbox import ApplyContext, Handler


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


def product_upserted(conn: sqlite3.Connection, d: Mapping[str, Any], ctx: ApplyContext) -> bool:
    return apply_upserted(conn, d)


HANDLERS: dict[str, Handler] = {"product.upserted": product_upserted}
