"""A whole click-and-collect order end to end, over a real Mosquitto: the online store
publishes ``order.placed``, the edge's real sync worker (``passerelle worker sync``, a separate
process) applies it, staff and the shopper move it through the API, and the online store reads
every ``pickup.updated`` back from the broker, in order, each valid against the contract.
Disorder included: the same order.placed delivered twice, the broker down during the
check-in and the handover (the store keeps working; the events go up, in order, once it is
back), and an order.cancelled after the handover."""

from __future__ import annotations

import json
import os
import signal
import threading
import uuid
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge.pickups.rules import qr_payload
from sync import contract
from tests.pickups.conftest import order_data, status_of
from tests.support import proc
from tests.support.broker import Broker
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

PREFIX = "passerelle/v1"
STORE = "S001"
DOWN_SOURCE = contract.store_down_source(STORE)


class Side:
    """One paho client of the online store's side: publishes down-events, collects up-events
    and the edge's retained status."""

    def __init__(self, port: int) -> None:
        self.lock = threading.Lock()
        self.up: list[tuple[str, dict[str, Any]]] = []
        self.status: dict[str, Any] = {}
        self.sequence = 0
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"test-web-{uuid.uuid4().hex[:8]}",
            protocol=mqtt.MQTTv5,
        )
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.subscribed = threading.Event()
        self.client.on_subscribe = lambda *a: self.subscribed.set()
        self.client.reconnect_delay_set(1, 2)
        # a persistent session, as the online store's consumer has: what the edge publishes
        # while this side reconnects waits for it on the broker
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 3600
        self.client.connect("127.0.0.1", port, clean_start=False, properties=props)
        self.client.loop_start()
        assert self.subscribed.wait(10), "the web side could not subscribe"

    def _on_connect(self, client: mqtt.Client, *_: Any) -> None:
        client.subscribe(
            [
                (contract.up_filter(PREFIX, STORE), 1),
                (contract.edge_status_topic(PREFIX, STORE), 1),
            ]
        )

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        payload = json.loads(msg.payload)
        with self.lock:
            if msg.topic == contract.edge_status_topic(PREFIX, STORE):
                self.status = payload
            else:
                self.up.append((msg.topic, payload))

    def publish(self, type_: str, data: dict[str, Any]) -> dict[str, Any]:
        self.sequence += 1
        event = {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": DOWN_SOURCE,
            "type": type_,
            "time": "2026-11-24T10:15:00Z",
            "sequence": str(self.sequence),
            "datacontenttype": "application/json",
            "data": data,
        }
        contract.validate(event)
        topic = contract.down_topic_for(PREFIX, DOWN_SOURCE, type_)
        self.client.publish(topic, json.dumps(event), qos=1).wait_for_publish(10)
        return event

    def pickups(self) -> list[tuple[str, dict[str, Any]]]:
        """``pickup.updated`` as first received: at least once on the wire, each counted once
        by its id (the contract's dedupe key)."""
        seen: dict[str, tuple[str, dict[str, Any]]] = {}
        with self.lock:
            for topic, event in self.up:
                if event.get("type") == "pickup.updated":
                    seen.setdefault(event["id"], (topic, event))
        return list(seen.values())

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_order_from_the_broker_to_the_handover_and_back(tmp_path: Path, app, client, headers, conn):
    broker = Broker(tmp_path / "broker").start()
    web = Side(broker.port)
    env = proc.env(
        db_path=app.config["DB_PATH"],
        mqtt_url=broker.url,
        store_id=STORE,
        topic_prefix=PREFIX,
        secret_key="test",
    )
    worker = proc.start(proc.passerelle("worker", "sync"), env, tmp_path / "sync.log")
    try:
        wait_until(lambda: web.status.get("online") is True, 30, what="the edge's online status")
        order = order_data(customer_id=None)
        oid = order["order_id"]
        web.publish("order.placed", order)
        web.publish("order.placed", order)  # delivered twice, under two event ids
        wait_until(
            lambda: (
                conn.execute("SELECT COUNT(*) FROM inbox WHERE type = 'order.placed'").fetchone()[0]
                == 2
            ),
            30,
            what="both order.placed applied",
        )
        board = client.get("/api/v1/pickups", headers=headers("staff")).json
        assert [i["order_id"] for i in board["items"]] == [oid]

        def post(path: str, role: str = "staff", **body: Any) -> None:
            kwargs: dict[str, Any] = {"json": body} if body else {}
            r = client.post(f"/api/v1/pickups{path}", headers=headers(role), **kwargs)
            assert r.status_code == 200, r.json

        post(f"/{oid}/preparing")
        post(f"/{oid}/ready")
        wait_until(lambda: len(web.pickups()) >= 3, 30, what="received, preparing, ready")

        broker.stop()  # the link is down: the shopper checks in, staff hand over all the same
        post(
            "/checkin",
            role="kiosk",
            order_number=order["order_number"],
            pickup_code=qr_payload(order["order_number"], order["pickup_code"]),
        )
        post(f"/{oid}/collect", pickup_code=order["pickup_code"])
        assert len(web.pickups()) == 3
        broker.start()

        wait_until(lambda: len(web.pickups()) >= 5, 60, what="the events made while offline")
        wait_until(web.client.is_connected, 30, what="the web side back on the broker")
        web.publish("order.cancelled", {"order_id": oid, "reason": "changed my mind"})

        expected = ["received", "preparing", "ready", "ready", "collected", "collected"]
        wait_until(
            lambda: len(web.pickups()) >= len(expected), 30, what="the pickup.updated events"
        )
        got = web.pickups()
        assert [e["data"]["status"] for _, e in got] == expected
        assert status_of(conn, oid) == "collected"
        sequences = [int(e["sequence"]) for _, e in got]  # in the order they arrived
        # in order, none twice; the stream's other events (stock.changed of the
        # reservation and of the collect) take the numbers in between
        assert sequences == sorted(set(sequences))
        for topic, event in got:
            contract.validate(event)
            assert topic == contract.up_topic(PREFIX, STORE, "pickup.updated")
            assert event["source"] == contract.up_source(STORE)
            assert event["data"]["order_id"] == oid
        staff = [e["data"]["staff_id"] for _, e in got]
        assert staff == [None, "test-staff", "test-staff", None, "test-staff", "test-staff"]
        checked_in = got[3][1]["data"]["checked_in_at"]
        assert checked_in and got[4][1]["data"]["checked_in_at"] == checked_in
        # the re-published handover is the same fact: same time as the first
        assert got[5][1]["data"]["occurred_at"] == got[4][1]["data"]["occurred_at"]
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
        web.close()
        broker.kill()
