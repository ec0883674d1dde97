"""The inbox applier starts even when the process that starts it runs other threads.

A fork copies only the forking thread: a lock another thread holds inside SQLite at that
instant (its global memory mutex, taken by every allocation) stays held in the child, which
waits on it forever (a CI run once saw "the inbox applier did not start in 60 s"). With two
threads allocating inside SQLite, as here, a plain fork hung within its first five starts in
six runs of six. The worker then starts its applier from a fork server
(``sync.receiver.fork_applier``).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.config import Settings, load_settings
from edge.store import db
from sync import applier, receiver

STARTS = 20
ALLOCATING = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000) "
    "SELECT max(length(printf('%.*c', 200, 'x'))) FROM c"
)


@pytest.fixture
def busy_sqlite(tmp_path: Path) -> Iterator[None]:
    """Two threads that keep SQLite's global mutexes busy, as the API's threads do."""
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as c:
        c.execute("CREATE TABLE t (x)")
        c.execute("INSERT INTO t VALUES (1)")
    stop = threading.Event()

    def hammer() -> None:
        conn = sqlite3.connect(path, check_same_thread=False)
        while not stop.is_set():
            # Long without the GIL, allocating at every row (the memory mutex).
            conn.execute(ALLOCATING).fetchall()
            sqlite3.connect(":memory:").close()
        conn.close()

    threads = [threading.Thread(target=hammer, daemon=True) for _ in range(2)]
    for t in threads:
        t.start()
    yield
    stop.set()
    for t in threads:
        t.join(5)


def settings(db_path: Path) -> Settings:
    return load_settings(None, store_id="S001", db_path=db_path, secret_key="test")


def test_the_applier_starts_beside_threads_busy_in_sqlite(db_path: Path, busy_sqlite: None) -> None:
    db.open_database(db_path).close()
    s = settings(db_path)
    for i in range(STARTS):
        child = receiver.fork_applier(s)
        try:
            assert child.from_applier.poll(10), f"start {i + 1}: no word from the applier in 10 s"
            assert isinstance(child.from_applier.recv(), applier.Ready)
            child.to_applier.send(None)
            child.process.join(10)
            assert child.process.exitcode == 0
        finally:
            if child.process.is_alive():
                child.process.kill()
                child.process.join(5)
