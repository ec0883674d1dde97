"""Fixtures of the sync tests: a real broker, the web side, a collector, an edge database."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from edge.config import Settings, load_settings
from edge.store import db
from sync import worker
from tests.support.broker import Broker
from tests.support.waiting import wait_until
from tests.sync.support import PREFIX, TOKEN, Collector, WebSide


@pytest.fixture
def make_broker(tmp_path: Path) -> Iterator[Callable[..., Broker]]:
    """Brokers as the production advice configures them (raised in-flight window)."""
    made: list[Broker] = []

    # Started as root, Mosquitto drops to the "mosquitto" user, which cannot write its
    # persistence file in the test's folder: keep root so persistence really happens.
    extra = "max_inflight_messages 100" + ("\nuser root" if os.geteuid() == 0 else "")

    def make(extra_conf: str = "", **kwargs: Any) -> Broker:
        conf = extra + ("\n" + extra_conf if extra_conf else "")
        b = Broker(tmp_path / f"broker{len(made)}", extra=conf, **kwargs)
        made.append(b.start())
        return b

    yield make
    for b in made:
        b.kill()


@pytest.fixture
def broker(make_broker: Callable[..., Broker]) -> Broker:
    return make_broker()


@pytest.fixture
def web(broker: Broker) -> Iterator[WebSide]:
    w = WebSide(broker.port)
    yield w
    w.close()


@pytest.fixture
def collector(broker: Broker) -> Iterator[Collector]:
    c = Collector(broker.port)
    yield c
    c.close()


def edge_settings(db_path: Path, broker: Broker, web: WebSide | None, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "store_id": "S001",
        "db_path": db_path,
        "mqtt_url": broker.url,
        "topic_prefix": PREFIX,
        "secret_key": "test",
    }
    if web is not None:
        values.update(online_store_url=web.url, online_store_token=TOKEN)
    values.update(extra)
    return load_settings(None, **values)


class EdgeSync:
    """The real sync worker in a thread of the test process (sync.worker.run)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def start(self) -> EdgeSync:
        self.stop = threading.Event()

        self.worker = worker.SyncWorker(self.settings, self.stop)

        def target() -> None:
            try:
                self.worker.run()
            except BaseException as exc:  # surfaced by the test through .error
                self.error = exc
                raise

        self.thread = threading.Thread(target=target, daemon=True)
        self.thread.start()
        return self

    def halt(self) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join(timeout=30)
            assert not self.thread.is_alive(), "the sync worker did not stop"
        assert self.error is None, self.error


@pytest.fixture
def edge_db(db_path: Path) -> Iterator[sqlite3.Connection]:
    conn = db.open_database(db_path)
    yield conn
    conn.close()


@pytest.fixture
def start_edge(
    edge_db: sqlite3.Connection, broker: Broker, web: WebSide, db_path: Path
) -> Iterator[Callable[..., EdgeSync]]:
    started: list[EdgeSync] = []

    def start(**extra: Any) -> EdgeSync:
        e = EdgeSync(edge_settings(db_path, broker, web, **extra)).start()
        started.append(e)
        return e

    yield start
    for e in started:
        if e.thread is not None and e.thread.is_alive():
            e.halt()


def scalar(conn: sqlite3.Connection, sql: str, *args: Any) -> Any:
    row = conn.execute(sql, args).fetchone()
    return None if row is None else row[0]


def applied(conn: sqlite3.Connection, source: str = "/web/chain") -> int:
    return int(
        scalar(conn, "SELECT last_sequence FROM inbox_streams WHERE source = ?", source) or 0
    )


def wait_applied(
    conn: sqlite3.Connection, n: int, source: str = "/web/chain", t: float = 30
) -> None:
    wait_until(lambda: applied(conn, source) >= n, t, what=f"{n} events of {source} applied")
