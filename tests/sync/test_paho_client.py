"""The sync worker's paho client (``sync.paho_client``) reads its socket in large chunks and
every packet that has arrived at each wake-up: the same messages must come out, whole and in
order, whatever their sizes, including bursts of small ones and messages larger than a
chunk, and none may wait in its buffer for a later wake-up."""

from __future__ import annotations

import threading
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
