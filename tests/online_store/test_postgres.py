"""The online store on PostgreSQL (several instances on several machines share its data):
the same code as on SQLite through the thin adapter of ``online_store/pg.py``.

Each test gets a schema of its own in the machine's PostgreSQL (127.0.0.1:5432, database
``test``; ``PASSERELLE_TEST_POSTGRES`` names another) and drops it afterwards.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
import requests
from online_store import OnlineStore, db, pg, streams
from paho.mqtt.enums import CallbackAPIVersion

from tests.online_store.test_fleet import PREFIX, sale, status
from tests.support.broker import Broker
from tests.support.online_db import postgres_schema
from tests.support.waiting import wait_until


@pytest.fixture
def pg_url() -> Iterator[str]:
    with postgres_schema() as url:
        yield url


def test_sqlite_spellings_become_postgresql() -> None:
    assert pg.translate("INSERT OR IGNORE INTO t (a) VALUES (?)", (1,)) == (
        "INSERT INTO t (a) VALUES (%s) ON CONFLICT DO NOTHING"
    )
    assert pg.translate("SELECT * FROM t WHERE a = :a AND b LIKE ?x", {"a": 1}) == (
        "SELECT * FROM t WHERE a = %(a)s AND b LIKE ?x"
    )
    assert pg.translate("BEGIN IMMEDIATE") == "BEGIN"
    assert "rowid BIGSERIAL" in pg.translate_schema(db.SCHEMA)


def test_sequences_rows_and_write_lock_on_postgresql(pg_url: str) -> None:
    conn = db.connect(pg_url)
    db.create_schema(conn)
    db.create_schema(conn)  # idempotent, as on SQLite
    with db.write(conn):
        first = streams.append(conn, streams.CHAIN, "product.upserted", {"sku": "A"})
        second = streams.append(conn, streams.CHAIN, "product.upserted", {"sku": "B"})
        assert db.next_counter(conn, "n", 100) == 100 and db.next_counter(conn, "n", 100) == 101
    assert (first["sequence"], second["sequence"]) == ("1", "2")
    rows = streams.unpublished(conn, 10)
    assert [r["sequence"] for r in rows] == [1, 2] and dict(rows[0])["source"] == streams.CHAIN
    streams.mark_published(conn, [rows[0]["rowid"]])
    assert [r["sequence"] for r in streams.unpublished(conn, 10)] == [2]
    with pytest.raises(RuntimeError), db.write(conn):  # rolled back whole
        streams.append(conn, streams.CHAIN, "product.upserted", {"sku": "C"})
        raise RuntimeError
    assert streams.last_sequence(conn, streams.CHAIN) == 2
    conn.close()


@pytest.mark.slow
def test_online_store_runs_on_postgresql(pg_url: str, mosquitto: Broker, tmp_path: Path) -> None:
    store = OnlineStore(pg_url, mosquitto.url, PREFIX, ["S001"], "tok", instance="pg").start()
    url = store.serve()
    try:
        wait_until(lambda: store.subscribed, what="subscribed")
        pub = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="pg-edge")
        pub.connect("127.0.0.1", mosquitto.port)
        pub.loop_start()
        event = sale("S001", 1)
        for _ in range(2):  # a duplicate delivery
            pub.publish(f"{PREFIX}/stores/S001/up/sale.recorded", event, qos=1)
        pub.publish(f"{PREFIX}/status/stores/S001", status(True, 1), qos=1, retain=True)
        wait_until(lambda: store.up_sequence("S001") == 1, what="sale applied")
        wait_until(lambda: store.stats["duplicate"] >= 1, what="duplicate dropped")
        wait_until(store.all_published, what="published")
        chain = requests.get(
            f"{url}/passerelle/v1/streams/chain/events?after=0&limit=1000",
            headers={"Authorization": "Bearer tok"},
            timeout=5,
        ).json()
        purchases = [e for e in chain if e["type"] == "purchase.recorded"]
        assert [p["data"]["purchase_id"] for p in purchases] == ["S001-1"]  # once
        assert "S001" in requests.get(f"{url}/fleet", timeout=5).text
        assert json.loads(json.dumps(store.received("S001")))[0]["sequence"] == 1
        pub.loop_stop()
    finally:
        store.stop()
