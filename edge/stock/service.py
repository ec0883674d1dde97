"""Store stock moves: every change of a SKU's figures is one movement, written in the same
transaction as its cause, with the ``stock.changed`` up-event that tells the web.

Two kinds of functions:

- called inside another area's transaction (the caller holds ``db.write``): ``sold`` (the
  till), ``returned`` (a return of saleable goods), ``reserve_order``, ``release_order`` and
  ``collect_order`` (click-and-collect). They never refuse: the shelf is the truth, and a
  sale or an order the store already took must not fail on a figure;
- operations of their own (one write transaction each, an ``Actor`` and the settings):
  ``receive`` (a delivery), ``adjust`` (damaged, stolen, found), ``count`` (a stocktake) and
  ``import_file`` (a CSV of counts or a delivery note, all or nothing).

Coalescing (``announce``): a busy Saturday sells one SKU many times a minute. While the last
``stock.changed`` of a SKU still waits in the outbox, a newer state does not add a second
event: the SKU is marked ``dirty``, and once that event is sent (``flush``, run by the jobs
worker every second, and by the SKU's next movement) one event carries the latest figures.
No outbox row is ever rewritten: a row the publisher has already read and sent, waiting for
its PUBACK, would be marked sent with figures the web never received (and a re-sent id is
dropped by the web as a duplicate). So sequences stay gapless, every id keeps its one
content, replays re-send the same events, and the web, which applies only a greater
``version``, always ends on the latest figures.
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
from edge.stock.rules import Level, Reason, StockFileError, StockRuleError
from edge.store import idempotency, outbox
from edge.store.db import now_iso, write

EVENT_TYPE = "stock.changed"
Lines = Iterable[tuple[str, int]]


def _store_of(source: str) -> str:
    return source.rsplit("/", 1)[1]


def event_data(sku: str, level: Level, reason: str, at: str, source: str) -> dict[str, Any]:
    """The ``stock.changed`` data of the contract (1.1), with this store's id for the chain."""
    return {
        "sku": sku,
        "store_id": _store_of(source),
        "on_hand": level.on_hand,
        "reserved": level.reserved,
        "available": level.available,
        "version": level.version,
        "reason": reason,
        "occurred_at": at,
    }


# -- the one write path of a figure (the caller holds the transaction) --------------------------


def move(
    conn: sqlite3.Connection,
    sku: str,
    reason: Reason,
    qty: int,
    *,
    source: str,
    actor: str,
    ref: str | None = None,
    note: str | None = None,
    held: int | None = None,
) -> Level:
    """One movement: the figures, its row in ``stock_movements``, and the web told.
    ``held``: for a collect, the units the order held (see ``rules.change``)."""
    if not conn.in_transaction:
        raise RuntimeError("stock.move must run inside db.write(conn)")
    row = conn.execute(
        "SELECT on_hand, reserved, version, event_sequence, dirty FROM stock_levels WHERE sku = ?",
        (sku,),
    ).fetchone()
    before = Level(row[0], row[1], row[2]) if row else Level()
    delta = rules.change(reason, qty, before, held)
    after = rules.apply(before, delta)
    at = now_iso()
    counted_at = at if reason == "count" else None
    sequence, dirty = (row[3], row[4]) if row else (None, 0)
    if after.version != before.version:
        sequence, dirty = announce(conn, source, sku, after, reason, at, sequence)
    # One write of the figures, with the coalescing state announce() decided.
    conn.execute(
        "INSERT INTO stock_levels (sku, on_hand, reserved, version, last_reason, updated_at, "
        "counted_at, event_sequence, dirty) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT (sku) DO "
        "UPDATE SET on_hand = excluded.on_hand, reserved = excluded.reserved, "
        "version = excluded.version, last_reason = excluded.last_reason, "
        "updated_at = excluded.updated_at, event_sequence = excluded.event_sequence, "
        "dirty = excluded.dirty, counted_at = COALESCE(excluded.counted_at, "
        "stock_levels.counted_at)",
        (sku, after.on_hand, after.reserved, after.version, reason, at, counted_at, sequence,
         dirty),
    )  # fmt: skip
    conn.execute(
        "INSERT INTO stock_movements (sku, reason, on_hand_delta, reserved_delta, on_hand_after, "
        "reserved_after, version, ref, note, actor, occurred_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (sku, reason, delta.on_hand, delta.reserved, after.on_hand, after.reserved,
         after.version, ref, note, actor, at),
    )  # fmt: skip
    return after


def announce(
    conn: sqlite3.Connection,
    source: str,
    sku: str,
    level: Level,
    reason: str,
    at: str,
    last_sequence: int | None,
) -> tuple[int | None, int]:
    """Tell the web a SKU's new figures, coalesced: if its last event is still unsent, write
    nothing and say the SKU is dirty (``flush`` sends the latest once that one is out).
    Returns the SKU's new ``(event_sequence, dirty)``; the caller stores them."""
    if last_sequence is not None and outbox.is_unsent(conn, source, last_sequence):
        return last_sequence, 1
    event = outbox.append(conn, source, EVENT_TYPE, event_data(sku, level, reason, at, source))
    return event.sequence, 0


