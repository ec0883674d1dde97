"""The edge's store database seeded as the demo, and down-events applied as the sync worker
applies them: shared by the test folders that need a shop without the whole sync."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edge import handlers
from edge.store import db, inbox
from edge.system import demo
from edge.web.app import create_app

Apply = Callable[[str, dict[str, Any]], bool]


def seed_demo(path: Path, secret_key: str) -> dict[str, Any]:
    """The demo shop in a new database at ``path``, checkpointed so that a plain file copy
    carries all of it (PIN hashes are slow on purpose: seed once, copy per test)."""
    app = create_app({"DB_PATH": str(path), "STORE_ID": "S001", "SECRET_KEY": secret_key})
    conn = db.connect(path)
    try:
        data = demo.seed(conn, app.config["SETTINGS"])
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return data


def applier(conn: sqlite3.Connection) -> Apply:
    """Apply one down-event as the sync worker does: its handler, in one write transaction."""

    def run(type_: str, data: dict[str, Any]) -> bool:
        ctx = inbox.ApplyContext(store_id="S001", source="/stores/S001", event_id=str(uuid.uuid4()))
        with db.write(conn):
            return handlers.HANDLERS[type_](conn, data, ctx)

    return run
