"""A broker restart that loses what the edge published before the online store came back.

Mosquitto (2.0) restores a persistent session's queue after a restart, but not its shared
subscription (``$share/online/...``, the online store's up filter): an up-event the edge
publishes after the restart and before the online store subscribes again is acknowledged
to the edge (PUBACK) and delivered to no one. The edge was right to mark it sent; nothing
after it shows the gap. Only the edge's retained status can (contract, "tail gaps"), so it
follows the stream (``sync/publisher.py``, ``STATUS_FOLLOW``) instead of saying, until the
next STATUS_INTERVAL, how far the stream was when the link came back.

The periodic status is pushed out of reach here (an hour): a fix that only worked through
it would fail these tests instead of making them slow.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import orjson
import paho.mqtt.client as mqtt
import pytest
from online_store import OnlineStore
from online_store.auth import store_token

from edge.config import load_settings
from edge.store import db, outbox, state
from edge.store.inbox import REPLAY_KEY
from sync import worker
from sync.publisher import Counters, Publisher
from sync.recovery import Recovery
from tests.support.broker import Broker
from tests.support.waiting import wait_until
from tests.sync.conftest import EdgeSync, edge_settings
from tests.sync.events import data_for
from tests.sync.support import PREFIX, Collector

pytestmark = pytest.mark.slow

ONLINE_TOKEN = "restart-backfill-secret"


def add_sales(conn: sqlite3.Connection, first: int, last: int) -> None:
    for n in range(first, last + 1):
        with db.write(conn):
            outbox.append(conn, "/stores/S001", "sale.recorded", data_for("sale.recorded", n))


def announced(collector: Collector) -> set[int]:
    """Every ``last_sequence`` the edge's status said while online."""
    return {int(s["last_sequence"]) for s in list(collector.statuses) if s["online"]}


@pytest.fixture
def slow_periodic_status(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker, "STATUS_INTERVAL", 3600.0)


def test_the_status_announces_the_backlog_sent_after_a_reconnection(
    slow_periodic_status: None,
    edge_db: sqlite3.Connection,
    broker: Broker,
    collector: Collector,
    start_edge: Callable[..., EdgeSync],
) -> None:
    edge = start_edge()
    wait_until(edge.worker.subscribed.is_set, 10, what="the edge subscribed")
    add_sales(edge_db, 1, 3)
    wait_until(lambda: outbox.backlog(edge_db)[0] == 0, 15, what="sales 1-3 acknowledged")
    broker.stop()
    wait_until(lambda: not edge.worker.connected.is_set(), 10, what="the edge saw the cut")
    add_sales(edge_db, 4, 8)  # sold during the cut
    broker.start()
    wait_until(lambda: outbox.backlog(edge_db)[0] == 0, 15, what="the backlog acknowledged")
    # The status at the reconnection went out before the backlog (it says 3); the one that
    # follows says 8.
    wait_until(lambda: 8 in announced(collector), 15, what="a status saying 8")
    edge.halt()


@pytest.fixture
def online(tmp_path: Path, broker: Broker) -> Iterator[tuple[OnlineStore, str]]:
    store = OnlineStore(
        str(tmp_path / "online.db"),
        broker.url,
        PREFIX,
        ["S001"],
        ONLINE_TOKEN,
        gap_grace=0.5,
        replay_retry=3600.0,  # a replay asked for once must be enough
    ).start()
    try:
        wait_until(lambda: store.subscribed, 10, what="the online store subscribed")
        yield store, store.serve()
    finally:
        store.stop()


def test_up_events_the_broker_took_before_the_online_store_was_back_are_replayed(
    slow_periodic_status: None,
    edge_db: sqlite3.Connection,
    db_path: Path,
    broker: Broker,
    online: tuple[OnlineStore, str],
) -> None:
    store, url = online
    settings = edge_settings(
        db_path,
        broker,
        None,
        online_store_url=url,
        online_store_token=store_token(ONLINE_TOKEN, "S001"),
    )
    edge = EdgeSync(settings).start()
    try:
        wait_until(edge.worker.subscribed.is_set, 10, what="the edge subscribed")
        add_sales(edge_db, 1, 3)
        wait_until(lambda: store.up_sequence("S001") == 3, 15, what="sales 1-3 on the web")
        broker.stop()
        wait_until(lambda: not store.connected, 10, what="the online store saw the cut")
        # The online store comes back later than the edge (here: its network thread held
        # until the edge has published what it sold during the cut).
        store.client.loop_stop()
        add_sales(edge_db, 4, 8)
        broker.start()
        wait_until(lambda: outbox.backlog(edge_db)[0] == 0, 15, what="the backlog acknowledged")
        assert store.up_sequence("S001") == 3
        store.client.loop_start()
        wait_until(lambda: store.up_sequence("S001") == 8, 20, what="sales 4-8 on the web")
    finally:
        edge.halt()
    purchases = [e["data"]["purchase_id"] for e in store.events("chain")
                 if e["type"] == "purchase.recorded"]  # fmt: skip
    assert purchases == [f"SALE{n}" for n in range(1, 9)]  # nothing lost, nothing twice
    replays = [e["data"] for e in store.events("stores/S001") if e["type"] == "replay.requested"]
    assert replays == [{"after": "3"}]
    assert store.dead_letters() == []


class LinkDropping:
    """paho's client as a replay sees it: the broker acknowledges the first ``acked``
    messages, and the link drops as the next one goes out (its PUBACK never comes)."""

    def __init__(self, connected: threading.Event, acked: int) -> None:
        self.connected, self.acked = connected, acked
        self.sent: list[int] = []  # the sequences published, in order

    def publish(self, _topic: str, payload: bytes, **_kw: Any) -> mqtt.MQTTMessageInfo:
        self.sent.append(int(orjson.loads(payload)["sequence"]))
        info = mqtt.MQTTMessageInfo(len(self.sent))
        if len(self.sent) <= self.acked:
            info._published = True  # noqa: SLF001 - what paho sets on the PUBACK
        else:
            self.connected.clear()
        return info


def test_a_replay_cut_short_goes_on_after_its_last_acknowledged_event(
    edge_db: sqlite3.Connection, db_path: Path
) -> None:
    add_sales(edge_db, 1, 5)
    with db.write(edge_db) as conn:
        state.put(conn, REPLAY_KEY, 0)  # the online store asked for everything
    settings = load_settings(None, store_id="S001", db_path=db_path, secret_key="test")
    connected, stop = threading.Event(), threading.Event()
    connected.set()
    client = LinkDropping(connected, acked=2)
    recovery = Recovery(settings, edge_db)
    recovery.done = True
    paho = cast(mqtt.Client, client)
    publisher = Publisher(settings, paho, edge_db, recovery, connected, stop, Counters())
    publisher.publish_some()
    assert client.sent == [1, 2, 3]  # 3 went out as the link dropped: its PUBACK never came
    assert state.get(edge_db, REPLAY_KEY) == 2  # not done: 3 to 5 are still owed
    connected.set()  # the link is back
    client.acked = 100
    publisher.publish_some()
    assert client.sent[3:] == [3, 4, 5]
    assert state.get(edge_db, REPLAY_KEY) is None
