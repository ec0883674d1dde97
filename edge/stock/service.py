"""Store stock operations of their own (one write transaction each, an ``Actor`` and the
settings): ``receive`` (a delivery), ``adjust`` (damaged, stolen, found), ``count`` (a
stocktake) and ``import_file`` (a CSV of counts or a delivery note, all or nothing).

The write path they share with the other areas (``move``, the coalesced ``stock.changed``
events, and the moves made inside another area's transaction: ``sold``, ``returned``,
``reserve_order``, ``release_order``, ``collect_order``) is ``edge.stock.moves``; its names
are importable from here too, where the rest of the edge has always found them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from edge.actor import Actor
from edge.config import Settings
from edge.errors import InvalidInput
from edge.stock import rules
from edge.stock.moves import (
    EVENT_TYPE,
    collect_order,
    event_data,
    flush,
    flush_job,
    move,
    move_many,
    recovered,
    release_order,
    reserve_order,
    returned,
    sold,
)
from edge.stock.rules import Level, Reason, StockFileError, StockRuleError
from edge.store import idempotency
from edge.store.db import write

# -- staff operations, one transaction each -----------------------------------------------------


def _check_known(conn: sqlite3.Connection, skus: Iterable[str], field: str = "sku") -> None:
    for sku in skus:
        if conn.execute("SELECT 1 FROM products WHERE sku = ?", (sku,)).fetchone() is None:
            raise InvalidInput(f"unknown SKU {sku!r}", field=field, code="unknown_sku")


def _invalid(exc: StockRuleError) -> InvalidInput:
    return InvalidInput(exc.message, field=exc.field)


def _who(who: Actor) -> str:
    return who.staff_id or who.name


@dataclass(frozen=True)
class Moved:
    """What one SKU's movement did, as the staff screen and the CLI report it."""

    sku: str
    before: int
    after: int
    level: Level

    def as_dict(self) -> dict[str, Any]:
        return {
            "sku": self.sku,
            "on_hand_before": self.before,
            "on_hand": self.after,
            "difference": self.after - self.before,
            "reserved": self.level.reserved,
            "available": self.level.available,
            "version": self.level.version,
        }


def _on_hand(conn: sqlite3.Connection, sku: str) -> int:
    row = conn.execute("SELECT on_hand FROM stock_levels WHERE sku = ?", (sku,)).fetchone()
    return int(row[0]) if row else 0


def _apply_many(
    conn: sqlite3.Connection,
    reason: Reason,
    lines: Mapping[str, int],
    who: Actor,
    settings: Settings,
    *,
    ref: str | None = None,
    note: str | None = None,
) -> list[Moved]:
    out = []
    for sku, qty in lines.items():
        before = _on_hand(conn, sku)
        try:
            level = move(
                conn, sku, reason, qty, source=settings.up_source, actor=_who(who), ref=ref,
                note=note,
            )  # fmt: skip
        except StockRuleError as exc:
            raise InvalidInput(f"{sku}: {exc.message}", field=exc.field) from exc
        out.append(Moved(sku, before, level.on_hand, level))
    return out


def _once(
    conn: sqlite3.Connection,
    key: str | None,
    scope: str,
    request: dict[str, Any],
    produce: Callable[[], dict[str, Any]],
) -> dict[str, Any]:
    """One write transaction; with an idempotency key, once per key (a double tap on the
    staff screen, or a retry after a timeout, never receives a delivery twice)."""
    if key is None:
        with write(conn):
            return produce()
    body, _ = idempotency.once(
        conn,
        scope=scope,
        key=key,
        body_hash=idempotency.request_hash(request),
        produce=produce,
        fault_prefix="stock",
    )
    return body


def receive(
    conn: sqlite3.Connection,
    lines: Mapping[str, int],
    who: Actor,
    settings: Settings,
    *,
    ref: str | None = None,
    key: str | None = None,
) -> dict[str, Any]:
    """Goods from the warehouse (a delivery note ``ref``): each SKU's on hand grows."""

    def produce() -> dict[str, Any]:
        _check_known(conn, lines)
        moved = _apply_many(conn, "receipt", lines, who, settings, ref=ref)
        return {"reason": "receipt", "ref": ref, "moved": [m.as_dict() for m in moved]}

    request = {"op": "receipt", "lines": dict(lines), "ref": ref}
    return _once(conn, key, f"stock:{who.name}", request, produce)


def adjust(
    conn: sqlite3.Connection,
    sku: str,
    qty: int,
    why: str,
    who: Actor,
    settings: Settings,
    *,
    note: str | None = None,
    key: str | None = None,
) -> dict[str, Any]:
    """A correction by hand with its reason: damaged or stolen (down), found (up)."""
    try:
        rules.check_adjustment(qty, why)
    except StockRuleError as exc:
        raise _invalid(exc) from exc
    text = why if not note else f"{why}: {note}"

    def produce() -> dict[str, Any]:
        _check_known(conn, [sku])
        moved = _apply_many(conn, "adjustment", {sku: qty}, who, settings, note=text)
        return {"reason": "adjustment", "ref": None, "moved": [m.as_dict() for m in moved]}

    request = {"op": "adjustment", "sku": sku, "qty": qty, "why": why, "note": note}
    return _once(conn, key, f"stock:{who.name}", request, produce)


def count(
    conn: sqlite3.Connection,
    counts: Mapping[str, int],
    who: Actor,
    settings: Settings,
    *,
    note: str | None = None,
) -> dict[str, Any]:
    """A stocktake (a shelf, or the whole shop): each SKU's on hand becomes what was counted,
    and the difference is recorded as the movement. Counting twice changes nothing more."""
    with write(conn):
        _check_known(conn, counts)
        moved = _apply_many(conn, "count", counts, who, settings, note=note)
    return {"reason": "count", "ref": None, "moved": [m.as_dict() for m in moved]}


@dataclass(frozen=True)
class ImportResult:
    kind: str
    moved: list[Moved] = field(default_factory=list)


def import_file(
    conn: sqlite3.Connection,
    text: str,
    who: Actor,
    settings: Settings,
    *,
    ref: str | None = None,
) -> ImportResult:
    """A stock CSV, all or nothing: every bad line is reported (``StockFileError``) and
    nothing is applied unless the whole file is valid. Parsed under the write lock, so the
    SKUs it was checked against are those it is applied to."""
    with write(conn):
        known = {r[0] for r in conn.execute("SELECT sku FROM products")}
        parsed = rules.parse_stock_file(text, known)
        reason: Reason = "count" if parsed.kind == "count" else "receipt"
        moved = _apply_many(conn, reason, parsed.lines, who, settings, ref=ref, note="import")
    return ImportResult(parsed.kind, moved)


__all__ = [
    "EVENT_TYPE",
    "ImportResult",
    "Moved",
    "StockFileError",
    "adjust",
    "collect_order",
    "count",
    "event_data",
    "flush",
    "flush_job",
    "import_file",
    "move",
    "move_many",
    "receive",
    "recovered",
    "release_order",
    "reserve_order",
    "returned",
    "sold",
]
