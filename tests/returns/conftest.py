"""Fixtures for returns, tenders and payment at pickup: the demo shop with offers, a sale
helper, and down-events applied as the sync worker would."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from edge import handlers
from edge.store import db, inbox
from sync import contract
from tests.offers.conftest import coupon, offer
from tests.pickups.conftest import act  # noqa: F401 - the board's moves, as a fixture

Apply = Callable[[str, dict[str, Any]], bool]


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    """A low manager threshold, so the PIN rule shows with the demo prices."""
    return {**app_config, "RETURN_MANAGER_ABOVE": 3000, "RATE_LIMIT_PIN": "1000/minute"}


@pytest.fixture
def apply(conn: sqlite3.Connection) -> Apply:
    def run(type_: str, data: dict[str, Any]) -> bool:
        ctx = inbox.ApplyContext(store_id="S001", source="/stores/S001", event_id=str(uuid.uuid4()))
        with db.write(conn):
            return handlers.HANDLERS[type_](conn, data, ctx)

    return run


@pytest.fixture
def shop(seeded: dict[str, Any], apply: Apply) -> dict[str, Any]:
    """The demo shop plus "20 % on mugs" (code MUG20)."""
    apply("offer.upserted", offer("OFF-MUG", value=20, skus=["SKU-MUG"]))
    apply("coupon.issued", coupon("MUG20", "OFF-MUG", max_uses=100))
    return seeded


Post = Callable[..., Any]


@pytest.fixture
def sell(client: FlaskClient, headers: Callable[..., dict[str, str]]) -> Post:
    def post(key: str | None = None, **body: Any) -> Any:
        sale = {"terminal_id": "pos-1", "currency": "EUR", **body}
        h = headers("pos", Idempotency_Key=key or uuid.uuid4().hex)
        return client.post("/api/v1/sales", json=sale, headers=h)

    return post


@pytest.fixture
def take_back(client: FlaskClient, headers: Callable[..., dict[str, str]]) -> Post:
    def post(original: dict[str, str], key: str | None = None, **body: Any) -> Any:
        ret = {"terminal_id": "pos-1", "original": original, "reason": "damaged", **body}
        h = headers("pos", Idempotency_Key=key or uuid.uuid4().hex)
        return client.post("/api/v1/returns", json=ret, headers=h)

    return post


def events(conn: sqlite3.Connection, type_: str) -> list[dict[str, Any]]:
    """The up-events of a type, each checked against the contract's schema."""
    out = []
    for r in conn.execute(
        "SELECT * FROM outbox WHERE type = ? ORDER BY sequence", (type_,)
    ).fetchall():
        contract.validate(
            {
                "specversion": "1.0",
                "id": r["id"],
                "source": r["source"],
                "type": r["type"],
                "time": r["time"],
                "sequence": str(r["sequence"]),
                "datacontenttype": "application/json",
                "data": json.loads(r["data"]),
            }
        )
        out.append(json.loads(r["data"]))
    return out


def count(conn: sqlite3.Connection, sql: str, *args: Any) -> int:
    return int(conn.execute(sql, args).fetchone()[0])
