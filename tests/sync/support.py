"""The other side of the link, as small as the sync tests need, on a real broker.

- ``WebSide`` plays the online store: it numbers down-events per stream, publishes them with
  a real paho client (QoS 1), keeps them all, and serves the contract's backfill endpoint
  from that list over real HTTP (``/passerelle/v1/streams/{stream}/events``), counting what
  was fetched.
- ``Collector`` plays the online store's consumer of up-events: a persistent-session
  subscriber that validates every message the edge publishes against the contract's schemas
  and counts what arrived (with duplicates) and what is distinct.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import paho.mqtt.client as mqtt

from bench.soak_faults import mqtt_client
from sync import contract
from tests.support.waiting import wait_until
from tests.sync.events import data_for

PREFIX = "passerelle/v1"
TOKEN = "test-backfill-token"


def _client(client_id: str, port: int, **callbacks: Any) -> mqtt.Client:
    """A persistent-session MQTT 5 client; callbacks are set before it connects."""
    return mqtt_client(client_id, port, **callbacks)


class WebSide:
    def __init__(self, port: int, store_id: str = "S001") -> None:
        self.store_id = store_id
        self.port = port
        self.events: dict[str, list[dict[str, Any]]] = {
            contract.CHAIN_SOURCE: [],
            contract.store_down_source(store_id): [],
        }
        self.fetched = 0
        self.requests = 0
        self.up_requests = 0
        self.down = False  # the backfill endpoint answers 503 while set
        self.up: list[dict[str, Any]] = []  # what it serves as stores/{id}/up (contract 1.1)
        self._lock = threading.Lock()
        self.client = _client(f"test-web-{uuid.uuid4().hex[:8]}", port)
        wait_until(self.client.is_connected, 10, what="the web side's MQTT connection")
        self.http = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.http.daemon_threads = True
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http.server_address[1]}"

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
        self.http.shutdown()
        self.http.server_close()

    # -- making events ---------------------------------------------------------------------

    def make(
        self, type_: str, data: dict[str, Any] | None = None, source: str = contract.CHAIN_SOURCE
    ) -> dict[str, Any]:
        """Number and keep a new event of ``source`` (not published yet)."""
        with self._lock:
            stream = self.events[source]
            seq = len(stream) + 1
            ev = {
                "specversion": "1.0",
                "id": str(uuid.uuid4()),
                "source": source,
                "type": type_,
                "time": "2026-11-22T10:15:00Z",
                "sequence": str(seq),
                "datacontenttype": "application/json",
                "data": data if data is not None else data_for(type_, seq),
            }
            contract.validate(ev)
            stream.append(ev)
            return ev

    def topic(self, ev: dict[str, Any]) -> str:
        return contract.down_topic_for(PREFIX, ev["source"], ev["type"])

    def _connected(self) -> None:
        """As an online store would, publish once connected: after a broker restart the
        client is back within its reconnect delay, and paho refuses a publish until then
        ("The client is not currently connected", which failed a fault test's replay)."""
        wait_until(self.client.is_connected, 30, what="the web side's MQTT connection")

    def publish(self, ev: dict[str, Any], payload: bytes | None = None) -> None:
        self._connected()
        info = self.client.publish(self.topic(ev), payload or json.dumps(ev).encode(), qos=1)
        info.wait_for_publish(10)

    def publish_many(self, events: list[dict[str, Any]]) -> None:
        self._connected()
        infos = [self.client.publish(self.topic(e), json.dumps(e), qos=1) for e in events]
        for info in infos:
            info.wait_for_publish(30)

    def publish_raw(self, topic: str, payload: bytes) -> None:
        self._connected()
        self.client.publish(topic, payload, qos=1).wait_for_publish(10)

    def announce(self, source: str = contract.CHAIN_SOURCE) -> None:
        """The online store's retained status of ``source`` with its last sequence."""
        payload = contract.status_payload(True, len(self.events[source]), "2026-11-22T10:15:00Z")
        self._connected()
        self.client.publish(
            contract.status_topic(PREFIX, source), json.dumps(payload), qos=1, retain=True
        ).wait_for_publish(10)

    # -- the backfill endpoint -------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        web = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                return

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                url = urlparse(self.path)
                prefix = "/passerelle/v1/streams/"
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    self._send(401, {"error": "unauthorized"})
                    return
                if not url.path.startswith(prefix) or not url.path.endswith("/events"):
                    self._send(404, {"error": "not found"})
                    return
                if web.down:
                    self._send(503, {"error": "down for the test"})
                    return
                stream = url.path[len(prefix) : -len("/events")]
                source = "/web/chain" if stream == "chain" else "/web/" + stream
                q = parse_qs(url.query)
                after = int(q.get("after", ["0"])[0])
                limit = min(1000, int(q.get("limit", ["100"])[0]))
                with web._lock:
                    if stream.endswith("/up"):  # contract 1.1: the store's own up-stream
                        up = sorted(web.up, key=lambda e: int(e["sequence"]))
                        events = [e for e in up if int(e["sequence"]) > after][:limit]
                        web.up_requests += 1  # the edge's start-up recovery
                    else:
                        events = web.events.get(source, [])[after : after + limit]
                        web.fetched += len(events)
                        web.requests += 1
                self._send(200, events, "application/cloudevents-batch+json")

            def _send(self, code: int, body: Any, ctype: str = "application/json") -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


class Collector:
    """Every up-event the broker delivers, checked against the contract."""

    def __init__(self, port: int, store_id: str = "S001") -> None:
        self.messages: list[dict[str, Any]] = []
        self.invalid: list[str] = []
        self.statuses: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self.store_id = store_id
        self._subscribed = threading.Event()
        self.client = _client(
            f"test-online-{uuid.uuid4().hex[:8]}",
            port,
            on_connect=self._on_connect,
            on_message=self._on_message,
            on_subscribe=lambda *_a: self._subscribed.set(),
        )
        wait_until(self._subscribed.is_set, 10, what="the collector's subscription")

    def _on_connect(self, c: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        c.subscribe(
            [
                (contract.up_filter(PREFIX), 1),
                (contract.edge_status_topic(PREFIX, self.store_id), 1),
            ]
        )

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            try:
                payload = contract.parse(msg.payload)
                if msg.topic.startswith(PREFIX + "/status/"):
                    contract.validate_status(payload)
                    self.statuses.append(payload)
                    return
                contract.validate(payload)
                contract.check_topic(PREFIX, msg.topic, payload)
            except contract.ContractError as exc:
                self.invalid.append(f"{msg.topic}: {exc}")
                return
            self.messages.append(payload)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    # -- counting --------------------------------------------------------------------------

    def ids(self) -> Counter[str]:
        with self._lock:
            return Counter(m["id"] for m in self.messages)

    def distinct(self, type_: str | None = None) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {m["id"]: m for m in self.messages if type_ is None or m["type"] == type_}

    def sequences(self) -> list[int]:
        with self._lock:
            return sorted({int(m["sequence"]) for m in self.messages})
