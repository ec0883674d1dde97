"""The sync worker on a real Mosquitto: up-events published, down-events applied, link state."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

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


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_up_and_down_clean(
    edge_db: sqlite3.Connection,
    web: WebSide,
    collector: Collector,
    start_edge: Any,
    protocol: str,
) -> None:
    add_sales(edge_db, 5)
    edge = start_edge(mqtt_protocol=protocol)
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


def test_sync_status_command_and_readyz(
    edge_db: sqlite3.Connection,
    web: WebSide,
    start_edge: Any,
    db_path: Any,
    monkeypatch: Any,
    client: Any,
) -> None:
    from click.testing import CliRunner

    from edge.cli import cli

    edge = start_edge()
    wait_until(edge.worker.subscribed.is_set, 10)
    web.publish(web.make("customer.upserted"))
    web.publish_raw("passerelle/v1/chain/down/customer.upserted", b"{oops")
    wait_applied(edge_db, 1)
    # The bad message may still be on its way when the good one is applied.
    wait_until(
        lambda: scalar(edge_db, "SELECT COUNT(*) FROM dead_letters") == 1,
        10,
        what="the bad message dead-lettered",
    )
    wait_until(lambda: state.link(edge_db)["connected"], 10, what="link state up")
    monkeypatch.setenv("PASSERELLE_DB_PATH", str(db_path))
    out = CliRunner().invoke(cli, ["sync", "status"])
    assert out.exit_code == 0, out.output
    assert "link           up" in out.output
    assert "inbox /web/chain" in out.output and "applied 1" in out.output
    assert "dead letters   1" in out.output
    ready = client.get("/readyz").json
    assert ready["link"]["connected"] is True and ready["inbox"]["dead_letters"] == 1
    assert "passerelle_dead_letters 1.0" in client.get("/metrics").get_data(as_text=True)
    edge.halt()
    out = CliRunner().invoke(cli, ["sync", "status", "--json"])
    assert '"connected": false' in out.output


def test_replay_requested_publishes_kept_events_again_in_order(
    edge_db: sqlite3.Connection, web: WebSide, collector: Collector, start_edge: Any
) -> None:
    add_sales(edge_db, 20)
    edge = start_edge()
    wait_until(lambda: len(collector.distinct()) == 20, 20, what="20 sales up")
    wait_until(lambda: outbox.backlog(edge_db)[0] == 0, 10, what="outbox marked sent")
    before = len(collector.messages)
    web.publish(web.make("replay.requested", {"after": "12"}, source="/web/stores/S001"))
    wait_until(lambda: len(collector.messages) >= before + 8, 20, what="8 events replayed")
    wait_until(lambda: state.get(edge_db, "replay_after") is None, 10, what="replay done")
    replayed = [int(m["sequence"]) for m in collector.messages[before:]]
    assert replayed == list(range(13, 21))  # in order, the same ids as before
    assert len(collector.distinct()) == 20 and not collector.invalid
    edge.halt()


def test_a_failing_handler_dead_letters_only_its_event(
    edge_db: sqlite3.Connection, web: WebSide, start_edge: Any, monkeypatch: Any
) -> None:
    from edge import inbox

    original = inbox.HANDLERS["product.upserted"]

    def fragile(conn: sqlite3.Connection, d: Any, ctx: Any) -> bool:
        if d["sku"] == "SKU-3":
            raise ValueError("this product breaks a rule of the store")
        return original(conn, d, ctx)

    monkeypatch.setitem(inbox.HANDLERS, "product.upserted", fragile)
    edge = start_edge()
    wait_until(edge.worker.subscribed.is_set, 10)
    web.publish_many([web.make("product.upserted") for _ in range(6)])
    wait_applied(edge_db, 6)
    edge.halt()
    skus = {r[0] for r in edge_db.execute("SELECT sku FROM products")}
    assert {"SKU-1", "SKU-2", "SKU-4", "SKU-5", "SKU-6"} <= skus and "SKU-3" not in skus
    reason = scalar(edge_db, "SELECT reason FROM dead_letters")
    assert "handler of product.upserted failed" in reason and "breaks a rule" in reason
    assert scalar(edge_db, "SELECT outcome FROM inbox WHERE sequence = 3") == "dead"


def test_a_new_store_bootstraps_from_the_backfill_endpoint(
    edge_db: sqlite3.Connection, web: WebSide, start_edge: Any
) -> None:
    for _ in range(7):
        web.make("product.upserted")  # history from before this store existed: never on MQTT
    web.make("order.placed", source="/web/stores/S001")
    edge = start_edge()
    wait_applied(edge_db, 7)
    wait_applied(edge_db, 1, source="/web/stores/S001")
    edge.halt()
    assert scalar(edge_db, "SELECT COUNT(*) FROM products") == 7
    assert web.fetched == 8 and edge.worker.counters.received == 0
