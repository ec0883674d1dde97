"""A database restored from a backup reuses no sequence number and gets the day's sales back
(CONTRACT.md 1.1, RELIABILITY.md #11); the online store serves a store's own up-stream and
reports a known sequence with an unknown id as a conflict, never as a duplicate."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections import defaultdict
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from online_store import consumer as web_consumer
from online_store import db as web_db
from online_store import streams as web_streams

from edge.cli import cli
from edge.config import Settings
from edge.loyalty.rules import LoyaltyRules
from edge.sales import service as sales
from edge.sales.rules import NewSale, SaleLine
from edge.store import db, outbox, state
from sync import contract
from sync.recovery import PENDING_KEY
from tests.support.broker import Broker
from tests.support.waiting import wait_until
from tests.sync.conftest import EdgeSync, edge_settings, scalar
from tests.sync.support import PREFIX, Collector, WebSide

SOURCE = contract.up_source("S001")


def _sell(conn: sqlite3.Connection, settings: Settings) -> str:
    ctx = sales.SaleContext(
        store_id="S001",
        source=SOURCE,
        currency="EUR",
        rules=LoyaltyRules(),
        cashier_id="st-1",
        role="pos",
        store_name="Test",
    )
    sale = NewSale(
        terminal_id="pos-1",
        currency="EUR",
        customer_id="c-0001",
        lines=(SaleLine(sku="SKU-MUG", qty=1),),
    )
    body, _ = sales.record(conn, sale, ctx, scope="sale:pos-1", key=uuid.uuid4().hex)
    return str(body["sale_id"])


def _drained(conn: sqlite3.Connection) -> bool:
    return outbox.backlog(conn)[0] == 0


def test_a_restore_takes_the_days_sales_back_and_reuses_no_number(
    tmp_path: Path,
    broker: Broker,
    web: WebSide,
    collector: Collector,
    conn: sqlite3.Connection,
    settings: Settings,
    seeded: dict[str, Any],
    db_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    edge_conf = edge_settings(db_path, broker, web)
    before_backup = _sell(conn, settings)
    edge = EdgeSync(edge_conf).start()
    wait_until(lambda: _drained(conn), 15, what="the first sale published")
    backup = tmp_path / "last-night.db"
    db.backup(conn, backup)
    days_sales = [_sell(conn, settings), _sell(conn, settings)]
    wait_until(lambda: _drained(conn), 15, what="the day's sales published")
    edge.halt()
    published = len(collector.distinct())
    web.up = list(collector.distinct().values())  # the online store's copy of our up-stream
    conn.close()
    with closing(db.connect(backup)) as b:
        in_backup = scalar(b, "SELECT COUNT(*) FROM outbox")

    # The box fails; last night's backup goes back in.
    monkeypatch.setenv("PASSERELLE_DB_PATH", str(db_path))
    out = CliRunner().invoke(cli, ["db", "restore", str(backup), "--yes"])
    assert out.exit_code == 0, out.output
    restored = db.connect(db_path)
    try:
        assert state.get(restored, PENDING_KEY) is not None
        # The till sells before the sync worker is back: numbered from the backup's counter.
        after_restore = _sell(restored, settings)
        reused = scalar(restored, "SELECT MIN(sequence) FROM outbox WHERE sent_at IS NULL")
        assert reused <= published  # the number the online store already holds

        edge = EdgeSync(edge_conf).start()
        wait_until(lambda: _drained(restored), 20, what="the new sale published")
        edge.halt()

        # No number used twice with different ids, on the wire or in the outbox.
        ids_at: dict[str, set[str]] = defaultdict(set)
        for m in collector.messages:
            ids_at[m["sequence"]].add(m["id"])
        assert all(len(ids) == 1 for ids in ids_at.values()), ids_at
        assert scalar(restored, "SELECT COUNT(DISTINCT sequence) FROM outbox") == scalar(
            restored, "SELECT COUNT(*) FROM outbox"
        )
        new = [m for m in collector.messages if m["data"].get("sale_id") == after_restore]
        assert new and int(new[0]["sequence"]) > published
        # The day's sales are back in the store's own history and ledger, once each.
        for sale_id in [before_backup, *days_sales, after_restore]:
            assert scalar(restored, "SELECT COUNT(*) FROM sales WHERE sale_id = ?", sale_id) == 1
            assert (
                scalar(restored, "SELECT COUNT(*) FROM purchases WHERE purchase_id = ?", sale_id)
                == 1
            )
            assert (
                scalar(restored, "SELECT COUNT(*) FROM loyalty_entries WHERE ref = ?", sale_id) == 1
            )
        assert state.get(restored, PENDING_KEY) is None
        assert state.get(restored, "up_recovered")["restored"] == published - in_backup
    finally:
        restored.close()


def test_the_online_store_serves_the_up_stream_and_reports_conflicts(tmp_path: Path) -> None:
    conn = web_db.connect(tmp_path / "online.db")
    web_db.create_schema(conn)

    def up(seq: int, event_id: str) -> str:
        ev = {
            "specversion": "1.0",
            "id": event_id,
            "source": SOURCE,
            "type": "loyalty.entry",
            "time": "2026-11-22T10:15:00Z",
            "sequence": str(seq),
            "datacontenttype": "application/json",
            "data": {
                "entry_id": event_id,
                "customer_id": "c-1",
                "points": 5,
                "reason": "bonus",
                "ref": None,
                "channel": "store",
                "store_id": "S001",
                "occurred_at": "2026-11-22T10:15:00Z",
            },
        }
        topic = contract.up_topic(PREFIX, "S001", "loyalty.entry")
        with web_db.write(conn):
            return web_consumer.handle_up(
                conn, PREFIX, ["S001"], topic, json.dumps(ev).encode(), 0.0
            )

    assert up(1, "e-1") == "applied"
    assert up(1, "e-1") == "duplicate"
    assert up(1, "e-other") == "conflict"  # a number used again with another id
    assert "conflict" in conn.execute("SELECT reason FROM dead_letters").fetchone()[0]
    page = web_streams.after(conn, web_streams.source_of_stream("stores/S001/up"), 0, 10)
    assert [(e["sequence"], e["id"]) for e in page] == [("1", "e-1")]
    conn.close()
