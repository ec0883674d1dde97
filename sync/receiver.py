"""The receiving side of the sync worker: down-events from paho to the inbox applier, and
their acknowledgements back to the broker only after the applier committed them.

paho's network thread only queues what arrives (``on_message``): never a wait or a database
call there, which would stall its PUBACKs and pings. The forwarder hands the queued messages
to the applier (``sync/applier.py``, a process of its own: see its docstring for why), many
per pipe write; the acknowledger passes to paho (``client.ack``) the message ids the applier
reports committed, and only those, on the connection they came on (RELIABILITY.md #2). Both
threads are supervised: one that dies stops the worker, which exits non-zero.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import multiprocessing as mp
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import paho.mqtt.client as mqtt

from edge.config import Settings
from sync import applier, contract, paho_client
from sync import mqtt as link
from sync.publisher import Counters

log = logging.getLogger("passerelle.sync")

# Messages per pipe write to the applier: one of its transactions' worth. The pipe holds one
# write, not two, so the applier finds one write waiting after each commit; with 500 a
# catch-up committed every 500 events and ran 7 % slower (bench/, catch-up).
FORWARD_BATCH = applier.WRITER_BATCH
# Messages in the first pipe write after the forwarder found nothing to do: the applier is
# idle then, and the head of a burst (a catch-up starting) is better applied at once than
# after the forwarder has checked a whole batch of it (0.15 s at the start of a catch-up).
# The applier takes whatever else has come by the time it has committed those.
FIRST_FORWARD = 200
APPLIER_START_TIMEOUT = 60.0


@dataclass
class Child:
    """The applier process and the worker's ends of its two pipes."""

    process: Any  # multiprocessing's ForkProcess
    to_applier: Connection
    from_applier: Connection


_PREFORKED: dict[str, Child] = {}  # database path -> the applier prefork() made for it


def fork_applier(settings: Settings) -> Child:
    """Start the inbox applier: forked from this process when it runs no other thread, else
    from a fork server.

    Forked, not spawned: the child starts at once with every module this process imported
    (no second interpreter importing the edge for a second), shares those pages copy-on-write
    (``gc.freeze`` first: the collector would otherwise write to every object it scans, and
    each page it touches becomes the child's own), and needs no multiprocessing resource
    tracker (spawn starts one: one more process, 8 MB PSS). The runner forks it before it
    starts any thread (``prefork``), and a part of the edge that dies ends the process.

    A fork copies only the thread that forks: a lock that another thread held inside a C
    library at that instant (one of SQLite's global mutexes) stays held in the child, which
    then waits on it forever (seen once in a CI run: "the inbox applier did not start in
    60 s"; logging's own locks are re-made after a fork, SQLite's are not). So a worker
    started where other threads run (a test, or an embedding program) starts its applier from
    multiprocessing's fork server instead: a process of one thread, started once, that has
    imported the applier and forks each one from there. Like any multiprocessing start
    that is not a plain fork, it imports the caller's main module again in the child, so a
    program that embeds the worker needs the usual ``if __name__ == "__main__":`` guard
    (pytest, ``python -m`` and the ``passerelle`` script have one).
    """
    to_applier_r, to_applier = mp.Pipe(duplex=False)
    from_applier, from_applier_w = mp.Pipe(duplex=False)
    ends = (settings, to_applier_r, from_applier_w)
    if threading.active_count() > 1:
        ctx: Any = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["sync.applier"])
        # The child gets only its two ends; it names the worker for the fault points (its
        # parent is the fork server) and sets up the worker's logging, which it did not
        # inherit.
        args: tuple[Any, ...] = (*ends, (), os.getpid(), True)
    else:
        ctx = mp.get_context("fork")
        gc.freeze()
        args = (*ends, (to_applier, from_applier))
    process = ctx.Process(target=applier.main, args=args, name="passerelle-applier", daemon=True)
    process.start()
    # Our copies of the child's ends: closed, so that its death reads as EOF here.
    to_applier_r.close()
    from_applier_w.close()
    return Child(process, to_applier, from_applier)


