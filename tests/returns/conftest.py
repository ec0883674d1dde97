"""Fixtures for returns, tenders and payment at pickup: the demo shop with offers, a sale
helper, and down-events applied as the sync worker would."""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from sync import contract
from tests.offers.conftest import coupon, offer
from tests.pickups.conftest import act  # noqa: F401 - the board's moves, as a fixture
from tests.support import seeding

Apply = seeding.Apply


@pytest.fixture(scope="session")
def returns_demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The demo shop seeded once for these tests (PIN hashes are slow on purpose); each test
    gets a copy of the file, as tests/screens does."""
    path = tmp_path_factory.mktemp("returns-demo") / "store.db"
    data = seeding.seed_demo(path, "test")
    return path, data


@pytest.fixture
def db_path(tmp_path: Path, returns_demo: tuple[Path, dict[str, Any]]) -> Path:
    path = tmp_path / "store.db"
    shutil.copyfile(returns_demo[0], path)
    return path


@pytest.fixture
def seeded(returns_demo: tuple[Path, dict[str, Any]]) -> dict[str, Any]:
    return dict(returns_demo[1])


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    """A low manager threshold, so the PIN rule shows with the demo prices."""
    return {**app_config, "RETURN_MANAGER_ABOVE": 3000, "RATE_LIMIT_PIN": "1000/minute"}


@pytest.fixture
def apply(conn: sqlite3.Connection) -> Apply:
    return seeding.applier(conn)


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


def at_once(
    app: Flask, headers: Callable[..., dict[str, str]], bodies: list[dict[str, Any]]
) -> list[Any]:
    """``POST /returns`` from several tills at the same moment (one thread and one client
    each, released together): the answers, in the order they came."""
    start = threading.Barrier(len(bodies))
    answers: list[Any] = []

    def till(body: dict[str, Any]) -> None:
        h = headers("pos", Idempotency_Key=uuid.uuid4().hex)
        client = app.test_client()
        start.wait(timeout=10)
        answers.append(client.post("/api/v1/returns", json=body, headers=h))

    threads = [threading.Thread(target=till, args=(b,)) for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return answers
