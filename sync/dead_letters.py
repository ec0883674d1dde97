"""Dead letters: a refused down-event kept with its reason, to be listed, inspected and
re-driven (``passerelle sync dead-letters``, ``sync/redrive.py``).

Never a pickup code in clear (issue 19): the payload is sealed with the box key, as a parked
event's, so that a retry can still apply it.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from typing import Any

from edge.pickups.redaction import seal
from edge.store.db import now_iso
from sync.streams import Outcome

log = logging.getLogger("passerelle.sync.inbox")

MAX_DEAD_PAYLOAD = 64 * 1024


def record(
    conn: sqlite3.Connection,
    topic: str | None,
    source: str | None,
    event_id: str | None,
    seq: int | None,
    reason: str,
    raw_text: str,
    seen: bool = False,
) -> Outcome:
    """Record a refused message. ``seen``: it used up ``seq`` of ``source`` (our stream)."""
    log.warning("dead letter (%s %s #%s): %s", source, event_id, seq, reason)
    conn.execute(
        "INSERT INTO dead_letters (received_at, topic, source, event_id, sequence, reason, "
        "payload) VALUES (?,?,?,?,?,?,?)",
        # never a pickup code in clear (issue 19): sealed with the box key, as a parked
        # event's, so that `passerelle sync dead-letters retry` can still apply it
        (
            now_iso(),
            topic,
            source,
            event_id,
            seq,
            reason[:1000],
            seal(conn, raw_text)[:MAX_DEAD_PAYLOAD],
        ),
    )
    if seen and source and event_id:
        conn.execute(
            "INSERT OR IGNORE INTO inbox (source, id, sequence, type, outcome, applied_at) "
            "VALUES (?,?,?,NULL,'dead',?)",
            (source, event_id[:128], seq, now_iso()),
        )
    return Outcome(dead=1)


def text(payload: bytes | bytearray | dict[str, Any]) -> str:
    if isinstance(payload, dict):
        return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    return bytes(payload).decode("utf-8", errors="replace")


def short(value: Any) -> str | None:
    return value[:200] if isinstance(value, str) else None
