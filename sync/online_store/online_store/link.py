"""The online store's MQTT link: the client, its broker list, its subscriptions, its callbacks.

paho's network thread runs the callbacks, and they do no database work (RELIABILITY.md #3):
they only put what arrived (messages, PUBACKs, "connected") on the worker's queue. The
subscriptions are asked for in chunks, each SUBACK checked, refused filters asked for again
with back-off, so that a broker under load (NATS, whose MQTT filters are JetStream consumers)
is not hammered and no store's up-stream is silently left out.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from typing import Any
from urllib.parse import unquote, urlparse

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from online_store import db, streams
from sync import contract

log = logging.getLogger("passerelle.online_store")

SESSION_EXPIRY = 7 * 24 * 3600
SHARE_GROUP = "online"
SUBSCRIBE_CHUNK = 20  # filters per SUBSCRIBE (see _on_connect)


def parse_mqtt_url(url: str) -> tuple[str, int, bool, str | None, str | None]:
    """``mqtt[s]://[user:password@]host[:port]`` → host, port, tls, username, password."""
    u = urlparse(url)
    if u.scheme not in ("mqtt", "mqtts") or not u.hostname:
        raise ValueError(f"--mqtt-url {url!r}: expected mqtt://host:port or mqtts://host:port")
    tls = u.scheme == "mqtts"
    user = unquote(u.username) if u.username else None
    password = unquote(u.password) if u.password else None
    return u.hostname, u.port or (8883 if tls else 1883), tls, user, password


class MqttLink:
    """Mixed into ``OnlineStore``: the MQTT client and what its callbacks hand over."""

    prefix: str
    protocol: str
    client_id: str
    consume: list[str]
    host: str
    port: int
    tls: bool
    username: str | None
    password: str | None
    client: mqtt.Client
    _brokers: list[tuple[str, int]]
    _attempts: int
    _retry: float
    _subscribing: dict[int, list[tuple[str, int]]]  # SUBSCRIBE mid → filters
    _resubscribe: list[tuple[float, list[tuple[str, int]]]]  # (when, filters)
    _to_subscribe: list[tuple[str, int]]  # filters not yet asked for (chunks)
    _connected: threading.Event
    _sub_lock: threading.Lock  # a SUBSCRIBE and the record of its mid, against its SUBACK
    _queue: queue.Queue[tuple[str, Any]]

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
            up = (f"$share/{SHARE_GROUP}/{contract.up_filter(self.prefix)}", 1)
        else:
            # 3.1.1 (NATS): one filter for every store's up-stream, and the worker applies only
            # this instance's partition (``consume``), acknowledging the rest, which the other
            # instances' own sessions receive too. One filter per store cost NATS one durable,
            # replicated JetStream consumer per store and instance (500 stores: 500 consumers
            # whose Raft groups outran 2 cores after a node was killed, docs/chain.md).
            up = (contract.up_filter(self.prefix), 1)
        # Statuses at QoS 0: a retained status is the latest value, sent again at each
        # SUBSCRIBE and republished every 30 s, so a missed one is superseded, never lost; on
        # NATS a QoS 0 filter is a plain subscription, with no JetStream consumer behind it.
        filters = [(f"{self.prefix}/status/web/#", 0), (f"{self.prefix}/status/stores/+", 0), up]
        # In chunks, the next once the last one's SUBACK came (``_tick``): a broker that
        # creates a queue per filter must not be handed hundreds in one SUBSCRIBE.
        self._subscribing, self._resubscribe = {}, []  # a new connection asks for everything
        self._to_subscribe = filters[SUBSCRIBE_CHUNK:]
        self._subscribe(client, filters[:SUBSCRIBE_CHUNK])
        self._connected.set()
        self._queue.put(("connected", None))

    def _subscribe(self, client: mqtt.Client, filters: list[tuple[str, int]]) -> None:
        """Subscribe, remembering what each SUBSCRIBE asked for (its SUBACK is checked)."""
        # Under the lock: from the worker (``_subscribe_step``), the SUBACK could otherwise
        # be handled by the network thread before its mid is recorded, and the filters would
        # then count as awaited for ever (``subscribed`` never true).
        with self._sub_lock:
            rc, mid = client.subscribe(filters)
            if rc == MQTTErrorCode.MQTT_ERR_SUCCESS and mid is not None:
                self._subscribing[mid] = filters

    def _on_subscribe(
        self, client: mqtt.Client, userdata: Any, mid: int, codes: Any, props: Any
    ) -> None:
        """A SUBACK can refuse some filters (a broker that could not create the queue behind
        one, as NATS does when JetStream times out): those are asked for again, else that
        store's up-events would never come, and no replay could bring them."""
        with self._sub_lock:
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

    def _connect_async(self) -> None:
        """Start connecting (paho's loop reconnects from then on) with a persistent session."""
        if self.protocol == "5":
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = SESSION_EXPIRY
            # clean_start=False: the shared subscription's messages queue while we are away.
            self.client.connect_async(
                self.host, self.port, keepalive=30, clean_start=False, properties=props
            )
        else:  # 3.1.1: clean_session=False (given to the Client) keeps the session
            self.client.connect_async(self.host, self.port, keepalive=30)

    def _subscribe_step(self, now: float) -> None:
        """From the worker: ask for the next chunk of filters, and again for refused ones."""
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
