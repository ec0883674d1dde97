"""Bounded growth (issue 18): what the sync and the printers keep, for how long, and how big
the database and its disk are.

Without these the ``inbox`` (one row per down-event ever applied), ``dead_letters``, sent
outbox rows and finished print jobs grow until the disk is full and SQLite refuses the next
sale. Each purge reads what to delete first, outside any write transaction, then deletes it
in short ``db.write`` transactions of ``CHUNK`` rows: a till's sale never waits long behind
housekeeping. The limits are settings; the sizes are in the metrics and /readyz.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from prometheus_client.core import GaugeMetricFamily, Metric

from edge.config import Settings
from edge.store import db

CHUNK = 1000
# Tables whose size is reported (rows), the ones that grow with time.
SIZED = ("inbox", "inbox_pending", "dead_letters", "outbox", "print_jobs", "idempotency_keys")


def _cutoff(days: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat().replace("+00:00", "Z")


def _delete_in_chunks(conn: sqlite3.Connection, select: str, delete: str, *args: Any) -> int:
    keys = conn.execute(select, args).fetchall()
    done = 0
    for i in range(0, len(keys), CHUNK):
        with db.write(conn):
            conn.executemany(delete, [tuple(k) for k in keys[i : i + CHUNK]])
        done += min(CHUNK, len(keys) - i)
    return done


def purge_inbox(conn: sqlite3.Connection, settings: Settings) -> int:
    """``(source, id)`` records past the window: a redelivery that old carries an old
    sequence number, which the stream's ``last_sequence`` refuses on its own. Only records
    below that number go, so the dedupe of anything parked behind a hole is kept."""
    return _delete_in_chunks(
        conn,
        "SELECT i.source, i.id FROM inbox i JOIN inbox_streams s ON s.source = i.source "
        "WHERE i.applied_at < ? AND i.sequence IS NOT NULL AND i.sequence <= s.last_sequence",
        "DELETE FROM inbox WHERE source = ? AND id = ?",
        _cutoff(settings.inbox_retention_days),
    )


def purge_pending(conn: sqlite3.Connection, settings: Settings) -> int:
    """Parked events whose number was applied meanwhile (stale copies)."""
    return _delete_in_chunks(
        conn,
        "SELECT p.source, p.sequence FROM inbox_pending p JOIN inbox_streams s "
        "ON s.source = p.source WHERE p.sequence <= s.last_sequence",
        "DELETE FROM inbox_pending WHERE source = ? AND sequence = ?",
    )


def purge_dead_letters(conn: sqlite3.Connection, settings: Settings) -> int:
    return _delete_in_chunks(
        conn,
        "SELECT dead_id FROM dead_letters WHERE received_at < ?",
        "DELETE FROM dead_letters WHERE dead_id = ?",
        _cutoff(settings.dead_letter_retention_days),
    )


def purge_print_jobs(conn: sqlite3.Connection, settings: Settings) -> int:
    """Finished jobs (printed, or failed for good) past the retention; a job a kept reprint
    names stays until that reprint goes."""
    return _delete_in_chunks(
        conn,
        "SELECT job_id FROM print_jobs j WHERE status IN ('done', 'failed') AND created_at < ? "
        "AND NOT EXISTS (SELECT 1 FROM print_jobs r WHERE r.reprint_of = j.job_id) "
        "ORDER BY job_id",
        "DELETE FROM print_jobs WHERE job_id = ?",
        _cutoff(settings.print_job_retention_days),
    )


def purge_all(conn: sqlite3.Connection, settings: Settings) -> dict[str, int]:
    """Every purge of this module (the periodic job), with what each removed."""
    return {
        "inbox": purge_inbox(conn, settings),
        "inbox_pending": purge_pending(conn, settings),
        "dead_letters": purge_dead_letters(conn, settings),
        "print_jobs": purge_print_jobs(conn, settings),
    }


def storage(conn: sqlite3.Connection, settings: Settings) -> dict[str, Any]:
    """Rows per growing table, the database and WAL sizes, and the free space of their disk."""
    path = Path(settings.db_path)
    rows = {}
    for table in SIZED:
        try:
            rows[table] = int(conn.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0])
        except sqlite3.OperationalError:  # a table of a newer migration, not there yet
            continue
    free = shutil.disk_usage(path.parent if path.parent.exists() else Path(".")).free
    wal = Path(f"{path}-wal")
    return {
        "rows": rows,
        "db_bytes": path.stat().st_size if path.exists() else 0,
        "wal_bytes": wal.stat().st_size if wal.exists() else 0,
        "disk_free_bytes": free,
        "disk_low": free < settings.disk_free_warn_mb * 1024 * 1024,
    }


def collect(conn: object, settings: Settings) -> Iterator[Metric]:
    """Prometheus gauges (``edge.system.metrics.EXTRA_COLLECTORS``)."""
    assert isinstance(conn, sqlite3.Connection)
    st = storage(conn, settings)
    rows = GaugeMetricFamily(
        "passerelle_table_rows", "Rows of the tables that grow", labels=["table"]
    )
    for table, n in st["rows"].items():
        rows.add_metric([table], float(n))
    yield rows
    for name, key, text in (
        ("passerelle_db_bytes", "db_bytes", "Size of the store database file"),
        ("passerelle_wal_bytes", "wal_bytes", "Size of its write-ahead log"),
        ("passerelle_disk_free_bytes", "disk_free_bytes", "Free space on the database's disk"),
    ):
        g = GaugeMetricFamily(name, text)
        g.add_metric([], float(st[key]))
        yield g
    limits = GaugeMetricFamily(
        "passerelle_retention_days", "How long each kind of record is kept", labels=["kind"]
    )
    for kind, days in (
        ("inbox", settings.inbox_retention_days),
        ("dead_letters", settings.dead_letter_retention_days),
        ("outbox_sent", settings.outbox_retention_days),
        ("print_jobs", settings.print_job_retention_days),
    ):
        limits.add_metric([kind], float(days))
    yield limits


def prune_backups(folder: Path, days: int, keep: Path | None = None) -> list[Path]:
    """Remove backups (``passerelle-*.db``) older than ``days`` from ``folder``: an old copy
    keeps the personal data of people erased since. ``keep`` (the one just written) stays."""
    cutoff = datetime.now(UTC).timestamp() - days * 86400
    removed = []
    for f in sorted(folder.glob("passerelle-*.db")):
        if keep is not None and f.resolve() == keep.resolve():
            continue
        if f.is_file() and f.stat().st_mtime < cutoff:
            os.remove(f)
            removed.append(f)
    return removed
