"""The sync worker: the one place where the store database meets MQTT.

It is three parts, each in its own module, around one paho client:

- the publisher (``sync/publisher.py``): the outbox in sequence order, marked sent only after
  a successful PUBACK, and the retained status; on the caller's thread (``run``);
- the receiver (``sync/receiver.py``): what paho receives, handed to the inbox applier
  (``sync/applier.py``), and acknowledged only after the applier committed it;
- this module: the connection's life (paho's callbacks), the subscriptions and their SUBACKs,
  the link state that ``/readyz`` and the offline policy read, and the main loop.

paho's network loop (``loop_start``) reads and writes sockets and reconnects with a backoff;
its callbacks do no database work and never wait. HTTP workers never touch paho
(RELIABILITY.md #3): they write the outbox, and this worker publishes it.

On stop (SIGTERM through the runner): the applier commits its batch, which is acknowledged,
the offline status is published, the client disconnects, the loop stops and the database
connection closes.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt

from edge.config import Settings
from edge.store import db, state
from sync import contract, receiver
from sync import mqtt as link
from sync.marks import try_write
from sync.publisher import PUBLISH_ALERTS_KEY, Counters, Publisher
from sync.receiver import Receiver
from sync.recovery import Recovery
from sync.subscriptions import Subscriptions

__all__ = ["LINK_STATE_INTERVAL", "PUBLISH_ALERTS_KEY", "SyncWorker", "prefork", "run"]

log = logging.getLogger("passerelle.sync")

IDLE_POLL = 0.005  # how often an idle publisher looks for a commit (Publisher._outbox_changed)
STATUS_INTERVAL = 30.0  # the contract asks for at least every 60 s
LINK_STATE_INTERVAL = 5.0  # heartbeat for /readyz (a silent worker counts as down after 90 s)
LINK_STATE_FORCE = 30.0  # past this without a heartbeat written, wait for the write lock


class SyncWorker:
    def __init__(self, settings: Settings, stop: threading.Event) -> None:
        self.settings = settings
        self.stop = stop
        self.prefix = settings.topic_prefix
        self.status_topics = contract.web_status_topics(self.prefix, settings.store_id)
        self.counters = Counters()
        self.connected = threading.Event()
        self.subscribed = threading.Event()  # SUBACK of this connection received
        self.failed = False  # a part gave up: run() raises after the shutdown
        self.failure: str | None = None  # what gave up first
        self.refused: str | None = None  # the broker's last refusal (bad credentials, ...)
        self._announce = threading.Event()  # set by on_connect: publish status, write state
        self.pub_conn = db.open_database(settings.db_path)
        self.client = link.make_client(settings)
        self.recovery = Recovery(settings, self.pub_conn)
        self.publisher = Publisher(
            settings,
            self.client,
            self.pub_conn,
            self.recovery,
            self.connected,
            stop,
            self.counters,
        )
        self.receiver = Receiver(settings, self.client, self.counters, self._fail)
        # paho's network thread is supervised through its callbacks: an exception in one
        # would end that thread silently (the link would read "connected" while dead)
        self.client.on_connect = self._guarded(self._on_connect)
        self.client.on_disconnect = self._guarded(self._on_disconnect)
        self.client.on_message = self._guarded(self._on_message)
        self.client.on_subscribe = self._guarded(self._on_subscribe)
        self.client.on_publish = self._guarded(self.publisher.on_publish)
        self._sub_lock = threading.Lock()
        # The down-streams at QoS 1; the online store's retained statuses at QoS 0: a status is
        # the latest value, sent again at every SUBSCRIBE and every 30 s, so it needs no queue
        # (and on NATS a QoS 0 filter has no durable JetStream consumer behind it: chain.md).
        self.subscriptions = Subscriptions(
            {
                **{f: 1 for f in contract.edge_down_filters(self.prefix, settings.store_id)},
                **{t: 0 for t in self.status_topics.values()},
            }
        )
        self._own_status_topic = contract.edge_status_topic(self.prefix, settings.store_id)
        self._own_mid = -1  # the mid of our own status topic's SUBSCRIBE
        self._started_at = db.now_iso()
        self._link_written = 0.0

    @property
    def applier_pid(self) -> int | None:
        return self.receiver.applier_pid

    def _fail(self, reason: str) -> None:
        """A part of the worker gave up: stop, and make ``run`` raise (non-zero exit)."""
        self.failure = self.failure or reason  # the first one: the others follow from it
        self.failed = True
        self.stop.set()

    def _guarded(self, callback: Callable[..., None]) -> Callable[..., None]:
        """A paho callback that stops the worker (non-zero exit) instead of dying alone."""

        def guarded(*args: Any) -> None:
            try:
                callback(*args)
            except Exception:
                log.exception(
                    "MQTT callback %s failed; stopping the sync worker", callback.__name__
                )
                self._fail(f"callback {callback.__name__}")

        return guarded

    # -- paho callbacks (network thread: no database work, never a wait) ---------------------

    def _subscribe(self, filters: list[str]) -> None:
        """Ask for ``filters`` at their QoS; their SUBACK is checked (``_on_subscribe``). Under
        ``_sub_lock``: from the worker's thread, the SUBACK may be handled by paho's before
        ``subscribe`` returns its mid (paho never holds a lock of ours while it sends)."""
        with self._sub_lock:
            rc, mid = self.client.subscribe([(f, self.subscriptions.qos[f]) for f in filters])
            if rc == mqtt.MQTT_ERR_SUCCESS:
                self.subscriptions.asked(mid, filters)

    def _on_connect(
        self, client: mqtt.Client, _u: Any, flags: Any, reason_code: Any, _p: Any
    ) -> None:
        if reason_code.is_failure:
            self.refused = str(reason_code)
            log.warning("MQTT connection refused: %s", reason_code)
            return
        self.refused = None
        link.accepted(client)
        self.receiver.connected(bool(flags.session_present))
        self.subscriptions.reset()
        self._subscribe(self.subscriptions.filters)
        if not self.recovery.done:
            # Our own retained status (its last_sequence) tells a restored box how far it had
            # gone. Apart: an ACL that refuses it must not cost the down-streams.
            self._own_mid = client.subscribe(self._own_status_topic, 1)[1] or -1
        log.info(
            "MQTT connected to %s:%s (session %s)",
            self.settings.mqtt_host,
            self.settings.mqtt_port,
            "resumed" if flags.session_present else "new",
        )
        self.connected.set()
        self._announce.set()

    def _on_subscribe(
        self, _c: mqtt.Client, _u: Any, _mid: int, reason_codes: list[Any], _p: Any
    ) -> None:
        """Trust the subscriptions only when every filter was granted at its QoS (RELIABILITY
        #13, ``sync/subscriptions.py``): a refused one is reported and asked for again."""
        if _mid == self._own_mid:
            self.recovery.status_answered_at = time.monotonic()
            return
        with self._sub_lock:
            if not self.subscriptions.knows(_mid):
                return
            granted = self.subscriptions.on_suback(_mid, reason_codes)
        if granted:
            self.subscribed.set()
        else:
            self.subscribed.clear()
        self._announce.set()

    def _on_disconnect(
        self, _c: mqtt.Client, _u: Any, _flags: Any, reason_code: Any, _p: Any
    ) -> None:
        if self.connected.is_set():
            log.warning("MQTT link down: %s", reason_code)
        self.receiver.disconnected()
        self.connected.clear()
        self.subscribed.clear()
        self._announce.set()

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        # Routed here rather than by message_callback_add: no topic matching per message on
        # the catch-up path, where this thread's time is the budget.
        if msg.topic == self._own_status_topic:
            self.recovery.note_retained(msg.payload)
            if msg.qos:
                self.client.ack(msg.mid, msg.qos)
            return
        self.receiver.on_message(msg)

    # -- link state ---------------------------------------------------------------------------

    def write_link_state(self, *, wait: bool = True) -> bool:
        """The link as ``state.link`` reads it. Not waiting (the main loop): only if the
        write lock is free now, else False and the loop tries again at its next turn, so
        that a heartbeat never holds the publisher behind the tills (``try_write``); past
        LINK_STATE_FORCE without one, it waits (a silent worker counts as down at 90 s)."""
        if not wait and time.monotonic() - self._link_written < LINK_STATE_FORCE:
            if not try_write(self.pub_conn, self._write_link):
                return False
        else:
            with db.write(self.pub_conn) as conn:
                self._write_link(conn)
        self._link_written = time.monotonic()
        return True

    def _write_link(self, conn: sqlite3.Connection) -> None:
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
                "last_sync_at": self.counters.last_sync or previous.get("last_sync_at"),
                "broker": f"{self.settings.mqtt_host}:{self.settings.mqtt_port}",
                # for state.link's judgement of "reachable" (CONTRACT.md 1.1)
                "status_max_age": self.settings.online_status_max_age,
                "behind_grace": self.settings.stream_behind_grace,
                "started_at": self._started_at,
                "subscribed": not self.subscriptions.refused,
                "subscribe_refused_at": self.subscriptions.refused_since,
                "subscriptions_refused": dict(self.subscriptions.refused),
                "recovered": self.recovery.done,
            },
        )

    # -- life cycle ---------------------------------------------------------------------------

    def run(self) -> None:
        self.receiver.start()  # first: the applier's start-up overlaps ours
        publisher = self.publisher
        next_status = next_state = 0.0
        try:
            link.set_will(self.client, self.settings, publisher.last_published(), db.now_iso())
            self.write_link_state()
            link.connect(self.client, self.settings)
            self.client.loop_start()
            while not self.stop.is_set():
                now = time.monotonic()
                if not self.recovery.done and self.recovery.step(self.connected.is_set()):
                    self._announce.set()  # now our status may say how far we are
                if self._announce.is_set():
                    self._announce.clear()
                    publisher.more = True  # (re)connected: what is unsent goes out now
                    if self.connected.is_set() and self.recovery.done:
                        publisher.publish_status(True)
                        next_status = now + STATUS_INTERVAL
                    if self.write_link_state(wait=False):
                        next_state = now + LINK_STATE_INTERVAL
                    else:
                        next_state = now  # the write lock was taken: at the next turn
                again = self.subscriptions.due(now) if self.connected.is_set() else []
                if again:  # the broker's ACL may have been fixed: ask again (with a back-off)
                    self._subscribe(again)
                if self.connected.is_set() and self.recovery.done and now >= next_status:
                    publisher.publish_status(True)
                    next_status = now + STATUS_INTERVAL
                if now >= next_state and self.write_link_state(wait=False):
                    next_state = now + LINK_STATE_INTERVAL
                sent = publisher.publish_some() if self.connected.is_set() else 0
                if (
                    self.connected.is_set()
                    and self.recovery.done
                    and publisher.status_behind(time.monotonic())
                ):  # the status follows the stream (publisher.STATUS_FOLLOW says why)
                    publisher.publish_status(True)
                    next_status = time.monotonic() + STATUS_INTERVAL
                if not sent:
                    publisher.idle(IDLE_POLL)
        finally:
            self.shutdown()
        if self.failed:
            raise RuntimeError(f"the sync worker stopped: {self.failure}; see the log above")

    def shutdown(self) -> None:
        self.receiver.stop()  # what the applier committed is acknowledged before we go
        try:
            self.publisher.publish_some()  # the PUBACKs that came meanwhile count
            self.publisher.mark_sent(wait=True)
        except sqlite3.Error:  # sent again at the next start: the online store dedupes
            log.exception("could not mark the acknowledged up-events sent")
        if self.connected.is_set() and self.recovery.done:
            self.publisher.publish_status(False, wait=2.0)
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


def prefork(settings: Settings) -> None:
    """The runner's hook, called before it starts any thread: fork the inbox applier now
    (``sync.receiver.fork_applier`` says why)."""
    receiver.prefork(settings)
