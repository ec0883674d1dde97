"""The inbox applier: a process of its own that applies down-events and fills gaps.

Why a process and not a thread of the sync worker: applying an event is CPU work in Python
(parse, validate, handler) and in SQLite (a handful of B-tree inserts), and so is paho's
receiving of it. In one interpreter the two threads take turns on the GIL, and each of
SQLite's statements hands the GIL over and back: measured on the bench's 100,000-event
catch-up, 4,696 events/s with the applier as a thread against 6,512/s as a forked process,
for the same memory (docs/architecture.md has the table). It is forked, not spawned
(``sync.receiver.fork_applier`` says why).

The sync worker (``sync.worker``) keeps paho and forwards each received message here through
a pipe, as raw bytes; this process applies them in one ``db.write`` transaction per batch and
sends back the message ids to acknowledge, which the worker passes to paho only after that
commit (RELIABILITY.md #2). If this process dies, nothing it did not commit was acknowledged:
the broker delivers the rest again to the next connection.

Messages, worker → applier: a list of ``Item`` tuples, or ``None`` to stop.
Applier → worker: a ``Report`` (acks to send and what the batch did), or ``Failed``.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sqlite3
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, NamedTuple

from edge.config import Settings
from edge.store import db, faults, state
from sync import contract, redrive
from sync.backfill import Backfill, BackfillError
from sync.checkpointer import Checkpointer
from sync.consumer import HandlerFailed, Inbox, Outcome

log = logging.getLogger("passerelle.sync.applier")

# Events per transaction. A larger batch writes fewer pages per event (the upper levels of
# the indexes are written once per commit; measured on the 3 GB bench database: 120 µs per
# event in batches of 1,000, 97 µs in batches of 5,000), but holds SQLite's write lock longer,
# and a till's sale waits for it. 2,000 keeps that wait near 0.2 s during a catch-up.
WRITER_BATCH = 2000
GAP_WAIT = 1.0  # a gap may close by itself (a redelivery in flight) before we fetch it
BACKFILL_RETRY_MAX = 60.0
WRITER_ATTEMPTS = 3
APPLIER_CACHE_KIB = 32 * 1024
IDLE_POLL = 0.2  # how often an idle applier looks at the gaps
PROCESS_NAME = "inbox-applier"  # /proc/self/comm of the forked process
# Batches committed between two checkpoints while more input waits (an idle applier asks at
# once). A page written by several batches (the upper levels of the indexes, the last leaf
# of each time-ordered key) is copied once for them all instead of once each.
CHECKPOINT_EVERY = 4


class Item(NamedTuple):
    """One thing received: ``kind`` is "event", "status" or "resync" (a new session)."""

    kind: str
    generation: int  # of the connection it came on: acks never cross connections
    topic: str = ""
    payload: bytes | bytearray = b""
    mid: int = 0
    qos: int = 0
    checked: bool = False  # the worker found it a valid event on its topic (contract.conforms)


@dataclass
class Report:
    """One committed batch (or backfill page): what to acknowledge and what it did."""

    acks: list[tuple[int, int, int]] = field(default_factory=list)  # (generation, mid, qos)
    outcome: Outcome = field(default_factory=Outcome)
    received: int = 0
    backfilled: int = 0
    synced_at: str | None = None


@dataclass
class Failed:
    reason: str


@dataclass
class Ready:
    """Sent once the applier can take messages: the worker forwards nothing before it."""


@dataclass
class _Gap:
    since: float
    wall: str = ""  # when it opened, as a timestamp other processes can read
    last: int = 0
    next_try: float = 0.0
    failures: int = 0


class Applier:
    def __init__(self, settings: Settings, rx: Connection, tx: Connection) -> None:
        self.rx, self.tx = rx, tx
        self.inbox = Inbox(settings.store_id, settings.topic_prefix)
        self.store_id, self.prefix = settings.store_id, settings.topic_prefix
        self.status_topics = contract.web_status_topics(settings.topic_prefix, settings.store_id)
        self._status_source = {t: s for s, t in self.status_topics.items()}
        self.conn = db.connect(settings.db_path)
        # This process's one connection: a larger page cache than the API threads' keeps the
        # upper levels of the big indexes in memory across batches (bench/, catch-up).
        self.conn.execute(f"PRAGMA cache_size=-{APPLIER_CACHE_KIB}")
        self.conn.execute("PRAGMA wal_autocheckpoint=0")  # the Checkpointer's job
        self.checkpointer = Checkpointer(str(settings.db_path), self._checkpointer_died)
        self.backfill: Backfill | None = None
        if settings.online_store_url:
            self.backfill = Backfill(
                settings.online_store_url,
                settings.online_store_token,
                page_size=settings.backfill_page_size,
                timeout=settings.backfill_timeout,
            )
        self._gaps: dict[str, _Gap] = {}
        self._resync: set[str] = set()
        self._reported_behind: dict[str, str] | None = None
        self._pending: list[Item] = []
        self._stopping = False
        self._uncheckpointed = 0  # batches committed since the last kick

    def _checkpointer_died(self, exc: BaseException) -> None:
        with contextlib.suppress(OSError):
            self.tx.send(Failed(f"the checkpointer died: {type(exc).__name__}: {exc}"))

    def run(self) -> None:
        try:
            with db.write(self.conn):
                self.inbox.ensure_streams(self.conn)
            self._redrive_known_types()
            self.tx.send(Ready())
            while not self._stopping or self._pending:
                self._take_input(block=not self._pending)
                if self._pending:
                    batch = self._pending[:WRITER_BATCH]
                    del self._pending[:WRITER_BATCH]
                    if not self._apply_with_retries(batch):
                        return
                if not self._stopping:
                    self._check_gaps()
                    self._report_behind()
        finally:
            if self.backfill is not None:
                self.backfill.close()
            self.checkpointer.close()
            self.conn.close()

    def _redrive_known_types(self) -> None:
        """Dead letters of a type an earlier version did not know, applied now that this one
        does (an upgrade): the contract keeps them for that."""
        for dead_id in redrive.known_again(self.conn):
            with db.write(self.conn) as conn:
                res = redrive.retry(conn, dead_id, store_id=self.store_id, prefix=self.prefix)
            log.info("dead letter %d of a type now known: %s", dead_id, res.outcome)

    def _take_input(self, *, block: bool) -> None:
        """Move what the worker sent into ``_pending``; wait a little when idle."""
        if self._stopping:
            return
        if block and not self.rx.poll(IDLE_POLL):
            return
        while len(self._pending) < WRITER_BATCH and self.rx.poll(0):
            try:
                items = self.rx.recv()
            except EOFError:  # the worker is gone: finish what we have, then stop
                items = None
            if items is None:
                self._stopping = True
                return
            self._pending.extend(items)

    def _apply_with_retries(self, batch: list[Item]) -> bool:
        for attempt in range(1, WRITER_ATTEMPTS + 1):
            try:
                self._apply_batch(batch)
                return True
            except sqlite3.Error as exc:
                # Nothing was acknowledged; the transaction rolled back whole.
                log.exception("inbox batch failed (attempt %d)", attempt)
                if attempt == WRITER_ATTEMPTS:
                    # The worker stops; the runner exits, systemd restarts it, and the broker
                    # delivers the unacknowledged messages again.
                    self.tx.send(Failed(f"the inbox could not commit: {exc}"))
                    return False
                time.sleep(0.5 * attempt)
        return False

    def _apply_batch(self, batch: list[Item]) -> None:
        try:
            out = self._apply_once(batch, careful=False)
        except HandlerFailed:
            # Rolled back whole; again with a savepoint per event, so that the event whose
            # handler fails is dead-lettered alone.
            out = self._apply_once(batch, careful=True)
        if any(it.kind == "event" for it in batch):
            # A crash here is a crash of the whole edge: the worker dies with us (faults.py).
            faults.point("after_apply_before_ack", parent=True)
        report = Report(
            acks=[
                (it.generation, it.mid, it.qos)
                for it in batch
                if it.kind in ("event", "status") and it.qos > 0
            ],
            outcome=out,
            received=sum(1 for it in batch if it.kind == "event"),
        )
        if out.applied or out.ignored:
            report.synced_at = db.now_iso()
        self._uncheckpointed += 1
        if self._uncheckpointed >= CHECKPOINT_EVERY or not (self._pending or self.rx.poll(0)):
            self.checkpointer.kick()
            self._uncheckpointed = 0
        self.tx.send(report)
        self.checkpointer.bound()

    def _apply_once(self, batch: list[Item], careful: bool) -> Outcome:
        out = Outcome()
        with db.write(self.conn) as conn, self.inbox.batch(conn, careful=careful):
            for it in batch:
                if it.kind == "event":
                    out.add(self.inbox.receive(conn, it.topic, it.payload, checked=it.checked))
                elif it.kind == "status":
                    self._apply_status(conn, it)
                elif it.kind == "resync":
                    self._resync.update(self.inbox.sources)
            if out.applied:
                # The whole edge dies with the batch applied but not committed, after a
                # second in which a PUBACK sent too early would reach the broker: none may
                # have been (tests/sync/test_crash.py).
                faults.point("after_apply_before_commit", parent=True, linger=1.0)
        return out

    def _apply_status(self, conn: sqlite3.Connection, it: Item) -> None:
        source = self._status_source.get(it.topic)
        try:
            payload = contract.parse(it.payload)
            contract.validate_status(payload)
        except contract.ContractError as exc:
            conn.execute(
                "INSERT INTO dead_letters (received_at, topic, source, reason, payload) "
                "VALUES (?,?,?,?,?)",
                (db.now_iso(), it.topic, source, f"status: {exc}", it.payload[:4096].hex()),
            )
            return
        if source is not None:
            self.inbox.record_remote(conn, source, int(payload["last_sequence"]))
        if source == contract.CHAIN_SOURCE:
            # The online store's heartbeat: state.link judges "reachable" by its age.
            state.put(
                conn,
                state.ONLINE_STORE_KEY,
                {
                    "online": bool(payload["online"]),
                    "time": payload["time"],
                    "received_at": db.now_iso(),
                },
            )

    # -- gaps ---------------------------------------------------------------------------------

    def _check_gaps(self) -> None:
        """Fetch what a gap, a tail gap or a lost session left missing, after a short wait."""
        now = time.monotonic()
        streams = self.inbox.streams(self.conn)
        for source in self.inbox.sources:
            s = streams.get(source)
            if s is None:
                continue
            behind = (
                s["pending"] > 0 or s["remote_sequence"] > s["last_sequence"]
            ) or source in self._resync
            if not behind:
                self._gaps.pop(source, None)
                continue
            if source not in self._gaps:
                self._gaps[source] = _Gap(since=now, last=s["last_sequence"], wall=db.now_iso())
            gap = self._gaps[source]
            if s["last_sequence"] > gap.last:  # still moving: the gap may close by itself
                gap.since, gap.last = now, s["last_sequence"]
            urgent = source in self._resync
            if (not urgent and now - gap.since < GAP_WAIT) or now < gap.next_try:
                continue
            if self.backfill is None:
                if gap.failures == 0:
                    log.warning("%s is behind and online_store_url is not set: no backfill", source)
                gap.failures += 1
                gap.next_try = now + BACKFILL_RETRY_MAX
                self._resync.discard(source)
                continue
            try:
                self._fill(source)
            except BackfillError as exc:
                gap.failures += 1
                delay = min(BACKFILL_RETRY_MAX, 2.0**gap.failures)
                gap.next_try = now + delay
                log.warning("backfill of %s failed (%s); next try in %.0f s", source, exc, delay)
                continue
            self._resync.discard(source)
            # Still behind after a complete fill (the endpoint does not have what was
            # announced or parked yet): ask again later, less and less often.
            gap.failures += 1
            gap.next_try = now + min(BACKFILL_RETRY_MAX, 2.0**gap.failures)

    def _report_behind(self) -> None:
        """Which down-streams are behind, and since when, for state.link (a stream behind
        for longer than its grace counts as "unreachable") and /readyz. Written only when
        that changes."""
        behind = {src: g.wall for src, g in self._gaps.items()}
        if behind == self._reported_behind:
            return
        with db.write(self.conn) as conn:
            state.put(conn, state.STREAMS_BEHIND_KEY, behind)
        self._reported_behind = behind

    def _fill(self, source: str) -> None:
        assert self.backfill is not None
        after = self.inbox.last_sequence(self.conn, source)
        fetched = 0
        for page in self.backfill.pages(source, after):
            if self._stopping or self.rx.poll(0) and self._stop_requested():
                break  # the rest waits for the next start
            items: list[tuple[str | None, bytes | dict[str, Any]]] = [(None, ev) for ev in page]
            with db.write(self.conn) as conn:
                with self.inbox.batch(conn, careful=True):
                    out = self.inbox.receive_many(conn, items, source)
                n = out.applied + out.ignored + out.dead
                self.inbox.count_fetched(conn, source, n)
            self.checkpointer.kick()
            self.checkpointer.bound()
            fetched += n
            self.tx.send(Report(outcome=out, backfilled=n, synced_at=db.now_iso() if n else None))
        if fetched:
            log.info("backfill: %d events of %s after %d", fetched, source, after)

    def _stop_requested(self) -> bool:
        """Between backfill pages: keep what arrived, and notice a stop."""
        self._take_input(block=False)
        return self._stopping


def main(
    settings: Settings,
    rx: Connection,
    tx: Connection,
    parent_ends: tuple[Connection, ...] = (),
    worker_pid: int = 0,
    own_logging: bool = False,
) -> None:
    """Entry point of the applier process (``multiprocessing``: sync/receiver.py).

    Forked from the worker, it inherited the worker's logging (the same redacted lines on the
    same stderr) and its signal handlers; started from a fork server (``own_logging``), it
    sets up the same logging itself, and ``worker_pid`` names the worker, which is then not
    its parent, for the fault points that kill both. Either way, SIGTERM is made deadly again
    (as for any process of the unit: systemd stops them all; nothing uncommitted was
    acknowledged), and Ctrl-C, which reaches the whole process group, is ignored: the worker
    stops us (None on the pipe) once it has stopped taking messages, so that the last batch
    is committed whole. The worker's ends of the two pipes are closed here (a forked child
    has copies of them), so that the worker's death reads as EOF."""
    for end in parent_ends:
        end.close()
    if own_logging:
        from edge.system import logs

        logs.setup(settings.log_level, settings.log_format)
    if worker_pid:
        faults.set_parent(worker_pid)
    # Its own name in ps, top and the bench's process list (a fork keeps the worker's command
    # line): at most 15 characters.
    with contextlib.suppress(OSError):
        Path("/proc/self/comm").write_text(PROCESS_NAME)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        Applier(settings, rx, tx).run()
    except Exception as exc:  # reported to the worker, which stops and is restarted
        log.exception("the inbox applier failed")
        with contextlib.suppress(OSError):
            tx.send(Failed(f"{type(exc).__name__}: {exc}"))
        raise SystemExit(1) from exc
