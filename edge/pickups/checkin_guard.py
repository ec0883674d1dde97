"""Wrong codes at the shopper's check-in slow that order's check-in down; they never lock
the handover (issue 19).

Before, a wrong code at the kiosk counted toward the order's lock, so a stranger typing
five wrong codes for each of the day's sequential order numbers locked every handover
until a manager came. Now a check-in failure is counted on the order apart: after
``FREE_TRIES`` of them, each further check-in of that order waits a growing delay (during
which it fails in the same words, without the code being tried). At the counter the staff
member's handover (``collect``) keeps its own count and lock. With the kiosk's rate limit
per terminal and address on top, guessing one order's code takes years.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

from edge.actor import Actor
from edge.store import audit
from edge.store.db import now_iso

FREE_TRIES = 3
FIRST_DELAY = 5.0
MAX_DELAY = 3600.0


def delay(failures: int) -> float:
    """Seconds a check-in of the order waits after ``failures`` wrong codes in a row."""
    if failures < FREE_TRIES:
        return 0.0
    return float(min(FIRST_DELAY * 2.0 ** (failures - FREE_TRIES), MAX_DELAY))


def waiting(row: sqlite3.Row, now: datetime | None = None) -> bool:
    """Whether this order's check-in must still wait (the code is then not even tried)."""
    pause = delay(row["checkin_failures"])
    if not pause or not row["checkin_failed_at"]:
        return False
    last = datetime.fromisoformat(row["checkin_failed_at"].replace("Z", "+00:00"))
    return ((now or datetime.now(UTC)) - last).total_seconds() < pause


def count_failure(conn: sqlite3.Connection, row: sqlite3.Row, who: Actor) -> None:
    """Count a wrong check-in code on the order (inside the caller's write transaction)."""
    failures = row["checkin_failures"] + 1
    conn.execute(
        "UPDATE pickup_orders SET checkin_failures = ?, checkin_failed_at = ? WHERE order_id = ?",
        (failures, now_iso(), row["order_id"]),
    )
    audit.record(
        conn,
        actor=who.staff_id or who.name,
        role=who.role,
        action="pickup.checkin_failed",
        target=row["order_id"],
        detail={"failures": failures},
    )


def reset(conn: sqlite3.Connection, order_id: str) -> None:
    conn.execute(
        "UPDATE pickup_orders SET checkin_failures = 0, checkin_failed_at = NULL "
        "WHERE order_id = ? AND checkin_failures > 0",
        (order_id,),
    )
