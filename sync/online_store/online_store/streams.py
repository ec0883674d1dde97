"""The online-store side's outgoing streams: ``/web/chain`` and one ``/web/stores/{id}`` each.

An event is a row before it is a message: ``append`` gives it the next sequence of its
source (under the write lock, so sequences start at 1 and have no holes even with several
instances on one database), in the same transaction as the change it announces. The
publisher sends the rows later, in order; the backfill endpoint serves the same rows.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from uuid_utils import uuid7

from online_store.db import now_iso
from sync import contract

CHAIN = contract.CHAIN_SOURCE


def source_of_stream(stream: str) -> str:
    """``chain`` → ``/web/chain``, ``stores/S001`` → ``/web/stores/S001``, and (contract 1.1)
    ``stores/S001/up`` → ``/stores/S001``, the store's own up-stream (ContractError else)."""
    if stream == "chain":
        return CHAIN
    if stream.startswith("stores/") and stream.endswith("/up"):
        return contract.up_source(stream.removeprefix("stores/").removesuffix("/up"))
    if stream.startswith("stores/"):
        return contract.store_down_source(stream.removeprefix("stores/"))
    raise contract.ContractError(f"stream {stream!r} is neither 'chain' nor 'stores/{{id}}'")


def envelope(row: sqlite3.Row) -> dict[str, Any]:
    """The CloudEvents 1.0 structured-mode object of a stored event."""
    return {
        "specversion": "1.0",
        "id": row["id"],
        "source": row["source"],
        "type": row["type"],
        "time": row["time"],
        "sequence": str(row["sequence"]),
        "datacontenttype": "application/json",
        "data": json.loads(row["data"]),
    }


def append(
    conn: sqlite3.Connection, source: str, type_: str, data: dict[str, Any], *, sent: bool = False
) -> dict[str, Any]:
    """Add one event to ``source``; the caller holds ``db.write(conn)``.

    ``sent=True`` stores the event as if it had been published: tests use it to play a broker
    that lost a message, which only the backfill endpoint can then recover.
    """
    if not conn.in_transaction:
        raise RuntimeError("streams.append must run inside db.write(conn)")
    seq = conn.execute(
        "INSERT INTO streams (source, last_sequence) VALUES (?, 1) "
        "ON CONFLICT (source) DO UPDATE SET last_sequence = streams.last_sequence + 1 "
        "RETURNING last_sequence",
        (source,),
    ).fetchone()[0]
    event_id, at = str(uuid7()), now_iso()  # time-ordered, as CONTRACT.md's example
    conn.execute(
        "INSERT INTO events (source, sequence, id, type, time, data, published_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            source,
            seq,
            event_id,
            type_,
            at,
            json.dumps(data, separators=(",", ":"), ensure_ascii=False),
            at if sent else None,
        ),
    )
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": source,
        "type": type_,
        "time": at,
        "sequence": str(seq),
        "datacontenttype": "application/json",
        "data": data,
    }


def after(conn: sqlite3.Connection, source: str, sequence: int, limit: int) -> list[dict[str, Any]]:
    """The backfill page: events of ``source`` with a greater sequence, in order."""
    if source.startswith("/stores/"):
        return up_after(conn, source, sequence, limit)
    rows = conn.execute(
        "SELECT * FROM events WHERE source = ? AND sequence > ? ORDER BY sequence LIMIT ?",
        (source, sequence, limit),
    ).fetchall()
    return [envelope(r) for r in rows]


def last_sequence(conn: sqlite3.Connection, source: str) -> int:
    row = conn.execute("SELECT last_sequence FROM streams WHERE source = ?", (source,)).fetchone()
    return int(row[0]) if row else 0


def unpublished(conn: sqlite3.Connection, limit: int) -> list[sqlite3.Row]:
    """Rows still to send, in the order they were written (per source: sequence order)."""
    return conn.execute(
        "SELECT rowid, * FROM events WHERE published_at IS NULL ORDER BY rowid LIMIT ?", (limit,)
    ).fetchall()


def mark_published(conn: sqlite3.Connection, rowids: list[int]) -> None:
    stamp = now_iso()
    conn.executemany(
        "UPDATE events SET published_at = COALESCE(published_at, ?) WHERE rowid = ?",
        [(stamp, r) for r in rowids],
    )


# -- contract 1.1: the stores' own up-streams, kept for their recovery ---------------------------


def keep_up(conn: sqlite3.Connection, store_id: str, event: dict[str, Any], sequence: int) -> None:
    """Keep an up-event as received (once per number), to serve it back on ``stores/{id}/up``."""
    conn.execute(
        "INSERT INTO up_events (store_id, sequence, id, type, time, data, received_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (store_id, sequence) DO NOTHING",
        (
            store_id,
            sequence,
            str(event.get("id")),
            str(event.get("type")),
            str(event.get("time") or now_iso()),
            json.dumps(event.get("data"), separators=(",", ":"), ensure_ascii=False),
            now_iso(),
        ),
    )


def up_after(
    conn: sqlite3.Connection, source: str, sequence: int, limit: int
) -> list[dict[str, Any]]:
    """A page of a store's own up-stream as we received it, in order."""
    store_id = source.rsplit("/", 1)[1]
    rows = conn.execute(
        "SELECT * FROM up_events WHERE store_id = ? AND sequence > ? ORDER BY sequence LIMIT ?",
        (store_id, sequence, limit),
    ).fetchall()
    return [
        {
            "specversion": "1.0",
            "id": r["id"],
            "source": source,
            "type": r["type"],
            "time": r["time"],
            "sequence": str(r["sequence"]),
            "datacontenttype": "application/json",
            "data": json.loads(r["data"]),
        }
        for r in rows
    ]


def conflicting_id(
    conn: sqlite3.Connection, source: str, sequence: int, event_id: str
) -> str | None:
    """The id we already hold at ``sequence`` of ``source`` when it is not ``event_id``: a
    number used twice with different ids (a restored edge), never a plain duplicate."""
    row = conn.execute(
        "SELECT id FROM received WHERE source = ? AND sequence = ? AND id <> ?",
        (source, sequence, event_id),
    ).fetchone()
    return str(row[0]) if row else None