def prefork(settings: Settings) -> None:
    """Fork the applier now, while the caller runs no thread (``passerelle run`` calls it
    before it starts its workers); the sync worker's ``Receiver`` takes it over."""
    _PREFORKED[str(settings.db_path)] = fork_applier(settings)


class Receiver:
    """Received messages to the applier, committed ones back to the broker as acks.

    ``fail(reason)`` is the worker's: it stops the worker and makes ``run`` raise.
    """

    def __init__(
        self,
        settings: Settings,
        client: mqtt.Client,
        counters: Counters,
        fail: Callable[[str], None],
    ) -> None:
        self.settings = settings
        self.client = client
        self.counters = counters
        self._fail = fail
        self.failed = False  # a part of the receiving side gave up
        self.prefix = settings.topic_prefix
        self.generation = 0  # bumped at each connection and loss: acks never cross connections
        self._gen_lock = threading.Lock()
        self._queue: queue.SimpleQueue[applier.Item | None] = queue.SimpleQueue()
        if isinstance(client, paho_client.Client):
            # What waits here for the forwarder: at most the window we ask the broker for,
            # whatever the broker sends past it (paho_client says why).
            client.hold(self._held, link.RECEIVE_MAXIMUM)
        self._status_topics = frozenset(
            contract.web_status_topics(self.prefix, settings.store_id).values()
        )
        self._stopping = False
        self._applier: Any = None  # multiprocessing's ForkProcess, taken by start()
        self._applier_ready = threading.Event()  # its Ready came: the forwarder may send
        self._forwarder = threading.Thread(
            target=self._supervised(self._forward_loop), name="sync-forward", daemon=True
        )
        self._acker = threading.Thread(
            target=self._supervised(self._ack_loop), name="sync-ack", daemon=True
        )

    def fail(self, reason: str) -> None:
        log.error("%s; stopping the sync worker", reason)
        self.failed = True
        self._fail(reason)

    def _supervised(self, loop: Callable[[], None]) -> Callable[[], None]:
        """A thread of the receiver: if it dies, the worker stops, ``run`` raises, and the
        runner exits non-zero so that systemd restarts the edge (never a sync that stalls
        silently with its forwarder or acknowledger gone)."""

        def guarded() -> None:
            try:
                loop()
            except BaseException:
                name = threading.current_thread().name
                log.exception("sync thread %s died; stopping the sync worker", name)
                self.fail(f"thread {name} died")

        return guarded

    def _held(self) -> int:
        """What waits for the forwarder, for the client's hold; nothing once stopping: the
        forwarder is gone then, and the shutdown still reads the PUBACKs of its last
        publishes (the offline status, the outbox rows in flight)."""
        return 0 if self._stopping else self._queue.qsize()

    # -- paho's network thread: no database work, never a wait --------------------------------

    def disconnected(self) -> None:
        """The connection is gone: from now on no ack of its messages is sent, not even on
        the next connection before its CONNACK (packet ids are the connection's)."""
        with self._gen_lock:
            self.generation += 1

    def connected(self, session_present: bool) -> None:
        """A new connection: later acks belong to it. Without a session (a new store, an
        expired session, a broker that lost it: RELIABILITY #4, #7) what was queued for us
        is gone, so the applier fetches everything after the last applied."""
        with self._gen_lock:
            self.generation += 1
        if not session_present:
            self._queue.put(applier.Item("resync", self.generation))

    def on_message(self, msg: mqtt.MQTTMessage) -> None:
        """Queue the message's bytes for the applier, and nothing else. What is held in
        memory is bounded twice: a QoS 1 message is acknowledged only after its commit, and
        the broker sends at most our Receive Maximum (MQTT 5; 3.1.1: its
        max_inflight_messages) of them unacknowledged (measured with Mosquitto 2.0: a resumed
        session of 20,000 queued events delivers exactly 100 to a client with Receive
        Maximum 100 that acks none); and since the broker sends past that window while
        acknowledgements flow, the client stops reading while this queue holds the window
        (``paho_client.Client.hold``)."""
        backlog = self._queue.qsize()
        if backlog > self.counters.max_backlog:
            self.counters.max_backlog = backlog
        topic = msg.topic
        kind = "status" if topic in self._status_topics else "event"
        self._queue.put(applier.Item(kind, self.generation, topic, msg.payload, msg.mid, msg.qos))

    # -- the applier process and the two threads ----------------------------------------------

    def start(self) -> None:
        """Take the applier ``prefork`` made, or fork one, without waiting for it.

        It opens its database and re-applies known dead letters before its Ready; meanwhile
        the worker connects and receives (at most Receive Maximum messages wait here), and
        the forwarder hands nothing over before that Ready. Nothing is acknowledged before
        the applier commits it, so connecting first changes nothing of what is applied or
        when it is acknowledged.
        """
        child = _PREFORKED.pop(str(self.settings.db_path), None)
        if child is None or not child.process.is_alive():
            child = fork_applier(self.settings)
        self._applier = child.process
        self._to_applier, self._from_applier = child.to_applier, child.from_applier
        self._acker.start()
        self._forwarder.start()

    @property
    def applier_pid(self) -> int | None:
        return self._applier.pid if self._applier is not None else None

    def _forward_loop(self) -> None:
        """Hand what paho received to the applier, many messages per pipe write.

        Each event is checked against the contract here first (``contract.conforms``): a valid
        one reaches the applier marked so, and the applier skips that check. Checking is a
        fifth of the work of applying an event, and this thread has a core that paho leaves
        mostly idle, where the applier's is the one a catch-up waits on (bench/, catch-up).
        """
        deadline = time.monotonic() + APPLIER_START_TIMEOUT
        while not self._applier_ready.wait(0.1):
            if self.failed:
                return
            if time.monotonic() > deadline:
                self.fail(f"the inbox applier did not start in {APPLIER_START_TIMEOUT:.0f} s")
                return
        prefix = self.prefix
        while True:
            items: list[applier.Item] = []
            limit = FIRST_FORWARD if self._queue.empty() else FORWARD_BATCH
            item = self._queue.get()
            while item is not None:
                if item.kind == "event" and contract.conforms(prefix, item.topic, item.payload):
                    item = item._replace(checked=True)
                items.append(item)
                if len(items) >= limit:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            try:
                if items:
                    self._to_applier.send(items)
                if item is None:
                    self._to_applier.send(None)
                    return
            except OSError:  # the applier is gone; unacknowledged messages come again
                return

    def _ack_loop(self) -> None:
        """Acknowledge what the applier committed, on the connection it came on."""
        while True:
            try:
                msg = self._from_applier.recv()
            except (EOFError, OSError):
                break
            if isinstance(msg, applier.Ready):
                self._applier_ready.set()
                continue
            if isinstance(msg, applier.Failed):
                self.fail(f"inbox applier: {msg.reason}")
                continue
            with self._gen_lock:
                generation = self.generation
            # A mid from an earlier connection may name another message now: never ack it;
            # the broker redelivers, and the inbox sees a duplicate.
            link.ack_many(
                self.client, [(mid, qos) for gen, mid, qos in msg.acks if gen == generation]
            )
            self.counters.received += msg.received
            self.counters.backfilled += msg.backfilled
            self.counters.inbox.add(msg.outcome)
            if msg.synced_at:
                self.counters.last_sync = msg.synced_at
        if not self._stopping:
            self.fail("the inbox applier stopped unexpectedly")

    def stop(self) -> None:
        """The applier commits what it holds and reports it; we acknowledge it, then go."""
        self._stopping = True
        self._queue.put(None)
        if self._applier is not None and not self._forwarder.is_alive():
            with contextlib.suppress(OSError, AttributeError):  # the forwarder died: tell it
                self._to_applier.send(None)
        if self._applier is not None:
            self._applier.join(timeout=15)
            if self._applier.is_alive():
                log.warning("the inbox applier did not stop in 15 s; terminating it")
                self._applier.terminate()
                self._applier.join(timeout=5)
        if self._acker.is_alive():
            self._acker.join(timeout=5)
