"""A simulated store: what a store's edge says on MQTT, without the store around it.

Hundreds of these run as coroutines on one asyncio loop (paho's "external loop" mode: the
loop watches each client's socket and calls ``loop_read``/``loop_write``). Each speaks the
contract exactly as the edge does (``sync/mqtt.py``, ``sync/worker.py``):

- client id ``passerelle-edge-{store_id}``, persistent session (3.1.1 ``clean_session=False``;
  MQTT 5 clean start false with a 7-day expiry), the broker URL list with the edge's own
  failover (``sync.mqtt.Failover``), a retained last will ``online: false``;
- an outbox: every up-event gets the next sequence and stays until its PUBACK; paho sends the
  unacknowledged ones again after a reconnect; ``replay.requested`` publishes again every
  event after ``after`` (the same ids: duplicates the online store must drop);
- a retained status at connect and every 30 s with the last acknowledged sequence;
- down-events deduplicated by ``(source, id)``, in sequence order per source; a hole, or a
  session the broker no longer has, is filled from the backfill endpoint.

It counts what it sent and received, and when, for the run's report (``bench/chain/run.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from uuid_utils import uuid7

from bench.chain.downstream import DownStream
from sync import contract
from sync.fleet import CONTRACT_VERSION
from sync.mqtt import Failover, full_jitter

SOFTWARE = "chain-sim/1"
STATUS_INTERVAL = 30.0
# Reconnection: exponential back-off with full jitter (a random delay in [0, cap], the cap
# doubling from RECONNECT_BASE to RECONNECT_MAX). A node killed under 170 stores sent them all
# back at once, every 0.5 s, onto two nodes busy recovering its JetStream state; the herd
# itself made NATS miss its 5 s deadlines and close the connections again.
RECONNECT_BASE = 2.0
RECONNECT_MAX = 30.0
SKUS = [("SKU-COFFEE", "Café 250 g", 690), ("SKU-MUG", "Mug", 1290), ("SKU-TEA", "Thé", 450)]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class StoreCounts:
    """One simulated store's own account of the run."""

    sent: int = 0  # up-events created (each with its own sequence)
    acked: int = 0  # of them, acknowledged by the broker (PUBACK)
    republished: int = 0  # sent again on replay.requested
    down_received: int = 0  # down deliveries (duplicates included)
    down_applied: int = 0  # distinct down-events taken
    down_duplicates: int = 0  # deliveries dropped as already seen
    backfilled: int = 0  # down-events taken from the backfill endpoint
    connects: int = 0
    sessions_lost: int = 0  # CONNACK with session present = false after the first
    orders: int = 0  # order.placed received
    subscribe_refused: int = 0  # filters a SUBACK refused (asked for again)
    created_at: dict[int, float] = field(default_factory=dict)  # sequence → wall time
    order_lag: list[float] = field(default_factory=list)  # order placed → received, s
    down_lag: list[float] = field(default_factory=list)  # chain events: published → here, s
    reconnects: list[tuple[float, float]] = field(default_factory=list)  # (down at, back at)


