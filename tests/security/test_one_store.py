"""One store cannot act for another (issue 19 item 4), at the reference online store: the
backfill token of a store opens only the chain and its own stream; an up-event's store is
its topic's; a store's loyalty entries are capped and audited."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from online_store import OnlineStore, consumer, db, demo
from online_store import shop as shop_area
from online_store.auth import ADJUST_CAP, store_token
from online_store.web import create_app

PREFIX = "passerelle/v1"
MASTER = "chain-master-secret"


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[OnlineStore]:
    store = OnlineStore(
        str(tmp_path / "online.db"),
        "mqtt://127.0.0.1:9",
        PREFIX,
        ["S001", "S002"],
        MASTER,
    )
    with store.connection() as conn, db.write(conn):  # what start() does, without a broker
        shop_area.publish_catalogue(conn)
        demo.seed(conn)
    yield store


def _up(shop: OnlineStore, store_id: str, type_: str, data: dict[str, Any]) -> str:
    """Publish ``type_`` on ``store_id``'s up-topic, as that store's login may."""
    with shop.connection() as conn:
        last = conn.execute(
            "SELECT COALESCE(MAX(last_sequence), 0) FROM up_streams WHERE store_id = ?",
            (store_id,),
        ).fetchone()[0]
        event = {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": f"/stores/{store_id}",
            "type": type_,
            "time": "2026-12-04T10:00:00Z",
            "sequence": str(last + 1),
            "datacontenttype": "application/json",
            "data": data,
        }
        topic = f"{PREFIX}/stores/{store_id}/up/{type_}"
        conn.execute("BEGIN IMMEDIATE")
        outcome = consumer.handle_up(
            conn, PREFIX, shop.stores, topic, json.dumps(event).encode(), time.time()
        )
        conn.execute("COMMIT")
    return outcome


def _dead(shop: OnlineStore) -> list[str]:
    with shop.connection() as conn:
        return [r[0] for r in conn.execute("SELECT reason FROM dead_letters")]


def test_a_store_cannot_move_another_stores_order(shop: OnlineStore) -> None:
    customer = shop.upsert_customer(first_name="Ana", last_name="Web")["customer_id"]
    order = shop.place_order(customer, "S001", {"SKU-MUG": 1})
    update = {
        "order_id": order["order_id"],
        "status": "collected",
        "checked_in_at": None,
        "staff_id": "st-x",
        "occurred_at": "2026-12-04T10:00:00Z",
    }
    _up(shop, "S002", "pickup.updated", update)
    with shop.connection() as conn:
        status = conn.execute(
            "SELECT pickup_status FROM orders WHERE order_id = ?", (order["order_id"],)
        ).fetchone()[0]
    assert status != "collected" and any("of store S001" in r for r in _dead(shop))
    _up(shop, "S001", "pickup.updated", update)
    with shop.connection() as conn:
        assert conn.execute("SELECT pickup_status FROM orders").fetchone()[0] == "collected"


def _entry(points: int, reason: str, **extra: Any) -> dict[str, Any]:
    return {
        "entry_id": str(uuid.uuid4()),
        "customer_id": "c-0001",
        "points": points,
        "reason": reason,
        "ref": None,
        "channel": "store",
        "store_id": "S001",  # what a forger writes: ignored, the topic says S002
        "occurred_at": "2026-12-04T10:00:00Z",
        **extra,
    }


def test_loyalty_entries_take_the_topics_store_and_are_capped(shop: OnlineStore) -> None:
    ok = _entry(ADJUST_CAP, "bonus")
    _up(shop, "S002", "loyalty.entry", ok)
    for bad in (
        _entry(ADJUST_CAP + 1, "bonus"),  # over the per-entry cap
        _entry(5_000, "purchase", ref="SALE-NOWHERE"),  # points for no sale of S002
        _entry(50, "redeem"),  # a "redemption" that adds points
    ):
        _up(shop, "S002", "loyalty.entry", bad)
    for _ in range(5):  # the day's cap: 5 × 1,000, the first one included
        _up(shop, "S002", "loyalty.entry", _entry(ADJUST_CAP, "adjust"))
    with shop.connection() as conn:
        kept = conn.execute(
            "SELECT store_id, SUM(points) FROM loyalty_entries WHERE customer_id = 'c-0001' "
            "AND channel = 'store' GROUP BY store_id"
        ).fetchall()
        audit = conn.execute(
            "SELECT outcome FROM store_loyalty_audit WHERE store_id = 'S002'"
        ).fetchall()
    assert ("S002", 5 * ADJUST_CAP) in [tuple(r) for r in kept]  # S001: the demo history
    outcomes = [r[0] for r in audit]
    assert outcomes.count("applied") == 5 and sum(o.startswith("refused") for o in outcomes) == 4
    assert len([r for r in _dead(shop) if r.startswith("refused")]) == 4


def test_backfill_tokens_open_one_store_each(shop: OnlineStore) -> None:
    web = create_app(shop).test_client()

    def status(stream: str, token: str) -> int:
        r = web.get(
            f"/passerelle/v1/streams/{stream}/events",
            headers={"Authorization": f"Bearer {token}"},
        )
        return r.status_code

    s001, s002 = store_token(MASTER, "S001"), store_token(MASTER, "S002")
    assert status("chain", s001) == 200 and status("stores/S001", s001) == 200
    assert status("stores/S002", s001) == 403  # pickup codes of another store
    assert status("stores/S002", s002) == 200
    assert status("stores/S001", MASTER) == 403 and status("chain", MASTER) == 200
    forged = "pbf_S001_" + "0" * 40
    assert status("chain", forged) == 401 and status("stores/S001", "pbf_S003_x") == 401
