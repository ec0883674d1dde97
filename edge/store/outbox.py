"""The outbox: up-events written in the same transaction as the change they announce.

The row, not paho's in-memory queue, is the truth (RELIABILITY.md #1): the sync worker
publishes rows in sequence order and marks one sent only after the broker's PUBACK. Callers
must be inside ``db.write(conn)``; the per-source sequence is taken under that write lock,
so it grows by exactly one with no holes even with several writer processes.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

import orjson

from edge.store.db import now_iso
from edge.store.ids import new_id


@dataclass(frozen=True)
class OutboxEvent:
    source: str
    sequence: int
    id: str
    type: str
    time: str
    data: dict[str, Any]

    def envelope(self) -> dict[str, Any]:
        """The CloudEvents 1.0 structured-mode object of the contract."""
        return {
            "specversion": "1.0",
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "time": self.time,
            "sequence": str(self.sequence),
            "datacontenttype": "application/json",
            "data": self.data,
        }


def append(
    conn: sqlite3.Connection, source: str, type_: str, data: dict[str, Any], time: str | None = None
) -> OutboxEvent:
    """Add one up-event; the caller's transaction makes it atomic with the change."""
    return append_many(conn, source, type_, [data], time)[0]


def append_many(
    conn: sqlite3.Connection,
    source: str,
    type_: str,
    datas: list[dict[str, Any]],
    time: str | None = None,
) -> list[OutboxEvent]:
    """Add up-events of one type, numbered in the order given, with one statement for their
    numbers and one for their rows (an order's stock moves: bench/, catch-up)."""
    if not conn.in_transaction:
        raise RuntimeError("outbox.append must run inside db.write(conn)")
    if not datas:
        return []
    n = len(datas)
    row = conn.execute(
        "INSERT INTO outbox_streams (source, last_sequence) VALUES (?, ?) "
        "ON CONFLICT (source) DO UPDATE SET last_sequence = last_sequence + excluded.last_sequence "
        "RETURNING last_sequence",
        (source, n),
    ).fetchone()
    first = int(row[0]) - n + 1
    stamp = now_iso()
    at = time or stamp
    events = [
        OutboxEvent(source, first + i, new_id(), type_, at, data) for i, data in enumerate(datas)
    ]
    conn.executemany(
        "INSERT INTO outbox (source, sequence, id, type, time, data, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            # orjson: the same compact UTF-8 text as json.dumps(separators=(",", ":"),
            # ensure_ascii=False), 5× faster; a catch-up's orders write 38,000 of these
            (ev.source, ev.sequence, ev.id, ev.type, ev.time, orjson.dumps(ev.data).decode(), stamp)
            for ev in events
        ],
    )
    return events


def unsent_among(conn: sqlite3.Connection, source: str, sequences: list[int]) -> set[int]:
    """Which of ``sequences`` still wait for their PUBACK (``is_unsent`` for many at once)."""
    if not sequences:
        return set()
    marks = ",".join("?" * len(sequences))
    rows = conn.execute(
        f"SELECT sequence FROM outbox WHERE source = ? AND sequence IN ({marks}) "
        "AND sent_at IS NULL",
        (source, *sequences),
    )
    return {int(r[0]) for r in rows}


def _from_row(row: sqlite3.Row) -> OutboxEvent:
    # orjson: the drain reads every row back, and it parses 3× faster than json
    return OutboxEvent(
        row["source"],
        row["sequence"],
        row["id"],
        row["type"],
        row["time"],
        orjson.loads(row["data"]),
    )


def unsent(
    conn: sqlite3.Connection, source: str, limit: int = 500, after: int = 0
) -> list[OutboxEvent]:
    """Rows not yet marked sent, in order; ``after``: past the rows the sync worker knows
    acknowledged but has not marked yet (sync/publisher.py)."""
    rows = conn.execute(
        "SELECT * FROM outbox WHERE source = ? AND sent_at IS NULL AND sequence > ? "
        "ORDER BY sequence LIMIT ?",
        (source, after, limit),
    ).fetchall()
    return [_from_row(r) for r in rows]


def after(
    conn: sqlite3.Connection, source: str, sequence: int, limit: int = 1000
) -> list[OutboxEvent]:
    """Events kept for ``replay.requested``, in order, whatever their sent state."""
    rows = conn.execute(
        "SELECT * FROM outbox WHERE source = ? AND sequence > ? ORDER BY sequence LIMIT ?",
        (source, sequence, limit),
    ).fetchall()
    return [_from_row(r) for r in rows]


def mark_sent(
    conn: sqlite3.Connection, source: str, sequences: list[int], acked_at: str | None = None
) -> None:
    """Rows acknowledged by the broker; ``acked_at``: when the PUBACKs arrived (the write
    that records them may wait for a till's transaction)."""
    if not sequences:
        return
    stamp = acked_at or now_iso()
    # One statement per run of consecutive numbers, not one per row: the acknowledged rows
    # are a prefix of the unsent ones, in order, so a drain's batch is usually one run.
    conn.executemany(
        "UPDATE outbox SET sent_at = COALESCE(sent_at, ?), attempts = attempts + 1 "
        "WHERE source = ? AND sequence BETWEEN ? AND ?",
        [(stamp, source, first, last) for first, last in _runs(sorted(set(sequences)))],
    )


def _runs(sequences: list[int]) -> list[tuple[int, int]]:
    """``[1, 2, 3, 7, 8]`` as ``[(1, 3), (7, 8)]``."""
    runs: list[tuple[int, int]] = []
    first = last = sequences[0]
    for s in sequences[1:]:
        if s != last + 1:
            runs.append((first, last))
            first = s
        last = s
    runs.append((first, last))
    return runs


def last_sequence(conn: sqlite3.Connection, source: str) -> int:
    row = conn.execute(
        "SELECT last_sequence FROM outbox_streams WHERE source = ?", (source,)
    ).fetchone()
    return int(row[0]) if row else 0


def backlog(conn: sqlite3.Connection) -> tuple[int, str | None]:
    """How many events wait, and the creation time of the oldest (for /readyz and metrics)."""
    row = conn.execute(
        "SELECT COUNT(*), MIN(created_at) FROM outbox WHERE sent_at IS NULL"
    ).fetchone()
    return int(row[0]), row[1]


def purge_sent(conn: sqlite3.Connection, older_than_iso: str) -> int:
    """Drop acknowledged events past the retention (≥ 30 days, for replays)."""
    cur = conn.execute(
        "DELETE FROM outbox WHERE sent_at IS NOT NULL AND created_at < ?", (older_than_iso,)
    )
    return cur.rowcount


def is_unsent(conn: sqlite3.Connection, source: str, sequence: int) -> bool:
    """Whether an event still waits for its PUBACK (store stock coalesces on it: a SKU whose
    last ``stock.changed`` is unsent gets no second event until that one is out)."""
    return bool(unsent_among(conn, source, [sequence]))
