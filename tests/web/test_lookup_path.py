"""What the lookup path keeps while it was made cheaper (issue 21): a revoked token is refused
on the very next request, and the kiosk's limits hold exactly, per terminal and per address,
over a moving window. Plus the shape of what it answers, now written by pydantic-core."""

from __future__ import annotations

import sqlite3
from typing import Any

import limits
import pytest
from flask import Flask

from edge.staff import service as auth
from edge.store import db
from edge.web.app import create_app
from edge.web.limits import MovingWindows
from edge.web.models import CustomerSummary, HistoryPage


@pytest.fixture
def limited_app(app_config: dict[str, Any]) -> Flask:
    return create_app({**app_config, "RATE_LIMIT_LOOKUP": "3/minute"})


def lookup(client: Any, token: str, card: str, addr: str = "10.0.0.1") -> Any:
    return client.get(
        f"/api/v1/customers/lookup?card={card}",
        headers={"Authorization": f"Bearer {token}"},
        environ_base={"REMOTE_ADDR": addr},
    )


def test_a_token_revoked_while_in_use_is_refused_on_the_next_request(
    client: Any, conn: sqlite3.Connection, seeded: dict[str, Any]
) -> None:
    token = auth.create_token(conn, name="kiosk-7", role="kiosk")
    card = seeded["cards"][0]
    assert lookup(client, token, card).status_code == 200
    assert lookup(client, token, card).status_code == 200  # the thread's connection is kept
    auth.revoke_token(conn, "kiosk-7")  # another connection: the CLI, another process
    r = lookup(client, token, card)
    assert r.status_code == 401
    assert r.get_json()["error"]["code"] == "invalid_token"


def test_the_kiosk_limit_holds_per_terminal_and_per_address(
    limited_app: Flask, seeded: dict[str, Any]
) -> None:
    from edge.store import db

    conn = db.connect(limited_app.config["DB_PATH"])
    try:
        first = auth.create_token(conn, name="kiosk-a", role="kiosk")
        second = auth.create_token(conn, name="kiosk-b", role="kiosk")
    finally:
        conn.close()
    client = limited_app.test_client()
    card = seeded["cards"][0]
    for _ in range(3):
        assert lookup(client, first, card).status_code == 200
    over = lookup(client, first, card)
    assert over.status_code == 429
    assert over.get_json()["error"]["code"] == "rate_limited"
    assert 1 <= int(over.headers["Retry-After"]) <= 60
    # the same terminal from another address: its own count is used up
    assert lookup(client, first, card, addr="10.0.0.2").status_code == 429
    # another terminal from the first address: that address's count is used up
    assert lookup(client, second, card).status_code == 429
    # another terminal from another address is served
    assert lookup(client, second, card, addr="10.0.0.3").status_code == 200
    # the history is not limited (only what guesses a card is)
    cid = lookup(client, second, card, addr="10.0.0.4").get_json()["customer_id"]
    r = client.get(
        f"/api/v1/customers/{cid}/history?card={card}",
        headers={"Authorization": f"Bearer {first}"},
        environ_base={"REMOTE_ADDR": "10.0.0.1"},
    )
    assert r.status_code == 200


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_window_moves_a_refused_request_is_not_counted_and_no_burst_at_a_turn() -> None:
    clock = Clock()
    windows = MovingWindows(clock)
    items = limits.parse_many("3/minute")
    for t in (0.0, 20.0, 40.0):
        clock.now = 1000.0 + t
        assert windows.hit(["k"], items) is None
    clock.now = 1059.0
    assert windows.hit(["k"], items) == pytest.approx(1.0)  # the first one leaves at 1060
    clock.now = 1060.5  # the first has left the window: one more, not three
    assert windows.hit(["k"], items) is None
    assert windows.hit(["k"], items) is not None
    clock.now = 1080.5  # the second left: one more again
    assert windows.hit(["k"], items) is None
    assert windows.hit(["k"], items) is not None
    # never more than 3 in any 60 s: count the accepted times
    accepted = list(windows.hits["k"])
    assert all(sum(1 for t in accepted if start <= t < start + 60) <= 3 for start in accepted)


