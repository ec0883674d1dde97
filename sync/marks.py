"""Up-events the broker acknowledged, waiting for their ``sent_at``: written when SQLite's
write lock is free, never waited for on the publisher's path.

A writer that waits in SQLite's busy handler sleeps in growing steps (up to 100 ms) and wakes
to find the lock taken again by one of the tills: with four tills selling, the publisher's
"mark sent" waited hundreds of milliseconds at a time, and every sale made meanwhile waited
with it for the broker (bench/, sale → broker). So the rows acknowledged by the broker are
kept here, with the time their PUBACKs were seen, and marked when the lock is free
(``try_write``), at most every MARK_INTERVAL; past MARK_PENDING_AGE or MARK_PENDING_MAX, and
at stop, the write waits. A row is still marked only after its PUBACK; a crash before the
mark publishes it again, and the online store dedupes it by id.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import Protocol

from edge.store import db, faults, outbox

MARK_PENDING_MAX = 20_000
MARK_PENDING_AGE = 2.0
# Marked at most this often: each mark is a commit (an fsync) that holds the write lock the
# tills need, and the PUBACK's time is kept whenever the mark is written.
MARK_INTERVAL = 0.2


def try_write(conn: sqlite3.Connection, work: Callable[[sqlite3.Connection], None]) -> bool:
    """Run ``work`` in a write transaction if the write lock is free now; False if not (the
    caller tries again at its next turn)."""
    with db.writer_if_free(conn) as free:
        return free and _write_if_unlocked(conn, work)


def _write_if_unlocked(
    conn: sqlite3.Connection, work: Callable[[sqlite3.Connection], None]
) -> bool:
    """``work`` in a transaction, unless SQLite's own lock is taken (a writer of a process
    that could not use the lock file, or one that waited past the busy timeout): False."""
    conn.execute("PRAGMA busy_timeout = 0")
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            return False
        raise
    finally:
        conn.execute(f"PRAGMA busy_timeout = {db.BUSY_TIMEOUT_MS}")
    try:
        work(conn)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return True


class Counts(Protocol):
    """What the marks count (the worker's ``Counters``)."""

    published: int
    republished: int


class Marks:
    """The acknowledged rows of one up-stream, as (sequences, when acked) batches. They are a
    prefix of its unsent rows (acknowledgements are taken in sequence order), so the next
    rows to publish come after ``through``."""

    def __init__(self, conn: sqlite3.Connection, source: str, counters: Counts) -> None:
        self.conn = conn
        self.source = source
        self.counters = counters
        self.pending: list[tuple[list[int], str]] = []
        self._since = 0.0  # when the oldest pending batch came
        self._through = 0

    @property
    def through(self) -> int:
        """The highest sequence acknowledged and not yet marked (0: none)."""
        return self._through if self.pending else 0

    def add(self, sequences: list[int], acked_at: str) -> None:
        if not self.pending:
            self._since = time.monotonic()
        self.pending.append((sequences, acked_at))
        self._through = max(self._through, sequences[-1])

    def due(self) -> bool:
        return bool(self.pending) and time.monotonic() - self._since >= MARK_INTERVAL

    def overdue(self) -> bool:
        count = sum(len(seqs) for seqs, _at in self.pending)
        return count >= MARK_PENDING_MAX or time.monotonic() - self._since >= MARK_PENDING_AGE

    def write(self, *, wait: bool) -> bool:
        """Record ``sent_at`` (the PUBACK's time) for the pending rows. Not waiting: only if
        the write lock is free now; False if it was not (they stay pending)."""
        if not self.pending:
            return True
        faults.point("after_puback_before_mark")
        batches = self.pending

        def mark(conn: sqlite3.Connection) -> None:
            for acked, acked_at in batches:
                already = conn.execute(
                    "SELECT COUNT(*) FROM outbox WHERE source = ? AND sequence BETWEEN ? AND ? "
                    "AND sent_at IS NOT NULL",
                    (self.source, acked[0], acked[-1]),
                ).fetchone()[0]
                outbox.mark_sent(conn, self.source, acked, acked_at)
                self.counters.published += len(acked) - already
                self.counters.republished += already

        if wait:
            with db.write(self.conn) as conn:
                mark(conn)
        elif not try_write(self.conn, mark):
            return False
        self.pending = []
        return True
