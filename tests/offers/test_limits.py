"""A stranger at the kiosk cannot guess coupon codes at will: checks are rate limited."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "RATE_LIMIT_LOOKUP": "3/minute"}


def test_coupon_checks_are_rate_limited(client, headers, shop):
    for n in range(3):
        r = client.post(
            "/api/v1/coupons/check", json={"code": f"GUESS{n}"}, headers=headers("kiosk")
        )
        assert r.status_code == 200 and r.json["reason"] == "unknown"
    r = client.post("/api/v1/coupons/check", json={"code": "GUESS9"}, headers=headers("kiosk"))
    assert r.status_code == 429 and r.json["error"]["code"] == "rate_limited"
    assert "Retry-After" in r.headers
