"""The pickups service called directly with an ``Actor`` and a temp database: each staff move
is one transaction with its ``pickup.updated`` up-event, and a refused move writes nothing."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import pytest

from edge.actor import Actor
from edge.config import Settings
from edge.errors import Conflict, DomainError
from edge.pickups import service
from tests.pickups.conftest import pickup_events, status_of

STAFF = Actor(name="Lucas", role="staff", staff_id="st-lucas")


def test_staff_moves_each_emit_one_event_with_the_staff_id(
    conn: sqlite3.Connection, settings: Settings, place: Callable[..., dict[str, Any]]
) -> None:
    order = place()
    oid = order["order_id"]
    service.start_preparing(conn, oid, STAFF, settings)
    service.mark_ready(conn, oid, STAFF, settings)
    service.collect(conn, oid, order["pickup_code"], STAFF, settings)
    assert status_of(conn, oid) == "collected"
    events = [e for e in pickup_events(conn, oid) if e.get("staff_id") == "st-lucas"]
    assert [e["status"] for e in events] == ["preparing", "ready", "collected"]


def test_a_refused_move_writes_nothing(
    conn: sqlite3.Connection, settings: Settings, place: Callable[..., dict[str, Any]]
) -> None:
    order = place()
    oid = order["order_id"]
    outbox_before = conn.execute("SELECT count(*) FROM outbox").fetchone()[0]
    with pytest.raises(Conflict):
        service.collect(conn, oid, order["pickup_code"], STAFF, settings)  # not ready yet
    with pytest.raises(DomainError):
        service.unlock(conn, oid, STAFF, settings)  # not a manager
    assert status_of(conn, oid) == "received"
    assert conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == outbox_before
