"""The loyalty ledger: entries written once, and the flag of members below zero.

A balance is the sum of a customer's ledger entries (from both channels), never a mutable
counter: a retried sync or a duplicated message can only re-insert an entry whose id already
exists, which is ignored, so points are never doubled. A balance that turns negative after
the merge is flagged (``edge.loyalty.views.negative_balances``) for /readyz and the metrics.

``insert_entry`` is a step of a larger write (a sale, a down-event), never an operation of
its own: the caller holds the write transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping

from edge.loyalty.views import balance
from edge.store.db import now_iso


def insert_entry(conn: sqlite3.Connection, entry: Mapping[str, object], origin: str) -> bool:
    """Insert one ledger entry once; False when its id was already there (a duplicate)."""
    cur = conn.execute(
        "INSERT OR IGNORE INTO loyalty_entries (entry_id, customer_id, points, reason, ref, "
        "channel, store_id, occurred_at, origin, recorded_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
        (
            entry["entry_id"],
            entry["customer_id"],
            entry["points"],
            entry["reason"],
            entry.get("ref"),
            entry["channel"],
            entry.get("store_id"),
            entry["occurred_at"],
            origin,
            now_iso(),
        ),
    )
    if cur.rowcount != 1:
        return False
    customer_id = str(entry["customer_id"])
    # Points added can only raise a balance: the flag changes only for a member who is
    # flagged already, or on a negative entry (most entries are earned points).
    points = entry["points"]
    if not isinstance(points, int) or points < 0 or _flagged(conn, customer_id):
        _reflag(conn, customer_id)
    return True


def _flagged(conn: sqlite3.Connection, customer_id: str) -> bool:
    return (
        conn.execute(
            "SELECT 1 FROM loyalty_negative WHERE customer_id = ?", (customer_id,)
        ).fetchone()
        is not None
    )


def _reflag(conn: sqlite3.Connection, customer_id: str) -> None:
    """Keep the set of members with a negative balance current (cheap: one indexed sum)."""
    bal = balance(conn, customer_id)
    if bal < 0:
        conn.execute(
            "INSERT INTO loyalty_negative (customer_id, balance, flagged_at) VALUES (?,?,?) "
            "ON CONFLICT (customer_id) DO UPDATE SET balance = excluded.balance",
            (customer_id, bal, now_iso()),
        )
    else:
        conn.execute("DELETE FROM loyalty_negative WHERE customer_id = ?", (customer_id,))
