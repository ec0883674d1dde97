"""What the box knows about its own state, read from the database: the one source for
/readyz, /api/v1/sync/status, ``passerelle sync status`` and the Prometheus metrics."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Any

from edge.config import Settings
from edge.loyalty import views as loyalty
from edge.store import outbox, state


def _age_seconds(iso: str | None) -> float | None:
    t = state.parse_time(iso)
    return None if t is None else max(0.0, (datetime.now(UTC) - t).total_seconds())


def sync_status(conn: sqlite3.Connection, settings: Settings) -> dict[str, Any]:
    backlog, oldest = outbox.backlog(conn)
    streams = [dict(r) for r in conn.execute("SELECT * FROM inbox_streams ORDER BY source")]
    waiting = dict(
        conn.execute("SELECT source, COUNT(*) FROM inbox_pending GROUP BY source").fetchall()
    )
    for s in streams:
        # announced but not applied, or parked behind a hole: either way the store lacks news
        s["behind"] = max(0, s["remote_sequence"] - s["last_sequence"], waiting.get(s["source"], 0))
    pending = sum(waiting.values())
    dead = conn.execute("SELECT COUNT(*) FROM dead_letters").fetchone()[0]
    return {
        "store_id": settings.store_id,
        "link": state.link(conn),
        "outbox": {
            "source": settings.up_source,
            "backlog": backlog,
            "oldest_unsent_age_seconds": _age_seconds(oldest),
            "last_sequence": outbox.last_sequence(conn, settings.up_source),
        },
        "inbox": {
            "streams": streams,
            "pending_out_of_order": pending,
            "dead_letters": dead,
            "gaps_fetched": sum(s["gaps_fetched"] for s in streams),
        },
        "loyalty": {"negative_balances": loyalty.negative_balances(conn)},
        # issue 18: an up-event held or refused (sync/worker.py), a restore not yet recovered
        "publish_alerts": state.get(conn, "publish_alerts"),
        "recovery_pending": state.get(conn, "recovery_pending") is not None,
    }
