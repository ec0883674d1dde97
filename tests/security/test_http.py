"""The HTTP edges (issue 19 items 1 and 6): the proxy hops that are trusted and no more, and
a 400 (never a 500) for JSON nested too deeply to parse."""

from __future__ import annotations

from typing import Any

from edge.web.app import create_app

CARD = "/api/v1/customers/lookup?card=PC000000000001"


def _limited_app(db_path: Any, hops: int) -> Any:
    return create_app(
        {
            "DB_PATH": str(db_path),
            "STORE_ID": "S001",
            "SECRET_KEY": "x" * 40,
            "RATE_LIMIT_LOOKUP": "2/minute",
            "PROXY_HOPS": hops,
        }
    )


def _lookups(app: Any, tokens: dict[str, str]) -> list[int]:
    """Two lookups from 10.0.0.1 with one terminal, then one from 10.0.0.2 with another."""
    client = app.test_client()
    out = []
    for token, addr in ((tokens["kiosk"], "10.0.0.1"),) * 2 + ((tokens["pos"], "10.0.0.2"),):
        r = client.get(CARD, headers={"Authorization": f"Bearer {token}", "X-Forwarded-For": addr})
        out.append(r.status_code)
    return out


def test_behind_a_trusted_proxy_each_client_has_its_own_limit(db_path, tokens):
    assert _lookups(_limited_app(db_path, 1), tokens) == [200, 200, 200]


def test_without_trusted_hops_a_forged_forwarded_for_is_ignored(db_path, tokens):
    assert _lookups(_limited_app(db_path, 0), tokens) == [200, 200, 429]


def test_deeply_nested_json_is_a_400(client, headers):
    body = '{"first_name": ' + "[" * 100_000 + "]" * 100_000 + "}"
    r = client.post(
        "/api/v1/customers",
        data=body,
        headers={**headers("pos"), "Content-Type": "application/json"},
    )
    assert r.status_code == 400 and r.json["error"]["code"] == "malformed_json"
