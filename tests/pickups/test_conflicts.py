"""Disorder from the web: duplicates, cancellations before or after the fact."""

from __future__ import annotations

import pytest

from edge.errors import InvalidInput
from tests.pickups.conftest import order_data, pickup_events, status_of


def test_same_order_placed_twice_is_one_order(deliver, conn, client, headers):
    data = order_data()
    assert deliver("order.placed", data) is True
    assert deliver("order.placed", dict(data)) is False  # redelivered under a new event id
    assert conn.execute("SELECT COUNT(*) FROM pickup_orders").fetchone()[0] == 1
    assert conn.execute("SELECT COUNT(*) FROM pickup_lines").fetchone()[0] == 1
    events = pickup_events(conn)
    assert [e["status"] for e in events] == ["received"]
    assert events[0]["staff_id"] is None and events[0]["checked_in_at"] is None
    board = client.get("/api/v1/pickups", headers=headers("staff")).json
    assert len(board["items"]) == 1 and board["counts"]["received"] == 1


def test_cancelled_before_placed_arrives_cancelled(deliver, conn, client, headers):
    data = order_data()
    assert deliver("order.cancelled", {"order_id": data["order_id"], "reason": "fraud"})
    assert conn.execute("SELECT COUNT(*) FROM pickup_orders").fetchone()[0] == 0
    assert pickup_events(conn) == []
    assert deliver("order.placed", data) is True
    assert status_of(conn, data["order_id"]) == "cancelled"
    assert [e["status"] for e in pickup_events(conn)] == ["cancelled"]
    assert conn.execute("SELECT COUNT(*) FROM pickup_tombstones").fetchone()[0] == 0
    got = client.get(f"/api/v1/pickups/{data['order_id']}", headers=headers("staff")).json
    assert got["cancel_reason"] == "fraud" and got["cancelled_by"] == "web"
    assert got["put_back"] is False and got["allowed_actions"] == []
    # and it stays cancelled if its order.placed comes again
    assert deliver("order.placed", data) is False
    assert len(pickup_events(conn)) == 1


def test_cancelled_after_collected_stays_collected_and_says_so_again(
    place, act, deliver, conn, client, headers
):
    order = place()
    for step in ("preparing", "ready", "collect"):
        assert act(order, step).status_code == 200
    collected = pickup_events(conn, order["order_id"])[-1]
    assert deliver("order.cancelled", {"order_id": order["order_id"], "reason": "customer"})
    assert status_of(conn, order["order_id"]) == "collected"
    again = pickup_events(conn, order["order_id"])[-1]
    assert again["sequence"] > collected["sequence"]
    assert again["status"] == "collected"
    assert again["staff_id"] == collected["staff_id"] == "test-staff"
    assert again["occurred_at"] == collected["occurred_at"]  # when the goods left the shop


def test_cancelled_for_a_ready_order_says_put_the_goods_back(
    place, act, deliver, conn, client, headers
):
    order = place()
    for step in ("preparing", "ready"):
        assert act(order, step).status_code == 200
    assert deliver("order.cancelled", {"order_id": order["order_id"], "reason": "customer"})
    got = client.get(f"/api/v1/pickups/{order['order_id']}", headers=headers("staff")).json
    assert got["status"] == "cancelled" and got["put_back"] is True
    assert got["cancelled_by"] == "web" and got["cancel_reason"] == "customer"
    last = pickup_events(conn, order["order_id"])[-1]
    assert last["status"] == "cancelled" and last["staff_id"] is None
    # once the goods are back on the shelves, staff say so and the board stops asking
    n = len(pickup_events(conn))
    r = client.post(f"/api/v1/pickups/{order['order_id']}/put-back", headers=headers("staff"))
    assert r.status_code == 200 and r.json["put_back"] is False
    assert len(pickup_events(conn)) == n  # not a contract status: nothing goes up
    r = client.post(f"/api/v1/pickups/{order['order_id']}/put-back", headers=headers("staff"))
    assert r.status_code == 409 and r.json["error"]["code"] == "nothing_to_put_back"


def test_cancelled_for_received_order_needs_no_put_back(place, deliver, conn, client, headers):
    order = place()
    assert deliver("order.cancelled", {"order_id": order["order_id"], "reason": "customer"})
    got = client.get(f"/api/v1/pickups/{order['order_id']}", headers=headers("staff")).json
    assert got["status"] == "cancelled" and got["put_back"] is False
    # a second order.cancelled changes nothing and says nothing
    n = len(pickup_events(conn))
    assert deliver("order.cancelled", {"order_id": order["order_id"], "reason": "again"}) is False
    assert len(pickup_events(conn)) == n


def test_order_number_of_another_order_is_refused(place, deliver, conn):
    first = place()
    other = order_data(order_number=first["order_number"])
    with pytest.raises(InvalidInput, match="already belongs"):
        deliver("order.placed", other)
    assert conn.execute("SELECT COUNT(*) FROM pickup_orders").fetchone()[0] == 1


@pytest.mark.parametrize(
    "bad",
    [
        {"pickup_code": "12345"},
        {"total": -1},
        {"paid": "yes"},
        {"lines": []},
        {"pickup_by": "tomorrow"},
        {"placed_at": "2026-11-22T10:15:00+02:00"},
        {"surprise": 1},
    ],
)
def test_bad_order_placed_is_refused_whole(deliver, conn, bad):
    with pytest.raises(InvalidInput):
        deliver("order.placed", order_data(**bad))
    assert conn.execute("SELECT COUNT(*) FROM pickup_orders").fetchone()[0] == 0
    assert conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 0


def test_bad_order_cancelled_is_refused(deliver, conn):
    with pytest.raises(InvalidInput):
        deliver("order.cancelled", {"order_id": "o-1"})
    assert conn.execute("SELECT COUNT(*) FROM pickup_tombstones").fetchone()[0] == 0


def test_customer_erased_takes_the_name_off_their_orders(place, deliver, client, headers):
    mine = place(customer_id="c-0009", customer_name="Zoé Martin")
    other = place(customer_id="c-0010", customer_name="Paul Petit")
    deliver("customer.erased", {"customer_id": "c-0009"})
    got = client.get(f"/api/v1/pickups/{mine['order_id']}", headers=headers("staff")).json
    assert got["customer_name"] == "[erased]" and got["status"] == "received"
    got = client.get(f"/api/v1/pickups/{other['order_id']}", headers=headers("staff")).json
    assert got["customer_name"] == "Paul Petit"
