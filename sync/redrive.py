"""Dead letters you can act on: list, show, apply again (re-drive), drop.

A down-event that could not be applied (invalid, of a type this version does not know, or
whose handler failed) goes to ``dead_letters`` and uses up its sequence, so that the stream
never stalls (CONTRACT.md). It is kept, not lost: after an upgrade that knows its type or
fixes its handler, ``retry`` applies it as the inbox would have, once per ``(source, id)``.
The sync worker re-drives the dead letters of unknown types by itself at each start; the
rest waits for ``passerelle sync dead-letters retry``, after someone has looked at why.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from typing import Any

from edge import handlers
from edge.pickups.redaction import redact, unseal
from edge.store import inbox
from edge.store.db import now_iso
from sync import contract

log = logging.getLogger("passerelle.sync.redrive")

UNKNOWN_TYPE = "unknown event type"
# (dead_id, received_at, source, event_id, sequence, reason, attempts) of each dead letter
COLUMNS = "dead_id, received_at, topic, source, event_id, sequence, reason, attempts, last_retry_at"


@dataclass(frozen=True)
class Result:
    dead_id: int
    outcome: str  # "applied", "already" (the event was applied meanwhile), "failed"
    reason: str = ""


def listing(conn: sqlite3.Connection, limit: int = 100) -> list[dict[str, Any]]:
    rows = conn.execute(
        f"SELECT {COLUMNS} FROM dead_letters ORDER BY dead_id LIMIT ?", (limit,)
    ).fetchall()
    return [dict(r) for r in rows]


def get(conn: sqlite3.Connection, dead_id: int) -> dict[str, Any] | None:
    """One dead letter, its payload as stored (a pickup code shows as ``******``)."""
    row = conn.execute(
        f"SELECT {COLUMNS}, payload FROM dead_letters WHERE dead_id = ?", (dead_id,)
    ).fetchone()
    if row is None:
        return None
    out = dict(row)
    out["payload"] = redact(out["payload"] or "")
    return out


def drop(conn: sqlite3.Connection, dead_ids: list[int]) -> int:
    """Forget dead letters (the caller holds ``db.write``)."""
    return sum(
        conn.execute("DELETE FROM dead_letters WHERE dead_id = ?", (i,)).rowcount for i in dead_ids
    )


def retry(conn: sqlite3.Connection, dead_id: int, *, store_id: str, prefix: str) -> Result:
    """Apply one dead letter again (the caller holds ``db.write``); on success it is gone.

    Only an event of one of this store's down-streams, whole and valid now, is applied; its
    ``(source, id)`` record turns from ``dead`` to ``applied``. An event already applied
    meanwhile (a later redelivery) is not applied twice: the letter is simply cleared.
    """
    row = conn.execute("SELECT * FROM dead_letters WHERE dead_id = ?", (dead_id,)).fetchone()
    if row is None:
        return Result(dead_id, "failed", "no such dead letter")
    try:
        event = contract.parse(unseal(conn, row["payload"] or ""))  # its pickup code, if any
        contract.validate(event, tolerant=True)
        if row["topic"]:
            contract.check_topic(prefix, row["topic"], event)
        sources = (contract.CHAIN_SOURCE, contract.store_down_source(store_id))
        if event["source"] not in sources:
            raise contract.ContractError(f"source {event['source']!r} is not one of ours")
    except contract.ContractError as exc:
        return _failed(conn, dead_id, str(exc))
    event = contract.known(event)
    source, event_id, type_ = event["source"], event["id"], event["type"]
    seen = conn.execute(
        "SELECT outcome FROM inbox WHERE source = ? AND id = ?", (source, event_id)
    ).fetchone()
    if seen is not None and seen["outcome"] != "dead":
        conn.execute("DELETE FROM dead_letters WHERE dead_id = ?", (dead_id,))
        return Result(dead_id, "already")
    handler = handlers.HANDLERS.get(type_)
    conn.execute("SAVEPOINT redrive")
    try:
        if handler is not None:
            handler(
                conn,
                event["data"],
                inbox.ApplyContext(
                    store_id=store_id,
                    source=contract.up_source(store_id),
                    event_id=event_id,
                    event_time=event.get("time"),
                ),
            )
    except sqlite3.OperationalError:
        conn.execute("ROLLBACK TO redrive")
        conn.execute("RELEASE redrive")
        raise
    except Exception as exc:
        conn.execute("ROLLBACK TO redrive")
        conn.execute("RELEASE redrive")
        return _failed(conn, dead_id, f"handler of {type_} failed: {type(exc).__name__}: {exc}")
    conn.execute("RELEASE redrive")
    conn.execute(
        "INSERT INTO inbox (source, id, sequence, type, outcome, applied_at) "
        "VALUES (?,?,?,?,?,?) ON CONFLICT (source, id) DO UPDATE SET outcome = excluded.outcome, "
        "type = excluded.type, applied_at = excluded.applied_at",
        (
            source,
            event_id,
            contract.sequence_of(event),
            type_,
            "applied" if handler else "ignored",
            now_iso(),
        ),
    )
    conn.execute("DELETE FROM dead_letters WHERE dead_id = ?", (dead_id,))
    log.info("dead letter %d (%s %s) applied again", dead_id, type_, event_id)
    return Result(dead_id, "applied")


def _failed(conn: sqlite3.Connection, dead_id: int, reason: str) -> Result:
    conn.execute(
        "UPDATE dead_letters SET attempts = attempts + 1, last_retry_at = ?, reason = ? "
        "WHERE dead_id = ?",
        (now_iso(), reason[:1000], dead_id),
    )
    return Result(dead_id, "failed", reason)


def known_again(conn: sqlite3.Connection) -> list[int]:
    """Dead letters refused for an unknown type that this version now knows (an upgrade)."""
    rows = conn.execute(
        "SELECT dead_id, payload FROM dead_letters WHERE reason LIKE ? ORDER BY dead_id",
        (f"%{UNKNOWN_TYPE}%",),
    ).fetchall()
    out = []
    for r in rows:
        try:
            contract.validate(contract.parse(unseal(conn, r["payload"] or "")), tolerant=True)
        except contract.ContractError:
            continue
        out.append(int(r["dead_id"]))
    return out
