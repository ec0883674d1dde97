"""The one door to the store database: connections with the right pragmas, write
transactions, and the migrations.

The API (several gunicorn workers), the sync worker and the print worker share one SQLite
file from separate processes, so:

- WAL lets readers run beside the one writer;
- ``synchronous=FULL`` makes a commit durable before the POS hears "201" (a power cut in WAL
  with NORMAL can roll back commits that already answered);
- every write transaction starts with ``BEGIN IMMEDIATE``: a deferred transaction that reads
  then writes can fail with SQLITE_BUSY *without* waiting for ``busy_timeout`` (cpython
  #124510), which is the "database is locked" that ignores the timeout.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from edge.store import writer_lock

BUSY_TIMEOUT_MS = 10_000

PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",
    "PRAGMA temp_store=MEMORY",
    # 4 MiB of page cache per connection: each API thread keeps one open, and the OS page
    # cache already holds the hot pages; 16 MiB put a gunicorn worker over 120 MB.
    "PRAGMA cache_size=-4000",
)


class DatabaseError(Exception):
    """The database cannot be used (missing file, not SQLite, newer than this code)."""


_NOW: tuple[int, str] = (0, "")  # the last millisecond formatted, and its text


def now_iso() -> str:
    """UTC timestamp in RFC 3339, to the millisecond, as the contract wants times.

    Formatted once per millisecond: applying a catch-up stamps several rows per event, about
    ten events a millisecond, and formatting a datetime costs more than the insert's Python.
    """
    global _NOW
    ms = time.time_ns() // 1_000_000
    cached = _NOW
    if cached[0] == ms:
        return cached[1]
    text = datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")
    text = text.replace("+00:00", "Z")
    _NOW = (ms, text)
    return text


class Connection(sqlite3.Connection):
    """A store connection: a plain ``sqlite3.Connection`` that knows its file's writer lock
    (``edge.store.writer_lock``; None for a read-only one)."""

    writer_lock: writer_lock.WriterLock | None = None


def connect(path: str | Path, *, readonly: bool = False) -> sqlite3.Connection:
    """Open a connection with the house pragmas.

    ``isolation_level=None`` hands transaction control to us: the stdlib's implicit
    transactions are deferred, which is exactly the failure described above.
    """
    p = Path(path)
    if readonly:
        conn = sqlite3.connect(
            f"file:{p}?mode=ro",
            uri=True,
            isolation_level=None,
            check_same_thread=False,
            factory=Connection,
        )
    else:
        p.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            p, isolation_level=None, check_same_thread=False, timeout=10, factory=Connection
        )
        conn.writer_lock = writer_lock.for_database(p)
    conn.row_factory = sqlite3.Row
    try:
        for pragma in PRAGMAS:
            if readonly and "journal_mode" in pragma:
                continue
            conn.execute(pragma)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise DatabaseError(f"{p}: {exc}") from exc
    return conn


# One writer per process. Threads of one process that all ask SQLite for the write lock wait in
# its busy handler, which sleeps in growing steps (up to 100 ms) and burns CPU retrying: with 8
# gunicorn threads selling at once, a few sales waited whole seconds (bench/, store sale). A
# Python lock queues them instead, and the processes take turns on the writer lock file
# (``edge.store.writer_lock``, where a waiter is woken at once), so SQLite's lock is free
# when it is asked for. Reentrant, and bounded by the busy timeout: past it the thread goes on
# to SQLite's own waiting, as before.
_WRITER = threading.RLock()
_depth = 0  # db.write blocks open in the thread holding _WRITER (only it changes this)


@contextmanager
def write(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction, opened with BEGIN IMMEDIATE, committed or rolled back whole.

    Everything a change announces (outbox rows, audit rows, idempotency records) is written
    inside the same block, so nothing is ever half-written.
    """
    with _writer_turn(conn, wait=True), _transaction(conn):
        yield conn


@contextmanager
def writer_if_free(conn: sqlite3.Connection) -> Iterator[bool]:
    """This process's and the file's writer locks, if both are free now (True), without
    waiting: for writes that can wait for their next turn (the publisher's marks, the WAL's
    restart). The caller opens its own transaction inside."""
    with _writer_turn(conn, wait=False) as free:
        yield free


