"""The demo shop behind the Flask test client, for the attacks of tests/security (issue 19)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.screens.conftest import copy_demo, demo_db  # noqa: F401 - the session fixture


@pytest.fixture
def app_config(db_path: Path, demo_db: Any) -> dict[str, Any]:  # noqa: F811
    copy_demo(demo_db, db_path)
    return {
        "DB_PATH": str(db_path),
        "STORE_ID": "S001",
        "TESTING": True,
        "SECRET_KEY": "x" * 40,
        # the per-address limit is tests/screens/test_security.py's; here, the per-person count
        "RATE_LIMIT_PIN": "1000/minute",
    }


@pytest.fixture
def seeded(demo_db: Any) -> dict[str, Any]:  # noqa: F811
    data: dict[str, Any] = demo_db[1]
    return data


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF token in the page"
    return m.group(1)


def login(client: Any, screen: str, staff_id: str, pin: str, **form: str) -> Any:
    token = csrf_of(client.get(f"/login?screen={screen}").get_data(as_text=True))
    data = {"csrf_token": token, "screen": screen, "staff_id": staff_id, "pin": pin, **form}
    return client.post("/login", data=data)


def pair(client: Any, code: str) -> Any:
    token = csrf_of(client.get("/kiosk/pair").get_data(as_text=True))
    return client.post("/kiosk/pair", data={"csrf_token": token, "code": code})
