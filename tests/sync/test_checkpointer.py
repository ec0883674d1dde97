"""The applier's checkpointer: commits are copied into the database file by its thread, the
WAL stays bounded while a writer never stops, and nothing committed is lost on the way."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from edge.store import db
from sync import checkpointer

ROW = "x" * 2000  # about half a page: each commit below writes a few hundred KB


def _writer(path: Path) -> sqlite3.Connection:
    conn = db.connect(path)
    conn.execute("PRAGMA wal_autocheckpoint=0")  # as the applier's own connection
    conn.execute("CREATE TABLE IF NOT EXISTS t (n INTEGER PRIMARY KEY, body TEXT NOT NULL)")
    return conn


def _commit(conn: sqlite3.Connection, start: int, n: int) -> None:
    with db.write(conn) as c:
        c.executemany("INSERT INTO t (n, body) VALUES (?, ?)", [(start + i, ROW) for i in range(n)])


def _wait(cond: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return False


def _settled(ckpt: checkpointer.Checkpointer) -> None:
    """Let the thread finish the copy it was kicked for, as it does in the applier, whose
    batches take far longer than these commits: its figure of the WAL is then current (a
    thread started late would otherwise see the WAL only after several commits)."""
    deadline = time.monotonic() + 10.0
    while ckpt._wake.is_set() or ckpt._finished != ckpt._started:
        assert time.monotonic() < deadline
        time.sleep(0.001)


def test_the_thread_copies_commits_into_the_database_file(db_path: Path) -> None:
    conn = _writer(db_path)
    ckpt = checkpointer.Checkpointer(str(db_path))
    try:
        size0 = db_path.stat().st_size
        _commit(conn, 0, 500)  # about 1 MB, in the WAL only
        assert db_path.stat().st_size == size0
        ckpt.kick()
        assert _wait(lambda: db_path.stat().st_size > size0 + 500_000)
    finally:
        ckpt.close()
        conn.close()


def test_the_wal_stays_bounded_while_the_writer_goes_on(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(checkpointer, "WAL_LIMIT", 1_000_000)
    conn = _writer(db_path)
    ckpt = checkpointer.Checkpointer(str(db_path))
    wal = Path(str(db_path) + "-wal")
    biggest = 0
    try:
        for k in range(40):  # about 16 MB written in all
            _commit(conn, k * 200, 200)
            ckpt.kick()
            _settled(ckpt)
            ckpt.bound()
            biggest = max(biggest, wal.stat().st_size)
    finally:
        ckpt.close()
        conn.close()
    # past the limit, bound() waits for the thread's copy; the WAL then starts again
    assert biggest < 4 * 1_000_000
    check = db.connect(db_path)
    try:
        assert check.execute("SELECT COUNT(*), MAX(n) FROM t").fetchone()[:] == (8000, 7999)
        assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        check.close()
    assert not os.path.exists(str(db_path) + "-wal") or wal.stat().st_size < 4 * 1_000_000


def test_no_checkpoint_waits_so_a_sale_never_waits_for_one(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader holding an old snapshot (a long report) must not make the checkpointer block
    the next writer: the copies are PASSIVE, and the RESTART that bound() asks for runs only
    once all is copied, with a busy timeout of 0 (a RESTART that waits for readers holds the
    write lock meanwhile)."""
    conn = _writer(db_path)
    ckpt = checkpointer.Checkpointer(str(db_path))
    statements: list[str] = []
    ckpt.conn.set_trace_callback(statements.append)
    reader = db.connect(db_path)
    try:
        _commit(conn, 0, 500)
        reader.execute("BEGIN")
        reader.execute("SELECT COUNT(*) FROM t").fetchone()  # an open read snapshot
        _commit(conn, 500, 500)
        ckpt.kick()
        assert _wait(lambda: any("wal_checkpoint" in s for s in statements))
        till = db.connect(db_path)
        till.execute("PRAGMA busy_timeout=100")  # a sale that would notice any wait
        with db.write(till):
            till.execute("INSERT INTO t (n, body) VALUES (?, ?)", (10_000, "sale"))
        till.close()
        ckpt.bound()
        assert all("PASSIVE" in s for s in statements if "wal_checkpoint" in s)
        # Past the limit, once the reader is gone: the copy, then a RESTART that waits for
        # nothing (the reader above would have made it fail at once, not wait).
        reader.rollback()
        monkeypatch.setattr(checkpointer, "WAL_LIMIT", 1000)
        ckpt.bound()
        assert any("RESTART" in s for s in statements)
        assert ckpt.wal_frames == 0
        # A copy with nothing written since still counts the frames the WAL had: not its size
        # (bound() would wait for nothing at the next batch).
        ckpt.kick()
        _settled(ckpt)
        assert ckpt.wal_frames == 0
        assert ckpt.conn.execute("PRAGMA busy_timeout").fetchone()[0] == 0
    finally:
        reader.close()
        ckpt.close()
        conn.close()
