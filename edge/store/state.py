"""Small shared state between the processes of one box (link status, last sync time).

The API and the sync worker never call each other; they meet in the database. The sync
worker writes here, /readyz and the metrics read here.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from typing import Any

from edge.store.db import now_iso


def put(conn: sqlite3.Connection, key: str, value: Any) -> None:
    conn.execute(
        "INSERT INTO sync_state (key, value, updated_at) VALUES (?, ?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        (key, json.dumps(value), now_iso()),
    )


def get(conn: sqlite3.Connection, key: str, default: Any = None) -> Any:
    row = conn.execute("SELECT value FROM sync_state WHERE key = ?", (key,)).fetchone()
    return json.loads(row[0]) if row else default


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def format_time(t: datetime | None) -> str | None:
    """A time as every other time the box reports (``now_iso``'s RFC 3339 UTC, ``…Z``)."""
    if t is None:
        return None
    return t.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def link(conn: sqlite3.Connection) -> dict[str, Any]:
    """The link to the online store as the sync worker last reported it.

    ``offline_seconds`` is how long the link has been down (None while it is up). A store
    whose sync worker never ran counts as down since the database was created: the
    conservative answer for the offline redemption rules.
    """
    info = get(conn, "link") or {}
    connected = bool(info.get("connected"))
    heartbeat = parse_time(info.get("heartbeat_at"))
    now = datetime.now(UTC)
    # A worker that stopped reporting (killed, hung) is as good as down.
    if connected and heartbeat and (now - heartbeat).total_seconds() > 90:
        connected = False
    down_since = parse_time(info.get("down_since"))
    if not connected and down_since is None:
        row = conn.execute("SELECT MIN(applied_at) FROM _migrations").fetchone()
        down_since = parse_time(row[0]) if row and row[0] else now
    return {
        "connected": connected,
        "down_since": None if connected else format_time(down_since),
        "offline_seconds": None
        if connected
        else ((now - down_since).total_seconds() if down_since else None),
        "last_sync_at": info.get("last_sync_at"),
        "heartbeat_at": info.get("heartbeat_at"),
    }
