"""Read models of the loyalty area: a member's balance, what they redeemed today, and how many
members a cross-channel double spend left below zero.

A balance is the sum of a customer's ledger entries (from both channels), never a mutable
counter (see ``edge.loyalty.service.insert_entry``).
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime


def balance(conn: sqlite3.Connection, customer_id: str) -> int:
    row = conn.execute(
        "SELECT COALESCE(SUM(points), 0) FROM loyalty_entries WHERE customer_id = ?",
        (customer_id,),
    ).fetchone()
    return int(row[0])


def redeemed_on_day(conn: sqlite3.Connection, customer_id: str, day: str | None = None) -> int:
    """Points this customer redeemed on a UTC day (YYYY-MM-DD), in any channel we know of."""
    day = day or datetime.now(UTC).strftime("%Y-%m-%d")
    row = conn.execute(
        "SELECT COALESCE(-SUM(points), 0) FROM loyalty_entries "
        "WHERE customer_id = ? AND reason = 'redeem' AND occurred_at >= ? AND occurred_at < ?",
        (customer_id, day, day + "T99"),
    ).fetchone()
    return int(row[0])


def negative_balances(conn: sqlite3.Connection) -> int:
    """Members whose merged balance went below zero: a double spend across channels."""
    return int(conn.execute("SELECT COUNT(*) FROM loyalty_negative").fetchone()[0])
