"""The one write path of a SKU's figures, inside the caller's transaction: every change is one
movement, written with the ``stock.changed`` up-event that tells the web.

Called inside another area's transaction (the caller holds ``db.write``): ``sold`` (the
till), ``returned`` (a return of saleable goods), ``reserve_order``, ``release_order`` and
``collect_order`` (click-and-collect). They never refuse: the shelf is the truth, and a sale
or an order the store already took must not fail on a figure. The staff's own operations
(``edge.stock.service``) use ``move`` too.

Coalescing (``announce``): a busy Saturday sells one SKU many times a minute. While the last
``stock.changed`` of a SKU still waits in the outbox, a newer state does not add a second
event: the SKU is marked ``dirty``, and once that event is sent (``flush``, run by the jobs
worker every second, and by the SKU's next movement) one event carries the latest figures.
No outbox row is ever rewritten: a row the publisher has already read and sent, waiting for
its PUBACK, would be marked sent with figures the web never received (and a re-sent id is
dropped by the web as a duplicate). So sequences stay gapless, every id keeps its one
content, replays re-send the same events, and the web, which applies only a greater
``version``, always ends on the latest figures.

The SKUs of one cause (a basket, an order) move together (``move_many``): one statement reads
their figures, one numbers their events, one writes each kind of row; an order placed with
three lines cost 21 statements one SKU at a time (bench/, catch-up: order.placed was a third
of the inbox applier's time for a tenth of its events).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any

from edge.config import Settings
from edge.stock import rules
from edge.stock.rules import Level, Reason
from edge.store import outbox
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
    held_by = {sku: held} if held is not None else None
    return move_many(
        conn, reason, {sku: qty}, source=source, actor=actor, ref=ref, note=note, held=held_by
    )[sku]


def move_many(
    conn: sqlite3.Connection,
    reason: Reason,
    quantities: Mapping[str, int],
    *,
    source: str,
    actor: str,
    ref: str | None = None,
    note: str | None = None,
    held: Mapping[str, int] | None = None,
) -> dict[str, Level]:
    """One movement per SKU of ``quantities`` (as ``move`` each, in that order), with a
    statement per kind of row rather than per SKU. Returns each SKU's figures after."""
    if not conn.in_transaction:
        raise RuntimeError("stock.move must run inside db.write(conn)")
    skus = list(quantities)
    if not skus:
        return {}
    rows = {
        r[0]: r
        for r in conn.execute(
            "SELECT sku, on_hand, reserved, version, event_sequence, dirty FROM stock_levels "
            f"WHERE sku IN ({','.join('?' * len(skus))})",
            skus,
        )
    }
    at = now_iso()
    counted_at = at if reason == "count" else None
    # Whose last event still waits for its PUBACK: those are coalesced (``announce``).
    waiting = outbox.unsent_among(conn, source, [r[4] for r in rows.values() if r[4] is not None])
    afters: dict[str, Level] = {}
    deltas: dict[str, rules.Change] = {}
    coalesce: dict[str, tuple[int | None, int]] = {}  # sku -> (event_sequence, dirty)
    told: list[str] = []  # SKUs whose new figures go out now
    for sku in skus:
        row = rows.get(sku)
        before = Level(row[1], row[2], row[3]) if row else Level()
        delta = rules.change(reason, quantities[sku], before, held.get(sku) if held else None)
        after = rules.apply(before, delta)
        afters[sku], deltas[sku] = after, delta
        sequence, dirty = (row[4], row[5]) if row else (None, 0)
        if after.version != before.version:
            if sequence is not None and sequence in waiting:
                dirty = 1
            else:
                told.append(sku)
        coalesce[sku] = (sequence, dirty)
    events = outbox.append_many(
        conn, source, EVENT_TYPE, [event_data(s, afters[s], reason, at, source) for s in told]
    )
    for sku, event in zip(told, events, strict=True):
        coalesce[sku] = (event.sequence, 0)
    # One write of the figures, with the coalescing state decided above.
    conn.executemany(
        "INSERT INTO stock_levels (sku, on_hand, reserved, version, last_reason, updated_at, "
        "counted_at, event_sequence, dirty) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT (sku) DO "
        "UPDATE SET on_hand = excluded.on_hand, reserved = excluded.reserved, "
        "version = excluded.version, last_reason = excluded.last_reason, "
        "updated_at = excluded.updated_at, event_sequence = excluded.event_sequence, "
        "dirty = excluded.dirty, counted_at = COALESCE(excluded.counted_at, "
        "stock_levels.counted_at)",
        [
            (sku, a.on_hand, a.reserved, a.version, reason, at, counted_at, *coalesce[sku])
            for sku, a in afters.items()
        ],
    )
    conn.executemany(
        "INSERT INTO stock_movements (sku, reason, on_hand_delta, reserved_delta, on_hand_after, "
        "reserved_after, version, ref, note, actor, occurred_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        [
            (sku, reason, d.on_hand, d.reserved, a.on_hand, a.reserved, a.version, ref, note,
             actor, at)
            for (sku, a), d in zip(afters.items(), deltas.values(), strict=True)
        ],
    )  # fmt: skip
    return afters


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


