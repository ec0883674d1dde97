"""Bounded growth (issue 18): old inbox records, dead letters and finished print jobs go;
what is still needed stays; sizes and free disk are reported, a low disk warns."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from edge.config import Settings
from edge.store import db
from edge.system import retention

OLD, NEW = "2020-01-01T00:00:00.000Z", db.now_iso()


def _count(conn: sqlite3.Connection, sql: str) -> int:
    return int(conn.execute(sql).fetchone()[0])


def test_purges_keep_what_is_still_needed(conn: sqlite3.Connection, settings: Settings) -> None:
    with db.write(conn):
        conn.execute(
            "INSERT OR IGNORE INTO inbox_streams (source, last_sequence) VALUES ('/web/chain', 10)"
        )
        conn.execute("UPDATE inbox_streams SET last_sequence = 10 WHERE source = '/web/chain'")
        rows = [("old-1", 1, OLD), ("old-2", 2, OLD), ("new-3", 3, NEW), ("ahead", 12, OLD)]
        conn.executemany(
            "INSERT INTO inbox (source, id, sequence, type, outcome, applied_at) "
            "VALUES ('/web/chain', ?, ?, 'x', 'applied', ?)",
            rows,
        )
        conn.executemany(
            "INSERT INTO inbox_pending VALUES ('/web/chain', ?, ?, '{}', ?)",
            [(9, "stale", OLD), (12, "ahead", OLD)],
        )
        conn.executemany(
            "INSERT INTO dead_letters (received_at, reason) VALUES (?, 'r')", [(OLD,), (NEW,)]
        )
        conn.execute(
            "INSERT INTO print_jobs (job_id, document, data, status, created_at) "
            "VALUES (1, 'sale_receipt', '{}', 'done', ?)",
            (OLD,),
        )
        conn.execute(
            "INSERT INTO print_jobs (job_id, document, data, status, created_at, "
            "reprint_of) VALUES (2, 'sale_receipt', '{}', 'done', ?, 1)",
            (NEW,),
        )
        conn.execute(
            "INSERT INTO print_jobs (job_id, document, data, status, created_at) "
            "VALUES (3, 'sale_receipt', '{}', 'queued', ?)",
            (OLD,),
        )
        conn.execute(
            "INSERT INTO print_jobs (job_id, document, data, status, created_at) "
            "VALUES (4, 'sale_receipt', '{}', 'done', ?)",
            (OLD,),
        )
    done = retention.purge_all(conn, settings)
    assert done == {"inbox": 2, "inbox_pending": 1, "dead_letters": 1, "print_jobs": 1}
    ids = {r[0] for r in conn.execute("SELECT id FROM inbox")}
    assert ids == {"new-3", "ahead"}  # recent, or above the applied sequence
    assert [r[0] for r in conn.execute("SELECT sequence FROM inbox_pending")] == [12]
    # job 1 stays while its reprint (2) is kept; the queued one is never purged
    assert [r[0] for r in conn.execute("SELECT job_id FROM print_jobs ORDER BY 1")] == [1, 2, 3]


def test_sizes_and_a_low_disk_on_readyz_and_metrics(
    app: Any, client: FlaskClient, conn: sqlite3.Connection
) -> None:
    ok = client.get("/readyz").json
    assert "disk_space_low" not in ok["degraded"]
    assert ok["storage"]["rows"]["inbox"] == 0 and ok["storage"]["disk_free_bytes"] > 0
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'passerelle_table_rows{table="dead_letters"}' in metrics
    assert "passerelle_disk_free_bytes" in metrics
    app.config["SETTINGS"] = app.config["SETTINGS"].model_copy(
        update={"disk_free_warn_mb": 1 << 40}  # more than any disk: "low"
    )
    assert "disk_space_low" in client.get("/readyz").json["degraded"]


def test_backups_past_the_retention_are_removed(tmp_path: Path) -> None:
    old, recent, other = (tmp_path / n for n in ("passerelle-Mon.db", "passerelle-Tue.db", "x.db"))
    for f in (old, recent, other):
        f.write_bytes(b"x")
    ten_days_ago = time.time() - 10 * 86400
    os.utime(old, (ten_days_ago, ten_days_ago))
    os.utime(other, (ten_days_ago, ten_days_ago))
    assert retention.prune_backups(tmp_path, 7) == [old]
    assert recent.exists() and other.exists()
