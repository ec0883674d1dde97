"""The MQTT half of the benchmarks: the broker, the events, and the bare paho baselines.

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
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge.store.ids import new_id
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
    return [f"{PREFIX}/chain/down/#", f"{PREFIX}/stores/{store_id}/down/#"]


def _now(offset_s: float = 0) -> str:
    t = datetime.now(UTC) + timedelta(seconds=offset_s)
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _envelope(source: str, seq: int, type_: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": new_id(),
        "source": source,
        "type": type_,
        "time": _now(),
        "sequence": str(seq),
        "datacontenttype": "application/json",
        "data": data,
    }


def _lines(rng: random.Random, products: int) -> list[dict[str, Any]]:
    out = []
    for _ in range(rng.randint(1, 5)):
        i = rng.randint(1, products)
        out.append(
            {
                "sku": f"SKU-{i:06d}",
                "name": f"Product {i}",
                "qty": rng.randint(1, 2),
                "unit_price": rng.choice((199, 450, 990, 1500)),
            }
        )
    return out


def down_mix(with_orders: bool) -> dict[str, float]:
    """The share of each type in a catch-up, as a day offline looks from a busy chain."""
    mix = {"purchase.recorded": 0.40, "loyalty.entry": 0.35, "customer.upserted": 0.15}
    if with_orders:
        mix["order.placed"] = 0.10
    else:
        mix["purchase.recorded"] += 0.10
    return mix


def down_events(
    n: int, members: list[tuple[str, str]], products: int, *, with_orders: bool, seed: int = 7
) -> Iterator[tuple[str, bytes, str]]:
    """``n`` contract-valid down-events: (topic, payload, type), sequences from 1 per source.

    Ids are time-ordered UUIDv7, as the reference online store makes them and as the
    contract's example id is; members are drawn at random from the data set."""
    rng = random.Random(seed)
    mix = down_mix(with_orders)
    types, weights = list(mix), list(mix.values())
    seqs = {"/web/chain": 0, f"/web/stores/{STORE}": 0}
    for k in range(n):
        type_ = rng.choices(types, weights)[0]
        card, cid = members[rng.randrange(len(members))]
        at = _now(-rng.randint(60, 86_400))
        if type_ == "purchase.recorded":
            lines = _lines(rng, products)
            total = sum(ln["qty"] * ln["unit_price"] for ln in lines)
            web = rng.random() < 0.7
            data: dict[str, Any] = {
                "purchase_id": new_id(),
                "customer_id": cid,
                "channel": "web" if web else "store",
                "store_id": None if web else f"S{rng.randint(2, 40):03d}",
                "occurred_at": at,
                "currency": "EUR",
                "total": total,
                "lines": lines,
                "points_earned": total // 100,
            }
        elif type_ == "loyalty.entry":
            data = {
                "entry_id": new_id(),
                "customer_id": cid,
                "points": rng.randint(1, 300),
                "reason": rng.choice(("purchase", "bonus", "adjust")),
                "ref": None,
                "channel": "web",
                "store_id": None,
                "occurred_at": at,
            }
        elif type_ == "customer.upserted":
            new = rng.random() < 0.5
            data = {
                "customer_id": new_id() if new else cid,
                "version": 1 if new else 2 + k,
                "loyalty_card": f"39{k:010d}" if new else card,
                "first_name": "Camille",
                "last_name": "Martin",
                "email": f"member{k}@example.com",
                "phone": f"+3361{k % 10_000_000:07d}",
                "tier": rng.choice(("standard", "silver", "gold")),
                "locale": "fr",
            }
        else:
            lines = _lines(rng, products)
            data = {
                "order_id": new_id(),
                "order_number": f"W-{100000 + k}",
                "customer_id": cid,
                "customer_name": "Camille M.",
                "pickup_code": f"{rng.randint(0, 999_999):06d}",
                "currency": "EUR",
                "total": sum(ln["qty"] * ln["unit_price"] for ln in lines),
                "paid": True,
                "lines": lines,
                "placed_at": at,
                "pickup_by": _now(3 * 86_400),
            }
        if type_ == "order.placed":
            source, topic = f"/web/stores/{STORE}", f"{PREFIX}/stores/{STORE}/down/{type_}"
        else:
            source, topic = "/web/chain", f"{PREFIX}/chain/down/{type_}"
        seqs[source] += 1
        payload = json.dumps(_envelope(source, seqs[source], type_, data), separators=(",", ":"))
        yield topic, payload.encode(), type_


# -- paho helpers -----------------------------------------------------------------------------


def _client(client_id: str, *, persistent: bool) -> mqtt.Client:
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
