"""Read models of store stock: a SKU's figures and movements (staff), what the kiosk may say
about a product here and at other stores (no personal data), the POS's figures beside its
products, and which click-and-collect orders the shelf cannot cover ("short: 1 of 2")."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

from edge.errors import NotFound
from edge.products import views as products
from edge.stock import rules
from edge.stock.rules import Level


def _level_of(row: sqlite3.Row | None) -> Level:
    return Level(row["on_hand"], row["reserved"], row["version"]) if row else Level()


def figures(row: sqlite3.Row | None) -> dict[str, Any]:
    level = _level_of(row)
    return {
        "on_hand": level.on_hand,
        "reserved": level.reserved,
        "available": level.available,
        "version": level.version,
        "needs_count": level.needs_count,
        "updated_at": row["updated_at"] if row else None,
        "counted_at": row["counted_at"] if row else None,
    }


def level(conn: sqlite3.Connection, sku: str) -> dict[str, Any]:
    """One SKU's figures here, with its name; NotFound for a SKU the catalogue never had."""
    product = conn.execute("SELECT sku, name FROM products WHERE sku = ?", (sku,)).fetchone()
    row = conn.execute("SELECT * FROM stock_levels WHERE sku = ?", (sku,)).fetchone()
    if product is None and row is None:
        raise NotFound(f"no product {sku!r}", field="sku")
    return {"sku": sku, "name": product["name"] if product else sku, **figures(row)}


def movements(
    conn: sqlite3.Connection, sku: str, *, limit: int = 50, before: int | None = None
) -> list[dict[str, Any]]:
    """The movements of a SKU, newest first: who, when, why, and the figures after each."""
    rows = conn.execute(
        "SELECT * FROM stock_movements WHERE sku = ? AND (? IS NULL OR movement_id < ?) "
        "ORDER BY movement_id DESC LIMIT ?",
        (sku, before, before, limit),
    ).fetchall()
    return [
        {
            "movement_id": r["movement_id"],
            "reason": r["reason"],
            "on_hand_delta": r["on_hand_delta"],
            "reserved_delta": r["reserved_delta"],
            "on_hand": r["on_hand_after"],
            "reserved": r["reserved_after"],
            "available": r["on_hand_after"] - r["reserved_after"],
            "version": r["version"],
            "ref": r["ref"],
            "note": r["note"],
            "actor": r["actor"],
            "occurred_at": r["occurred_at"],
        }
        for r in rows
    ]


def levels(conn: sqlite3.Connection, skus: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Figures of several SKUs at once (the POS's product list)."""
    wanted = list(dict.fromkeys(skus))
    out = {sku: figures(None) for sku in wanted}
    if wanted:
        marks = ",".join("?" * len(wanted))
        for row in conn.execute(f"SELECT * FROM stock_levels WHERE sku IN ({marks})", wanted):
            out[row["sku"]] = figures(row)
    return out


def needing_count(conn: sqlite3.Connection, limit: int = 100) -> list[dict[str, Any]]:
    """SKUs whose on hand went below zero: the staff page lists them to count first."""
    rows = conn.execute(
        "SELECT s.*, p.name FROM stock_levels s LEFT JOIN products p USING (sku) "
        "WHERE s.on_hand < 0 ORDER BY s.on_hand, s.sku LIMIT ?",
        (limit,),
    ).fetchall()
    return [{"sku": r["sku"], "name": r["name"] or r["sku"], **figures(r)} for r in rows]


def elsewhere(conn: sqlite3.Connection, skus: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    """Other stores' figures as the chain last told them, most available first."""
    wanted = list(dict.fromkeys(skus))
    out: dict[str, list[dict[str, Any]]] = {sku: [] for sku in wanted}
    if not wanted:
        return out
    marks = ",".join("?" * len(wanted))
    for r in conn.execute(
        f"SELECT * FROM stock_elsewhere WHERE sku IN ({marks}) ORDER BY available DESC, store_id",
        wanted,
    ):
        out[r["sku"]].append(
            {
                "store_id": r["store_id"],
                "available": max(r["available"], 0),
                "updated_at": r["occurred_at"],
            }
        )
    return out


def lookup(
    conn: sqlite3.Connection, *, barcode: str | None = None, q: str | None = None, limit: int = 10
) -> list[dict[str, Any]]:
    """The kiosk's "is it here?": price, available here (never below 0), and the other
    stores that have it. Nothing about who bought or ordered what."""
    found = products.search(conn, barcode=barcode, q=q, limit=limit)
    skus = [p["sku"] for p in found]
    here = levels(conn, skus)
    other = elsewhere(conn, skus)
    return [
        {
            "sku": p["sku"],
            "name": p["name"],
            "barcode": p["barcode"],
            "price": p["price"],
            "currency": p["currency"],
            "available_here": max(here[p["sku"]]["available"], 0),
            "updated_at": here[p["sku"]]["updated_at"],
            "elsewhere": [s for s in other[p["sku"]] if s["available"] > 0],
        }
        for p in found
    ]


def shortages(conn: sqlite3.Connection, order_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """For each order, its held lines the shelf cannot cover now, first reserved first served:
    ``[{"sku", "qty", "covered"}]`` ("short: 1 of 2" is covered 1 of qty 2). Empty: all there."""
    out: dict[str, list[dict[str, Any]]] = {oid: [] for oid in order_ids}
    if not order_ids:
        return out
    marks = ",".join("?" * len(order_ids))
    skus = [
        r[0]
        for r in conn.execute(
            f"SELECT DISTINCT sku FROM stock_reservations WHERE closed IS NULL "
            f"AND order_id IN ({marks})",
            order_ids,
        )
    ]
    for sku in skus:
        on_hand_row = conn.execute(
            "SELECT on_hand FROM stock_levels WHERE sku = ?", (sku,)
        ).fetchone()
        holds = [
            (r["order_id"], r["qty"])
            for r in conn.execute(
                "SELECT order_id, qty FROM stock_reservations WHERE sku = ? AND closed IS NULL "
                "ORDER BY reserved_at, order_id",
                (sku,),
            )
        ]
        covered = rules.allocate(on_hand_row[0] if on_hand_row else 0, holds)
        for order_id, qty in holds:
            if order_id in out and covered[order_id] < qty:
                out[order_id].append({"sku": sku, "qty": qty, "covered": covered[order_id]})
    return out


def stats(conn: sqlite3.Connection) -> dict[str, int]:
    """What /metrics may show: SKUs to count, and newer figures waiting to be sent."""
    row = conn.execute(
        "SELECT COALESCE(SUM(on_hand < 0), 0), COALESCE(SUM(dirty), 0) FROM stock_levels"
    ).fetchone()
    return {"needs_count": int(row[0]), "pending_changes": int(row[1])}
