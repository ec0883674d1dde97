"""Store stock through its real paths: a sale at the till, an order brought down by the sync
worker's handlers, the staff's receipts, adjustments and counts, and the coalesced
``stock.changed`` up-events in the outbox."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from edge.config import Settings
from edge.errors import InvalidInput
from edge.pickups import service as pickups
from edge.pickups import views as pickup_views
from edge.stock import service as stock
from edge.stock import views
from edge.stock.rules import StockFileError
from edge.store import db, outbox
from sync import contract
from tests.stock.conftest import STAFF, level, order_data, stock_events


def sell(
    client: FlaskClient, headers: Callable[..., dict[str, str]], sku: str, qty: int, key: str
) -> Any:
    r = client.post(
        "/api/v1/sales",
        json={"terminal_id": "pos-1", "currency": "EUR", "lines": [{"sku": sku, "qty": qty}]},
        headers=headers("pos", Idempotency_Key=key),
    )
    assert r.status_code == 201, r.json
    return r.json


def test_a_sale_of_two_lowers_available_by_two_in_its_transaction(
    client: FlaskClient,
    headers: Callable[..., dict[str, str]],
    catalogue: list[str],
    conn: sqlite3.Connection,
    settings: Settings,
) -> None:
    stock.receive(conn, {"SKU-MUG": 5}, STAFF, settings, ref="BL-1")
    before = views.level(conn, "SKU-MUG")["available"]
    sale = sell(client, headers, "SKU-MUG", 2, "s-1")
    assert views.level(conn, "SKU-MUG")["available"] == before - 2 == 3
    moves = views.movements(conn, "SKU-MUG")
    assert (moves[0]["reason"], moves[0]["on_hand_delta"], moves[0]["ref"]) == (
        "sale",
        -2,
        sale["sale_id"],
    )
    assert moves[1]["reason"] == "receipt" and moves[1]["ref"] == "BL-1"
    # The receipt's event is unsent: the sale's figures wait (coalesced), nothing is lost.
    events = stock_events(conn, "SKU-MUG")
    assert [e["available"] for e in events] == [5]
    with db.write(conn):
        outbox.mark_sent(conn, settings.up_source, [e["sequence"] for e in events])
        assert stock.flush(conn, settings.up_source) == 1
    last = stock_events(conn, "SKU-MUG")[-1]
    assert (last["available"], last["on_hand"], last["reason"], last["version"]) == (
        3,
        3,
        "sale",
        2,
    )
    for ev in outbox.after(conn, settings.up_source, 0):
        contract.validate(ev.envelope())  # every stock event fits the contract


def test_a_sale_is_never_refused_and_negative_stock_asks_for_a_count(
    client: FlaskClient,
    headers: Callable[..., dict[str, str]],
    catalogue: list[str],
    conn: sqlite3.Connection,
    settings: Settings,
) -> None:
    sell(client, headers, "SKU-SAVON", 3, "s-2")
    here = views.level(conn, "SKU-SAVON")
    assert (here["on_hand"], here["available"], here["needs_count"]) == (-3, -3, True)
    assert [r["sku"] for r in views.needing_count(conn)] == ["SKU-SAVON"]
    counted = stock.count(conn, {"SKU-SAVON": 4}, STAFF, settings, note="shelf B2")
    assert counted["moved"][0]["difference"] == 7
    here = views.level(conn, "SKU-SAVON")
    assert (here["on_hand"], here["needs_count"], here["counted_at"] is not None) == (
        4,
        False,
        True,
    )
    move = views.movements(conn, "SKU-SAVON")[0]
    assert (move["reason"], move["on_hand_delta"], move["actor"], move["note"]) == (
        "count",
        7,
        "st-lea",
        "shelf B2",
    )


def test_an_order_reserves_its_cancellation_releases_its_collection_consumes(
    deliver: Callable[[str, dict[str, Any]], bool],
    catalogue: list[str],
    conn: sqlite3.Connection,
    settings: Settings,
) -> None:
    stock.receive(conn, {"SKU-MUG": 3, "SKU-BOUGIE": 1}, STAFF, settings)
    first = order_data([("SKU-MUG", 2)])
    deliver("order.placed", first)
    deliver("order.placed", first)  # delivered twice: held once
    assert level(conn, "SKU-MUG") == (3, 2)
    deliver("order.cancelled", {"order_id": first["order_id"], "reason": "changed my mind"})
    deliver("order.cancelled", {"order_id": first["order_id"], "reason": "changed my mind"})
    assert level(conn, "SKU-MUG") == (3, 0)

    second = order_data([("SKU-MUG", 2), ("SKU-BOUGIE", 2)])
    deliver("order.placed", second)
    assert level(conn, "SKU-MUG") == (3, 2) and level(conn, "SKU-BOUGIE") == (1, 2)
    # Short on one line: the board says "short: 1 of 2" for the candle, nothing for the mugs.
    assert views.shortages(conn, [second["order_id"]]) == {
        second["order_id"]: [{"sku": "SKU-BOUGIE", "qty": 2, "covered": 1}]
    }
    board = pickup_views.board(conn)
    item = next(i for i in board["items"] if i["order_id"] == second["order_id"])
    assert item["short"] == [{"sku": "SKU-BOUGIE", "qty": 2, "covered": 1}]
    oid = second["order_id"]
    pickups.start_preparing(conn, oid, STAFF, settings)
    pickups.mark_ready(conn, oid, STAFF, settings)
    pickups.collect(conn, oid, second["pickup_code"], STAFF, settings)
    assert level(conn, "SKU-MUG") == (1, 0) and level(conn, "SKU-BOUGIE") == (-1, 0)
    reasons = [m["reason"] for m in views.movements(conn, "SKU-MUG")]
    assert reasons[:2] == ["collect", "reservation"]


def test_an_expired_order_gives_its_goods_back(
    deliver: Callable[[str, dict[str, Any]], bool],
    catalogue: list[str],
    conn: sqlite3.Connection,
    settings: Settings,
) -> None:
    from datetime import UTC, datetime, timedelta

    data = order_data([("SKU-THE-VERT", 1)])
    deliver("order.placed", data)
    pickups.start_preparing(conn, data["order_id"], STAFF, settings)
    pickups.mark_ready(conn, data["order_id"], STAFF, settings)
    assert level(conn, "SKU-THE-VERT") == (0, 1)
    later = datetime.now(UTC) + timedelta(days=30)
    assert pickups.expire_overdue(conn, settings, now=later) == [data["order_id"]]
    assert level(conn, "SKU-THE-VERT") == (0, 0)


def test_coalescing_never_rewrites_a_row_and_ends_on_the_latest_version(
    catalogue: list[str], conn: sqlite3.Connection, settings: Settings
) -> None:
    src = settings.up_source
    stock.receive(conn, {"SKU-CREME": 100}, STAFF, settings)
    first = stock_events(conn, "SKU-CREME")
    assert len(first) == 1
    # The publisher has read that row and waits for its PUBACK; meanwhile 30 sales.
    for i in range(30):
        with db.write(conn):
            stock.sold(conn, [("SKU-CREME", 1)], sale_id=f"s{i}", actor="pos-1", source=src)
    assert stock_events(conn, "SKU-CREME") == first  # same row, same id, same figures
    with db.write(conn):
        assert stock.flush(conn, src) == 0  # still unsent: nothing more yet
        outbox.mark_sent(conn, src, [first[0]["sequence"]])
        assert stock.flush(conn, src) == 1
        assert stock.flush(conn, src) == 0
    events = stock_events(conn, "SKU-CREME")
    assert [(e["version"], e["on_hand"]) for e in events] == [(1, 100), (31, 70)]
    seqs = [
        r[0]
        for r in conn.execute(
            "SELECT sequence FROM outbox WHERE source = ? ORDER BY sequence", (src,)
        )
    ]
    assert seqs == list(range(1, len(seqs) + 1))  # gapless
    assert len({e["id"] for e in events}) == len(events)
    # A replay.requested re-sends the same events, same ids, same figures.
    replayed = [ev for ev in outbox.after(conn, src, 0) if ev.type == "stock.changed"]
    assert [(ev.id, ev.data["version"]) for ev in replayed] == [
        (e["id"], e["version"]) for e in stock_events(conn)
    ]


def test_saleable_goods_returned_go_back_on_the_shelf(
    catalogue: list[str], conn: sqlite3.Connection, settings: Settings
) -> None:
    src = settings.up_source
    with db.write(conn):
        stock.returned(
            conn, [("SKU-MUG", 1), ("SKU-MUG", 1)], return_id="r-1", actor="pos-1", source=src
        )
    assert level(conn, "SKU-MUG") == (2, 0)
    move = views.movements(conn, "SKU-MUG")[0]
    assert (move["reason"], move["on_hand_delta"], move["ref"]) == ("return", 2, "r-1")


def test_other_stores_stock_never_older_over_newer_and_own_echo_ignored(
    deliver: Callable[[str, dict[str, Any]], bool], catalogue: list[str], conn: sqlite3.Connection
) -> None:
    base = {"sku": "SKU-MUG", "on_hand": 3, "reserved": 0, "available": 3, "reason": "receipt",
            "occurred_at": "2026-11-22T10:15:00Z"}  # fmt: skip
    assert deliver("stock.changed", {**base, "store_id": "S002", "version": 5})
    assert not deliver("stock.changed", {**base, "store_id": "S002", "version": 4, "available": 9})
    assert not deliver("stock.changed", {**base, "store_id": "S001", "version": 9})
    found = views.lookup(conn, q="SKU-MUG")
    assert found[0]["elsewhere"] == [
        {"store_id": "S002", "available": 3, "updated_at": "2026-11-22T10:15:00Z"}
    ]
    assert found[0]["available_here"] == 0


def test_a_stock_file_is_applied_whole_or_not_at_all(
    catalogue: list[str], conn: sqlite3.Connection, settings: Settings
) -> None:
    bad = "sku,on_hand\nSKU-MUG,4\nSKU-NOPE,2\nSKU-SAVON,-1\nSKU-MUG,3\nSKU-CREME,deux\n"
    with pytest.raises(StockFileError) as info:
        stock.import_file(conn, bad, STAFF, settings)
    assert [str(e) for e in info.value.errors] == [
        "line 3: SKU-NOPE: unknown SKU",
        "line 4: SKU-SAVON: -1 is out of range (0 to 1000000)",
        "line 5: SKU-MUG: already on line 2",
        "line 6: SKU-CREME: 'deux' is not a whole number",
    ]
    assert conn.execute("SELECT COUNT(*) FROM stock_movements").fetchone()[0] == 0
    result = stock.import_file(conn, "sku,on_hand\nSKU-MUG,4\nSKU-SAVON,2\n", STAFF, settings)
    assert result.kind == "count" and level(conn, "SKU-MUG") == (4, 0)
    result = stock.import_file(conn, "sku,received\nSKU-MUG,6\n", STAFF, settings, ref="BL-9")
    assert result.kind == "receipt" and level(conn, "SKU-MUG") == (10, 0)


def test_adjustments_say_why_and_go_the_right_way(
    catalogue: list[str], conn: sqlite3.Connection, settings: Settings
) -> None:
    stock.adjust(conn, "SKU-MUG", -1, "damaged", STAFF, settings, note="dropped")
    assert views.movements(conn, "SKU-MUG")[0]["note"] == "damaged: dropped"
    with pytest.raises(InvalidInput, match="negative"):
        stock.adjust(conn, "SKU-MUG", 2, "stolen", STAFF, settings)
    with pytest.raises(InvalidInput) as info:
        stock.adjust(conn, "SKU-NOPE", 1, "found", STAFF, settings)
    assert info.value.field == "sku"
    assert level(conn, "SKU-MUG") == (-1, 0)
