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
"""

from __future__ import annotations

import json
import logging
import queue
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote, urlparse

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from werkzeug.serving import BaseWSGIServer, make_server

from online_store import (
    campaign_demo,
    checkout,
    consumer,
    coupons,
    db,
    demo,
    orders,
    returns,
    shop,
    streams,
)
from online_store.desk import CampaignDesk
from online_store.dispatch import Dispatcher, Outreach
from sync import contract

log = logging.getLogger("passerelle.online_store")

SESSION_EXPIRY = 7 * 24 * 3600
SHARE_GROUP = "online"
STATUS_WINDOW = 50  # retained statuses in flight at once (see _status_step)
SUBSCRIBE_CHUNK = 20  # filters per SUBSCRIBE (see _on_connect)
PUBLISH_WINDOW = 100  # events awaiting their PUBACK at once (see _publish_pending)


def parse_mqtt_url(url: str) -> tuple[str, int, bool, str | None, str | None]:
    """``mqtt[s]://[user:password@]host[:port]`` → host, port, tls, username, password."""
    u = urlparse(url)
    if u.scheme not in ("mqtt", "mqtts") or not u.hostname:
        raise ValueError(f"--mqtt-url {url!r}: expected mqtt://host:port or mqtts://host:port")
    tls = u.scheme == "mqtts"
    user = unquote(u.username) if u.username else None
    password = unquote(u.password) if u.password else None
    return u.hostname, u.port or (8883 if tls else 1883), tls, user, password


