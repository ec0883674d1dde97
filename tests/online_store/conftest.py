"""The online store's fixtures: ``online_db``, its database (SQLite, or PostgreSQL when
``PASSERELLE_TEST_ONLINE_DB`` says so; see ``tests/support/online_db.py``).

Tests marked ``postgresql_too`` run on both databases in every run: the short PostgreSQL
subset that CI keeps, while the whole folder on PostgreSQL is ``make test-online-postgresql``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.online_db import CHOSEN, online_database


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "postgresql_too: also run on PostgreSQL in the default (SQLite) run"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marked = metafunc.definition.get_closest_marker("postgresql_too") is not None
    if marked and CHOSEN == "sqlite" and "online_db" in metafunc.fixturenames:
        metafunc.parametrize("online_db", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
def online_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The online store's ``db_path``: a file, or a URL to a schema of its own."""
    with online_database(tmp_path, getattr(request, "param", CHOSEN)) as url:
        yield url
