"""The online store's tests on PostgreSQL too: the ``online_db`` fixture (``tests/conftest.py``,
for every folder's end-to-end tests) is SQLite, or PostgreSQL when ``PASSERELLE_TEST_ONLINE_DB``
says so (``tests/support/online_db.py``).

Tests marked ``postgresql_too`` run on both databases in every run: the short PostgreSQL
subset that CI keeps, while the whole folder on PostgreSQL is ``make test-online-postgresql``.
"""

from __future__ import annotations

import pytest

from tests.support.online_db import CHOSEN


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "postgresql_too: also run on PostgreSQL in the default (SQLite) run"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marked = metafunc.definition.get_closest_marker("postgresql_too") is not None
    if marked and CHOSEN == "sqlite" and "online_db" in metafunc.fixturenames:
        metafunc.parametrize("online_db", ["sqlite", "postgresql"], indirect=True)