def flush(conn: sqlite3.Connection, source: str) -> int:
    """Send the latest figures of every dirty SKU whose last event has left (caller holds the
    transaction). Returns how many events were written."""
    written = 0
    for row in conn.execute("SELECT * FROM stock_levels WHERE dirty = 1").fetchall():
        level = Level(row["on_hand"], row["reserved"], row["version"])
        sequence, dirty = announce(
            conn,
            source,
            row["sku"],
            level,
            row["last_reason"] or "adjustment",
            row["updated_at"],
            row["event_sequence"],
        )
        if not dirty:
            conn.execute(
                "UPDATE stock_levels SET event_sequence = ?, dirty = 0 WHERE sku = ?",
                (sequence, row["sku"]),
            )
            written += 1
    return written


def flush_job(conn: sqlite3.Connection, settings: Settings) -> int:
    """``edge.system.jobs.PERIODIC`` entry: the tail of a burst reaches the web."""
    if conn.execute("SELECT 1 FROM stock_levels WHERE dirty = 1 LIMIT 1").fetchone() is None:
        return 0
    with write(conn):
        return flush(conn, settings.up_source)


# -- movements inside another area's transaction -----------------------------------------------


def sold(
    conn: sqlite3.Connection,
    lines: Lines,
    *,
    sale_id: str,
    actor: str,
    source: str,
    order_id: str | None = None,
) -> None:
    """A till sale takes its goods off the shelf. A sale that pays for a click-and-collect
    order (``order_id``) moves nothing: the order's collect does."""
    if order_id is not None:
        return
    for sku, qty in rules.per_sku(lines).items():
        move(conn, sku, "sale", qty, source=source, actor=actor, ref=sale_id)


def returned(
    conn: sqlite3.Connection, lines: Lines, *, return_id: str, actor: str, source: str
) -> None:
    """Saleable goods brought back go back on the shelf (the caller leaves out damaged ones,
    or records them with ``adjust``)."""
    for sku, qty in rules.per_sku(lines).items():
        move(conn, sku, "return", qty, source=source, actor=actor, ref=return_id)


def reserve_order(conn: sqlite3.Connection, order_id: str, lines: Lines, *, source: str) -> bool:
    """Hold a click-and-collect order's goods (``order.placed``), once per order. Never
    refused: an order short of stock is held whole and shows "short" on the board."""
    held = False
    at = now_iso()
    for sku, qty in rules.per_sku(lines).items():
        cur = conn.execute(
            "INSERT INTO stock_reservations (order_id, sku, qty, reserved_at) VALUES (?,?,?,?) "
            "ON CONFLICT (order_id, sku) DO NOTHING",
            (order_id, sku, qty, at),
        )
        if cur.rowcount == 1:
            move(conn, sku, "reservation", qty, source=source, actor="web", ref=order_id)
            held = True
    return held


def _close(
    conn: sqlite3.Connection,
    order_id: str,
    closed: str,
    *,
    actor: str,
    source: str,
    lines: Lines = (),
) -> int:
    holds = {
        r["sku"]: r["qty"]
        for r in conn.execute(
            "SELECT sku, qty FROM stock_reservations WHERE order_id = ? AND closed IS NULL",
            (order_id,),
        )
    }
    conn.execute(
        "UPDATE stock_reservations SET closed = ?, closed_at = ? "
        "WHERE order_id = ? AND closed IS NULL",
        (closed, now_iso(), order_id),
    )
    if closed == "released":
        for sku, qty in holds.items():
            move(conn, sku, "release", qty, source=source, actor=actor, ref=order_id)
        return len(holds)
    # Collected: what was handed over leaves the shelf, held or not (an order placed before
    # stock was kept has no hold, its goods still leave).
    taken = rules.per_sku(lines) or holds
    for sku, qty in taken.items():
        move(
            conn, sku, "collect", qty, source=source, actor=actor, ref=order_id,
            held=holds.get(sku, 0),
        )  # fmt: skip
    for sku in holds.keys() - taken.keys():  # held but not handed over: back on sale
        move(conn, sku, "release", holds[sku], source=source, actor=actor, ref=order_id)
    return len(taken)


def release_order(conn: sqlite3.Connection, order_id: str, *, actor: str, source: str) -> int:
    """An order cancelled or expired: its held goods are on sale again. Safe to call twice."""
    return _close(conn, order_id, "released", actor=actor, source=source)


def collect_order(
    conn: sqlite3.Connection, order_id: str, lines: Lines, *, actor: str, source: str
) -> int:
    """The handover: the order's goods leave the shelf and stop being held."""
    return _close(conn, order_id, "collected", actor=actor, source=source, lines=lines)


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
    "flush",
    "flush_job",
    "import_file",
    "move",
    "receive",
    "release_order",
    "reserve_order",
    "returned",
    "sold",
]
