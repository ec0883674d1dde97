"""The WAL's checkpoints beside the inbox applier, on a thread of its own, never waiting.

Moved out of ``sync/applier.py`` (the applier's process runs it); the class docstring says
why it exists, why it copies with PASSIVE checkpoints, and when it restarts the WAL.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable

from edge.store import db

log = logging.getLogger("passerelle.sync.applier")

WAL_LIMIT = 64 * 1024 * 1024  # past this not yet copied, the applier waits for the copy
BOUND_WAIT = 30.0
# How long bound() goes on asking for a restart once the WAL is all copied, while a reader
# (or a till's write) is in its way, before it lets the applier go on without one.
RESTART_PATIENCE = 0.05
RESTART_RETRY = 0.002


class Checkpointer:
    """Copies committed pages from the WAL into the database file beside the applier.

    SQLite's automatic checkpoint runs in the committing connection, after its commit: the
    applier then copied each batch's pages (about 3,200 random pages on the bench data set)
    and waited for their fsync, about 100 ms a batch on a 2-core box, before it could start
    the next one. Here a thread with its own connection does that (SQLite releases the GIL)
    while the applier goes on. Each commit is durable in the WAL before its messages are
    acknowledged, as before (RELIABILITY #10); only the copy into the main file moves.

    The copies are PASSIVE checkpoints: they never wait for readers or block a writer, so a
    till's sale never waits behind one. During a long catch-up the applier, between two of
    its transactions (holding no lock), waits for the copy to catch up when the WAL passes
    WAL_LIMIT (``bound``), and the WAL then starts again from its beginning, so it stays
    bounded. That restart is a RESTART checkpoint run only then, in place of the PASSIVE copy
    (one copy and one fsync of the file, where a PASSIVE copy then a RESTART made two: the
    applier's wait at the bound went from 80-120 ms to 70-85 ms, bench/ catch-up), tried
    without waiting (this connection's busy timeout is 0): it takes the write lock only if it
    is free, and gives up at once if a reader still reads the WAL, having copied all it could;
    ``bound`` then asks again a little later. It holds the write lock while it copies the
    batches since the last copy (70-85 ms on the bench's 3 GB database), so a till's sale
    at that moment waits that long: less than behind one of the applier's own batches.
    SQLite's own restart, by the next writer, needs its transaction to begin with the WAL
    all copied and no reader in it at its commit: with the sync worker's publisher reading
    and marking the outbox beside the applier, the bench's catch-up saw it fail for 15
    batches in a row, each waiting here for a copy (bench/, catch-up).
    """

    def __init__(
        self, path: str, on_death: Callable[[BaseException], None] = lambda _exc: None
    ) -> None:
        self.conn = db.connect(path)
        self.conn.execute("PRAGMA busy_timeout=0")  # never a wait: see the class docstring
        self._wake = threading.Event()
        self._done = threading.Event()  # set after each checkpoint
        self._stop = False
        self._on_death = on_death
        self._restart = False  # bound() waits for a restart of the WAL
        self._restarted_from = -1  # the frames of the WAL at its last restart (-1: none since)
        # Frames in the WAL at the thread's last checkpoint, and whether it copied them all.
        # The file's size says nothing of that: a restarted WAL is written again from its
        # start, and the file never shrinks.
        self.wal_frames = 0
        self.complete = True
        self._started = self._finished = 0  # checkpoints begun, and the last one finished
        self._frame_bytes = int(self.conn.execute("PRAGMA page_size").fetchone()[0]) + 24
        self._thread = threading.Thread(
            target=self._guarded, name="applier-checkpoint", daemon=True
        )
        self._thread.start()

    def kick(self) -> None:
        """A commit happened: copy it when the thread is free."""
        self._wake.set()

    def bound(self) -> None:
        """Past WAL_LIMIT, wait (holding no lock) until the thread has copied the whole WAL
        and started it again from its beginning; if a reader keeps it from restarting for
        RESTART_PATIENCE once all is copied, go on (the next call tries again)."""
        deadline = time.monotonic() + BOUND_WAIT
        copied_at: float | None = None
        self._restart = True
        try:
            while self._over_limit() and time.monotonic() < deadline:
                begun = self._started  # only a checkpoint that starts from now on counts
                while self._finished <= begun and time.monotonic() < deadline:
                    self._done.clear()
                    self.kick()
                    self._done.wait(0.5)
                if not self._over_limit():
                    return  # restarted
                if self.complete:  # all copied, but a reader kept the WAL from restarting
                    now = time.monotonic()
                    copied_at = copied_at or now
                    if now - copied_at >= RESTART_PATIENCE:
                        return
                time.sleep(RESTART_RETRY)  # a reader, or a till's write, is in the way
        finally:
            self._restart = False

    def _over_limit(self) -> bool:
        return self.wal_frames * self._frame_bytes > WAL_LIMIT

    def close(self) -> None:
        self._stop = True
        self._wake.set()
        self._thread.join(timeout=30)
        self.conn.close()

    def _guarded(self) -> None:
        try:
            self._run()
        except BaseException as exc:  # the applier stops, its worker too: restarted whole
            log.exception("the checkpointer died")
            self._on_death(exc)

    def _run(self) -> None:
        while not self._stop:
            if not self._wake.wait(1.0):
                continue
            self._wake.clear()
            self._started += 1
            run = self._started
            try:
                self._checkpoint("RESTART" if self._restart else "PASSIVE")
            except sqlite3.Error as exc:  # the next commit tries again
                log.warning("checkpoint of the WAL failed: %s", exc)
            finally:
                self._finished = run
                self._done.set()

    def _checkpoint(self, mode: str) -> None:
        """One checkpoint; its result row is (busy, frames in the WAL, frames copied). A
        RESTART takes the write lock, so it runs only when the writer lock is free now (a
        till's write waits for no checkpoint); otherwise it copies what it can, as PASSIVE."""
        if mode == "RESTART":
            with db.writer_if_free(self.conn) as free:
                if free:
                    self._checkpoint_row("RESTART")
                    return
            mode = "PASSIVE"
        self._checkpoint_row(mode)

    def _checkpoint_row(self, mode: str) -> None:
        row = self.conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
        if row is None or row[1] < 0:
            return
        if mode == "RESTART" and not row[0]:
            # Restarted: the next write starts the WAL again from its beginning. The row
            # still counts the frames it had, and so do the checkpoints after it until
            # something is written: those are not the WAL's size.
            self.wal_frames, self.complete = 0, True
            self._restarted_from = int(row[1])
            return
        if row[1] == self._restarted_from and row[1] == row[2] and not row[0]:
            return
        self._restarted_from = -1
        self.wal_frames = int(row[1])
        # A RESTART refused by a reader (busy) still copied what it could, as PASSIVE does.
        self.complete = (not row[0] or mode == "RESTART") and row[1] == row[2]
