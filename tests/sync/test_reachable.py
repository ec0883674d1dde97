"""One judgement of "reachable" (CONTRACT.md 1.1), with two real Mosquittos: one in the store,
bridged to one playing the chain's broker, where the online store's heartbeat (its retained
status on ``status/web/chain``) is published. Cutting the bridge leaves the edge's own MQTT
connection up; the heartbeat ages, and the offline policy, /readyz and the banner's source
all switch to "unreachable" within the configured age (the contract's 150 s at most)."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from flask import Flask
from paho.mqtt.enums import CallbackAPIVersion

from edge.offers.rules import offline_cap
from edge.store import db, state
from edge.web.app import create_app
from sync import contract
from tests.support.broker import Broker
from tests.support.waiting import wait_until
from tests.sync.conftest import EdgeSync, edge_settings
from tests.sync.support import PREFIX

MAX_AGE = 3  # seconds: a heartbeat every 0.5 s, as an online store configured for it would


class Heartbeat:
    """The online store's retained status on the chain's broker, every 0.5 s."""

    def __init__(self, port: int) -> None:
        self.online = True  # False: what its last will says
        self.stop = threading.Event()
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2, client_id="test-online-heartbeat"
        )
        self.client.connect_async("127.0.0.1", port)
        self.client.reconnect_delay_set(1, 1)
        self.client.loop_start()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.wait(0.5):
            payload = contract.status_payload(self.online, 0, db.now_iso())
            self.client.publish(
                contract.status_topic(PREFIX, contract.CHAIN_SOURCE),
                json.dumps(payload),
                qos=1,
                retain=True,
            )

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def bridged(make_broker: Callable[..., Broker]) -> Iterator[tuple[Broker, Broker]]:
    central = make_broker()
    store = make_broker(
        "connection chain\n"
        f"address 127.0.0.1:{central.port}\n"
        f"topic {PREFIX}/# both 1\n"
        "cleansession false\n"
        "restart_timeout 1 1\n"
        "keepalive_interval 5\n"
    )
    yield central, store


def test_a_cut_bridge_switches_the_offline_policy_on(
    bridged: tuple[Broker, Broker], edge_db: sqlite3.Connection, db_path: Path
) -> None:
    central, store = bridged
    beat = Heartbeat(central.port)
    edge = EdgeSync(edge_settings(db_path, store, None, online_status_max_age=MAX_AGE)).start()
    app: Flask = create_app({"DB_PATH": str(db_path), "STORE_ID": "S001", "SECRET_KEY": "t"})
    try:
        wait_until(lambda: state.link(edge_db)["reachable"], 45, what="reachable via the bridge")
        assert state.link(edge_db)["offline_seconds"] is None
        ready = app.test_client().get("/readyz").json
        assert ready["link"]["reachable"] and "online_store_unreachable" not in ready["degraded"]

        central.kill()  # the internet behind the store's broker is gone
        wait_until(
            lambda: not state.link(edge_db)["reachable"],
            4 * MAX_AGE,
            what="the online store judged unreachable",
        )
        link = state.link(edge_db)
        assert link["connected"]  # the edge's own MQTT link never went down
        assert "heartbeat_stale" in link["reasons"]
        # The offline policy reads this one figure: past the grace, its caps apply.
        assert link["offline_seconds"] is not None
        assert offline_cap(link["offline_seconds"], grace_seconds=0, max_discount=500) == 500
        ready = app.test_client().get("/readyz").json
        assert "online_store_unreachable" in ready["degraded"]
        assert ready["link"]["reachable"] is False  # what the screens' banner reads

        central.start()  # the bridge comes back, and the heartbeat with it
        wait_until(lambda: state.link(edge_db)["reachable"], 30, what="reachable again")
    finally:
        edge.halt()
        beat.close()


def test_an_online_store_that_says_offline_is_unreachable(
    broker: Broker, edge_db: sqlite3.Connection, db_path: Path
) -> None:
    """Its last will (``online: false``), retained: the edge believes it at once."""
    edge = EdgeSync(edge_settings(db_path, broker, None, online_status_max_age=MAX_AGE)).start()
    beat = Heartbeat(broker.port)
    try:
        wait_until(lambda: state.link(edge_db)["reachable"], 45, what="reachable")
        beat.online = False
        wait_until(lambda: not state.link(edge_db)["reachable"], 10, what="unreachable")
        assert "online_store_offline" in state.link(edge_db)["reasons"]
    finally:
        beat.close()
        edge.halt()
