"""The edge's MQTT client: persistent session, QoS 1, manual acknowledgements, TLS, last will.

paho's default cleans the session at each process start; the contract needs the broker to
keep queueing down-events while the store is offline, so the session is persistent
(MQTT 5: ``clean_start=False`` passed explicitly and a session expiry of at least 7 days;
3.1.1: ``clean_session=False``). Messages are acknowledged by hand, after the inbox commit
(``manual_ack=True``; RELIABILITY.md #2).

A chain runs its brokers as a cluster: ``mqtt_url`` then ``mqtt_failover_urls`` are tried in
turn. Every reconnection after the first connection moves to the next URL (paho's
``on_pre_connect``, called before each attempt), so a node that died is left after one try
and the session, kept by the cluster, is resumed on another node. Nothing here knows which
broker it talks to beyond the protocol version and these URLs.

The wait before each reconnection is drawn at random ("full jitter": anywhere between 0 and
a bound that doubles from 1 s to 30 s with each failed attempt). paho's own back-off doubles
the same way for every client, so the thousands of stores that a broker node's death
disconnects in the same second would all come back in the same seconds, in waves, onto
nodes busy taking over its sessions (docs/chain.md: the simulated stores' herd made NATS
miss its deadlines until they drew their waits at random).
"""

from __future__ import annotations

import json
import logging
import random
import struct
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge.config import Settings
from sync import contract, paho_client

MAX_INFLIGHT = 1000  # our QoS 1 publishes awaiting PUBACK (the outbox drain)
# MQTT 5's Receive Maximum: how many unacknowledged down-events the broker may send us.
# Without it, Mosquitto sends 20 at a time (its max_inflight_messages); acknowledging only
# after each commit, the edge would then commit (and fsync) every 20 events. Two applier
# batches' worth (sync/applier.py) lets the broker send the next batch during a commit.
RECEIVE_MAXIMUM = 4000
RECONNECT_MIN_DELAY = 1
RECONNECT_MAX_DELAY = 30

log = logging.getLogger("passerelle.sync")


def client_id(store_id: str) -> str:
    return f"passerelle-edge-{store_id}"


def make_client(settings: Settings) -> mqtt.Client:
    """A configured client, not yet connected (callbacks are the caller's)."""
    v5 = settings.mqtt_protocol == "5"
    client = paho_client.Client(  # paho's, reading its socket in large chunks
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id(settings.store_id),
        protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
        clean_session=None if v5 else False,
        manual_ack=True,
        reconnect_on_failure=True,
    )
    # No window in paho itself: the publisher never has more than MAX_INFLIGHT rows in flight
    # (sync/publisher.py), and paho's own window costs a scan of every message in flight at
    # each PUBACK (``Client._update_inflight``), 9 % of the worker's CPU in a catch-up whose
    # orders and stock publish 38,000 up-events (bench/, catch-up).
    client.max_inflight_messages_set(0)
    failover = Failover(broker_addresses(settings))
    failover.connected(client)  # the wait before the first reconnection, should it be needed
    client.on_pre_connect = failover
    if settings.mqtt_username:
        client.username_pw_set(settings.mqtt_username, settings.mqtt_password)
    if settings.mqtt_tls:
        client.tls_set(
            ca_certs=str(settings.mqtt_ca_file) if settings.mqtt_ca_file else None,
            certfile=str(settings.mqtt_cert_file) if settings.mqtt_cert_file else None,
            keyfile=str(settings.mqtt_key_file) if settings.mqtt_key_file else None,
        )
    return client


def accepted(client: mqtt.Client) -> None:
    """The broker accepted our CONNECT: the reconnection back-off starts over."""
    hook = client.on_pre_connect
    if isinstance(hook, Failover):
        hook.connected(client)


def set_will(client: mqtt.Client, settings: Settings, last_sequence: int, time: str) -> None:
    """The retained last will: the broker marks our link offline if we vanish."""
    client.will_set(
        contract.edge_status_topic(settings.topic_prefix, settings.store_id),
        json.dumps(contract.status_payload(False, last_sequence, time)),
        qos=1,
        retain=True,
    )


def connect(client: mqtt.Client, settings: Settings) -> None:
    """Start connecting in the background; paho's loop reconnects with a backoff."""
    kwargs: dict[str, Any] = {"keepalive": settings.mqtt_keepalive}
    if settings.mqtt_protocol == "5":
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = settings.mqtt_session_expiry
        props.ReceiveMaximum = RECEIVE_MAXIMUM
        kwargs["clean_start"] = False
        kwargs["properties"] = props
    host, port = broker_addresses(settings)[0]
    client.connect_async(host, port, **kwargs)


