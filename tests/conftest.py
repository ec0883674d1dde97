"""Shared fixtures, in the spirit of flaskr's: each test gets its own database file, an app,
a client, a CLI runner, tokens for every role, and (where MQTT is involved) a real Mosquitto
on a free port."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bench.chain.brokers import share_ports
from edge.config import Settings
from edge.staff import service as auth
from edge.store import db
from edge.web.app import create_app
from tests.support.broker import Broker
from tests.support.online_db import CHOSEN, online_database

# The end-to-end fixtures of the one history (``online``, ``edge_worker``), shared by the tests
# that run both sides; a module's own fixture of the same name takes precedence.
pytest_plugins = ["tests.support.both_sides"]

ROLES = ("kiosk", "pos", "staff", "admin")


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist (scripts/test.sh), each worker picks its brokers' and servers'
    ports from its own slice of the range: two workers never race for one port."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # gw0, gw1...
    count = os.environ.get("PYTEST_XDIST_WORKER_COUNT", "")
    if worker.startswith("gw") and count.isdigit():
        share_ports(int(worker[2:]), int(count))


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's own PASSERELLE_* settings must not leak into the tests."""
    for key in list(os.environ):
        if key.startswith("PASSERELLE_"):
            monkeypatch.delenv(key)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "store.db"


@pytest.fixture
def app_config(db_path: Path) -> dict[str, Any]:
    return {"DB_PATH": str(db_path), "STORE_ID": "S001", "TESTING": True, "SECRET_KEY": "test"}


@pytest.fixture
def app(app_config: dict[str, Any]) -> Flask:
    return create_app(app_config)


@pytest.fixture
def settings(app: Flask) -> Settings:
    """The app's resolved settings, for tests that call services or workers directly."""
    s: Settings = app.config["SETTINGS"]
    return s


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> Any:
    return app.test_cli_runner()


@pytest.fixture
def conn(app: Flask) -> Iterator[sqlite3.Connection]:
    c = db.connect(app.config["DB_PATH"])
    yield c
    c.close()


@pytest.fixture
def tokens(conn: sqlite3.Connection) -> dict[str, str]:
    return {role: auth.create_token(conn, name=f"test-{role}", role=role) for role in ROLES}


@pytest.fixture
def headers(tokens: dict[str, str]) -> Callable[..., dict[str, str]]:
    def make(role: str, **extra: str) -> dict[str, str]:
        h = {"Authorization": f"Bearer {tokens[role]}"}
        h.update({k.replace("_", "-"): v for k, v in extra.items()})
        return h

    return make


@pytest.fixture
def seeded(app: Flask, conn: sqlite3.Connection) -> dict[str, Any]:
    """The demo shop: products, members with web and store purchases, staff."""
    from edge.system import demo

    return demo.seed(conn, app.config["SETTINGS"])


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Broker]:
    broker = Broker(tmp_path / "broker").start()
    yield broker
    broker.kill()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One Chromium for the whole run, shared by every test that drives a page: Playwright's
    sync API allows one instance per thread, so a second ``sync_playwright()`` started while
    this one lives fails ("using Playwright Sync API inside the asyncio loop")."""
    from playwright.sync_api import expect, sync_playwright

    from tests.screens.conftest import CHROMIUM_ARGS, chromium_path

    expect.set_options(timeout=10_000)  # a shared 2-core machine can be slow
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def online_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The reference online store's ``db_path``: a file, or a URL to a PostgreSQL schema of its
    own (``tests/support/online_db.py``; ``tests/online_store/conftest.py`` runs some on both)."""
    with online_database(tmp_path, getattr(request, "param", CHOSEN)) as url:
        yield url
