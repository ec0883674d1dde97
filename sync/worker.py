"""The sync worker: the one place where the store database meets MQTT.

Threads and one process, each with one job (STYLE.md, "A long-running MQTT service"):

- paho's network loop (``loop_start``): reads and writes sockets, reconnects with a backoff.
  Its callbacks do no database work: ``on_message`` only queues the message's bytes.
- the forwarder: checks each queued message against the contract and hands them to the inbox
  applier, many per pipe write.
- the inbox applier (``sync/applier.py``, a process of its own so that applying and receiving
  run on two cores): applies them in ``db.write`` transactions with their ``(source, id)``
  records and stream sequences, and fetches gaps from the backfill endpoint.
- the acknowledger: passes to paho (``client.ack``) the message ids the applier reports as
  committed, and only those.
- the caller's thread (``run``): publishes the outbox in sequence order and marks rows sent
  only after PUBACK, answers ``replay.requested``, keeps the retained status and the link
  state in ``sync_state`` fresh. HTTP workers never touch paho (RELIABILITY.md #3).

On stop (SIGTERM through the runner): the applier commits its batch, which is acknowledged,
the offline status is published, the client disconnects, the loop stops and the database
connection closes.
"""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing as mp
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import paho.mqtt.client as mqtt

from edge.config import Settings
from edge.store import db, faults, outbox, state
from edge.store.inbox import REPLAY_KEY
from sync import applier, contract, fleet
from sync import mqtt as link
from sync.consumer import Outcome
from sync.recovery import Recovery

log = logging.getLogger("passerelle.sync")

PUBLISH_BATCH = 1000  # at most paho's in-flight window: one commit (fsync) per 1000 acks
PUBACK_TIMEOUT = 10.0
IDLE_POLL = 0.005  # how often an idle publisher looks for a commit (see _outbox_changed)
STATUS_INTERVAL = 30.0  # the contract asks for at least every 60 s
LINK_STATE_INTERVAL = 5.0  # heartbeat for /readyz (a silent worker counts as down after 90 s)
# Messages per pipe write to the applier: one of its transactions' worth. The pipe holds one
# write, not two, so the applier finds one write waiting after each commit; with 500 a
# catch-up committed every 500 events and ran 7 % slower (bench/, catch-up).
FORWARD_BATCH = applier.WRITER_BATCH
APPLIER_START_TIMEOUT = 60.0
PUBLISH_ALERTS_KEY = "publish_alerts"  # sync_state: an up-event held or refused, for /readyz


@dataclass
class Counters:
    """Per-process counters, for logs and tests; durable numbers live in the database."""

    published: int = 0
    republished: int = 0
    received: int = 0
    inbox: Outcome = field(default_factory=Outcome)
    backfilled: int = 0
    max_backlog: int = 0  # most messages held for the applier at once (≤ Receive Maximum)


