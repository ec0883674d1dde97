"""Store sales through the HTTP API: idempotent, priced by the catalogue, all or nothing."""

from __future__ import annotations

import json

from tests.sales.support import SALE, post_sale


def test_sale_is_idempotent_and_writes_outbox_in_one_transaction(client, headers, seeded, conn):
    before = client.get(
        "/api/v1/customers/lookup?card=PC000000000001", headers=headers("pos")
    ).json["points_balance"]
    body = dict(SALE, redeem_points=500)
    r1 = post_sale(client, headers, body)
    assert r1.status_code == 201, r1.json
    assert r1.json["subtotal"] == 2580 and r1.json["points_value"] == 500
    assert r1.json["total"] == 2080
    assert r1.json["points_earned"] == 30  # 20 whole euros × gold 1.5
    assert r1.json["points_balance"] == before - 500 + 30
    r2 = post_sale(client, headers, body)
    assert r2.json == r1.json and r2.headers["Idempotent-Replayed"] == "true"
    assert conn.execute("SELECT COUNT(*) FROM sales").fetchone()[0] == 1
    events = conn.execute("SELECT type, sequence, data FROM outbox ORDER BY sequence").fetchall()
    assert [e["type"] for e in events] == [
        "sale.recorded",
        "loyalty.entry",
        "loyalty.entry",
        "stock.changed",
    ]
    assert [e["sequence"] for e in events] == [1, 2, 3, 4]
    sale = json.loads(events[0]["data"])
    assert sale["sale_id"] == r1.json["sale_id"] and sale["points_redeemed"] == 500
    # the same key with another body is refused, not silently answered
    r3 = post_sale(client, headers, dict(SALE, terminal_id="pos-2"))
    assert r3.status_code == 409 and r3.json["error"]["code"] == "idempotency_key_reused"


def test_sale_needs_an_idempotency_key(client, headers, seeded):
    r = client.post("/api/v1/sales", json=SALE, headers=headers("pos"))
    assert r.status_code == 422 and r.json["error"]["field"] == "Idempotency-Key"


def test_redemption_beyond_balance_changes_nothing(client, headers, seeded, conn):
    r = post_sale(client, headers, dict(SALE, redeem_points=10**6))
    assert r.status_code == 422 and r.json["error"]["field"] == "redeem_points"
    assert conn.execute("SELECT COUNT(*) FROM sales").fetchone()[0] == 0
    assert conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 0


def test_prices_come_from_the_catalogue(client, headers, seeded):
    r = post_sale(
        client, headers, dict(SALE, lines=[{"sku": "SKU-MUG", "qty": 1, "unit_price": 1}])
    )
    assert r.status_code == 422 and r.json["error"]["code"] == "price_mismatch"
    r = post_sale(client, headers, dict(SALE, total=0), key="k-2")
    assert r.status_code == 422 and r.json["error"]["code"] == "unknown_field"
