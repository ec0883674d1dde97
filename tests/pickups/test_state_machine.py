"""The lifecycle's rules: every (state, action) pair through the API, and the pure state
machine under hypothesis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.errors import Conflict
from edge.pickups import service as pickups
from tests.pickups.conftest import iso, pickup_events, status_of

# What the issue allows, written out here independently of edge.pickups.TRANSITIONS.
ALLOWED = {
    ("received", "preparing"): "received→preparing",
    ("preparing", "ready"): "preparing→ready",
    ("ready", "collect"): "ready→collected",
    ("received", "cancel"): "→cancelled",
    ("preparing", "cancel"): "→cancelled",
    ("ready", "cancel"): "→cancelled",
    ("received", "checkin"): "check-in",
    ("preparing", "checkin"): "check-in",
    ("ready", "checkin"): "check-in",
}
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


def test_the_machine_table_is_the_issues_lifecycle():
    allowed = {
        (s, a) for s in pickups.STATUSES for a in pickups.ACTIONS if (s, a) in pickups.TRANSITIONS
    }
    api_name = {"prepare": "preparing"}
    assert {(s, api_name.get(a, a)) for s, a in allowed if a != "expire"} == set(ALLOWED)
    assert pickups.TRANSITIONS[("ready", "expire")] == "expired"
    assert [a for a in pickups.ACTIONS if ("expired", a) in pickups.TRANSITIONS] == []


@given(st.lists(st.sampled_from(pickups.ACTIONS), max_size=30))
def test_random_action_sequences_keep_the_rules(actions):
    """Whatever staff, shoppers, the web and the clock do: a closed order never changes, a
    refused action names the state, and an order is collected only through preparing and
    ready."""
    status: str = "received"
    seen = [status]
    for action in actions:
        try:
            new = pickups.next_status(status, action, "W-1")
        except Conflict as exc:
            assert status in exc.message and exc.status == 409
            assert (status, action) not in pickups.TRANSITIONS
            continue
        if status in pickups.CLOSED:
            raise AssertionError(f"closed order moved: {status} → {new}")
        if action == "checkin":
            assert new == status
        if new != seen[-1]:
            seen.append(new)
        status = new
    if status == "collected":
        assert seen == ["received", "preparing", "ready", "collected"]
    if status == "expired":
        assert seen[-2] == "ready"
    assert status in pickups.STATUSES


@given(
    st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
    ),
    st.floats(min_value=0, max_value=240, allow_nan=False),
    st.integers(min_value=-(10**7), max_value=10**7),
)
def test_overdue_is_pickup_by_plus_grace(pickup_by, grace, offset):
    now = pickup_by + timedelta(hours=grace) + timedelta(seconds=offset)
    assert pickups.is_overdue(pickup_by, now, grace) == (offset > 0)