@contextmanager
def _writer_turn(conn: sqlite3.Connection, *, wait: bool) -> Iterator[bool]:
    """This process's writer lock, then (outermost only) the file's; whether the caller may
    write now. Waiting, each wait is bounded by the busy timeout, past which the write goes
    on to SQLite's own waiting (True all the same); not waiting, False if either is taken.
    The file's lock is let go first: another process's waiter runs before our next thread."""
    global _depth
    timeout = BUSY_TIMEOUT_MS / 1000
    queued = _WRITER.acquire(timeout=timeout) if wait else _WRITER.acquire(blocking=False)
    lock = getattr(conn, "writer_lock", None) if queued and not _depth else None
    held: bool | None = None
    if lock is not None:
        held = lock.acquire(timeout) if wait else lock.try_acquire()
    free = wait or (queued and held is not False)
    if queued and free:
        _depth += 1
    try:
        yield free
    finally:
        if queued and free:
            _depth -= 1
        if held:
            assert lock is not None
            lock.release()
        if queued:
            _WRITER.release()


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    for attempt in range(50):
        try:
            conn.execute("BEGIN IMMEDIATE")
            break
        except sqlite3.OperationalError as exc:
            # busy_timeout already waited; a rare lock that outlived it is retried briefly.
            if "locked" not in str(exc) and "busy" not in str(exc) or attempt == 49:
                raise
            time.sleep(0.05)
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")


# -- migrations ------------------------------------------------------------------------------
# Each migration is one SQL file in edge/store/migrations, named NNNN_what.sql, applied once, in
# name order, in its own transaction together with its row in _migrations. Numbers are
# grouped by area (0001-0009 core, 0010 pickups, 0020 sync, 0030 printing, 0040 security,
# 0050 offers) so that areas add migrations without renumbering each other.


def migration_files() -> list[tuple[str, str]]:
    pkg = resources.files("edge.store.migrations")
    files = sorted(
        (entry.name, entry.read_text(encoding="utf-8"))
        for entry in pkg.iterdir()
        if entry.name.endswith(".sql")
    )
    return files


def applied_migrations(conn: sqlite3.Connection) -> list[str]:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
    )
    return [r[0] for r in conn.execute("SELECT name FROM _migrations ORDER BY name")]


def pending_migrations(conn: sqlite3.Connection) -> list[str]:
    done = set(applied_migrations(conn))
    return [name for name, _ in migration_files() if name not in done]


def migrate(conn: sqlite3.Connection) -> list[str]:
    """Apply what is missing; return the names applied. Safe to run from several processes."""
    applied: list[str] = []
    known = {name for name, _ in migration_files()}
    unknown = [n for n in applied_migrations(conn) if n not in known]
    if unknown:
        raise DatabaseError(
            f"the database has migrations this version does not know ({', '.join(unknown)}): "
            "it was made by a newer Passerelle; install that version or restore a backup"
        )
    for name, sql in migration_files():
        with write(conn):
            if conn.execute("SELECT 1 FROM _migrations WHERE name = ?", (name,)).fetchone():
                continue
            for statement in split_sql(sql):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)", (name, now_iso())
            )
            applied.append(name)
    return applied


def split_sql(script: str) -> list[str]:
    """Split a migration into statements (``executescript`` would COMMIT our transaction)."""
    statements, buf = [], ""
    for line in script.splitlines(keepends=True):
        if line.strip().startswith("--") and not buf.strip():
            continue
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                statements.append(buf.strip())
            buf = ""
    if buf.strip():
        statements.append(buf.strip())
    return statements


def open_database(path: str | Path) -> sqlite3.Connection:
    """Open and bring the schema up to date: what every process does at start."""
    conn = connect(path)
    try:
        migrate(conn)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise DatabaseError(f"{path}: {exc}") from exc
    except DatabaseError:
        conn.close()
        raise
    return conn


def backup(conn: sqlite3.Connection, target: str | Path) -> None:
    """Online backup (SQLite's backup API): consistent even while others write.

    The copy is made in one step, inside one read transaction: in WAL mode the service's
    writers go on meanwhile, and the backup is the database as of that snapshot. (Copying in
    several steps would restart from the first page whenever another process commits, so a
    busy till could keep a large backup from ever finishing.) Written beside the target and
    renamed, so a crash never leaves a half backup under the target's name.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(target.suffix + ".partial")
    tmp.unlink(missing_ok=True)
    dest = sqlite3.connect(tmp)
    try:
        conn.backup(dest, pages=-1)
        dest.execute("PRAGMA journal_mode=DELETE")
    finally:
        dest.close()
    tmp.replace(target)


def restore(source: str | Path, target: str | Path) -> None:
    """Replace the database file with a checked backup, atomically."""
    source, target = Path(source), Path(target)
    try:
        check = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        ok = check.execute("PRAGMA integrity_check").fetchone()[0]
        check.close()
    except sqlite3.DatabaseError as exc:
        raise DatabaseError(f"{source} is not a SQLite database: {exc}") from exc
    if ok != "ok":
        raise DatabaseError(f"{source} fails the integrity check: {ok}")
    tmp = target.with_suffix(target.suffix + ".restoring")
    src = sqlite3.connect(source)
    dest = sqlite3.connect(tmp)
    try:
        src.backup(dest)
    finally:
        src.close()
        dest.close()
    for suffix in ("-wal", "-shm"):
        Path(str(target) + suffix).unlink(missing_ok=True)
    tmp.replace(target)
