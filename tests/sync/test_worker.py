"""The sync worker on a real Mosquitto: up-events published, down-events applied, link state."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
from typing import Any

import pytest

from edge.store import db, outbox, state
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
    assert re.search(r"^link\s+up$", out.stdout, re.M)
    assert re.search(r"^/web/chain\s+1\s", out.stdout, re.M)  # applied 1
    assert re.search(r"^dead letters\s+1$", out.stdout, re.M)
    ready = client.get("/readyz").json
    assert ready["link"]["connected"] is True and ready["inbox"]["dead_letters"] == 1
    assert "passerelle_dead_letters 1.0" in client.get("/metrics").get_data(as_text=True)
    edge.halt()
    out = CliRunner().invoke(cli, ["sync", "status", "--json"])
    assert '"connected": false' in out.stdout


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
    edge_db: sqlite3.Connection, web: WebSide, start_edge: Any
) -> None:
    # The third order reuses the first one's order number: pickups.on_order_placed refuses
    # it (two parcels under one number would be handed over by mistake).
    store = "/web/stores/S001"
    orders = [data_for("order.placed", n) for n in range(1, 7)]
    orders[2]["order_number"] = orders[0]["order_number"]
    edge = start_edge()
    wait_until(edge.worker.subscribed.is_set, 10)
    web.publish_many([web.make("order.placed", d, source=store) for d in orders])
    wait_applied(edge_db, 6, source=store)
    edge.halt()
    ids = {r[0] for r in edge_db.execute("SELECT order_id FROM pickup_orders")}
    assert ids == {"ORD1", "ORD2", "ORD4", "ORD5", "ORD6"}
    reason = scalar(edge_db, "SELECT reason FROM dead_letters")
    assert "handler of order.placed failed" in reason and "already belongs" in reason
    assert (
        scalar(edge_db, "SELECT outcome FROM inbox WHERE source = ? AND sequence = 3", store)
        == "dead"
    )


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


# The worker's thread ends with the RuntimeError the runner turns into an exit (asserted).
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_the_worker_stops_when_its_applier_dies_and_nothing_is_lost(
    edge_db: sqlite3.Connection, web: WebSide, start_edge: Any
) -> None:
    edge = start_edge()
    wait_until(edge.worker.subscribed.is_set, 10)
    first = [web.make("loyalty.entry", data_for("loyalty.entry", i)) for i in range(1, 51)]
    web.publish_many(first)
    wait_applied(edge_db, 50)
    pid = edge.worker.applier_pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)  # the OOM killer, say
    assert edge.thread is not None
    wait_until(lambda: not edge.thread.is_alive(), 30, what="the worker stopped")
    assert edge.worker.failed and isinstance(edge.error, RuntimeError)
    # Queued for the session while no edge runs; applied by the next start (systemd's).
    later = [web.make("loyalty.entry", data_for("loyalty.entry", i)) for i in range(51, 101)]
    web.publish_many(later)
    again = start_edge()
    wait_applied(edge_db, 100)
    again.halt()
    assert scalar(edge_db, "SELECT COUNT(*) FROM loyalty_entries") == 100
    assert scalar(edge_db, "SELECT COUNT(*) FROM inbox") == 100
    assert scalar(edge_db, "SELECT COUNT(*) FROM dead_letters") == 0
