"""The sync worker on a real Mosquitto: up-events published, down-events applied, link state."""

from __future__ import annotations

import sqlite3
from typing import Any

from edge import db, outbox, state
from tests.support.waiting import wait_until
from tests.sync.conftest import scalar, wait_applied
from tests.sync.events import data_for
from tests.sync.support import Collector, WebSide


def add_sales(conn: sqlite3.Connection, n: int, start: int = 1) -> None:
    for i in range(start, start + n):
        data = data_for("sale.recorded", i)
        with db.write(conn):
            outbox.append(conn, "/stores/S001", "sale.recorded", data)


def test_up_and_down_clean(
    edge_db: sqlite3.Connection, web: WebSide, collector: Collector, start_edge: Any
) -> None:
    add_sales(edge_db, 5)
    edge = start_edge()
    events = [web.make("customer.upserted") for _ in range(3)]
    web.publish_many(events)
    wait_applied(edge_db, 3)
    wait_until(lambda: len(collector.distinct()) == 5, 20, what="5 sales at the collector")
    add_sales(edge_db, 5, start=6)
    wait_until(lambda: len(collector.distinct()) == 10, 20, what="10 sales at the collector")
    assert collector.sequences() == list(range(1, 11))
    assert not collector.invalid
    assert scalar(edge_db, "SELECT COUNT(*) FROM customers") == 3
    wait_until(lambda: state.link(edge_db)["connected"], 10, what="link state up")
    wait_until(lambda: outbox.backlog(edge_db)[0] == 0, 10, what="outbox marked sent")
    edge.halt()
    assert not state.link(edge_db)["connected"]
    wait_until(lambda: collector.statuses and not collector.statuses[-1]["online"], 10)
    assert collector.statuses[-1]["last_sequence"] == "10"