class OnlineStore:
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
        # Several brokers of one cluster, comma-separated: the next is tried when one is lost.
        brokers = [parse_mqtt_url(u.strip()) for u in mqtt_url.split(",") if u.strip()]
        if not brokers:
            raise ValueError("--mqtt-url: at least one mqtt://host:port")
        self.host, self.port, self.tls, self.username, self.password = brokers[0]
        self._brokers = [(b[0], b[1]) for b in brokers]
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
        if self.protocol == "5":
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = SESSION_EXPIRY
            # clean_start=False: the shared subscription's messages queue while we are away.
            self.client.connect_async(
                self.host, self.port, keepalive=30, clean_start=False, properties=props
            )
        else:  # 3.1.1: clean_session=False (given to the Client) keeps the session
            self.client.connect_async(self.host, self.port, keepalive=30)
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

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def subscribed(self) -> bool:
        """Connected, and every filter granted by the broker (no SUBACK pending or refused)."""
        return (
            self.connected
            and not self._subscribing
            and not self._resubscribe
            and not self._to_subscribe
        )

    # -- the programmatic API (the web pages call the same) --------------------------------

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """A short-lived connection for one call (web threads come and go)."""
        conn = db.connect(self.db_path)
        try:
            yield conn
        finally:
            conn.close()

    def _change(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Run one shop change in a write transaction, then wake the publisher."""
        with self.connection() as conn, db.write(conn):
            result = fn(conn, *args, **kwargs)
        self._queue.put(("wake", None))
        return result

    def upsert_customer(self, customer_id: str | None = None, **fields: Any) -> dict[str, Any]:
        result: dict[str, Any] = self._change(shop.upsert_customer, fields, customer_id)
        return result

    def place_order(
        self,
        customer_id: str,
        store_id: str,
        lines: dict[str, int],
        *,
        paid: bool = True,
        coupon_code: str | None = None,
    ) -> dict[str, Any]:
        result: dict[str, Any] = self._change(
            checkout.place_order,
            customer_id,
            store_id,
            lines,
            stores=self.stores,
            paid=paid,
            coupon_code=coupon_code,
        )
        return result

    def cancel_order(self, order_id: str, reason: str = "") -> dict[str, Any]:
        result: dict[str, Any] = self._change(checkout.cancel_order, order_id, reason)
        return result

    def record_web_purchase(
        self, customer_id: str, lines: dict[str, int], coupon_code: str | None = None
    ) -> dict[str, Any]:
        result: dict[str, Any] = self._change(
            checkout.record_web_purchase, customer_id, lines, coupon_code
        )
        return result

    def return_order(
        self, ident: str, lines: dict[str, int], reason: str = "returned by post"
    ) -> dict[str, Any]:
        """A web return (by post) of a web order or purchase (issue 16)."""
        result: dict[str, Any] = self._change(returns.return_order, ident, lines, reason)
        return result

    def create_offer(self, **fields: Any) -> dict[str, Any]:
        result: dict[str, Any] = self._change(lambda conn: coupons.create_offer(conn, **fields))
        return result

    def issue_coupon(self, offer_id: str, customer_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._change(coupons.issue_coupon, offer_id, customer_id)
        return result

    def publish(
        self, stream: str, type_: str, data: dict[str, Any], *, deliver: bool = True
    ) -> dict[str, Any]:
        """Append any event to ``chain`` or ``stores/{id}`` (checked against the contract).

        ``deliver=False`` stores it as if sent and lost by the broker: only the backfill
        endpoint (or the next status) reveals it. Fault tests use this.
        """
        return self.publish_many(stream, [(type_, data)], deliver=deliver)[0]

    def publish_many(
        self,
        stream: str,
        events: list[tuple[str, dict[str, Any]]],
        *,
        deliver: bool = True,
        check: bool = True,
    ) -> list[dict[str, Any]]:
        """Several events in one transaction (bulk loads for tests and benchmarks).

        Each event is checked against the contract (about 1 ms each); ``check=False`` skips
        that for large loads whose events the caller built from one already-checked shape.
        """
        source = streams.source_of_stream(stream)
        out = []
        with self.connection() as conn, db.write(conn):
            for type_, data in events:
                event = streams.append(conn, source, type_, data, sent=not deliver)
                if check:
                    contract.validate(event)
                out.append(event)
        self._queue.put(("wake", None))
        return out

    def events(self, stream: str, after: int = 0, limit: int = 1_000_000) -> list[dict[str, Any]]:
        """The events of one of our streams, as the backfill endpoint serves them."""
        with self.connection() as conn:
            return streams.after(conn, streams.source_of_stream(stream), after, limit)

    def last_sequence(self, stream: str) -> int:
        with self.connection() as conn:
            return streams.last_sequence(conn, streams.source_of_stream(stream))

    def all_published(self) -> bool:
        """True once the broker acknowledged every stored event."""
        with self.connection() as conn:
            return not streams.unpublished(conn, 1)

    def purchases(self, customer_id: str) -> list[dict[str, Any]]:
        with self.connection() as conn:
            return shop.purchases(conn, customer_id)

    def balance(self, customer_id: str) -> int:
        with self.connection() as conn:
            return shop.balance(conn, customer_id)

    def account(self, customer_id: str) -> dict[str, Any]:
        """A customer's account: who, web and store purchases, points, orders, coupons."""
        with self.connection() as conn:
            return {
                "customer": dict(shop.customer(conn, customer_id)),
                "purchases": shop.purchases(conn, customer_id),
                "balance": shop.balance(conn, customer_id),
                "orders": checkout.orders(conn, customer_id),
                "coupons": coupons.coupons(conn, customer_id),
                **_orders_and_returns(conn, customer_id),
            }

    def returns(self, customer_id: str) -> list[dict[str, Any]]:
        with self.connection() as conn:
            return returns.returns_of(conn, customer_id)

    def up_sequence(self, store_id: str) -> int:
        """The last sequence of a store's up-stream applied without a hole."""
        with self.connection() as conn:
            row = conn.execute(
                "SELECT last_sequence FROM up_streams WHERE store_id = ?", (store_id,)
            ).fetchone()
            return int(row[0]) if row else 0

    def received(self, store_id: str) -> list[dict[str, Any]]:
        """The dedupe record of a store's up-stream: what was applied, in order."""
        with self.connection() as conn:
            rows = conn.execute(
                "SELECT * FROM received WHERE source = ? ORDER BY sequence",
                (f"/stores/{store_id}",),
            ).fetchall()
            return [dict(r) for r in rows]

    def dead_letters(self) -> list[dict[str, Any]]:
        with self.connection() as conn:
            return [dict(r) for r in conn.execute("SELECT * FROM dead_letters ORDER BY id")]

    # -- MQTT: callbacks only hand over to the worker ----------------------------------------

    def _make_client(self) -> mqtt.Client:
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=MQTTProtocolVersion.MQTTv5
            if self.protocol == "5"
            else MQTTProtocolVersion.MQTTv311,
            clean_session=None if self.protocol == "5" else False,
            manual_ack=True,
        )
        client.will_set(
            contract.status_topic(self.prefix, streams.CHAIN),
            # A will is fixed at connect: "0" never makes a consumer think it is behind.
            json.dumps(contract.status_payload(False, 0, db.now_iso())),
            qos=1,
            retain=True,
        )
        if self.username:
            client.username_pw_set(self.username, self.password)
        if self.tls:
            client.tls_set()
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.on_pre_connect = self._next_broker
        client.on_subscribe = self._on_subscribe
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_publish = self._on_publish
        return client

    def _next_broker(self, client: mqtt.Client, userdata: Any) -> None:
        """Before each reconnection (not the first connection), move to the next broker."""
        self._attempts += 1
        if self._attempts > 1 and len(self._brokers) > 1:
            # paho's host setter refuses while "connecting", which it is here; socket closed
            host, port = self._brokers[(self._attempts - 1) % len(self._brokers)]
            client._host, client._port = host, port  # noqa: SLF001

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        if reason.is_failure:
            log.warning("broker refused the connection: %s", reason)
            return
        if self.protocol == "5":
            up = [(f"$share/{SHARE_GROUP}/{contract.up_filter(self.prefix)}", 1)]
        else:
            up = [(contract.up_filter(self.prefix, s), 1) for s in self.consume]
        # In chunks, the next once the last one's SUBACK came (``_tick``): NATS creates a
        # replicated consumer per filter, and 250 in one SUBSCRIBE kept its read loop busy for
        # a minute, past the keepalive, so the client reconnected and asked again, for ever.
        filters = [(f"{self.prefix}/status/web/#", 1), (f"{self.prefix}/status/stores/+", 1), *up]
        self._subscribing, self._resubscribe = {}, []  # a new connection asks for everything
        self._to_subscribe = filters[SUBSCRIBE_CHUNK:]
        self._subscribe(client, filters[:SUBSCRIBE_CHUNK])
        self._connected.set()
        self._queue.put(("connected", None))

    def _subscribe(self, client: mqtt.Client, filters: list[tuple[str, int]]) -> None:
        """Subscribe, remembering what each SUBSCRIBE asked for (its SUBACK is checked)."""
        rc, mid = client.subscribe(filters)
        if rc == MQTTErrorCode.MQTT_ERR_SUCCESS and mid is not None:
            self._subscribing[mid] = filters

    def _on_subscribe(
        self, client: mqtt.Client, userdata: Any, mid: int, codes: Any, props: Any
    ) -> None:
        """A SUBACK can refuse some filters (a broker that could not create the queue behind
        one, as NATS does when JetStream times out): those are asked for again, else that
        store's up-events would never come, and no replay could bring them."""
        asked = self._subscribing.pop(mid, [])
        failed = [f for f, code in zip(asked, codes, strict=False) if code.is_failure]
        if failed:
            log.warning(
                "broker refused %d subscription(s), e.g. %s: retrying", len(failed), failed[0][0]
            )
            # back off (2 s doubling to 60 s): a broker refusing because it is overloaded
            # (JetStream timeouts) must not be hammered
            self._retry = min(60.0, self._retry * 2)
            self._resubscribe.append((time.time() + self._retry, failed))
        elif not self._subscribing:
            self._retry = 1.0

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        self._connected.clear()

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        self._queue.put(("message", msg))

    def _on_publish(
        self, client: mqtt.Client, userdata: Any, mid: int, reason: Any, props: Any
    ) -> None:
        if not reason.is_failure:
            self._queue.put(("puback", mid))

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
        return consumer.handle_up(
            self._conn, self.prefix, self.stores, msg.topic, bytes(msg.payload), now
        )

    def _tick(self, now: float) -> None:
        if self._to_subscribe and not self._subscribing:
            chunk, self._to_subscribe = (
                self._to_subscribe[:SUBSCRIBE_CHUNK],
                self._to_subscribe[SUBSCRIBE_CHUNK:],
            )
            self._subscribe(self.client, chunk)
        again = [f for at, f in self._resubscribe if at <= now]
        if again:
            self._resubscribe = [(at, f) for at, f in self._resubscribe if at > now]
            for filters in again:
                self._subscribe(self.client, filters)
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

    def _holds_lease(self, now: float) -> bool:
        """Only one instance publishes: the holder of the 'publisher' lease, renewed early."""
        if self._lease_until - now > self.lease_seconds / 2:
            return True
        row = self._conn.execute(
            "SELECT holder, expires_at FROM leases WHERE name = 'publisher'"
        ).fetchone()
        if row is not None and row["holder"] != self.client_id and row["expires_at"] > now:
            self._lease_until = 0.0
            return False
        with db.write(self._conn):
            took = self._conn.execute(
                "INSERT INTO leases (name, holder, expires_at) VALUES ('publisher', ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, "
                "expires_at = excluded.expires_at "
                "WHERE leases.holder = excluded.holder OR leases.expires_at <= ?",
                (self.client_id, now + self.lease_seconds, now),
            ).rowcount
        self._lease_until = now + self.lease_seconds if took else 0.0
        return bool(took)

    def _publish_pending(self, now: float) -> None:
        """Send stored events in order; a PUBACK marks each published (see ``_drain``)."""
        for mid, (rowid, sent_at) in list(self._inflight.items()):
            if now - sent_at > 30:  # no PUBACK for 30 s (lost session?): send it again
                del self._inflight[mid]
                self._inflight_rows.discard(rowid)
        # A window, not a flood: NATS closes a connection whose QoS 1 publication waits more
        # than 5 s for JetStream, and a backlog of hundreds sent at once (after a reconnection)
        # did, again at every reconnection
        room = PUBLISH_WINDOW - len(self._inflight)
        if room <= 0:
            return
        for row in streams.unpublished(self._conn, room + len(self._inflight_rows)):
            if row["rowid"] in self._inflight_rows:
                continue
            topic = contract.down_topic_for(self.prefix, row["source"], row["type"])
            payload = json.dumps(streams.envelope(row), separators=(",", ":"), ensure_ascii=False)
            info = self.client.publish(topic, payload, qos=1)
            if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
                break
            self._inflight[info.mid] = (row["rowid"], now)
            self._inflight_rows.add(row["rowid"])

    def _status_step(self) -> None:
        """Publish the pending online statuses, at most STATUS_WINDOW awaiting their PUBACK.

        A chain has one retained status per store: 500 at once at every connect made NATS
        (each a replicated JetStream write) miss its 5 s deadline and close the connection,
        which reconnected and sent all 500 again, for ever. A window keeps it flowing.
        """
        self._status_window = [i for i in self._status_window if not i.is_published()]
        at = db.now_iso()
        while self._status_backlog and len(self._status_window) < STATUS_WINDOW:
            source = self._status_backlog.pop(0)
            payload = contract.status_payload(True, streams.last_sequence(self._conn, source), at)
            info = self.client.publish(
                contract.status_topic(self.prefix, source), json.dumps(payload), qos=1, retain=True
            )
            if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                self._status_backlog.insert(0, source)
                break
            self._status_window.append(info)

    def _publish_status(self, *, online: bool) -> list[mqtt.MQTTMessageInfo]:
        """The retained status of each stream we write: chain, then one per store."""
        infos = []
        at = db.now_iso()
        for source in [streams.CHAIN] + [contract.store_down_source(s) for s in self.stores]:
            payload = contract.status_payload(online, streams.last_sequence(self._conn, source), at)
            infos.append(
                self.client.publish(
                    contract.status_topic(self.prefix, source),
                    json.dumps(payload),
                    qos=1,
                    retain=True,
                )
            )
        return infos


def _orders_and_returns(conn: sqlite3.Connection, customer_id: str) -> dict[str, Any]:
    """The account's click-and-collect purchases (by purchase id) and returns (issue 16)."""
    ids = [p["purchase_id"] for p in shop.purchases(conn, customer_id)]
    return {
        "purchase_orders": orders.purchases_of_orders(conn, ids),
        "returns": returns.returns_of(conn, customer_id),
    }
