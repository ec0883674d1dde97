"""The online-store side's consumer of the stores' up-events.

Each store's up-stream (``/stores/{id}``) is applied in sequence order, each event at most
once (the ``received`` table is the ``(source, id)`` dedupe record):

- ``sequence`` = last applied + 1: applied now, then whatever waited behind it;
- ``sequence`` ≤ last applied, or an id seen before: a duplicate, dropped;
- further ahead: a hole. The event waits in ``pending_up`` and the stream is "behind"; if the
  hole is still open after a short grace (the missing event may simply be in flight at
  another instance of the shared subscription) the worker publishes ``replay.requested``.
  ``behind_since`` is when the stream last moved while behind: each event applied during a
  replay moves it on, so the stream is asked for again (from where it then is) only once the
  replay has stopped bringing events for the grace, not at the first event of it (which
  asked the store to replay again, while its first replay was still arriving).

A store's retained status announcing a ``last_sequence`` beyond what we applied also marks
the stream behind (the tail of a stream can go missing with nothing after it to show a gap).
An event that fails validation goes to ``dead_letters`` but still uses up its sequence
number, as the contract says, so it never stalls the stream. Everything here runs inside the
caller's write transaction.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from online_store import (
    auth,
    checkout,
    coupons,
    fleet,
    orders,
    profiles,
    returns,
    shop,
    stock,
    streams,
)
from online_store.db import now_iso
from sync import contract


def dead_letter(conn: sqlite3.Connection, topic: str, payload: bytes | str, reason: str) -> None:
    text = payload if isinstance(payload, str) else payload.decode("utf-8", "replace")
    conn.execute(
        "INSERT INTO dead_letters (topic, payload, reason, received_at) VALUES (?, ?, ?, ?)",
        (topic, text[:100_000], reason, now_iso()),
    )


def _stream(conn: sqlite3.Connection, store_id: str) -> sqlite3.Row:
    conn.execute("INSERT OR IGNORE INTO up_streams (store_id) VALUES (?)", (store_id,))
    row: sqlite3.Row = conn.execute(
        "SELECT * FROM up_streams WHERE store_id = ?", (store_id,)
    ).fetchone()
    return row


def handle_status(
    conn: sqlite3.Connection, stores: list[str], store_id: str, payload: bytes, now: float
) -> str:
    """A store's retained status: remember the last sequence it announced."""
    if store_id not in stores:
        return "ignored"
    try:
        status = contract.parse(payload)
        contract.validate_status(status)
    except contract.ContractError as exc:
        dead_letter(conn, f"status/stores/{store_id}", payload, str(exc))
        return "dead"
    fleet.record_status(conn, store_id, status, now)
    announced = int(status["last_sequence"])
    row = _stream(conn, store_id)
    if announced > row["announced_sequence"]:
        conn.execute(
            "UPDATE up_streams SET announced_sequence = ? WHERE store_id = ?", (announced, store_id)
        )
    if announced > row["last_sequence"] and row["behind_since"] is None:
        conn.execute("UPDATE up_streams SET behind_since = ? WHERE store_id = ?", (now, store_id))
    return "status"


def handle_up(
    conn: sqlite3.Connection,
    prefix: str,
    stores: list[str],
    topic: str,
    payload: bytes,
    now: float,
) -> str:
    """One message off ``{prefix}/stores/+/up/#``; returns what became of it."""
    try:
        event = contract.parse(payload)
        where = contract.parse_topic(prefix, topic)
    except contract.ContractError as exc:
        dead_letter(conn, topic, payload, str(exc))
        return "dead"
    store_id = where.store_id or ""
    if where.direction != "up" or store_id not in stores:
        dead_letter(conn, topic, payload, f"store {store_id!r} is not one of this online store's")
        return "dead"
    sequence = contract.sequence_of(event)
    if sequence is None or event.get("source") != where.source:
        # Without its stream and place in it, an event cannot even count as seen.
        dead_letter(conn, topic, payload, "no usable source or sequence for this topic")
        return "dead"
    event_id = str(event.get("id"))
    stream = _stream(conn, store_id)
    seen = conn.execute(
        "SELECT 1 FROM received WHERE source = ? AND id = ?", (where.source, event_id)
    ).fetchone()
    if not seen and sequence <= stream["last_sequence"]:
        other = streams.conflicting_id(conn, where.source, sequence, event_id)
        if other is not None:  # contract 1.1: a conflict, kept and reported, never dropped
            dead_letter(conn, topic, payload, f"conflict: sequence {sequence} is already {other}")
            return "conflict"
    if seen or sequence <= stream["last_sequence"]:
        fleet.count_duplicate(conn, store_id)
        return "duplicate"
    if sequence > stream["last_sequence"] + 1:
        conn.execute(
            "INSERT OR IGNORE INTO pending_up (store_id, sequence, topic, payload) "
            "VALUES (?, ?, ?, ?)",
            (store_id, sequence, topic, payload.decode("utf-8")),
        )
        if stream["behind_since"] is None:
            conn.execute(
                "UPDATE up_streams SET behind_since = ? WHERE store_id = ?", (now, store_id)
            )
        return "held"
    _apply(conn, prefix, store_id, topic, event, sequence)
    # The hole (if any) behind this one is filled: apply what waited, in order.
    last = sequence
    while True:
        nxt = conn.execute(
            "SELECT * FROM pending_up WHERE store_id = ? AND sequence = ?", (store_id, last + 1)
        ).fetchone()
        if nxt is None:
            break
        conn.execute(
            "DELETE FROM pending_up WHERE store_id = ? AND sequence = ?", (store_id, last + 1)
        )
        _apply(conn, prefix, store_id, nxt["topic"], json.loads(nxt["payload"]), last + 1)
        last += 1
    conn.execute("DELETE FROM pending_up WHERE store_id = ? AND sequence <= ?", (store_id, last))
    caught_up = conn.execute(
        "SELECT NOT EXISTS (SELECT 1 FROM pending_up WHERE store_id = ?) "
        "AND announced_sequence <= last_sequence FROM up_streams WHERE store_id = ?",
        (store_id, store_id),
    ).fetchone()[0]
    if caught_up:
        conn.execute(
            "UPDATE up_streams SET behind_since = NULL, replay_after = NULL WHERE store_id = ?",
            (store_id,),
        )
    elif stream["behind_since"] is not None:  # still behind, but moving: a replay is filling it
        conn.execute("UPDATE up_streams SET behind_since = ? WHERE store_id = ?", (now, store_id))
    return "applied"


