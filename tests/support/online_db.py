"""The database the online store's tests run on: SQLite by default, or PostgreSQL.

``PASSERELLE_TEST_ONLINE_DB=postgresql`` (or a ``postgresql://`` server URL) runs the tests
that take the ``online_db`` fixture on PostgreSQL, each in a schema of its own, dropped
afterwards (``make test-online-postgresql``). It is read when the tests are collected: the
suite's autouse fixture clears every ``PASSERELLE_*`` variable before each test runs.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

SERVER = os.environ.get("PASSERELLE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
_CHOSEN = os.environ.get("PASSERELLE_TEST_ONLINE_DB", "sqlite")
CHOSEN = "sqlite" if _CHOSEN == "sqlite" else "postgresql"
if _CHOSEN.startswith(("postgresql://", "postgres://")):
    SERVER = _CHOSEN


@contextmanager
def postgres_schema(server: str = SERVER) -> Iterator[str]:
    """A fresh schema on ``server``; yields the URL whose search_path is that schema."""
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{server}?options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


@contextmanager
def online_database(tmp_path: Path, kind: str = CHOSEN) -> Iterator[str]:
    """``--db`` for one test's online store: a file in ``tmp_path``, or a PostgreSQL schema."""
    if kind == "sqlite":
        yield str(tmp_path / "online.db")
        return
    with postgres_schema() as url:
        yield url