class SyncWorker:
    def __init__(self, settings: Settings, stop: threading.Event) -> None:
        self.settings = settings
        self.stop = stop
        self.prefix = settings.topic_prefix
        self.source = contract.up_source(settings.store_id)
        self.status_topics = contract.web_status_topics(self.prefix, settings.store_id)
        self.counters = Counters()
        self.connected = threading.Event()
        self.subscribed = threading.Event()  # SUBACK of this connection received
        self.failed = False  # the inbox applier gave up: run() raises after the shutdown
        self.refused: str | None = None  # the broker's last refusal (bad credentials, ...)
        self._generation = 0  # bumped at each (re)connection: acks never cross connections
        self._gen_lock = threading.Lock()
        self._announce = threading.Event()  # set by on_connect: publish status, write state
        self._queue: queue.SimpleQueue[applier.Item | None] = queue.SimpleQueue()
        self._last_sync: str | None = None
        self._stopping = False
        self.pub_conn = db.open_database(settings.db_path)
        self.client = link.make_client(settings)
        # paho's network thread is supervised through its callbacks: an exception in one
        # would end that thread silently (the link would read "connected" while dead)
        self.client.on_connect = self._guarded(self._on_connect)
        self.client.on_disconnect = self._guarded(self._on_disconnect)
        self.client.on_message = self._guarded(self._on_message)
        self.client.on_subscribe = self._guarded(self._on_subscribe)
        self.client.on_publish = self._guarded(self._on_publish)
        # mid -> reason: PUBACKs that carried an MQTT 5 failure code (RELIABILITY #13). paho
        # calls on_publish before it marks the message published, so a waiter that sees
        # is_published() also sees the refusal here.
        self._refused_mids: dict[int, str] = {}
        self._sub_refused: str | None = None
        self._sub_refused_at: str | None = None
        self._retry_at = 0.0  # after a refused or held publish: do not hammer the broker
        self._more = True  # look at the outbox at the next turn, whatever its data version
        self._data_version: int | None = None
        self._refusals = 0
        self.recovery = Recovery(settings, self.pub_conn)
        self._status_topic_set = frozenset(self.status_topics.values())
        self._own_status_topic = contract.edge_status_topic(self.prefix, settings.store_id)
        self._own_mid = -1  # the mid of our own status topic's SUBSCRIBE
        self._started_at = db.now_iso()
        self._applier: Any = None  # multiprocessing's SpawnProcess, started by run()
        self._applier_ready = threading.Event()  # its Ready came: the forwarder may send
        self._forwarder = threading.Thread(
            target=self._supervised(self._forward_loop), name="sync-forward", daemon=True
        )
        self._acker = threading.Thread(
            target=self._supervised(self._ack_loop), name="sync-ack", daemon=True
        )

    def _guarded(self, callback: Callable[..., None]) -> Callable[..., None]:
        """A paho callback that stops the worker (non-zero exit) instead of dying alone."""

        def guarded(*args: Any) -> None:
            try:
                callback(*args)
            except Exception:
                log.exception(
                    "MQTT callback %s failed; stopping the sync worker", callback.__name__
                )
                self.failed = True
                self.stop.set()

        return guarded

    def _supervised(self, loop: Callable[[], None]) -> Callable[[], None]:
        """A thread of this worker: if it dies, the worker stops, ``run`` raises, and the
        runner exits non-zero so that systemd restarts the edge (never a sync that stalls
        silently with its forwarder or acknowledger gone)."""

        def guarded() -> None:
            try:
                loop()
            except BaseException:
                log.exception(
                    "sync thread %s died; stopping the sync worker", threading.current_thread().name
                )
                self.failed = True
                self.stop.set()

        return guarded

    # -- paho callbacks (network thread: no database work, never a wait) ---------------------

    def _on_connect(
        self, client: mqtt.Client, _u: Any, flags: Any, reason_code: Any, _p: Any
    ) -> None:
        if reason_code.is_failure:
            self.refused = str(reason_code)
            log.warning("MQTT connection refused: %s", reason_code)
            return
        self.refused = None
        with self._gen_lock:
            self._generation += 1
        client.subscribe(self._filters())
        if not self.recovery.done:
            # Our own retained status (its last_sequence) tells a restored box how far it had
            # gone. Apart: an ACL that refuses it must not cost the down-streams.
            self._own_mid = client.subscribe(self._own_status_topic, 1)[1] or -1
        if not flags.session_present:
            # A new store, an expired session, or a broker that lost it (RELIABILITY #4, #7):
            # what was queued for us is gone, so fetch everything after the last applied.
            self._queue.put(applier.Item("resync", self._generation))
        log.info(
            "MQTT connected to %s:%s (session %s)",
            self.settings.mqtt_host,
            self.settings.mqtt_port,
            "resumed" if flags.session_present else "new",
        )
        self.connected.set()
        self._announce.set()

    def _filters(self) -> list[tuple[str, int]]:
        """The down-streams at QoS 1, then the online store's retained statuses at QoS 0: a
        status is the latest value, sent again at every SUBSCRIBE and every 30 s, so it needs
        no queue (on NATS a QoS 0 filter has no durable JetStream consumer behind it)."""
        down = contract.edge_down_filters(self.prefix, self.settings.store_id)
        return [*((f, 1) for f in down), *((t, 0) for t in self.status_topics.values())]

    def _on_subscribe(
        self, _c: mqtt.Client, _u: Any, _mid: int, reason_codes: list[Any], _p: Any
    ) -> None:
        """Trust a subscription only when every filter was granted at QoS 1 (RELIABILITY #13):
        a refused one (MQTT 5 code >= 0x80, 3.1.1's 0x80) or one downgraded to QoS 0 would
        lose down-events silently."""
        if _mid == self._own_mid:
            self.recovery.status_answered_at = time.monotonic()
            return
        # the down-streams must be granted QoS 1; the statuses are asked for at QoS 0
        bad = [str(rc) for rc in reason_codes if rc.is_failure]
        bad += [str(rc) for rc in reason_codes[:2] if not rc.is_failure and rc.value < 1]
        if bad:
            self._sub_refused = ", ".join(bad)
            self._sub_refused_at = db.now_iso()
            log.error("MQTT subscription refused by the broker: %s", self._sub_refused)
        else:
            self._sub_refused = self._sub_refused_at = None
            self.subscribed.set()
        self._announce.set()

    def _on_publish(self, _c: mqtt.Client, _u: Any, mid: int, reason_code: Any, _p: Any) -> None:
        if reason_code.is_failure:
            self._refused_mids[mid] = str(reason_code)

    def _on_disconnect(
        self, _c: mqtt.Client, _u: Any, _flags: Any, reason_code: Any, _p: Any
    ) -> None:
        if self.connected.is_set():
            log.warning("MQTT link down: %s", reason_code)
        self.connected.clear()
        self.subscribed.clear()
        self._announce.set()

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        """Queue the message's bytes for the applier, and nothing else: never a wait here
        (it would stall this thread's PUBACKs and pings). What is held in memory is bounded
        by the broker: a QoS 1 message is acknowledged only after its commit, and the broker
        sends at most our Receive Maximum (MQTT 5; 3.1.1: its max_inflight_messages) of them
        unacknowledged (measured with Mosquitto 2.0: a resumed session of 20,000 queued
        events delivers exactly 100 to a client with Receive Maximum 100 that acks none)."""
        # Routed here rather than by message_callback_add: no topic matching per message on
        # the catch-up path, where this thread's time is the budget.
        backlog = self._queue.qsize()
        if backlog > self.counters.max_backlog:
            self.counters.max_backlog = backlog
        topic = msg.topic
        if topic == self._own_status_topic:
            self.recovery.note_retained(msg.payload)
            if msg.qos:
                self.client.ack(msg.mid, msg.qos)
            return
        kind = "status" if topic in self._status_topic_set else "event"
        self._queue.put(applier.Item(kind, self._generation, topic, msg.payload, msg.mid, msg.qos))

    # -- the inbox applier (a process of its own: sync/applier.py) ----------------------------

    def _start_applier(self) -> None:
        """Spawn the applier without waiting for it.

        Its interpreter takes about a second to import what it needs; meanwhile this process
        connects and receives (at most Receive Maximum messages wait here), and the forwarder hands
        nothing over before the applier's Ready. Nothing is acknowledged before the applier
        commits it, so connecting first changes nothing of what is applied or when it is
        acknowledged; it takes that second off every restart's catch-up (bench/).
        """
        ctx = mp.get_context("spawn")  # never fork a process that runs threads
        to_applier_r, self._to_applier = ctx.Pipe(duplex=False)
        self._from_applier, from_applier_w = ctx.Pipe(duplex=False)
        self._applier = ctx.Process(
            target=applier.main,
            args=(self.settings, to_applier_r, from_applier_w),
            name="passerelle-applier",
            daemon=True,
        )
        self._applier.start()
        # Our copies of the child's ends: closed, so that its death reads as EOF here.
        to_applier_r.close()
        from_applier_w.close()
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
                log.error("the inbox applier did not start in %.0f s", APPLIER_START_TIMEOUT)
                self.failed = True
                self.stop.set()
                return
        prefix = self.prefix
        while True:
            items: list[applier.Item] = []
            item = self._queue.get()
            while item is not None:
                if item.kind == "event" and contract.conforms(prefix, item.topic, item.payload):
                    item = item._replace(checked=True)
                items.append(item)
                if len(items) >= FORWARD_BATCH:
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
                log.error("inbox applier: %s", msg.reason)
                self.failed = True
                self.stop.set()
                continue
            with self._gen_lock:
                generation = self._generation
            for gen, mid, qos in msg.acks:
                # A mid from an earlier connection may name another message now: never ack
                # it; the broker redelivers, and the inbox sees a duplicate.
                if gen == generation:
                    self.client.ack(mid, qos)
            self.counters.received += msg.received
            self.counters.backfilled += msg.backfilled
            self.counters.inbox.add(msg.outcome)
            if msg.synced_at:
                self._last_sync = msg.synced_at
        if not self._stopping:
            log.error("the inbox applier stopped unexpectedly")
            self.failed = True
            self.stop.set()

    # -- the publisher -----------------------------------------------------------------------

    def publish_some(self) -> int:
        """Publish one batch of the outbox (or of a replay); return how many were acked.

        Only after the store's own past is known (``Recovery``): a database restored from a
        backup must not number new events again from an old sequence. An event that breaks
        the contract is held, with an alert, and nothing after it goes out (the online store
        would wait for its number forever); a PUBACK with a failure reason code leaves its
        row unsent, to be retried after a pause, and is reported.
        """
        if not self.recovery.done or time.monotonic() < self._retry_at:
            return 0
        if not self._more and not self._outbox_changed():
            return 0  # nothing committed by anyone since we last looked: no query
        self._more = False
        conn = self.pub_conn
        replay = state.get(conn, REPLAY_KEY)
        if replay is not None:
            events = outbox.after(conn, self.source, int(replay), limit=PUBLISH_BATCH)
        else:
            events = outbox.unsent(conn, self.source, limit=PUBLISH_BATCH)
        if not events:
            if replay is not None:
                self._replay_done(int(replay), None)
            return 0
        infos: list[tuple[outbox.OutboxEvent, mqtt.MQTTMessageInfo]] = []
        held: tuple[outbox.OutboxEvent, str] | None = None
        for ev in events:
            if not self.connected.is_set() or self.stop.is_set():
                break
            envelope = ev.envelope()
            try:
                contract.validate(envelope)
            except contract.ContractError as exc:
                held = (ev, str(exc))
                break
            info = self.client.publish(
                contract.up_topic(self.prefix, self.settings.store_id, ev.type),
                orjson.dumps(envelope),  # compact UTF-8, as json.dumps(…) but 4× faster
                qos=1,
            )
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                break
            infos.append((ev, info))
        acked: list[int] = []
        refused: tuple[outbox.OutboxEvent, str] | None = None
        deadline = time.monotonic() + PUBACK_TIMEOUT
        for ev, info in infos:
            if not self._wait_puback(info, deadline):
                break
            reason = self._refused_mids.pop(info.mid, None)
            if reason is not None:
                refused = (ev, reason)
                break
            acked.append(ev.sequence)
        acked_at = db.now_iso()  # the PUBACKs are in: "sent" is now, whatever the write waits
        for _ev, info in infos[len(acked) :]:  # what a wait left behind: ask again later
            self._refused_mids.pop(info.mid, None)
        self._note_problems(held, refused)
        # more to do at once: a full batch, or what a refusal, a hold or a lost link left
        self._more = len(events) == PUBLISH_BATCH or len(acked) < len(events)
        if not acked:
            return 0
        faults.point("after_puback_before_mark")
        with db.write(conn):
            already = conn.execute(
                "SELECT COUNT(*) FROM outbox WHERE source = ? AND sequence BETWEEN ? AND ? "
                "AND sent_at IS NOT NULL",
                (self.source, acked[0], acked[-1]),
            ).fetchone()[0]
            outbox.mark_sent(conn, self.source, acked, acked_at)
        self.counters.published += len(acked) - already
        self.counters.republished += already
        self._last_sync = db.now_iso()
        if replay is not None:
            more = len(events) == PUBLISH_BATCH or held is not None or refused is not None
            self._replay_done(int(replay), acked[-1] if more else None)
        return len(acked)

    def _note_problems(
        self,
        held: tuple[outbox.OutboxEvent, str] | None,
        refused: tuple[outbox.OutboxEvent, str] | None,
    ) -> None:
        """Record (for /readyz, the metrics and ``passerelle sync status``) an up-event held
        for breaking the contract or refused by the broker; clear what is no longer true."""
        alerts: dict[str, Any] = {}
        if held is not None:
            ev, reason = held
            alerts["held"] = {"sequence": ev.sequence, "type": ev.type, "reason": reason}
            log.error(
                "up-event %s #%d held: it breaks the contract: %s", ev.type, ev.sequence, reason
            )
        if refused is not None:
            ev, reason = refused
            self._refusals += 1
            alerts["refused"] = {
                "sequence": ev.sequence,
                "type": ev.type,
                "reason": reason,
                "count": self._refusals,
            }
            log.error(
                "broker refused up-event %s #%d: %s; retried later", ev.type, ev.sequence, reason
            )
        else:
            self._refusals = 0
        if alerts:
            self._retry_at = time.monotonic() + min(60.0, 2.0 ** min(self._refusals, 6))
        previous = state.get(self.pub_conn, PUBLISH_ALERTS_KEY)
        if alerts or previous:
            with db.write(self.pub_conn) as conn:
                if alerts:
                    state.put(conn, PUBLISH_ALERTS_KEY, {**alerts, "at": db.now_iso()})
                else:
                    conn.execute("DELETE FROM sync_state WHERE key = ?", (PUBLISH_ALERTS_KEY,))

    def _outbox_changed(self) -> bool:
        """Did any other connection commit since the last look (``PRAGMA data_version``)?

        The API writes the outbox from other processes, which cannot wake this thread. A
        look at the data version costs microseconds and touches no table, so the idle
        publisher looks every IDLE_POLL (5 ms) and queries the outbox only after a commit:
        a sale reaches the broker within milliseconds, not within a 100 ms poll."""
        version = self.pub_conn.execute("PRAGMA data_version").fetchone()[0]
        changed = version != self._data_version
        self._data_version = version
        return bool(changed)

    def _wait_puback(self, info: mqtt.MQTTMessageInfo, deadline: float) -> bool:
        while not info.is_published():
            if not self.connected.is_set() or time.monotonic() > deadline:
                return False
            try:
                info.wait_for_publish(0.2)
            except (RuntimeError, ValueError):
                return False
        return True

    def _replay_done(self, requested: int, continue_after: int | None) -> None:
        """Move the replay cursor on, or clear it, unless a lower request came meanwhile."""
        with db.write(self.pub_conn) as conn:
            current = state.get(conn, REPLAY_KEY)
            if current is None or int(current) != requested:
                return
            if continue_after is None:
                conn.execute("DELETE FROM sync_state WHERE key = ?", (REPLAY_KEY,))
                log.info("replay after %d done", requested)
            else:
                state.put(conn, REPLAY_KEY, continue_after)

    # -- status and link state ----------------------------------------------------------------

    def last_published(self) -> int:
        """The sequence up to which every up-event was acknowledged by the broker."""
        row = self.pub_conn.execute(
            "SELECT MIN(sequence) FROM outbox WHERE source = ? AND sent_at IS NULL", (self.source,)
        ).fetchone()
        if row[0] is not None:
            return int(row[0]) - 1
        return outbox.last_sequence(self.pub_conn, self.source)

    def publish_status(self, online: bool, wait: float = 0.0) -> None:
        now = db.now_iso()
        last = self.last_published()
        link.set_will(self.client, self.settings, last, now)
        info = self.client.publish(
            contract.edge_status_topic(self.prefix, self.settings.store_id),
            json.dumps(
                contract.status_payload(online, last, now)
                | fleet.status_extras(self.pub_conn, self.settings.store_id)
            ),
            qos=1,
            retain=True,
        )
        if wait and info.rc == mqtt.MQTT_ERR_SUCCESS:
            self._wait_puback(info, time.monotonic() + wait)

    def write_link_state(self) -> None:
        with db.write(self.pub_conn) as conn:
            previous = state.get(conn, "link") or {}
            connected = self.connected.is_set()
            down_since = None
            if not connected:
                down_since = (
                    previous.get("down_since")
                    if not previous.get("connected") and previous.get("down_since")
                    else db.now_iso()
                )
            state.put(
                conn,
                "link",
                {
                    "connected": connected,
                    "down_since": down_since,
                    "heartbeat_at": db.now_iso(),
                    "last_sync_at": self._last_sync or previous.get("last_sync_at"),
                    "broker": f"{self.settings.mqtt_host}:{self.settings.mqtt_port}",
                    # for state.link's judgement of "reachable" (CONTRACT.md 1.1)
                    "status_max_age": self.settings.online_status_max_age,
                    "behind_grace": self.settings.stream_behind_grace,
                    "started_at": self._started_at,
                    "subscribed": self._sub_refused is None,
                    "subscribe_refused_at": self._sub_refused_at,
                    "recovered": self.recovery.done,
                },
            )

    # -- life cycle ---------------------------------------------------------------------------

    def run(self) -> None:
        self._start_applier()  # first: its start-up overlaps ours
        next_status = next_state = 0.0
        try:
            link.set_will(self.client, self.settings, self.last_published(), db.now_iso())
            self.write_link_state()
            link.connect(self.client, self.settings)
            self.client.loop_start()
            while not self.stop.is_set():
                now = time.monotonic()
                if not self.recovery.done and self.recovery.step(self.connected.is_set()):
                    self._announce.set()  # now our status may say how far we are
                if self._announce.is_set():
                    self._announce.clear()
                    self._more = True  # (re)connected: what is unsent goes out now
                    if self.connected.is_set() and self.recovery.done:
                        self.publish_status(True)
                        next_status = now + STATUS_INTERVAL
                    self.write_link_state()
                    next_state = now + LINK_STATE_INTERVAL
                if self._sub_refused and self.connected.is_set() and now >= self._retry_at:
                    self._retry_at = now + 30.0  # the broker may be fixed: ask again
                    self.client.subscribe(self._filters())
                if self.connected.is_set() and self.recovery.done and now >= next_status:
                    self.publish_status(True)
                    next_status = now + STATUS_INTERVAL
                if now >= next_state:
                    self.write_link_state()
                    next_state = now + LINK_STATE_INTERVAL
                sent = self.publish_some() if self.connected.is_set() else 0
                if not sent:
                    self.stop.wait(IDLE_POLL)
        finally:
            self.shutdown()
        if self.failed:
            raise RuntimeError("a part of the sync worker stopped; see the log above")

    def shutdown(self) -> None:
        # The applier commits what it holds and reports it; we acknowledge it, then go.
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
        if self.connected.is_set() and self.recovery.done:
            self.publish_status(False, wait=2.0)
        self.connected.clear()
        self.client.disconnect()
        self.client.loop_stop()
        try:
            self.write_link_state()
        except sqlite3.Error:
            log.exception("could not record the link as down")
        self.pub_conn.close()
        log.info(
            "sync stopped: %d published, %d received, %d applied, %d backfilled",
            self.counters.published,
            self.counters.received,
            self.counters.inbox.applied,
            self.counters.backfilled,
        )


def run(settings: Settings, stop_event: threading.Event) -> None:
    """Entry point of the runner (``sync.worker:run``): sync until ``stop_event`` is set."""
    SyncWorker(settings, stop_event).run()