def _apply(
    conn: sqlite3.Connection,
    prefix: str,
    store_id: str,
    topic: str,
    event: dict[str, Any],
    sequence: int,
) -> None:
    """Apply the next event of a store's stream (or dead-letter it) and count it as seen."""
    source = f"/stores/{store_id}"
    conn.execute("UPDATE up_streams SET last_sequence = ? WHERE store_id = ?", (sequence, store_id))
    event_id = str(event.get("id"))
    if conn.execute(
        "SELECT 1 FROM received WHERE source = ? AND id = ?", (source, event_id)
    ).fetchone():
        return
    conn.execute(
        "INSERT INTO received (source, id, sequence, type, received_at) VALUES (?, ?, ?, ?, ?)",
        (source, event_id, sequence, str(event.get("type")), now_iso()),
    )
    streams.keep_up(conn, store_id, event, sequence)
    try:
        contract.check_topic(prefix, topic, event)
        contract.validate(event, tolerant=True)
        if event["type"] not in contract.UP_TYPES:
            raise contract.ContractError(f"{event['type']!r} is not an up-event", path="type")
    except contract.ContractError as exc:
        dead_letter(conn, topic, json.dumps(event, ensure_ascii=False), str(exc))
        return
    try:
        APPLY[event["type"]](conn, store_id, contract.known(event)["data"])  # tolerant reader
    except auth.Refused as exc:  # a store speaking for another, or past its caps (issue 19)
        dead_letter(conn, topic, json.dumps(event, ensure_ascii=False), f"refused: {exc}")


def _sale(conn: sqlite3.Connection, store_id: str, d: dict[str, Any]) -> None:
    """A store sale comes back to every store as ``purchase.recorded`` (purchase_id = sale_id).
    A sale that paid for one of our click-and-collect orders is that order's one purchase."""
    paid_order = {}
    if d.get("order_id"):
        orders.paid_at_till(conn, store_id, d)
        paid_order = {"order_id": d["order_id"], "fulfilment": "pickup"}
    shop.record_purchase(
        conn,
        paid_order
        | {
            "purchase_id": d["sale_id"],
            "customer_id": d["customer_id"],
            "channel": "store",
            "store_id": store_id,
            "occurred_at": d["occurred_at"],
            "currency": d["currency"],
            "total": d["total"],
            "lines": d["lines"],
            "points_earned": d["points_earned"],
        },
    )


def _loyalty(conn: sqlite3.Connection, store_id: str, d: dict[str, Any]) -> None:
    shop.record_loyalty(conn, auth.loyalty_entry(conn, store_id, d))


def _enrolled(conn: sqlite3.Connection, store_id: str, d: dict[str, Any]) -> None:
    shop.enrolled_in_store(conn, store_id, d)


def _pickup(conn: sqlite3.Connection, store_id: str, d: dict[str, Any]) -> None:
    auth.check_pickup(conn, store_id, d)
    checkout.pickup_updated(conn, d)


def _redeemed(conn: sqlite3.Connection, store_id: str, d: dict[str, Any]) -> None:
    coupons.record_redemption(conn, auth.redemption(store_id, d))


def _stock(conn: sqlite3.Connection, store_id: str, d: dict[str, Any]) -> None:
    stock.apply_changed(conn, store_id, d)


APPLY = {
    "stock.changed": _stock,
    "sale.recorded": _sale,
    "loyalty.entry": _loyalty,
    "customer.enrolled": _enrolled,
    "pickup.updated": _pickup,
    "coupon.redeemed": _redeemed,
    "customer.updated": profiles.apply_updated,  # 1.1: details or consents from a till
    "return.recorded": returns.apply_store_return,
}


def replays_due(
    conn: sqlite3.Connection, now: float, grace: float, retry: float
) -> list[tuple[str, int]]:
    """Stores behind, with no progress for ``grace`` seconds, not asked (for this same
    ``after``) within ``retry`` seconds: ``(store_id, after)`` pairs."""
    rows = conn.execute(
        "SELECT store_id, last_sequence FROM up_streams WHERE behind_since IS NOT NULL "
        "AND behind_since <= ? AND (replay_after IS NULL OR replay_after != last_sequence "
        "OR replay_requested_at <= ?)",
        (now - grace, now - retry),
    ).fetchall()
    return [(r[0], int(r[1])) for r in rows]


def request_replay(conn: sqlite3.Connection, store_id: str, after: int, now: float) -> None:
    """Ask a store to publish again every up-event after ``after`` (caller holds the lock)."""
    streams.append(
        conn, contract.store_down_source(store_id), "replay.requested", {"after": str(after)}
    )
    conn.execute(
        "UPDATE up_streams SET replay_after = ?, replay_requested_at = ? WHERE store_id = ?",
        (after, now, store_id),
    )
