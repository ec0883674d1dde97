"""The MQTT half of the benchmarks: the broker and the bare paho baselines.

Broker: our own Mosquitto on a free port (``tests.support.broker.Broker``, the one the tests
use). It must queue *every* down-event for an offline persistent session: Mosquitto 2's
``max_queued_messages`` is 1000 by default and drops the rest silently (RELIABILITY.md #5), and
``0`` ("no maximum") is mishandled by some 2.0.x releases (mosquitto #3244, quota exceeded), so
the bench sets an explicit large bound, ``max_queued_messages 1000000``, with
``max_queued_bytes 0`` (no byte limit, the default). Persistence is off: the broker is not
restarted during a run, and its autosave would only add disk noise.

Baselines (each its own process, like the edge, so both include a Python start-up):
``subscribe`` counts QoS 1 messages from a persistent session (paho acknowledges each on
receipt); ``publish`` sends QoS 1 payloads and exits when the broker acknowledged them all.
This module is what those processes import, so it imports nothing of the edge (its start-up
would count against the baseline); the events themselves are made by ``bench.events``.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from tests.support.broker import Broker

PREFIX = "passerelle/v1"
STORE = "S001"
QUEUE_LIMIT = 1_000_000
SESSION_EXPIRY = 7 * 24 * 3600
WINDOW = 1000  # messages handed to paho ahead of their PUBACK


def start_broker(workdir: Path, inflight: int | None = None) -> Broker:
    """``inflight``: Mosquitto's ``max_inflight_messages`` (its default, 20, when None)."""
    extra = "max_queued_bytes 0"
    if inflight is not None:
        extra += f"\nmax_inflight_messages {inflight}"
    broker = Broker(workdir, persistence=False, max_queued=QUEUE_LIMIT, extra=extra)
    return broker.start()


def down_filters(store_id: str = STORE) -> list[str]:
    """The topics a store's sync worker subscribes to, which the bare subscriber takes too."""
    return [f"{PREFIX}/chain/down/#", f"{PREFIX}/stores/{store_id}/down/#"]


# -- paho helpers -----------------------------------------------------------------------------


def _client(client_id: str, *, persistent: bool) -> mqtt.Client:
    """An MQTT v5 paho client with paho's defaults, but no cap on its outgoing queue."""
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv5,
    )
    client.max_queued_messages_set(0)
    return client


def _connect(
    client: mqtt.Client, host: str, port: int, *, persistent: bool, receive_maximum: int = 0
) -> None:
    """Connect; a persistent session lasts a week, as the edge's does, so the broker queues
    for it while it is away."""
    props = None
    if persistent:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = SESSION_EXPIRY
        if receive_maximum:
            props.ReceiveMaximum = receive_maximum
    client.connect(host, port, keepalive=60, clean_start=not persistent, properties=props)


def publish_all(
    host: str, port: int, messages: list[tuple[str, bytes]], *, inflight: int = 20
) -> float:
    """Publish QoS 1 and wait for every PUBACK; return the seconds it took.

    At most ``WINDOW`` messages are handed to paho ahead of their PUBACK: paho keys its
    outgoing messages by the 16-bit packet id, so queueing more than 65,535 at once makes ids
    wrap and messages vanish (measured here: 100,000 publishes stall at about 66,700 acks).
    """
    done = threading.Event()
    window = threading.Semaphore(WINDOW)
    acked = 0
    lock = threading.Lock()

    def on_publish(_c: Any, _u: Any, _mid: int, _rc: Any, _p: Any) -> None:
        nonlocal acked
        window.release()
        with lock:
            acked += 1
            if acked >= len(messages):
                done.set()

    client = _client(f"bench-pub-{uuid.uuid4().hex[:8]}", persistent=False)
    client.max_inflight_messages_set(inflight)
    client.on_publish = on_publish
    connected = threading.Event()
    client.on_connect = lambda *_a: connected.set()
    t0 = time.monotonic()
    _connect(client, host, port, persistent=False)
    client.loop_start()
    if not connected.wait(10):
        raise RuntimeError("publisher could not connect")
    for topic, payload in messages:
        if not window.acquire(timeout=60):
            raise RuntimeError(f"no PUBACK for 60 s ({acked} of {len(messages)} acknowledged)")
        client.publish(topic, payload, qos=1)
    if messages and not done.wait(600):
        raise RuntimeError(f"only {acked} of {len(messages)} acknowledged")
    elapsed = time.monotonic() - t0
    client.disconnect()
    client.loop_stop()
    return elapsed


def register_session(host: str, port: int, client_id: str, filters: list[str]) -> None:
    """Connect once with a persistent session and subscribe, so the broker queues for it."""
    subscribed = threading.Event()
    client = _client(client_id, persistent=True)
    client.on_connect = lambda c, *_a: c.subscribe([(f, 1) for f in filters])
    client.on_subscribe = lambda *_a: subscribed.set()
    _connect(client, host, port, persistent=True)
    client.loop_start()
    if not subscribed.wait(10):
        raise RuntimeError("baseline subscriber could not subscribe")
    client.disconnect()
    client.loop_stop()


def count_messages(
    host: str, port: int, client_id: str, expected: int, timeout: float, receive_maximum: int = 0
) -> float:
    """Resume the persistent session and count QoS 1 messages until ``expected`` arrived.

    ``receive_maximum``: the in-flight window the client asks for (the edge's own, so that
    both are sent the same way by the broker); 0 leaves the broker's default."""
    done = threading.Event()
    got = 0

    def on_message(_c: Any, _u: Any, _msg: mqtt.MQTTMessage) -> None:
        nonlocal got
        got += 1
        if got >= expected:
            done.set()

    client = _client(client_id, persistent=True)
    client.on_message = on_message
    t0 = time.monotonic()
    _connect(client, host, port, persistent=True, receive_maximum=receive_maximum)
    client.loop_start()
    finished = done.wait(timeout)
    elapsed = time.monotonic() - t0
    client.disconnect()
    client.loop_stop()
    if not finished:
        raise RuntimeError(f"only {got} of {expected} messages arrived in {timeout:.0f} s")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.mqtt subscribe|publish``: one bare baseline, as its own process."""
    ap = argparse.ArgumentParser(description="bare paho-mqtt baselines")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("subscribe")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--client-id", required=True)
    s.add_argument("--count", type=int, required=True)
    s.add_argument("--timeout", type=float, default=600)
    s.add_argument("--receive-maximum", type=int, default=0)
    p = sub.add_parser("publish")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--file", type=Path, required=True, help="JSON lines of [topic, payload]")
    a = ap.parse_args(argv)
    if a.cmd == "subscribe":
        secs = count_messages(
            "127.0.0.1", a.port, a.client_id, a.count, a.timeout, a.receive_maximum
        )
        print(json.dumps({"seconds_connected": secs, "messages": a.count}))
    else:
        msgs = [
            (t, pl.encode()) for t, pl in (json.loads(x) for x in a.file.read_text().splitlines())
        ]
        secs = publish_all("127.0.0.1", a.port, msgs)
        print(json.dumps({"seconds_connected": secs, "messages": len(msgs)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
