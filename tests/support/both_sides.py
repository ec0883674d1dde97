"""Both sides of the contract for real, for the end-to-end tests: the reference online store
serving its pages and backfill, and the edge's workers as a process, as systemd runs them.

One place for what ``tests/stock/test_stock_e2e.py`` and
``tests/online_store/test_online_store_with_edge.py`` (and any later end-to-end test) start:
the store id, the broker, the backfill URL and the store's own token (issue 19) are wired the
same way everywhere.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest
from online_store import OnlineStore
from online_store.auth import store_token

from tests.support import proc
from tests.support.broker import Broker

TOKEN = "backfill-secret"
PREFIX = "passerelle/v1"


@contextmanager
def online_store(
    db: str, broker: Broker, stores: Sequence[str], *, demo_data: bool = False
) -> Iterator[tuple[OnlineStore, str]]:
    """The online store on ``broker``, started and serving: (the store, its base URL)."""
    store = OnlineStore(db, broker.url, PREFIX, list(stores), TOKEN, demo_data=demo_data).start()
    try:
        yield store, store.serve()
    finally:
        store.stop()


@contextmanager
def edge_workers(
    tmp_path: Path, db_path: Path, broker: Broker, online_url: str, which: str = "all"
) -> Iterator[None]:
    """``passerelle worker {which}`` for store S001, linked to ``broker`` and the online store."""
    settings = {
        "store_id": "S001",
        "db_path": db_path,
        "mqtt_url": broker.url,
        "secret_key": "test",
        "online_store_url": online_url,
        "online_store_token": store_token(TOKEN, "S001"),  # the store's own (issue 19)
    }
    child = proc.start(proc.passerelle("worker", which), proc.env(**settings), tmp_path / "w.log")
    try:
        yield
    finally:
        child.terminate()
        child.wait(timeout=30)


# The pair of fixtures the end-to-end tests of the one history share (a tests/conftest.py plugin):
# the demo's online store for S001 on the test's Mosquitto, and the edge's sync worker.


@pytest.fixture
def online(online_db: str, mosquitto: Broker) -> Iterator[tuple[OnlineStore, str]]:
    with online_store(online_db, mosquitto, ["S001"], demo_data=True) as pair:
        yield pair


@pytest.fixture
def edge_worker(
    tmp_path: Path, db_path: Path, mosquitto: Broker, online: tuple[OnlineStore, str]
) -> Iterator[None]:
    with edge_workers(tmp_path, db_path, mosquitto, online[1], "sync"):
        yield
