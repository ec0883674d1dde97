"""Acknowledgements that mean what they say, and streams that do not stall (issue 18).

- a PUBACK carrying an MQTT 5 failure code (here Mosquitto's ACL: 0x87 "not authorized")
  leaves the row unsent, is reported, and the row goes out once the broker accepts it;
- an up-event that breaks the contract is held with an alert, never published;
- a web order placed after a lost event reaches the pickup board while the backfill endpoint
  is down, and the stream behind makes the online store "unreachable" after its grace.
"""

from __future__ import annotations

import signal
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edge.store import db, outbox, state
from sync import contract
from sync.worker import PUBLISH_ALERTS_KEY
from tests.support.broker import Broker
from tests.support.waiting import wait_until
from tests.sync.conftest import EdgeSync, edge_settings, scalar
from tests.sync.events import data_for
from tests.sync.support import Collector, WebSide

SOURCE = contract.up_source("S001")
ALLOW_ALL = "topic readwrite passerelle/v1/#\n"
# Everything but the store's up-events (its status, the down-streams, reading up for the
# collector): the broker answers the edge's publish with PUBACK 0x87.
REFUSE_UP = (
    "topic read passerelle/v1/#\n"
    "topic write passerelle/v1/status/#\n"
    "topic write passerelle/v1/chain/#\n"
    "topic write passerelle/v1/stores/S001/down/#\n"
)


def _sale(conn: sqlite3.Connection, n: int, **changes: Any) -> outbox.OutboxEvent:
    with db.write(conn):
        return outbox.append(
            conn, SOURCE, "sale.recorded", {**data_for("sale.recorded", n), **changes}
        )


def _alerts(conn: sqlite3.Connection) -> dict[str, Any]:
    return state.get(conn, PUBLISH_ALERTS_KEY) or {}


def test_a_refused_puback_is_not_marked_sent(
    tmp_path: Path,
    make_broker: Callable[..., Broker],
    edge_db: sqlite3.Connection,
    db_path: Path,
) -> None:
    acl = tmp_path / "acl"
    acl.write_text(REFUSE_UP)
    broker = make_broker(f"acl_file {acl}")
    collector = Collector(broker.port)
    ev = _sale(edge_db, 1)
    edge = EdgeSync(edge_settings(db_path, broker, None)).start()
    try:
        wait_until(lambda: "refused" in _alerts(edge_db), 15, what="the refusal reported")
        alert = _alerts(edge_db)["refused"]
        assert alert["sequence"] == ev.sequence and "authorized" in alert["reason"].lower()
        assert outbox.backlog(edge_db)[0] == 1  # never marked sent
        assert scalar(edge_db, "SELECT sent_at FROM outbox WHERE id = ?", ev.id) is None
        # The broker is fixed (ACL reloaded): the row is retried and goes out, once.
        acl.write_text(ALLOW_ALL)
        assert broker.proc is not None
        broker.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: outbox.backlog(edge_db)[0] == 0, 30, what="the retried publish")
        wait_until(lambda: ev.id in collector.ids(), 10, what="the event at the collector")
        wait_until(lambda: not _alerts(edge_db), 10, what="the alert cleared")
    finally:
        edge.halt()
        collector.close()


def test_an_up_event_that_breaks_the_contract_is_held_not_published(
    broker: Broker, collector: Collector, edge_db: sqlite3.Connection, db_path: Path
) -> None:
    good = _sale(edge_db, 1)
    bad = _sale(edge_db, 2, total=-5)  # negative total: refused by sale.recorded's schema
    after = _sale(edge_db, 3)
    edge = EdgeSync(edge_settings(db_path, broker, None)).start()
    try:
        wait_until(lambda: "held" in _alerts(edge_db), 15, what="the held event reported")
        wait_until(lambda: good.id in collector.ids(), 10, what="the valid event before it")
        held = _alerts(edge_db)["held"]
        assert held["sequence"] == bad.sequence and "total" in held["reason"]
        ids = collector.ids()
        assert bad.id not in ids and after.id not in ids  # nothing after it either: no hole
        assert not collector.invalid
        unsent = {r[0] for r in edge_db.execute("SELECT id FROM outbox WHERE sent_at IS NULL")}
        assert unsent == {bad.id, after.id}
    finally:
        edge.halt()


def test_a_web_order_reaches_the_board_while_backfill_is_down(
    broker: Broker, web: WebSide, edge_db: sqlite3.Connection, db_path: Path
) -> None:
    store = contract.store_down_source("S001")
    lost = web.make("order.placed", data_for("order.placed", 1), source=store)
    placed = web.make("order.placed", data_for("order.placed", 2), source=store)
    web.down = True  # the backfill endpoint answers 503
    edge = EdgeSync(
        edge_settings(db_path, broker, web, stream_behind_grace=1, online_status_max_age=150)
    ).start()
    try:
        wait_until(edge.worker.subscribed.is_set, 10, what="the edge subscribed")
        web.publish(placed)  # the one before it was lost by the broker
        order_id = placed["data"]["order_id"]
        wait_until(
            lambda: (
                scalar(edge_db, "SELECT status FROM pickup_orders WHERE order_id = ?", order_id)
                == "received"
            ),
            10,
            what="the order on the board",
        )
        assert (
            scalar(edge_db, "SELECT last_sequence FROM inbox_streams WHERE source = ?", store) == 0
        )
        # The stream is behind: past its grace, the online store counts as unreachable.
        wait_until(
            lambda: f"stream_behind:{store}" in state.link(edge_db)["reasons"],
            15,
            what="the stream behind judged unreachable",
        )
        assert state.link(edge_db)["offline_seconds"] is not None
        # The endpoint is back: the hole closes, the order is not applied twice.
        web.down = False
        wait_until(
            lambda: (
                scalar(edge_db, "SELECT last_sequence FROM inbox_streams WHERE source = ?", store)
                == 2
            ),
            70,
            what="the hole filled by backfill",
        )
        assert scalar(edge_db, "SELECT COUNT(*) FROM pickup_orders") == 2
        assert lost["data"]["order_id"] != order_id
    finally:
        edge.halt()
