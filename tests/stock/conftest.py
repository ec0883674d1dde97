"""Fixtures for store stock: down-events applied as the sync worker applies them, a
click-and-collect order brought down, and the stock events in the outbox."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from edge import handlers
from edge.actor import Actor
from edge.config import Settings
from edge.store import db, inbox

STAFF = Actor(name="Léa", role="staff", staff_id="st-lea")


def iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def order_data(lines: list[tuple[str, int]], **overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    n = uuid.uuid4().int % 900_000 + 100_000
    data: dict[str, Any] = {
        "order_id": f"o-{uuid.uuid4().hex[:12]}",
        "order_number": f"W-{n}",
        "customer_id": "c-0002",
        "customer_name": "James O'Neill",
        "pickup_code": f"{n:06d}",
        "currency": "EUR",
        "total": 100 * sum(q for _, q in lines),
        "paid": True,
        "lines": [{"sku": s, "name": s, "qty": q, "unit_price": 100} for s, q in lines],
        "placed_at": iso(now - timedelta(hours=1)),
        "pickup_by": iso(now + timedelta(days=3)),
    }
    data.update(overrides)
    return data


@pytest.fixture
def deliver(conn: sqlite3.Connection, settings: Settings) -> Callable[[str, dict[str, Any]], bool]:
    """Apply one down-event as the sync worker does: its handler, in one write transaction."""

    def apply(type_: str, data: dict[str, Any]) -> bool:
        ctx = inbox.ApplyContext(
            store_id=settings.store_id, source=settings.up_source, event_id=str(uuid.uuid4())
        )
        with db.write(conn):
            return handlers.HANDLERS[type_](conn, data, ctx)

    return apply


def stock_events(conn: sqlite3.Connection, sku: str | None = None) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT sequence, id, data, sent_at FROM outbox WHERE type = 'stock.changed' "
        "ORDER BY sequence"
    ).fetchall()
    out = []
    for r in rows:
        d = json.loads(r["data"])
        if sku is None or d["sku"] == sku:
            out.append({"sequence": r["sequence"], "id": r["id"], "sent": bool(r["sent_at"]), **d})
    return out


def level(conn: sqlite3.Connection, sku: str) -> tuple[int, int]:
    row = conn.execute(
        "SELECT on_hand, reserved FROM stock_levels WHERE sku = ?", (sku,)
    ).fetchone()
    return (row[0], row[1]) if row else (0, 0)


@pytest.fixture
def catalogue(conn: sqlite3.Connection, settings: Settings) -> list[str]:
    """The demo shop's products only (no members, no staff PINs to hash): what stock needs."""
    from edge.products import handlers as products
    from edge.system.demo import PRODUCTS

    with db.write(conn):
        for sku, name, barcode, price in PRODUCTS:
            products.apply_upserted(
                conn,
                {"sku": sku, "version": 1, "name": name, "barcode": barcode, "price": price,
                 "currency": settings.currency, "active": True},
            )  # fmt: skip
    return [p[0] for p in PRODUCTS]