class SimStore(DownStream):
    """One store: ``start()``, then ``sale()``/``pickup()`` at will, ``stop()``."""

    def __init__(
        self,
        store_id: str,
        urls: list[str],
        *,
        protocol: str,
        prefix: str,
        backfill_url: str,
        token: str,
        loop: asyncio.AbstractEventLoop,
        rng: random.Random,
        status_interval: float = STATUS_INTERVAL,
    ) -> None:
        self.store_id = store_id
        self.status_interval = status_interval
        self.prefix = prefix
        self.protocol = protocol
        self.source = contract.up_source(store_id)
        self.backfill_url, self.token = backfill_url, token
        self.loop = loop
        self.rng = rng
        self.counts = StoreCounts()
        self.events: dict[int, tuple[str, str]] = {}  # the outbox: sequence → (topic, payload)
        self.acked: set[int] = set()
        self.inflight: dict[int, int] = {}  # paho mid → sequence
        self.seen: set[tuple[str, str]] = set()
        self.down_last: dict[str, int] = {}  # source → last sequence taken in order
        self.held: dict[str, dict[int, dict[str, Any]]] = {}  # out-of-order, per source
        self.pickups: list[str] = []  # orders to move along
        self.connected = False
        self.stopping = False
        self.started = False
        self.down_since: float | None = time.time()
        self._failures = 0  # connection attempts since the last fully subscribed connection
        self._reconnect_at = 0.0  # no attempt before this (back-off)
        self.next_status = 0.0
        self._backfilling: set[str] = set()
        self.remote: dict[str, int] = {}  # source → last sequence its status announced
        # source → (behind since, last sequence then, next fetch not before, fetches so far)
        self._gaps: dict[str, tuple[float, int, float, int]] = {}
        addresses = [(u.split("//")[1].split(":")[0], int(u.rsplit(":", 1)[1])) for u in urls]
        v5 = protocol == "5"
        c = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"passerelle-edge-{store_id}",
            protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
            clean_session=None if v5 else False,
        )
        c.max_inflight_messages_set(1000)
        c.on_pre_connect = Failover(addresses)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_message = self._on_message
        c.on_publish = self._on_publish
        c.on_subscribe = self._on_subscribe
        self._subscribing: dict[int, list[tuple[str, int]]] = {}
        self.subscribed = False  # every filter of this connection granted
        self._retry = 1.0
        c.on_socket_open = self._on_socket_open
        c.on_socket_close = self._on_socket_close
        c.on_socket_register_write = self._on_register_write
        c.on_socket_unregister_write = self._on_unregister_write
        self.client = c
        self.address = addresses[0]

    # -- asyncio glue (paho's external-loop interface) ---------------------------------------

    def _on_socket_open(self, client: mqtt.Client, _u: Any, sock: Any) -> None:
        self.loop.add_reader(sock, client.loop_read)

    def _on_socket_close(self, client: mqtt.Client, _u: Any, sock: Any) -> None:
        self.loop.remove_reader(sock)
        self.loop.remove_writer(sock)

    def _on_register_write(self, client: mqtt.Client, _u: Any, sock: Any) -> None:
        self.loop.add_writer(sock, client.loop_write)

    def _on_unregister_write(self, client: mqtt.Client, _u: Any, sock: Any) -> None:
        self.loop.remove_writer(sock)

    def tick(self, now: float) -> None:
        """Keepalive, reconnection and the periodic status (called every half second)."""
        if self.stopping or not self.started:
            return
        if self.client.loop_misc() == mqtt.MQTT_ERR_NO_CONN or self.client._sock is None:  # noqa: SLF001
            if now >= self._reconnect_at:
                self._back_off(now)  # the next attempt, should this one fail
                self._reconnect()
            return
        if self.connected and now >= self.next_status:
            self.publish_status(True)
        self._check_gaps(now)

    # -- life cycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self.started = True
        self._set_will()
        kwargs: dict[str, Any] = {"keepalive": 30}
        if self.protocol == "5":
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = 7 * 24 * 3600
            kwargs.update(clean_start=False, properties=props)
        self.client.connect_async(*self.address, **kwargs)
        self._reconnect()

    def _back_off(self, now: float) -> None:
        wait = full_jitter(self._failures, RECONNECT_BASE, RECONNECT_MAX, self.rng)
        self._failures += 1
        self._reconnect_at = max(self._reconnect_at, now + wait)

    def _reconnect(self) -> None:
        with contextlib.suppress(OSError):  # the next tick tries the next broker (Failover)
            self.client.reconnect()

    def stop(self) -> None:
        self.stopping = True
        if self.connected:
            self.publish_status(False)
        self.client.disconnect()

    # -- up: the outbox -----------------------------------------------------------------------

    def last_acked(self) -> int:
        n = 0
        while n + 1 in self.acked:
            n += 1
        return n

    def _set_will(self) -> None:
        self.client.will_set(
            contract.edge_status_topic(self.prefix, self.store_id),
            json.dumps(self._status(False)),
            qos=1,
            retain=True,
        )

    def _status(self, online: bool) -> dict[str, Any]:
        payload = contract.status_payload(online, self.last_acked(), now_iso())
        payload.update(
            software_version=SOFTWARE,
            contract_version=CONTRACT_VERSION,
            backlog_up=self.counts.sent - len(self.acked),
        )
        return payload

    def publish_status(self, online: bool) -> None:
        self.client.publish(
            contract.edge_status_topic(self.prefix, self.store_id),
            json.dumps(self._status(online)),
            qos=1,
            retain=True,
        )
        self.next_status = time.time() + self.status_interval

    def _append(self, type_: str, data: dict[str, Any]) -> None:
        self.counts.sent += 1
        seq = self.counts.sent
        event = {
            "specversion": "1.0",
            "id": str(uuid7()),
            "source": self.source,
            "type": type_,
            "time": now_iso(),
            "sequence": str(seq),
            "datacontenttype": "application/json",
            "data": data,
        }
        topic = contract.up_topic(self.prefix, self.store_id, type_)
        self.events[seq] = (topic, json.dumps(event, separators=(",", ":")))
        self.counts.created_at[seq] = time.time()
        self._send(seq)

    def _send(self, seq: int) -> None:
        topic, payload = self.events[seq]
        info = self.client.publish(topic, payload, qos=1)  # queued by paho when offline
        self.inflight[info.mid] = seq

    def sale(self) -> None:
        sku, name, price = self.rng.choice(SKUS)
        qty = self.rng.randint(1, 3)
        total = qty * price
        self._append(
            "sale.recorded",
            {
                "sale_id": f"{self.store_id}-{uuid7()}",
                "terminal_id": "POS-1",
                "cashier_id": "sim",
                "customer_id": None,
                "occurred_at": now_iso(),
                "currency": "EUR",
                "total": total,
                "lines": [{"sku": sku, "name": name, "qty": qty, "unit_price": price}],
                "discount": 0,
                "coupons": [],
                "points_earned": 0,
                "points_redeemed": 0,
            },
        )

    def pickup(self) -> bool:
        """Move the oldest order received along (ready, then collected); False if none."""
        if not self.pickups:
            return False
        order_id = self.pickups.pop(0)
        for status in ("ready", "collected"):
            self._append(
                "pickup.updated",
                {
                    "order_id": order_id,
                    "status": status,
                    "checked_in_at": None,
                    "staff_id": "sim",
                    "occurred_at": now_iso(),
                },
            )
        return True

    def _on_publish(self, _c: mqtt.Client, _u: Any, mid: int, reason: Any, _p: Any) -> None:
        seq = self.inflight.pop(mid, None)
        if seq is not None and not reason.is_failure and seq not in self.acked:
            self.acked.add(seq)
            self.counts.acked += 1

    def _replay(self, after: int) -> None:
        for seq in range(after + 1, self.counts.sent + 1):
            self.counts.republished += 1
            self._send(seq)

    # -- connection -----------------------------------------------------------------------------

    def _on_connect(self, c: mqtt.Client, _u: Any, flags: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            return
        self.connected = True
        self.counts.connects += 1
        if self.down_since is not None and self.counts.connects > 1:
            self.counts.reconnects.append((self.down_since, time.time()))
        self.down_since = None
        filters = contract.edge_down_filters(self.prefix, self.store_id)
        statuses = contract.web_status_topics(self.prefix, self.store_id)
        # the down-streams at QoS 1 (a durable queue each); the retained statuses at QoS 0,
        # as the edge does: the latest value, sent again at every SUBSCRIBE and every 30 s,
        # needs no queue (on NATS, no JetStream consumer)
        self._subscribe([*((f, 1) for f in filters), *((t, 0) for t in statuses.values())])
        self.publish_status(True)
        if not flags.session_present and self.counts.connects > 1:
            self.counts.sessions_lost += 1
            for stream in ("chain", f"stores/{self.store_id}"):
                self._schedule_backfill(stream)

    def _subscribe(self, filters: list[tuple[str, int]]) -> None:
        rc, mid = self.client.subscribe(filters)
        if rc == mqtt.MQTT_ERR_SUCCESS and mid is not None:
            self._subscribing[mid] = filters

    def _on_subscribe(self, _c: mqtt.Client, _u: Any, mid: int, codes: Any, _p: Any) -> None:
        """Filters the broker refused are asked for again (and their stream backfilled)."""
        asked = self._subscribing.pop(mid, [])
        failed = [f for f, code in zip(asked, codes, strict=False) if code.is_failure]
        if not failed and not self._subscribing:
            self.subscribed, self._retry = True, 1.0
            self._failures = 0  # a connection that worked: the back-off starts over
        if failed:
            self.counts.subscribe_refused += len(failed)
            # back off: a broker that refuses because it is overloaded must not be hammered
            self._retry = min(60.0, self._retry * 2)
            self.loop.call_later(self.rng.uniform(0.5, 1.0) * self._retry, self._subscribe, failed)
            for stream in ("chain", f"stores/{self.store_id}"):
                self._schedule_backfill(stream)

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, _r: Any, _p: Any) -> None:
        if self.connected:
            self.down_since = time.time()
        self.connected = self.subscribed = False
        if not self.stopping:
            self._back_off(time.time())
        self._set_will()

    # -- down -----------------------------------------------------------------------------------

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        if "/status/" in msg.topic:
            self._status_seen(msg.topic, bytes(msg.payload))
            return
        self.counts.down_received += 1
        try:
            event = json.loads(msg.payload)
        except ValueError:
            return
        self.take(event, live=True)


def daily_curve(fraction: float) -> float:
    """Relative activity through a shop's day (0 = opening, 1 = closing), mean about 1.

    A morning ramp, a lunch peak and a larger late-afternoon peak, the shape of a high-street
    shop's till receipts per hour.
    """
    import math

    f = min(max(fraction, 0.0), 1.0)
    lunch = math.exp(-(((f - 0.35) / 0.08) ** 2))
    evening = 1.4 * math.exp(-(((f - 0.78) / 0.1) ** 2))
    base = 0.35 + 0.25 * math.sin(math.pi * f)
    return (base + lunch + evening) / 0.95
