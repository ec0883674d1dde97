"""The online-store side, assembled: its database, its MQTT link and one worker thread.

Threads, and who touches what (RELIABILITY.md #3: no thread but the worker drives paho's
publishing, and paho's callbacks do no database work):

- paho's network thread only puts what arrives (messages, PUBACKs, "connected") on a queue;
- the worker applies incoming messages in one write transaction per batch and acknowledges
  them only after the commit (``manual_ack``: a crash before the commit means the broker
  delivers again, and the ``(source, id)`` record makes that harmless); it publishes the
  stored events in order, marking each published only on its PUBACK; it keeps the retained
  status fresh and asks stores for replays when their up-stream is behind;
- web requests and the programmatic API write the shop's tables and the events in their own
  short transactions, then wake the worker.

Several instances may share one database and one shared subscription
(``$share/online/...``): the broker gives each up-event to one of them, the database keeps
the per-store sequence, and a lease lets exactly one instance publish at a time.

The class is put together from three parts, each in its own module: ``link`` (the MQTT
client, its subscriptions and callbacks), ``publisher`` (the lease, the events and statuses
it sends) and ``api`` (the shop's calls); this module holds the lifecycle and the worker.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter
from typing import Any

import paho.mqtt.client as mqtt
from werkzeug.serving import BaseWSGIServer, make_server

from online_store import campaign_demo, consumer, db, demo, shop, streams
from online_store.api import ShopApi
from online_store.desk import CampaignDesk
from online_store.dispatch import Dispatcher, Outreach
from online_store.link import (  # re-exported: the module's names before it was split
    SESSION_EXPIRY,
    SHARE_GROUP,
    SUBSCRIBE_CHUNK,
    MqttLink,
    parse_mqtt_url,
)
from online_store.publisher import PUBLISH_WINDOW, STATUS_WINDOW, Publisher
from sync import contract

__all__ = [
    "PUBLISH_WINDOW",
    "SESSION_EXPIRY",
    "SHARE_GROUP",
    "STATUS_WINDOW",
    "SUBSCRIBE_CHUNK",
    "OnlineStore",
    "parse_mqtt_url",
]

log = logging.getLogger("passerelle.online_store")


class OnlineStore(ShopApi, MqttLink, Publisher):
    """The reference online store: ``start()``, use it, ``stop()``.

    ``stores`` are the store ids it serves (it publishes a down-stream and a status for each
    and accepts up-events only from them). ``instance`` names this instance (its MQTT client
    id is ``passerelle-online-{instance}``): give each instance on one broker its own.
    ``demo_data`` adds the demo members and their history (the same as the store's demo).
    """

    def __init__(
        self,
        db_path: str,
        mqtt_url: str,
        prefix: str = contract.DEFAULT_PREFIX,
        stores: list[str] | tuple[str, ...] = ("S001",),
        token: str = "",
        *,
        instance: str = "1",
        gap_grace: float = 2.0,
        replay_retry: float = 30.0,
        status_interval: float = 30.0,
        lease_seconds: float = 15.0,
        demo_data: bool = False,
        protocol: str = "5",
        consume: list[str] | None = None,
        outreach: Outreach | None = None,
    ) -> None:
        for store_id in stores:
            if not contract.STORE_ID_RE.match(store_id):
                raise ValueError(f"store id {store_id!r} does not match [A-Za-z0-9_-]{{1,32}}")
        self.db_path = str(db_path)
        self.prefix = prefix.strip("/")
        self.stores = list(stores)
        self.token = token
        self.instance = instance
        self.client_id = f"passerelle-online-{instance}"
        self.gap_grace, self.replay_retry = gap_grace, replay_retry
        self.status_interval, self.lease_seconds = status_interval, lease_seconds
        self.demo_data = demo_data
        # MQTT 5: every instance joins one shared subscription and the broker spreads the
        # up-events. 3.1.1 has no shared subscriptions (NATS speaks only 3.1.1): each instance
        # then subscribes to the up-streams of its own ``consume`` stores (a partition), the
        # per-store order needs no more than that. See docs (chain.md).
        if protocol not in ("5", "3.1.1"):
            raise ValueError(f"MQTT protocol {protocol!r}: expected 5 or 3.1.1")
        self.protocol = protocol
        self.consume = list(stores) if consume is None else list(consume)
        self._consume_set, self._store_set = set(self.consume), set(self.stores)
        # Several brokers of one cluster, comma-separated: the next is tried when one is lost.
        brokers = [parse_mqtt_url(u.strip()) for u in mqtt_url.split(",") if u.strip()]
        if not brokers:
            raise ValueError("--mqtt-url: at least one mqtt://host:port")
        self.host, self.port, self.tls, self.username, self.password = brokers[0]
        self._brokers = [(b[0], b[1]) for b in brokers]
        self._sub_lock = threading.Lock()
        self._subscribing: dict[int, list[tuple[str, int]]] = {}  # SUBSCRIBE mid → filters
        self._resubscribe: list[tuple[float, list[tuple[str, int]]]] = []  # (when, filters)
        self._retry = 1.0
        self._to_subscribe: list[tuple[str, int]] = []  # filters not yet asked for (chunks)
        self._attempts = 0
        self.stats: Counter[str] = Counter()  # what became of each incoming message
        self._conn = db.connect(self.db_path)  # the worker's own connection
        db.create_schema(self._conn)
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._inflight: dict[int, tuple[int, float]] = {}  # paho mid → (event rowid, sent at)
        self._inflight_rows: set[int] = set()
        self._lease_until = 0.0
        self._status_at = 0.0
        self._status_backlog: list[str] = []  # sources whose online status is to be published
        self._status_window: list[mqtt.MQTTMessageInfo] = []  # published, PUBACK awaited
        self._worker: threading.Thread | None = None
        self._server: BaseWSGIServer | None = None
        self._server_thread: threading.Thread | None = None
        self.client = self._make_client()
        # Issue 22: e-mail over SMTP, SMS through a gateway, campaigns (``store.campaigns``).
        self.outreach = outreach or Outreach()
        self.dispatcher = Dispatcher(self.db_path, self.outreach)
        self.campaigns = CampaignDesk(self)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> OnlineStore:
        with db.write(self._conn):
            shop.publish_catalogue(self._conn)
            if self.demo_data:
                demo.seed(self._conn)
                campaign_demo.seed(self._conn)
        self._connect_async()
        self.client.loop_start()
        self._worker = threading.Thread(target=self._run, name="online-store", daemon=True)
        self._worker.start()
        self.dispatcher.start()
        return self

    def stop(self) -> None:
        """Stop serving, finish the worker, say we are offline (if we published), disconnect.
        Calling it again does nothing."""
        if self._stop.is_set():
            return
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            if self._server_thread:
                self._server_thread.join(timeout=5)
            self._server = None
        self._stop.set()
        self.dispatcher.stop()
        if self._worker is not None:
            self._worker.join(timeout=10)
        if self._lease_until > time.time() and self._connected.is_set():
            for info in self._publish_status(online=False):
                info.wait_for_publish(timeout=2)
            with db.write(self._conn):
                self._conn.execute(
                    "DELETE FROM leases WHERE name = 'publisher' AND holder = ?", (self.client_id,)
                )
        self.client.disconnect()
        self.client.loop_stop()
        self._conn.close()

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve the web pages and the backfill endpoint in a thread; returns the base URL."""
        from online_store.web import create_app

        self._server = make_server(host, port, create_app(self), threaded=True)
        self._server_thread = threading.Thread(
            target=self._server.serve_forever, name="online-store-http", daemon=True
        )
        self._server_thread.start()
        return f"http://{host}:{self._server.server_port}"

    # -- the worker --------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._drain()
                if self._connected.is_set():
                    self._tick(time.time())
            except Exception:  # the worker must outlive any one bad moment
                log.exception("online-store worker")
                self._stop.wait(1)

    def _drain(self) -> None:
        """Take what the network thread handed over (waiting a little if nothing) and do it."""
        try:
            items = [self._queue.get(timeout=0.2)]
        except queue.Empty:
            return
        while len(items) < 500:
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                break
        messages = [m for kind, m in items if kind == "message"]
        acked = [
            self._inflight.pop(m) for kind, m in items if kind == "puback" and m in self._inflight
        ]
        if any(kind == "connected" for kind, _ in items):
            self._status_at = 0.0  # publish the status now
            self._status_window = []  # a new connection: what the last one awaited is moot
        if acked:  # the broker has them: mark them sent (first: cheap, and never lost)
            rowids = [rowid for rowid, _ in acked]
            try:
                with db.write(self._conn):
                    streams.mark_published(self._conn, rowids)
            finally:  # if that failed they are sent again: consumers dedupe
                self._inflight_rows.difference_update(rowids)
        if messages:
            try:
                self._apply_batch(messages)
            except Exception:
                # Not acknowledged: keep them for the next round rather than wait for the
                # broker, which only redelivers on a reconnect.
                for msg in messages:
                    self._queue.put(("message", msg))
                raise

    def _apply_batch(self, messages: list[mqtt.MQTTMessage]) -> None:
        """Apply a batch in one transaction (a savepoint each), then acknowledge it."""
        now, outcomes = time.time(), []
        with db.write(self._conn):
            for msg in messages:
                self._conn.execute("SAVEPOINT message")
                try:
                    outcomes.append(self._handle(msg, now))
                except Exception as exc:  # a bug must not stall the stream: park the message
                    log.exception("applying %s", msg.topic)
                    self._conn.execute("ROLLBACK TO message")
                    consumer.dead_letter(self._conn, msg.topic, bytes(msg.payload), repr(exc))
                    outcomes.append("dead")
                self._conn.execute("RELEASE message")
        for msg in messages:  # only now, after the commit
            if msg.qos:
                self.client.ack(msg.mid, msg.qos)
        self.stats.update(outcomes)

    def _handle(self, msg: mqtt.MQTTMessage, now: float) -> str:
        status_prefix = f"{self.prefix}/status/"
        if msg.topic.startswith(status_prefix + "stores/"):
            store_id = msg.topic.rsplit("/", 1)[1]
            return consumer.handle_status(
                self._conn, self.stores, store_id, bytes(msg.payload), now
            )
        if msg.topic.startswith(status_prefix + "web/"):
            # Another instance's last will may have marked our streams offline: re-assert.
            try:
                offline = contract.parse(msg.payload).get("online") is False
            except contract.ContractError:
                offline = False
            if offline and self._lease_until > now and not self._stop.is_set():
                self._status_at = 0.0
            return "status"
        if not self._mine(msg.topic):
            return "other"  # another instance's partition: its own session has it too
        return consumer.handle_up(
            self._conn, self.prefix, self.stores, msg.topic, bytes(msg.payload), now
        )

    def _mine(self, topic: str) -> bool:
        """Whether this instance applies an up-event on ``topic`` (3.1.1: its partition).

        A store of no partition is dead-lettered once, by the instance that consumes the
        first store (every instance receives it on the one up filter)."""
        if self.protocol == "5":
            return True
        parts = topic[len(self.prefix) + 1 :].split("/", 2)
        store_id = parts[1] if len(parts) > 1 else ""
        if store_id in self._consume_set:
            return True
        return store_id not in self._store_set and self.stores[:1] == self.consume[:1]

    def _tick(self, now: float) -> None:
        self._subscribe_step(now)
        if self._holds_lease(now):
            self._publish_pending(now)
            if now - self._status_at >= self.status_interval:
                self._status_backlog = [streams.CHAIN] + [
                    contract.store_down_source(s) for s in self.stores
                ]
                self._status_at = now
            self._status_step()
        due = consumer.replays_due(self._conn, now, self.gap_grace, self.replay_retry)
        if due:
            with db.write(self._conn):
                for store_id, after in consumer.replays_due(
                    self._conn, now, self.gap_grace, self.replay_retry
                ):
                    log.info("store %s is behind after %s: replay requested", store_id, after)
                    consumer.request_replay(self._conn, store_id, after, now)