def recovered(conn: sqlite3.Connection, d: Mapping[str, Any], store_id: str) -> None:
    """``sync.recovery`` restorer of our own ``stock.changed`` that a restored database lost
    (the online store still has it). The web knows that version: ours must never go back
    below it, or the web would ignore every figure we send until the count caught up. So
    the SKU takes the on hand the web last knew (the day's sales since the backup are in
    it), keeps its own reserved (held orders come back with their re-applied
    ``order.placed``), moves one version past the recovered one, and is sent again."""
    sku, version = str(d["sku"]), int(d["version"])
    row = conn.execute(
        "SELECT on_hand, reserved, version FROM stock_levels WHERE sku = ?", (sku,)
    ).fetchone()
    local = Level(row[0], row[1], row[2]) if row else Level()
    if version < local.version:
        return
    on_hand, at = int(d["on_hand"]), now_iso()
    conn.execute(
        "INSERT INTO stock_levels (sku, on_hand, reserved, version, last_reason, updated_at, "
        "event_sequence, dirty) VALUES (?,?,?,?,?,?,NULL,1) ON CONFLICT (sku) DO UPDATE SET "
        "on_hand = excluded.on_hand, version = excluded.version, "
        "last_reason = excluded.last_reason, updated_at = excluded.updated_at, "
        "event_sequence = NULL, dirty = 1",
        (sku, on_hand, local.reserved, version + 1, "adjustment", at),
    )
    conn.execute(
        "INSERT INTO stock_movements (sku, reason, on_hand_delta, reserved_delta, on_hand_after, "
        "reserved_after, version, ref, note, actor, occurred_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (sku, "adjustment", on_hand - local.on_hand, 0, on_hand, local.reserved, version + 1,
         None, f"recovered after a restore: on hand as the web knew it (version {version})",
         "recovery", at),
    )  # fmt: skip


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
    move_many(conn, "sale", rules.per_sku(lines), source=source, actor=actor, ref=sale_id)


def returned(
    conn: sqlite3.Connection, lines: Lines, *, return_id: str, actor: str, source: str
) -> None:
    """Saleable goods brought back go back on the shelf (the caller leaves out damaged ones,
    or records them with ``adjust``)."""
    move_many(conn, "return", rules.per_sku(lines), source=source, actor=actor, ref=return_id)


def reserve_order(conn: sqlite3.Connection, order_id: str, lines: Lines, *, source: str) -> bool:
    """Hold a click-and-collect order's goods (``order.placed``), once per order. Never
    refused: an order short of stock is held whole and shows "short" on the board."""
    wanted = rules.per_sku(lines)
    if not wanted:
        return False
    at = now_iso()
    # One statement for the order's holds; RETURNING names those that were not there yet.
    new = {
        r[0]
        for r in conn.execute(
            "INSERT INTO stock_reservations (order_id, sku, qty, reserved_at) VALUES "
            + ",".join("(?,?,?,?)" for _ in wanted)
            + " ON CONFLICT (order_id, sku) DO NOTHING RETURNING sku",
            [v for sku, qty in wanted.items() for v in (order_id, sku, qty, at)],
        )
    }
    held = {sku: qty for sku, qty in wanted.items() if sku in new}
    move_many(conn, "reservation", held, source=source, actor="web", ref=order_id)
    return bool(held)


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
        move_many(conn, "release", holds, source=source, actor=actor, ref=order_id)
        return len(holds)
    # Collected: what was handed over leaves the shelf, held or not (an order placed before
    # stock was kept has no hold, its goods still leave).
    taken = rules.per_sku(lines) or holds
    move_many(
        conn, "collect", taken, source=source, actor=actor, ref=order_id,
        held={sku: holds.get(sku, 0) for sku in taken},
    )  # fmt: skip
    back = {sku: qty for sku, qty in holds.items() if sku not in taken}  # held, not handed over
    move_many(conn, "release", back, source=source, actor=actor, ref=order_id)
    return len(taken)


def release_order(conn: sqlite3.Connection, order_id: str, *, actor: str, source: str) -> int:
    """An order cancelled or expired: its held goods are on sale again. Safe to call twice."""
    return _close(conn, order_id, "released", actor=actor, source=source)


def collect_order(
    conn: sqlite3.Connection, order_id: str, lines: Lines, *, actor: str, source: str
) -> int:
    """The handover: the order's goods leave the shelf and stop being held."""
    return _close(conn, order_id, "collected", actor=actor, source=source, lines=lines)
