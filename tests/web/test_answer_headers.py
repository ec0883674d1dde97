"""What every answer carries, from the app's one after-request hook (issue 21 merged the
hooks): ``nosniff``, ``no-store``, its request id, HSTS over HTTPS only, and one count in
the request metrics, whether the answer is a lookup, an error of the API, a page or a plain
404."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from edge.system import logs, metrics
from edge.web.app import REQUEST_ID_RE


def requests_counted(endpoint: str, status: str) -> float:
    child = metrics.HTTP_REQUESTS.labels(endpoint, "GET", status)
    value: float = child._value.get()
    return value


def lookup_url(seeded: dict[str, Any]) -> str:
    return f"/api/v1/customers/lookup?card={seeded['cards'][0]}"


@pytest.mark.parametrize(
    ("path", "auth", "status"),
    [
        ("lookup", True, 200),
        ("lookup", False, 401),  # an error of the API, its JSON shape
        ("/api/v1/nothing-here", True, 404),
        ("/nothing-here", False, 404),  # outside the API: Werkzeug's own page
        ("/healthz", False, 200),
    ],
)
def test_every_answer_has_nosniff_and_its_request_id(
    client: Any,
    tokens: dict[str, str],
    seeded: dict[str, Any],
    path: str,
    auth: bool,
    status: int,
) -> None:
    url = lookup_url(seeded) if path == "lookup" else path
    headers = {"Authorization": f"Bearer {tokens['kiosk']}"} if auth else {}
    r = client.get(url, headers=headers)
    assert r.status_code == status
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Cache-Control"] == "no-store"  # no cache keeps a member's data
    assert REQUEST_ID_RE.match(r.headers["X-Request-ID"])
    assert r.headers.getlist("X-Request-ID") == [r.headers["X-Request-ID"]]
    assert "Strict-Transport-Security" not in r.headers  # plain HTTP: never
    if path == "lookup" and status == 401:
        assert set(r.get_json()["error"]) == {"code", "message", "field"}


def test_a_proxys_request_id_is_kept_and_a_bad_one_replaced(
    client: Any, tokens: dict[str, str], seeded: dict[str, Any]
) -> None:
    auth = {"Authorization": f"Bearer {tokens['kiosk']}"}
    r = client.get(lookup_url(seeded), headers={**auth, "X-Request-ID": "proxy-id.1"})
    assert r.headers["X-Request-ID"] == "proxy-id.1"
    r = client.get(lookup_url(seeded), headers={**auth, "X-Request-ID": "bad id!"})
    assert r.headers["X-Request-ID"] != "bad id!"
    assert REQUEST_ID_RE.match(r.headers["X-Request-ID"])


def test_hsts_on_every_answer_over_https(
    app: Flask, tokens: dict[str, str], seeded: dict[str, Any]
) -> None:
    client = app.test_client()
    auth = {"Authorization": f"Bearer {tokens['kiosk']}"}
    for url, headers in ((lookup_url(seeded), auth), (lookup_url(seeded), {}), ("/x", {})):
        r = client.get(url, headers=headers, base_url="https://localhost")
        assert r.headers["Strict-Transport-Security"].startswith("max-age=")
        assert r.headers["X-Content-Type-Options"] == "nosniff"


def test_each_answer_is_counted_once(
    client: Any, tokens: dict[str, str], seeded: dict[str, Any]
) -> None:
    endpoint = "api.customers.customers_lookup"
    ok, refused = requests_counted(endpoint, "200"), requests_counted(endpoint, "401")
    auth = {"Authorization": f"Bearer {tokens['kiosk']}"}
    for _ in range(3):
        assert client.get(lookup_url(seeded), headers=auth).status_code == 200
    assert client.get(lookup_url(seeded)).status_code == 401
    assert requests_counted(endpoint, "200") == ok + 3
    assert requests_counted(endpoint, "401") == refused + 1


def test_the_request_id_leaves_the_thread_with_its_request(
    client: Any, tokens: dict[str, str], seeded: dict[str, Any]
) -> None:
    """Log lines written between two requests of a server thread name no request."""
    r = client.get(lookup_url(seeded), headers={"Authorization": f"Bearer {tokens['kiosk']}"})
    assert r.status_code == 200
    assert logs.request_id.get() is None