def broker_addresses(settings: Settings) -> list[tuple[str, int]]:
    """``mqtt_url`` then ``mqtt_failover_urls``, as (host, port) pairs."""
    out = []
    for url in [settings.mqtt_url, *settings.mqtt_failover_urls]:
        u = urlparse(url)
        out.append((u.hostname or "127.0.0.1", u.port or (8883 if u.scheme == "mqtts" else 1883)))
    return out


def full_jitter(failures: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """The wait before the next attempt after ``failures`` failed ones: at random in
    [0, min(cap, base x 2^failures)], so that clients cut off together spread their returns
    over the whole bound instead of coming back on the same seconds."""
    bound = min(cap, base * 2 ** min(failures, 16))
    return (rng or random).uniform(0.0, bound)


class Failover:
    """paho's ``on_pre_connect``: before every attempt but the first, take the next broker;
    and draw the wait before the attempt after this one (should it fail), with full jitter.

    Moving on even after a connection that worked is deliberate: the link dropped, and the
    node that dropped it is the least likely to answer now. With one URL nothing changes.

    The wait goes through paho's public ``reconnect_delay_set`` with the same value as its
    minimum and maximum: paho resets its doubling whenever that is called, so the next wait
    is exactly the one drawn here. ``connected`` (called on each accepted CONNACK) starts
    the bound over, as paho does for its own back-off.
    """

    def __init__(
        self,
        addresses: list[tuple[str, int]],
        base: float = RECONNECT_MIN_DELAY,
        cap: float = RECONNECT_MAX_DELAY,
        rng: random.Random | None = None,
    ) -> None:
        self.addresses = addresses
        self.index = 0
        self.attempts = 0
        self.failures = 0  # attempts since the last accepted connection
        self.base, self.cap = base, cap
        self.rng = rng or random.Random()

    def connected(self, client: mqtt.Client) -> None:
        """The broker accepted us: the next drop waits at most ``base`` before trying."""
        self.failures = 0
        self._draw(client)

    def _draw(self, client: mqtt.Client) -> None:
        wait = full_jitter(self.failures, self.base, self.cap, self.rng)
        # paho's hint says int; its wait takes any number of seconds (time arithmetic)
        client.reconnect_delay_set(wait, wait)  # type: ignore[arg-type]

    def __call__(self, client: mqtt.Client, _userdata: Any) -> None:
        self.attempts += 1
        self.failures += 1  # until ``connected`` says otherwise
        self._draw(client)
        if self.attempts == 1 or len(self.addresses) == 1:
            return
        self.index = (self.index + 1) % len(self.addresses)
        host, port = self.addresses[self.index]
        # paho's host/port setters refuse while the state is "connecting", which it is here
        # (reconnect() sets it before calling us); the socket is closed, so this is safe.
        client._host, client._port = host, port  # noqa: SLF001
        log.info("MQTT: trying broker %s:%s", host, port)


PUBACK_PACKET = struct.Struct("!BBH")  # MQTT PUBACK: type 0x40, remaining length 2, packet id


def ack_many(client: mqtt.Client, acks: Iterable[tuple[int, int]]) -> None:
    """Acknowledge many received messages (``(mid, qos)``) at once: the QoS 1 ones as one
    write of their PUBACKs, back to back, which MQTT allows, instead of one packet each.

    ``client.ack`` queues one packet per message, wakes paho's loop once per packet, and the
    loop writes each with a socket call of its own: 2,000 of each per committed batch of a
    catch-up (bench/, catch-up). The bytes are the same PUBACKs (MQTT 3.1.1 and 5: with no
    reason code, a PUBACK means success), queued through paho's own ``_packet_queue`` so
    that its loop writes them in order with everything else. QoS 2 (never subscribed to
    here) goes through ``client.ack``."""
    packets: list[bytes] = []
    for mid, qos in acks:
        if qos == 1:
            packets.append(PUBACK_PACKET.pack(mqtt.PUBACK, 2, mid))
        elif qos == 2:
            client.ack(mid, qos)
    if packets:
        client._packet_queue(mqtt.PUBACK, b"".join(packets), 0, 0)  # noqa: SLF001
