"""Exactly one effect per idempotency key.

A POS that times out and retries, or a cashier who taps twice, sends the same key again.
The first request's answer is stored in the same transaction as its effect, so a retry gets
that answer back (and never a second sale); the same key with another body is refused.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable
from typing import Any

from edge.errors import Conflict, InvalidInput
from edge.store import faults
from edge.store.db import now_iso, write


def request_hash(body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_key(key: str | None) -> str:
    if not key:
        raise InvalidInput(
            "the Idempotency-Key header is required: one new key per sale, the same on retry",
            field="Idempotency-Key",
            code="idempotency_key_missing",
        )
    if len(key) > 128 or not key.isprintable():
        raise InvalidInput(
            "Idempotency-Key must be 1 to 128 printable characters", field="Idempotency-Key"
        )
    return key


def once(
    conn: sqlite3.Connection,
    *,
    scope: str,
    key: str,
    body_hash: str,
    produce: Callable[[], dict[str, Any]],
    fault_prefix: str = "sale",
) -> tuple[dict[str, Any], bool]:
    """Run ``produce`` once per (scope, key) in one write transaction.

    Returns (body, replayed). The table's ``status`` column is no longer read (an HTTP
    status is the web layer's business); old databases keep it, new rows write 0.
    ``produce`` runs inside the transaction and may raise a DomainError, which rolls
    everything back and stores nothing for the key.
    """
    with write(conn):
        row = conn.execute(
            "SELECT request_hash, response FROM idempotency_keys WHERE scope=? AND key=?",
            (scope, key),
        ).fetchone()
        if row is not None:
            if row["request_hash"] != body_hash:
                raise Conflict(
                    "this Idempotency-Key was used for another request; use a new key",
                    field="Idempotency-Key",
                    code="idempotency_key_reused",
                )
            return json.loads(row["response"]), True
        body = produce()
        conn.execute(
            "INSERT INTO idempotency_keys (scope, key, request_hash, status, response, created_at) "
            "VALUES (?,?,?,?,?,?)",
            (scope, key, body_hash, 0, json.dumps(body, ensure_ascii=False), now_iso()),
        )
        faults.point(f"before_{fault_prefix}_commit")
    faults.point(f"after_{fault_prefix}_commit")
    return body, False


def purge(conn: sqlite3.Connection, older_than_iso: str) -> int:
    with write(conn):
        return conn.execute(
            "DELETE FROM idempotency_keys WHERE created_at < ?", (older_than_iso,)
        ).rowcount


def known(conn: sqlite3.Connection, *, scope: str, key: str) -> bool:
    """Whether a request with this key was answered already (a retry will be replayed): a
    caller with a check of its own to run first skips it for a replay."""
    row = conn.execute(
        "SELECT 1 FROM idempotency_keys WHERE scope = ? AND key = ?", (scope, key)
    ).fetchone()
    return row is not None
