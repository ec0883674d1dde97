"""Tenders (several, summing to the total, change due, drawer on cash), and an unpaid
click-and-collect order paid at the till: one sale, collected in the same transaction."""

from __future__ import annotations

import sqlite3
from typing import Any

from tests.pickups.conftest import order_data
from tests.returns.conftest import Apply, Post, count, events


def test_several_tenders_sum_to_the_total_and_cash_shows_the_change(
    shop: dict[str, Any], sell: Post, conn: sqlite3.Connection
) -> None:
    r = sell(
        lines=[{"sku": "SKU-BOUGIE", "qty": 1}],
        payments=[
            {"method": "voucher", "amount": 1000},
            {"method": "cash", "amount": 1450, "tendered": 2000},
        ],
    )
    assert r.status_code == 201, r.json
    assert r.json["change_due"] == 550
    assert r.json["payments"] == [
        {"method": "voucher", "amount": 1000},
        {"method": "cash", "amount": 1450},
    ]
    assert events(conn, "sale.recorded")[-1]["payments"] == r.json["payments"]
    job = conn.execute("SELECT * FROM print_jobs WHERE ref = ?", (r.json["sale_id"],)).fetchone()
    assert job["open_drawer"] == 1 and '"change_due": 550' in job["data"]


def test_tenders_that_do_not_match_are_refused_and_nothing_written(
    shop: dict[str, Any], sell: Post, conn: sqlite3.Connection
) -> None:
    bad = [
        ([{"method": "card", "amount": 100}], "payments"),
        ([{"method": "cash", "amount": 2450, "tendered": 2000}], "payments[0].tendered"),
        ([{"method": "card", "amount": 2450, "tendered": 3000}], "payments[0].tendered"),
        ([{"method": "card", "amount": 0}], "payments[0].amount"),
        ([{"method": "bitcoin", "amount": 2450}], "payments[0].method"),
    ]
    for payments, field in bad:
        r = sell(lines=[{"sku": "SKU-BOUGIE", "qty": 1}], payments=payments)
        assert r.status_code == 422 and r.json["error"]["field"] == field, r.json
    assert count(conn, "SELECT COUNT(*) FROM sales") == 0
    assert count(conn, "SELECT COUNT(*) FROM outbox WHERE type = 'sale.recorded'") == 0


def test_an_unpaid_order_is_paid_at_the_till_and_collected_with_the_sale(
    shop: dict[str, Any], sell: Post, apply: Apply, conn: sqlite3.Connection, act: Any
) -> None:
    order = order_data(paid=False)
    apply("order.placed", order)
    for step in ("preparing", "ready"):
        assert act(order, step).status_code == 200
    lines = [{"sku": "SKU-MUG", "qty": 2}]
    oid = order["order_id"]

    r = sell(order_id=oid, pickup_code="000000", lines=lines)
    assert r.status_code == 422 and r.json["error"]["field"] == "pickup_code"
    assert count(conn, "SELECT wrong_codes FROM pickup_orders WHERE order_id = ?", oid) == 1
    r = sell(order_id=oid, pickup_code=order["pickup_code"], lines=[{"sku": "SKU-MUG", "qty": 1}])
    assert r.status_code == 422 and r.json["error"]["code"] == "order_lines_mismatch"
    r = sell(order_id=oid, lines=lines)
    assert r.status_code == 422 and r.json["error"]["field"] == "pickup_code"

    r = sell(key="pay-1", order_id=oid, pickup_code=order["pickup_code"], lines=lines,
             payments=[{"method": "card", "amount": 2580}])  # fmt: skip
    assert r.status_code == 201, r.json
    sale = r.json
    assert sale["order_id"] == oid and sale["total"] == 2580 and sale["points_earned"] == 25
    row = conn.execute("SELECT * FROM pickup_orders WHERE order_id = ?", (oid,)).fetchone()
    assert (row["status"], row["paid_in_store"]) == ("collected", 1)
    update = [e for e in events(conn, "pickup.updated") if e["order_id"] == oid][-1]
    assert (update["status"], update["sale_id"]) == ("collected", sale["sale_id"])
    assert events(conn, "sale.recorded")[-1]["order_id"] == oid
    history = conn.execute("SELECT * FROM purchases WHERE order_id = ?", (oid,)).fetchall()
    assert [(h["purchase_id"], h["fulfilment"]) for h in history] == [(sale["sale_id"], "pickup")]

    # A retry gets the same answer; paying again is refused; nothing is sold twice.
    again = sell(key="pay-1", order_id=oid, pickup_code=order["pickup_code"], lines=lines,
                 payments=[{"method": "card", "amount": 2580}])  # fmt: skip
    assert again.status_code == 201 and again.json["sale_id"] == sale["sale_id"]
    r = sell(order_id=oid, pickup_code=order["pickup_code"], lines=lines)
    assert r.status_code == 409
    assert count(conn, "SELECT COUNT(*) FROM sales WHERE order_id = ?", oid) == 1


def test_a_paid_order_is_not_sold_again(
    shop: dict[str, Any], sell: Post, apply: Apply, act: Any
) -> None:
    order = order_data(paid=True)
    apply("order.placed", order)
    act(order, "preparing")
    act(order, "ready")
    r = sell(order_id=order["order_id"], pickup_code=order["pickup_code"],
             lines=[{"sku": "SKU-MUG", "qty": 2}])  # fmt: skip
    assert r.status_code == 409 and r.json["error"]["code"] == "already_paid"
