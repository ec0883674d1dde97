"""The writers of every process take turns on a lock file beside the database.

Why: SQLite's own write lock is taken by polling. A writer that finds it held waits in the
busy handler, which sleeps in growing steps (1, 2, 5, 10 … up to 100 ms) and retries; the
writer that holds it, and the other threads of its process queued behind it (``db._WRITER``),
are awake and take it again the moment it is free. With four tills selling on two gunicorn
workers, a sale on the worker that lost the race slept its way to the back of the queue
again and again: the bench's sale p99 at 4 tills was 0.5 to 1 s on the 2-core box, against a
median of 6 ms (bench/, store sale).

Here a writer first takes an exclusive ``flock`` on ``<database>-writer.lock`` and only then
SQLite's lock, which is then free. A writer that finds the file locked blocks in the kernel,
which wakes it the moment the holder lets go, and it is let go *before* the holder's process
lets its next thread in (``db.write`` releases this first), so the waiter of another process
is already running when the lock comes free. The wait is bounded like SQLite's
(``acquire``'s timeout): past it the writer goes on to SQLite's own waiting, as before.

One open file per process: a flock belongs to the open file, which a fork would share (the
gunicorn workers are forked from the master, the applier from the sync worker), so a
process that finds the file opened by its parent opens its own. A process that dies holding
the lock loses it with its files. Within a process, ``db._WRITER`` lets one thread at a time
ask, so the file is never asked for twice at once by one process.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from pathlib import Path

SUFFIX = "-writer.lock"

_LOCKS: dict[str, WriterLock] = {}  # one per database file in this process
_LOCKS_GUARD = threading.Lock()


def for_database(db_path: Path) -> WriterLock:
    """This process's writer lock of ``db_path`` (its connections all share it)."""
    key = str(db_path.resolve())
    with _LOCKS_GUARD:
        lock = _LOCKS.get(key)
        if lock is None:
            lock = _LOCKS[key] = WriterLock(Path(key))
        return lock


def _after_fork_in_child() -> None:
    global _LOCKS_GUARD
    _LOCKS_GUARD = threading.Lock()  # another thread may have held it at the fork
    for lock in list(_LOCKS.values()):
        lock.forget_parent_file()


class WriterLock:
    """The cross-process writer lock of one database file."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self.path = Path(f"{db_path}{SUFFIX}")
        self._fd = -1
        self._pid = 0
        self._waiter: _Waiter | None = None

    def _file(self) -> int:
        if self._pid != os.getpid():  # first use (a forked child forgot its parent's file)
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._pid = os.getpid()
            self._waiter = None
            self._like_database()
        return self._fd

    def _like_database(self) -> None:
        """The file's owner and mode are the database's, as SQLite does for its -wal and
        -shm files: a CLI command run as root must not leave a file the service cannot
        open."""
        with contextlib.suppress(OSError):
            st = os.stat(self.db_path)
            if os.geteuid() == 0:
                os.fchown(self._fd, st.st_uid, st.st_gid)
            os.fchmod(self._fd, st.st_mode & 0o666)

    def forget_parent_file(self) -> None:
        """In a forked child: close the parent's open file, which would otherwise keep the
        parent's lock held after the parent died, for as long as this child lives."""
        if self._fd >= 0 and self._pid != os.getpid():
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd, self._waiter = -1, None

    def acquire(self, timeout: float) -> bool:
        """Take the lock, waiting at most ``timeout`` seconds; False if it could not be had
        (the caller then relies on SQLite's own lock alone)."""
        try:
            fd = self._file()
        except OSError:
            return False  # a read-only folder, say: SQLite's lock still serialises writers
        if self._waiter is not None and self._waiter.blocked():
            # still blocked for a writer that gave up: it takes the lock for this one (a
            # direct flock would succeed on the same file, and the thread then release it)
            return self._waiter.wait(timeout)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            pass
        if self._waiter is None:
            self._waiter = _Waiter(fd)
        return self._waiter.wait(timeout)

    def try_acquire(self) -> bool | None:
        """Take the lock only if it is free now (the publisher's marks, the WAL's restart):
        True if taken, False if another writer has it, None if the file cannot be used
        (the caller then relies on SQLite's own lock alone)."""
        if self._waiter is not None and self._waiter.blocked():
            return False
        try:
            fd = self._file()
        except OSError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False

    def release(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)


class _Waiter:
    """A thread of the process that blocks in ``flock`` for the writer that asked, so that
    the writer can stop waiting after its timeout (a blocking ``flock`` cannot be timed).

    Requests are numbered. A writer that gave up leaves the thread blocked; when the thread
    gets the lock, it hands it to the writer that waits now, if any (one that asked after
    the other gave up), or else lets it go at once."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._cond = threading.Condition()
        self._asked = 0  # the number of the last request
        self._granted = 0  # the last request given the lock
        self._gave_up = 0  # the last request whose writer stopped waiting
        self._blocked = False  # the thread is in flock
        self._thread = threading.Thread(target=self._run, name="writer-lock", daemon=True)
        self._thread.start()

    def wait(self, timeout: float) -> bool:
        with self._cond:
            self._asked += 1
            n = self._asked
            self._cond.notify_all()
            if self._cond.wait_for(lambda: self._granted >= n, timeout):
                return True
            self._gave_up = n  # under the condition's lock: the thread sees it before granting
            return False

    def blocked(self) -> bool:
        with self._cond:
            return self._blocked

    def _run(self) -> None:
        served = 0
        while True:
            with self._cond:
                while self._asked <= served:
                    self._cond.wait()
                self._blocked = True
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            with self._cond:
                self._blocked = False
                served = self._asked
                if self._gave_up < self._asked:  # its writer (or a newer one) still waits
                    self._granted = self._asked
                    self._cond.notify_all()
                    continue
            fcntl.flock(self._fd, fcntl.LOCK_UN)  # nobody waits for it any more


os.register_at_fork(after_in_child=_after_fork_in_child)
