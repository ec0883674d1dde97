"""The lifecycle's rules through the API: every (state, action) pair (the pure state machine
is tested in test_rules.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from edge.pickups import service as pickups
from tests.pickups.conftest import ALLOWED, iso, pickup_events, status_of

AFTER = {
    "preparing": "preparing",
    "ready": "ready",
    "collect": "collected",
    "cancel": "cancelled",
}
STATES = ("received", "preparing", "ready", "collected", "cancelled", "expired")
API_ACTIONS = ("preparing", "ready", "collect", "cancel", "checkin")


@pytest.fixture
def order_in(place, act, conn, settings):
    def make(state: str) -> dict[str, Any]:
        if state == "expired":
            now = datetime.now(UTC)
            order = place(
                placed_at=iso(now - timedelta(days=4)), pickup_by=iso(now - timedelta(days=2))
            )
        else:
            order = place()
        path = {
            "received": [],
            "preparing": ["preparing"],
            "ready": ["preparing", "ready"],
            "collected": ["preparing", "ready", "collect"],
            "cancelled": ["cancel"],
            "expired": ["preparing", "ready"],
        }[state]
        for step in path:
            assert act(order, step).status_code == 200, step
        if state == "expired":
            assert pickups.expire_overdue(conn, settings) == [order["order_id"]]
        assert status_of(conn, order["order_id"]) == state
        return order

    return make


def test_every_state_action_pair_through_the_api(order_in, act, conn):
    """Exactly the allowed pairs succeed; every other one is a 409 naming the current state
    and changes nothing (no status change, no up-event)."""
    outcomes = {}
    for state in STATES:
        for action in API_ACTIONS:
            order = order_in(state)
            events_before = len(pickup_events(conn))
            r = act(order, action)
            outcomes[(state, action)] = r.status_code
            if (state, action) in ALLOWED:
                assert r.status_code == 200, (state, action, r.json)
                expected = AFTER.get(action, state)
                assert status_of(conn, order["order_id"]) == expected
                assert r.json["status"] == expected
                events = pickup_events(conn)
                assert len(events) == events_before + 1
                assert events[-1]["status"] == expected
            else:
                assert r.status_code == 409, (state, action, r.json)
                assert r.json["error"]["code"] == "invalid_transition"
                assert state in r.json["error"]["message"], r.json
                assert status_of(conn, order["order_id"]) == state
                assert len(pickup_events(conn)) == events_before
    assert sorted(k for k, v in outcomes.items() if v == 200) == sorted(ALLOWED)


def test_unknown_order_is_404_for_every_action(client, headers):
    for action in ("preparing", "ready", "unlock", "reprint"):
        r = client.post(f"/api/v1/pickups/nope/{action}", headers=headers("admin"))
        assert r.status_code == 404 and r.json["error"]["field"] == "order_id"
    r = client.post(
        "/api/v1/pickups/nope/collect", json={"pickup_code": "123456"}, headers=headers("staff")
    )
    assert r.status_code == 404
