"""Fixtures for click-and-collect: orders brought down as the sync worker would apply them
(through ``edge.store.handlers.HANDLERS`` inside a write transaction), and helpers to drive them
through the API into any state."""

from __future__ import annotations

import itertools
import json
import sqlite3
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from edge import handlers
from edge.config import Settings
from edge.store import db, inbox

_numbers = itertools.count(100_000)


def iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# What the issue allows, written out here independently of edge.pickups.rules.TRANSITIONS.
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


def order_data(**overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    n = next(_numbers)
    data: dict[str, Any] = {
        "order_id": f"o-{uuid.uuid4().hex[:12]}",
        "order_number": f"W-{n}",
        "customer_id": "c-0002",
        "customer_name": "James O'Neill",
        "pickup_code": f"{n % 1_000_000:06d}",
        "currency": "EUR",
        "total": 2580,
        "paid": True,
        "lines": [
            {"sku": "SKU-MUG", "name": "Mug « Passerelle »", "qty": 2, "unit_price": 1290},
        ],
        "placed_at": iso(now - timedelta(hours=1)),
        "pickup_by": iso(now + timedelta(days=3)),
    }
    data.update(overrides)
    return data


@pytest.fixture
def settings(app: Flask) -> Settings:
    s: Settings = app.config["SETTINGS"]
    return s


@pytest.fixture
def deliver(conn: sqlite3.Connection, settings: Settings) -> Callable[[str, dict[str, Any]], bool]:
    """Apply one down-event as the sync worker does: its handler, in one write transaction."""

    def apply(type_: str, data: dict[str, Any]) -> bool:
        ctx = inbox.ApplyContext(
            store_id=settings.store_id, source=settings.up_source, event_id=str(uuid.uuid4())
        )
        with db.write(conn):
            return handlers.HANDLERS[type_](conn, data, ctx)

    return apply


@pytest.fixture
def place(deliver: Callable[[str, dict[str, Any]], bool]) -> Callable[..., dict[str, Any]]:
    def make(**overrides: Any) -> dict[str, Any]:
        data = order_data(**overrides)
        deliver("order.placed", data)
        return data

    return make


@pytest.fixture
def act(client: FlaskClient, headers: Callable[..., dict[str, str]]) -> Callable[..., Any]:
    """POST an action on an order through the API, as the staff board does."""

    def call(order: dict[str, Any], action: str, role: str = "staff", **body: Any) -> Any:
        oid = order["order_id"]
        h = headers(role)
        if action == "collect":
            payload = {"pickup_code": order["pickup_code"], **body}
            return client.post(f"/api/v1/pickups/{oid}/collect", json=payload, headers=h)
        if action == "cancel":
            payload = {"reason": "out of stock", **body}
            return client.post(f"/api/v1/pickups/{oid}/cancel", json=payload, headers=h)
        if action == "checkin":
            payload = {
                "order_number": order["order_number"],
                "pickup_code": order["pickup_code"],
                **body,
            }
            return client.post("/api/v1/pickups/checkin", json=payload, headers=h)
        return client.post(f"/api/v1/pickups/{oid}/{action}", headers=h)

    return call


def pickup_events(conn: sqlite3.Connection, order_id: str | None = None) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT sequence, time, data FROM outbox WHERE type = 'pickup.updated' ORDER BY sequence"
    ).fetchall()
    out = []
    for r in rows:
        d = json.loads(r["data"])
        if order_id is None or d["order_id"] == order_id:
            out.append({"sequence": r["sequence"], "time": r["time"], **d})
    return out


def status_of(conn: sqlite3.Connection, order_id: str) -> str:
    return str(
        conn.execute("SELECT status FROM pickup_orders WHERE order_id = ?", (order_id,)).fetchone()[
            0
        ]
    )


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    """These tests make more wrong check-ins from one kiosk than the per-terminal rate limit
    allows (10/minute); the limit itself is tested in tests/deploy/test_privacy.py."""
    return {**app_config, "RATE_LIMIT_PIN": "1000/minute"}
