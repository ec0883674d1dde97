"""Where each down-stream of the inbox stands: its last applied sequence, what is parked
behind a hole, what the online store announced, and what one call of the inbox did.

Apart from the rules of applying (``sync/consumer.py``) because it is a different job: the
positions are read once and written back once per transaction (``batch``), and the applier
asks them to decide what to fetch by backfill.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from edge.store.db import now_iso
from sync import contract


@dataclass
class Outcome:
    """What one call did, for the worker's counters."""

    applied: int = 0
    ignored: int = 0
    duplicates: int = 0
    parked: int = 0
    dead: int = 0

    def add(self, other: Outcome) -> None:
        self.applied += other.applied
        self.ignored += other.ignored
        self.duplicates += other.duplicates
        self.parked += other.parked
        self.dead += other.dead


class HandlerFailed(Exception):
    """A handler raised outside careful mode: run the batch again carefully."""


@dataclass
class StreamState:
    last: int
    pending: bool
    dirty: bool = False


class Streams:
    """The down-streams of one edge (the chain's, the store's own) and their positions."""

    def __init__(self, store_id: str, prefix: str) -> None:
        self.store_id = store_id
        self.prefix = prefix
        self.up_source = contract.up_source(store_id)
        self.sources = (contract.CHAIN_SOURCE, contract.store_down_source(store_id))
        # Inside batch(): each stream's last sequence and whether events are parked, read
        # once and written back once per transaction instead of once per event.
        self._cache: dict[str, StreamState] | None = None
        self.careful = True  # a savepoint per event; see batch()

    @contextmanager
    def batch(self, conn: sqlite3.Connection, *, careful: bool = False) -> Iterator[None]:
        """Receive many events in the caller's transaction with less work per event.

        Not careful: no savepoint per event, and a failing handler raises HandlerFailed
        (the caller rolls the transaction back and runs the batch again carefully, where the
        failing event is dead-lettered alone). Nothing is written back if the block raises.
        """
        self._cache = {}
        self.careful = careful
        try:
            yield
            for source, st in self._cache.items():
                if st.dirty:
                    conn.execute(
                        "UPDATE inbox_streams SET last_sequence = ?, last_applied_at = ? "
                        "WHERE source = ?",
                        (st.last, now_iso(), source),
                    )
        finally:
            self._cache = None
            self.careful = True

    def _state(self, conn: sqlite3.Connection, stream: str) -> StreamState:
        cache = self._cache
        st = cache.get(stream) if cache is not None else None
        if st is None:
            st = StreamState(
                last=self.last_sequence(conn, stream),
                pending=self._has_pending(conn, stream),
            )
            if cache is not None:
                cache[stream] = st
        return st

    def _advance(self, conn: sqlite3.Connection, stream: str, seq: int, stamp: str) -> None:
        if self._cache is not None:
            st = self._state(conn, stream)
            st.last, st.dirty = seq, True
            return
        conn.execute(
            "UPDATE inbox_streams SET last_sequence = ?, last_applied_at = ? WHERE source = ?",
            (seq, stamp, stream),
        )

    # -- streams --------------------------------------------------------------------------

    def ensure_streams(self, conn: sqlite3.Connection) -> None:
        conn.executemany(
            "INSERT OR IGNORE INTO inbox_streams (source) VALUES (?)", [(s,) for s in self.sources]
        )

    def last_sequence(self, conn: sqlite3.Connection, source: str) -> int:
        row = conn.execute(
            "SELECT last_sequence FROM inbox_streams WHERE source = ?", (source,)
        ).fetchone()
        return int(row[0]) if row else 0

    def streams(self, conn: sqlite3.Connection) -> dict[str, dict[str, Any]]:
        rows = conn.execute("SELECT * FROM inbox_streams").fetchall()
        out = {r["source"]: dict(r) for r in rows if r["source"] in self.sources}
        for r in out.values():
            r["pending"] = conn.execute(
                "SELECT COUNT(*) FROM inbox_pending WHERE source = ?", (r["source"],)
            ).fetchone()[0]
        return out

    def record_remote(self, conn: sqlite3.Connection, source: str, sequence: int) -> None:
        """The online store announced ``sequence`` as its last on ``source`` (tail gaps)."""
        conn.execute(
            "UPDATE inbox_streams SET remote_sequence = MAX(remote_sequence, ?) WHERE source = ?",
            (sequence, source),
        )

    def count_fetched(self, conn: sqlite3.Connection, source: str, n: int) -> None:
        if n:
            conn.execute(
                "UPDATE inbox_streams SET gaps_fetched = gaps_fetched + ? WHERE source = ?",
                (n, source),
            )

    def _has_pending(self, conn: sqlite3.Connection, stream: str) -> bool:
        return (
            conn.execute(
                "SELECT 1 FROM inbox_pending WHERE source = ? LIMIT 1", (stream,)
            ).fetchone()
            is not None
        )

    def pending_min(self, conn: sqlite3.Connection, stream: str) -> int | None:
        row = conn.execute(
            "SELECT MIN(sequence) FROM inbox_pending WHERE source = ?", (stream,)
        ).fetchone()
        return int(row[0]) if row and row[0] is not None else None
