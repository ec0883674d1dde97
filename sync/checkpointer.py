"""The WAL's checkpoints beside the inbox applier, on a thread of its own, PASSIVE only.

Moved out of ``sync/applier.py`` (the applier's process runs it); the class docstring says
why it exists and why only PASSIVE checkpoints.
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


class Checkpointer:
    """Copies committed pages from the WAL into the database file beside the applier.

    SQLite's automatic checkpoint runs in the committing connection, after its commit: the
    applier then copied each batch's pages (about 3,200 random pages on the bench data set)
    and waited for their fsync, about 100 ms a batch on a 2-core box, before it could start
    the next one. Here a thread with its own connection does that (SQLite releases the GIL)
    while the applier goes on. Each commit is durable in the WAL before its messages are
    acknowledged, as before (RELIABILITY #10); only the copy into the main file moves.

    Only PASSIVE checkpoints: they never wait for readers or block a writer, so a till's sale
    never waits behind one (a RESTART did both). SQLite starts the WAL again from its
    beginning by itself at the next write once everything in it was copied. During a long
    catch-up the applier, between two of its transactions (holding no lock), waits for the
    copy to catch up when the WAL passes WAL_LIMIT (``bound``), so the WAL stays bounded.
    """

    def __init__(
        self, path: str, on_death: Callable[[BaseException], None] = lambda _exc: None
    ) -> None:
        self.conn = db.connect(path)
        self._wake = threading.Event()
        self._done = threading.Event()  # set after each checkpoint
        self._stop = False
        self._on_death = on_death
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
        """Past WAL_LIMIT, wait (holding no lock) for one complete copy of the WAL: the next
        write then starts it again from its beginning, so it stays bounded."""
        deadline = time.monotonic() + BOUND_WAIT
        while self.wal_frames * self._frame_bytes > WAL_LIMIT and time.monotonic() < deadline:
            begun = self._started  # only a checkpoint that starts from now on counts
            while self._finished <= begun and time.monotonic() < deadline:
                self._done.clear()
                self.kick()
                self._done.wait(0.5)
            if self.complete:
                return

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
                row = self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                if row is not None and row[1] >= 0:
                    self.wal_frames = int(row[1])
                    self.complete = not row[0] and row[1] == row[2]
            except sqlite3.Error as exc:  # the next commit tries again
                log.warning("checkpoint of the WAL failed: %s", exc)
            finally:
                self._finished = run
                self._done.set()
