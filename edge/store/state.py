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
    """The link to the online store: the one judgement of "reachable" (CONTRACT.md 1.1).

    ``connected`` is the edge's own MQTT connection, as the sync worker last reported it.
    That alone cannot say whether the online store is there: a broker in the store, or a
    bridge, stays up when the internet is down (RELIABILITY.md #12). ``reachable`` is what
    the offline policy, the screens' banner and /readyz follow: connected, the online store's
    retained status on ``status/web/chain`` says online and is younger than
    ``status_max_age`` seconds (the worker writes that setting with its link state), the
    subscriptions were granted, and no down-stream has been behind for longer than its grace.
    ``reasons`` names what is wrong. ``offline_seconds`` (None while reachable) counts from
    the last moment the online store was known to be there.

    A store whose sync worker never ran counts as unreachable since the database was
    created: the conservative answer for the offline redemption rules.
    """
    info = get(conn, "link") or {}
    now = datetime.now(UTC)
    connected = bool(info.get("connected"))
    heartbeat = parse_time(info.get("heartbeat_at"))
    # A worker that stopped reporting (killed, hung) is as good as down.
    if connected and heartbeat and (now - heartbeat).total_seconds() > 90:
        connected = False
    down_since = parse_time(info.get("down_since"))
    if not connected and down_since is None:
        down_since = heartbeat if heartbeat and info.get("connected") else _created(conn, now)
    since: list[datetime] = []  # when each current problem began
    reasons: list[str] = []
    if not connected:
        reasons.append("broker_unreachable")
        since.append(down_since or now)
    max_age = info.get("status_max_age")
    if max_age is not None:  # written by a worker that judges the online store's heartbeat
        status = get(conn, ONLINE_STORE_KEY) or {}
        said = parse_time(status.get("time"))
        if said is None:
            reasons.append("no_heartbeat")
            since.append(parse_time(info.get("started_at")) or _created(conn, now))
        elif not status.get("online"):
            reasons.append("online_store_offline")
            since.append(said)
        elif (now - said).total_seconds() > float(max_age):
            reasons.append("heartbeat_stale")
            since.append(said)
    if info.get("subscribed") is False and connected:
        reasons.append("subscription_refused")
        since.append(parse_time(info.get("subscribe_refused_at")) or now)
    behind = get(conn, STREAMS_BEHIND_KEY) or {}
    grace = float(info.get("behind_grace", 60))
    for source, started in sorted(behind.items()):
        t = parse_time(started)
        if t is not None and (now - t).total_seconds() > grace:
            reasons.append(f"stream_behind:{source}")
            since.append(t)
    reachable = not reasons
    first = min(since) if since else None
    return {
        "connected": connected,
        "reachable": reachable,
        "reasons": reasons,
        "down_since": None if connected else format_time(down_since),
        "unreachable_since": None if reachable or first is None else format_time(first),
        "offline_seconds": None
        if reachable
        else max(0.0, (now - first).total_seconds())
        if first
        else None,
        "last_sync_at": info.get("last_sync_at"),
        "heartbeat_at": info.get("heartbeat_at"),
        # topic filter -> the broker's reason, for the metrics and `passerelle sync status`
        "subscriptions_refused": dict(info.get("subscriptions_refused") or {}) if connected else {},
    }


ONLINE_STORE_KEY = "online_store_status"  # the last status/web/chain payload, with its arrival
STREAMS_BEHIND_KEY = "streams_behind"  # {source: since} for down-streams with a hole or a tail


def _created(conn: sqlite3.Connection, now: datetime) -> datetime:
    row = conn.execute("SELECT MIN(applied_at) FROM _migrations").fetchone()
    created = parse_time(row[0]) if row and row[0] else None
    return created or now
