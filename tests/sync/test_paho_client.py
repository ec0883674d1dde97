"""The sync worker's paho client (``sync.paho_client``) reads its socket in large chunks and
every packet that has arrived at each wake-up: the same messages must come out, whole and in
order, whatever their sizes, including bursts of small ones and messages larger than a
chunk, and none may wait in its buffer for a later wake-up."""

from __future__ import annotations

import threading
import time
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from sync import paho_client
from tests.support.broker import Broker
from tests.support.waiting import wait_until

TOPIC = "test/paho-client"


def _payloads() -> list[bytes]:
    """Many small messages (several per chunk), a few larger than a chunk, then a lone small
    one at the end: if it stayed in the buffer, nothing else would come to wake the loop."""
    out = [f"small-{i}".encode() * (1 + i % 40) for i in range(3000)]
    out[1000:1000] = [bytes([65 + k]) * (paho_client.READ_CHUNK * 3 + k) for k in range(3)]
    out.append(b"last")
    return out


def test_every_message_arrives_whole_and_in_order(broker: Broker) -> None:
    got: list[bytes] = []
    lock = threading.Lock()

    def on_message(_c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        with lock:
            got.append(msg.payload)

    sub = paho_client.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    sub.on_message = on_message
    subscribed = threading.Event()
    sub.on_subscribe = lambda *_a: subscribed.set()
    sub.on_connect = lambda c, *_a: c.subscribe(TOPIC, 1)
    sub.connect("127.0.0.1", broker.port)
    sub.loop_start()
    pub = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    pub.max_queued_messages_set(0)
    pub.connect("127.0.0.1", broker.port)
    pub.loop_start()
    try:
        wait_until(subscribed.is_set, 10, what="SUBACK")
        payloads = _payloads()
        infos = [pub.publish(TOPIC, p, qos=1) for p in payloads]
        for info in infos:
            info.wait_for_publish(30)
        wait_until(lambda: len(got) >= len(payloads), 30, what="every message")
        assert got == payloads
    finally:
        for c in (pub, sub):
            c.disconnect()
            c.loop_stop()


def _receiver(cls: type[mqtt.Client], broker: Broker, got: list[mqtt.MQTTMessage]) -> mqtt.Client:
    """A subscriber that acknowledges by hand (as the sync worker does) and keeps each
    message it is given."""
    client = cls(
        callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5, manual_ack=True
    )
    lock = threading.Lock()

    def on_message(c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        with lock:
            got.append(msg)
        c.ack(msg.mid, msg.qos)

    client.on_message = on_message
    subscribed = threading.Event()
    client.on_subscribe = lambda *_a: subscribed.set()
    client.on_connect = lambda c, *_a: c.subscribe(TOPIC + "/#", 1)
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    wait_until(subscribed.is_set, 10, what="SUBACK")
    return client


def test_a_publish_decoded_here_is_the_one_paho_decodes(broker: Broker) -> None:
    """The client's own PUBLISH decoding (no property, QoS 0 or 1, manual acks) hands
    ``on_message`` what paho's decoder would: the same topic, payload, QoS, flags and packet
    id, message after message; one with properties goes through paho's decoder."""
    ours: list[mqtt.MQTTMessage] = []
    stock: list[mqtt.MQTTMessage] = []
    clients = [_receiver(paho_client.Client, broker, ours), _receiver(mqtt.Client, broker, stock)]
    pub = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    pub.connect("127.0.0.1", broker.port)
    pub.loop_start()
    clients.append(pub)
    props = mqtt.Properties(mqtt.PacketTypes.PUBLISH)
    props.UserProperty = [("k", "v")]
    sent = [
        (f"{TOPIC}/a", b'{"n":1}', 1, None),
        (f"{TOPIC}/b/\u00e9t\u00e9", b"", 1, None),  # empty payload, a non-ASCII topic
        (f"{TOPIC}/c", b"qos zero", 0, None),
        (f"{TOPIC}/d", b"with a property", 1, props),
        (f"{TOPIC}/e", bytes(range(256)) * 300, 1, None),  # larger than a read chunk
    ]
    try:
        for topic, payload, qos, properties in sent:
            pub.publish(topic, payload, qos=qos, properties=properties).wait_for_publish(10)
        wait_until(lambda: len(ours) >= len(sent) and len(stock) >= len(sent), 20, what="all")
    finally:
        for c in clients:
            c.disconnect()
            c.loop_stop()

    def seen(msgs: list[mqtt.MQTTMessage]) -> list[tuple[Any, ...]]:
        return [(m.topic, m.payload, m.qos, m.retain, m.dup, m.mid) for m in msgs]

    assert seen(ours) == seen(stock)
    assert [(m.topic, m.payload, m.qos) for m in ours] == [(t, p, q) for t, p, q, _ in sent]
    assert all(m.mid > 0 for m in ours if m.qos == 1)
    # Decoded here: no Properties object made; the one with a property: paho's, with it.
    assert [m.properties is None for m in ours] == [True, True, True, False, True]
    assert ours[3].properties is not None
    assert ours[3].properties.UserProperty == [("k", "v")]


def test_a_hold_bounds_what_is_held_and_strands_nothing(broker: Broker) -> None:
    """While its owner holds ``limit`` messages, the client reads no more, though the broker
    may send ten times as many (its window); the owner's acknowledgements, sent from another
    thread meanwhile, go out (the broker sends the second half only after them); and what
    was read off the socket before a hold comes out after it, in order (a message left in the
    buffer would wait for a wake-up that never comes: the last ones would never arrive)."""
    limit = 50
    got: list[mqtt.MQTTMessage] = []
    taken = [0]  # how many of ``got`` the owner has taken off the client's hands
    most = [0]
    lock = threading.Lock()

    def held() -> int:
        with lock:
            return len(got) - taken[0]

    def on_message(_c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        with lock:
            got.append(msg)
            most[0] = max(most[0], len(got) - taken[0])

    props = mqtt.Properties(mqtt.PacketTypes.CONNECT)
    props.ReceiveMaximum = 500
    sub = paho_client.Client(
        callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5, manual_ack=True
    )
    sub.hold(held, limit)
    sub.on_message = on_message
    subscribed = threading.Event()
    sub.on_subscribe = lambda *_a: subscribed.set()
    sub.on_connect = lambda c, *_a: c.subscribe(TOPIC, 1)
    sub.connect("127.0.0.1", broker.port, properties=props)
    sub.loop_start()
    stop = threading.Event()

    def owner() -> None:  # takes and acknowledges a few at a time, as the applier commits
        while not stop.wait(0.002):
            with lock:
                batch = got[taken[0] : taken[0] + 20]
                taken[0] += len(batch)
            for m in batch:
                sub.ack(m.mid, m.qos)

    pub = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    pub.max_queued_messages_set(0)
    pub.connect("127.0.0.1", broker.port)
    pub.loop_start()
    worker = threading.Thread(target=owner, daemon=True)
    # Fewer than the broker's window and queue together (500 + Mosquitto's 1,000): none dropped.
    payloads = [f"m-{i}".encode() * 20 for i in range(1000)]
    try:
        wait_until(subscribed.is_set, 10, what="SUBACK")
        infos = [pub.publish(TOPIC, p, qos=1) for p in payloads]
        for info in infos:
            info.wait_for_publish(30)
        worker.start()
        wait_until(lambda: taken[0] >= len(payloads), 30, what="every message taken and acked")
    finally:
        stop.set()
        for c in (pub, sub):
            c.disconnect()
            c.loop_stop()
    assert [m.payload for m in got] == payloads
    assert most[0] <= limit


def test_a_new_connection_is_read_at_once_while_the_owner_holds_its_limit(
    broker: Broker,
) -> None:
    """A broker restart while the owner sits at its limit and goes on acknowledging what it
    committed (its applier busy, say): a write finds the connection gone, and the new
    connection's CONNACK is read at once, not after the hold's escape at half the keep-alive
    (30 s here). Until it is read the old connection's acks would go out on the new socket
    (packet ids are per connection; the sync worker stops acking at the disconnection)."""
    limit = 5
    got: list[mqtt.MQTTMessage] = []
    connects: list[float] = []
    sub = paho_client.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id="hold-reconnect",
        protocol=mqtt.MQTTv5,
        manual_ack=True,
    )
    sub.hold(lambda: len(got), limit)  # an owner that takes nothing
    subscribed = threading.Event()
    sub.on_message = lambda _c, _u, m: got.append(m)
    sub.on_subscribe = lambda *_a: subscribed.set()

    def on_connect(c: mqtt.Client, *_a: Any) -> None:
        connects.append(time.monotonic())
        c.subscribe(TOPIC, 1)

    sub.on_connect = on_connect
    sub.reconnect_delay_set(0.1, 0.2)
    sub.connect("127.0.0.1", broker.port, keepalive=60)
    sub.loop_start()
    pub = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    try:
        wait_until(subscribed.is_set, 10, what="SUBACK")
        pub.connect("127.0.0.1", broker.port)
        pub.loop_start()
        for i in range(20):
            pub.publish(TOPIC, f"m{i}", qos=1).wait_for_publish(5)
        wait_until(lambda: len(got) >= limit, 10, what="the owner at its limit")
        pub.disconnect()
        pub.loop_stop()
        broker.restart()
        deadline = time.monotonic() + 10
        for m in got:  # acknowledged one by one, as batches commit
            if len(connects) >= 2 or time.monotonic() > deadline:
                break
            sub.ack(m.mid, m.qos)
            time.sleep(0.1)
        wait_until(lambda: len(connects) >= 2, 10, what="the new connection's CONNACK read")
    finally:
        sub.disconnect()
        sub.loop_stop()
