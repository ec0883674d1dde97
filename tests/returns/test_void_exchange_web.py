"""Voids, exchanges, and returns of web orders (and returns made elsewhere, counted)."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient

from tests.returns.conftest import Apply, Post, count, events
from tests.sync.events import T

MANAGER = {"manager_id": "st-manon", "manager_pin": "246810"}


def void(client: FlaskClient, headers: Callable[..., dict[str, str]], sale_id: str,
         **over: Any) -> Any:  # fmt: skip
    body = {"terminal_id": "pos-1", "reason": "wrong item scanned", **MANAGER, **over}
    return client.post(f"/api/v1/sales/{sale_id}/void", json=body, headers=headers("pos"))


def test_the_last_sale_of_a_till_is_voided_as_a_full_return(
    shop: dict[str, Any], sell: Post, client: FlaskClient, headers: Any, conn: sqlite3.Connection
) -> None:
    first = sell(lines=[{"sku": "SKU-SAVON", "qty": 1}]).json
    sale = sell(customer_id="c-0002", lines=[{"sku": "SKU-BOUGIE", "qty": 1}],
                payments=[{"method": "cash", "amount": 450, "tendered": 500},
                          {"method": "card", "amount": 2000}]).json  # fmt: skip
    assert void(client, headers, first["sale_id"]).json["error"]["code"] == "not_last_sale"
    assert void(client, headers, sale["sale_id"], terminal_id="pos-2").status_code == 409
    assert void(client, headers, sale["sale_id"], manager_pin="0000").status_code == 403
    r = void(client, headers, sale["sale_id"])
    assert r.status_code == 201, r.json
    assert r.json["kind"] == "void" and r.json["total_refunded"] == 2450
    assert sorted((x["method"], x["amount"]) for x in r.json["refunds"]) == [
        ("card", 2000),
        ("cash", 450),
    ]
    assert r.json["points_reversed"] == sale["points_earned"]
    assert count(conn, "SELECT COUNT(*) FROM sales WHERE sale_id = ?", sale["sale_id"]) == 1
    assert void(client, headers, sale["sale_id"]).json["error"]["code"] == "already_returned"
    assert count(conn, "SELECT COUNT(*) FROM audit_log WHERE action = 'sale.void'") == 1


def test_an_exchange_pays_only_the_difference_and_names_both_halves(
    shop: dict[str, Any], sell: Post, client: FlaskClient, headers: Any, conn: sqlite3.Connection
) -> None:
    mug = sell(customer_id="c-0002", lines=[{"sku": "SKU-MUG", "qty": 1}]).json
    body = {
        "return": {"terminal_id": "pos-1", "original": {"kind": "sale", "id": mug["sale_id"]},
                   "reason": "wrong colour"},
        "sale": {"terminal_id": "pos-1", "currency": "EUR", "customer_id": "c-0002",
                 "lines": [{"sku": "SKU-BOUGIE", "qty": 1}],
                 "payments": [{"method": "card", "amount": 1160}]},
    }  # fmt: skip
    r = client.post("/api/v1/exchanges", json=body, headers=headers("pos", Idempotency_Key="x1"))
    assert r.status_code == 201, r.json
    again = client.post(
        "/api/v1/exchanges", json=body, headers=headers("pos", Idempotency_Key="x1")
    )
    assert again.json == r.json and again.headers["Idempotent-Replayed"] == "true"
    ret, new = r.json["return"], r.json["sale"]
    assert r.json["difference"] == 2450 - 1290
    assert new["payments"] == [
        {"method": "store_credit", "amount": 1290},
        {"method": "card", "amount": 1160},
    ]
    assert ret["refunds"] == [{"method": "store_credit", "amount": 1290}]
    assert (ret["exchange_of"], new["exchange_of"]) == (new["sale_id"], ret["return_id"])
    assert events(conn, "return.recorded")[-1]["exchange_of"] == new["sale_id"]
    assert events(conn, "sale.recorded")[-1]["exchange_of"] == ret["return_id"]

    # Tenders that do not cover the difference: nothing of either half is written.
    body["return"]["original"]["id"] = new["sale_id"]
    body["sale"]["payments"] = [{"method": "card", "amount": 1}]
    r = client.post("/api/v1/exchanges", json=body, headers=headers("pos"))
    assert r.status_code == 422 and r.json["error"]["field"] == "payments"
    assert count(conn, "SELECT COUNT(*) FROM returns") == 1
    assert count(conn, "SELECT COUNT(*) FROM sales") == 2


def web_purchase(**over: Any) -> dict[str, Any]:
    data = {
        "purchase_id": f"wp-{uuid.uuid4().hex[:8]}",
        "customer_id": "c-0002",
        "channel": "web",
        "store_id": "S001",
        "occurred_at": T.replace("2026-11-22", "2026-12-01"),
        "currency": "EUR",
        "total": 2280,  # 3 mugs less a 15.90 web coupon
        "lines": [{"sku": "SKU-MUG", "name": "Mug « Passerelle »", "qty": 3, "unit_price": 1290}],
        "points_earned": 22,
        "order_id": f"wo-{uuid.uuid4().hex[:8]}",
        "fulfilment": "pickup",
    }
    data.update(over)
    return data


def test_a_web_order_comes_back_in_store_and_returns_made_elsewhere_count(
    shop: dict[str, Any], apply: Apply, take_back: Post, conn: sqlite3.Connection,
    client: FlaskClient, headers: Any,
) -> None:  # fmt: skip
    p = web_purchase(occurred_at=_recent())
    assert apply("purchase.recorded", p)
    # The web already took one mug back: the store counts it.
    web_return = {
        "return_id": "wr-1", "terminal_id": None, "cashier_id": None, "customer_id": "c-0002",
        "original": {"kind": "order", "id": p["order_id"]}, "occurred_at": _recent(),
        "currency": "EUR", "lines": [{"sku": "SKU-MUG", "name": "Mug", "qty": 1, "refund": 760}],
        "total_refunded": 760, "refunds": [{"method": "card", "amount": 760}],
        "points_reversed": 7, "points_restored": 0, "reason": "web return", "store_id": None,
        "channel": "web",
    }  # fmt: skip
    assert apply("return.recorded", web_return)
    assert not apply("return.recorded", web_return)  # once, however often it comes
    look = client.get(f"/api/v1/returns/lookup?kind=order&id={p['order_id']}",
                      headers=headers("pos")).json  # fmt: skip
    assert look["lines"][0]["returnable"] == 2
    r = take_back({"kind": "order", "id": p["order_id"]}, lines=[{"sku": "SKU-MUG", "qty": 3}])
    assert r.status_code == 422 and r.json["error"]["code"] == "more_than_bought"
    r = take_back({"kind": "order", "id": p["order_id"]}, lines=[{"sku": "SKU-MUG", "qty": 2}])
    assert r.status_code == 201, r.json
    assert r.json["total_refunded"] == 2280 - 760  # the rest of what was paid
    assert r.json["original"] == {"kind": "order", "id": p["order_id"]}
    assert r.json["points_reversed"] == 22 - 7
    assert count(conn, "SELECT COUNT(*) FROM audit_log WHERE action = 'return.overrun'") == 0

    # The web took the same mugs back meanwhile (neither side knew): kept, and flagged.
    late = {**web_return, "return_id": "wr-2",
            "lines": [{"sku": "SKU-MUG", "name": "Mug", "qty": 2, "refund": 1520}]}  # fmt: skip
    assert apply("return.recorded", late)
    flag = conn.execute("SELECT * FROM audit_log WHERE action = 'return.overrun'").fetchone()
    assert flag["target"] == p["purchase_id"]
    assert json.loads(flag["detail"])["over"] == {"SKU-MUG": 2}


def _recent() -> str:
    from edge.store.db import now_iso

    return now_iso()
