"""The writer lock file: writers of other processes wait in it (woken the moment it is let
go) rather than in SQLite's busy handler, and no process keeps it after it died."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from edge.store import db, writer_lock
from tests.support import proc
from tests.support.waiting import wait_until

# A process that opens the database, writes once (which opens its lock file), optionally
# forks a child that outlives it, then holds a write transaction until killed or told.
HOLDER = textwrap.dedent(
    """
    import os, sys, time
    from edge.store import db
    conn = db.open_database(sys.argv[1])
    with db.write(conn):
        conn.execute("INSERT INTO sync_state (key, value, updated_at) VALUES ('first', '1', '')")
    if sys.argv[2] == "fork" and os.fork() == 0:
        time.sleep(120)  # a forked child (the applier of a sync worker, say) lives on
        os._exit(0)
    with db.write(conn):
        conn.execute("INSERT INTO sync_state (key, value, updated_at) VALUES ('holder', '1', '')")
        print("held", flush=True)
        sys.stdin.readline()
    print("released", flush=True)
    """
)

WRITER = textwrap.dedent(
    """
    import sys
    from edge.store import db
    conn = db.connect(sys.argv[1])
    with db.write(conn):
        conn.execute("INSERT INTO sync_state (key, value, updated_at) VALUES ('waiter', '1', '')")
    print("written", flush=True)
    """
)


def _start(script: str, path: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", script, str(path), *args],
        env=proc.env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _flock_waiters(lock_file: Path) -> int:
    """Processes blocked in flock on ``lock_file`` (/proc/locks lists them with "->")."""
    st = lock_file.stat()
    inode = f":{st.st_ino} "
    return sum(
        1
        for line in Path("/proc/locks").read_text().splitlines()
        if "->" in line and "FLOCK" in line and inode in line
    )


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "store.db"
    db.open_database(path).close()
    return path


@pytest.fixture
def holder(database: Path) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []

    def start(mode: str = "plain") -> subprocess.Popen[str]:
        p = _start(HOLDER, database, mode)
        procs.append(p)
        assert p.stdout is not None and p.stdout.readline().strip() == "held"
        return p

    yield start
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)  # the forked child too
            p.wait()


def test_a_writer_of_another_process_waits_in_the_lock_file(database, holder):
    """While one process writes, another's write blocks in flock, where the kernel wakes it
    when the lock is let go, not in SQLite's sleeping busy handler; then it writes."""
    h = holder()
    w = _start(WRITER, database)
    try:
        lock_file = Path(f"{database}{writer_lock.SUFFIX}")
        wait_until(lambda: _flock_waiters(lock_file) == 1, 10, 0.02, "the writer blocked in flock")
        assert w.poll() is None
        assert h.stdin is not None
        h.stdin.write("\n")
        h.stdin.flush()
        assert w.communicate(timeout=10)[0].strip() == "written"
    finally:
        if w.poll() is None:
            w.kill()
    conn = db.connect(database)
    keys = {r[0] for r in conn.execute("SELECT key FROM sync_state")}
    assert {"holder", "waiter"} <= keys


def test_writer_if_free_does_not_wait(database, holder):
    holder()
    conn = db.connect(database)
    t = time.monotonic()
    with db.writer_if_free(conn) as free:
        assert not free
    assert time.monotonic() - t < db.BUSY_TIMEOUT_MS / 1000


def test_a_killed_writer_leaves_the_lock_free_even_with_a_forked_child_alive(database, holder):
    """A flock belongs to the open file, which a fork shares: the child (alive) must not keep
    the lock of its parent, killed in the middle of a write."""
    h = holder("fork")
    other = writer_lock.WriterLock(database)  # a file of its own: another owner
    assert other.try_acquire() is False
    h.send_signal(signal.SIGKILL)  # the holder only; its child lives on
    h.wait()
    wait_until(other.try_acquire, 10, 0.02, "the lock free after its holder died")
    other.release()


def test_a_writer_that_gave_up_does_not_keep_the_lock(database, holder):
    """A writer that stopped waiting (its timeout) goes on without the lock file; its
    process's waiting thread, when it gets the lock later, lets it go again."""
    h = holder()
    mine = writer_lock.WriterLock(database)
    assert not mine.acquire(timeout=0.2)
    assert h.stdin is not None
    h.stdin.write("\n")
    h.stdin.flush()
    h.wait(timeout=10)
    other = writer_lock.WriterLock(database)
    wait_until(other.try_acquire, 10, 0.02, "the lock let go by the thread nobody waits for")
    other.release()
    assert mine.acquire(timeout=5)  # and it still serves the next writer
    mine.release()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file away")
def test_the_lock_file_belongs_to_the_database_owner(database):
    """A command run as root (a restore, say) must not leave a lock file the service's own
    user cannot open: it gets the database's owner and mode, as SQLite's -wal file does."""
    os.chown(database, 4321, 4321)
    os.chmod(database, 0o640)
    lock = writer_lock.WriterLock(database)
    assert lock.try_acquire() is True
    lock.release()
    st = lock.path.stat()
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (4321, 4321, 0o640)