def test_a_request_over_one_key_counts_against_none() -> None:
    windows = MovingWindows(Clock())
    items = limits.parse_many("2/minute")
    assert windows.hit(["terminal:a", "address:1"], items) is None
    assert windows.hit(["terminal:a", "address:1"], items) is None
    assert windows.hit(["terminal:b", "address:1"], items) is not None  # the address is full
    assert "terminal:b" not in windows.hits  # the refused request counted nowhere
    assert windows.hit(["terminal:b", "address:2"], items) is None


def test_quiet_keys_are_forgotten(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("edge.web.limits.SWEEP_EVERY", 3)
    clock = Clock()
    windows = MovingWindows(clock)
    items = limits.parse_many("5/minute")
    windows.hit(["address:1"], items)
    clock.now += 61
    windows.hit(["address:2"], items)
    windows.hit(["address:3"], items)  # the third hit sweeps
    assert set(windows.hits) == {"address:2", "address:3"}


def test_the_answers_keep_their_shape(client: Any, headers: Any, seeded: dict[str, Any]) -> None:
    card = seeded["cards"][0]
    r = client.get(f"/api/v1/customers/lookup?card={card}", headers=headers("kiosk"))
    assert r.status_code == 200 and r.mimetype == "application/json"
    body = r.get_json()
    assert set(body) >= {
        "customer_id",
        "first_name",
        "last_name",
        "tier",
        "points_balance",
        "points_value",
        "currency",
        "locale",
    }
    assert body["last_name"].endswith(".")  # masked for the kiosk
    h = client.get(
        f"/api/v1/customers/{body['customer_id']}/history?card={card}", headers=headers("kiosk")
    )
    assert h.status_code == 200 and set(h.get_json()) >= {"items", "next_cursor"}
    assert r.headers["X-Request-ID"] != h.headers["X-Request-ID"]


def test_the_plain_answers_are_what_their_models_write(
    client: Any, headers: Any, seeded: dict[str, Any], conn: sqlite3.Connection
) -> None:
    """The lookup and the history are written from the read model's dicts, with no model
    built (``edge.web.routing.plain_answer``): each answer must be byte for byte what its
    declared model writes, every field in its order, for a masked and an unmasked member, and
    for a purchase that was a click-and-collect order with something returned."""
    card = seeded["cards"][0]
    for role in ("kiosk", "pos"):
        r = client.get(f"/api/v1/customers/lookup?card={card}", headers=headers(role))
        assert r.status_code == 200
        assert CustomerSummary.model_validate_json(r.data).model_dump_json().encode() == r.data
    cid = r.get_json()["customer_id"]
    first = conn.execute(
        "SELECT purchase_id FROM purchases WHERE customer_id = ? "
        "ORDER BY occurred_at DESC, purchase_id DESC LIMIT 1",
        (cid,),
    ).fetchone()[0]
    at = "2026-11-20T10:00:00.000Z"
    with db.write(conn):
        conn.execute(
            "INSERT INTO pickup_orders (order_id, order_number, customer_id, customer_name, "
            "code_hash, currency, total, paid, placed_at, pickup_by, status, collected_at, "
            "received_at, updated_at) "
            "VALUES ('o-1', 'W-100001', ?, 'A. B.', 'x', 'EUR', 100, 1, ?, ?, 'collected', "
            "?, ?, ?)",
            (cid, at, at, at, at, at),
        )
        conn.execute(
            "UPDATE purchases SET order_id = 'o-1', fulfilment = 'pickup' WHERE purchase_id = ?",
            (first,),
        )
        conn.execute(
            "INSERT INTO returns (return_id, kind, original_kind, original_id, purchase_id, "
            "occurred_at, currency, total_refunded, reason, origin, recorded_at) "
            "VALUES ('r-1', 'return', 'sale', ?, ?, ?, 'EUR', 100, 'damaged', 'local', ?)",
            (first, first, at, at),
        )
        conn.execute(
            "INSERT INTO return_lines (return_id, line_no, sku, name, qty, refund) "
            "VALUES ('r-1', 1, 'SKU-1', 'Thing', 1, 100)"
        )
    for query in (f"card={card}&limit=1", f"card={card}"):
        h = client.get(f"/api/v1/customers/{cid}/history?{query}", headers=headers("kiosk"))
        assert h.status_code == 200
        assert HistoryPage.model_validate_json(h.data).model_dump_json().encode() == h.data
        item = h.get_json()["items"][0]
        assert (item["order_number"], item["pickup_status"]) == ("W-100001", "collected")
        assert [r["return_id"] for r in item["returns"]] == ["r-1"]
