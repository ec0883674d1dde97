"""Periodic housekeeping, run by ``passerelle run``: each job is a plain function of
(connection, settings), run every ``interval`` seconds by one thread."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from edge.config import Settings
from edge.pickups import service as pickups
from edge.stock import service as stock
from edge.store import db, idempotency, outbox
from edge.system import retention

log = logging.getLogger("passerelle.jobs")

Job = Callable[[sqlite3.Connection, Settings], object]


def purge_outbox(conn: sqlite3.Connection, settings: Settings) -> int:
    """Keep acknowledged up-events for the retention (≥ 30 days) for replay requests."""
    cutoff = datetime.now(UTC) - timedelta(days=settings.outbox_retention_days)
    with db.write(conn):
        return outbox.purge_sent(conn, cutoff.isoformat().replace("+00:00", "Z"))


def purge_idempotency(conn: sqlite3.Connection, settings: Settings) -> int:
    """A POS retries within minutes; a week of keys is plenty."""
    cutoff = datetime.now(UTC) - timedelta(days=7)
    return idempotency.purge(conn, cutoff.isoformat().replace("+00:00", "Z"))


# (name, interval in seconds, job). Other areas append theirs (pickup expiry, …).
PERIODIC: list[tuple[str, float, Job]] = [
    ("purge_outbox", 3600.0, purge_outbox),
    ("purge_idempotency", 3600.0, purge_idempotency),
    ("pickup_expiry", 60.0, pickups.expiry_job),
    ("stock_flush", 1.0, stock.flush_job),
    ("retention", 3600.0, retention.purge_all),  # inbox, dead letters, print jobs (issue 18)
]


def run(settings: Settings, stop: threading.Event, tick: float = 1.0) -> None:
    conn = db.connect(settings.db_path)
    last: dict[str, float] = {}
    try:
        while not stop.wait(tick):
            now = datetime.now(UTC).timestamp()
            for name, interval, job in PERIODIC:
                if now - last.get(name, 0.0) < interval:
                    continue
                last[name] = now
                try:
                    job(conn, settings)
                except Exception:
                    log.exception("job %s failed; it will run again", name)
    finally:
        conn.close()
