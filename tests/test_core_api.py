"""The edge core through its HTTP API: lookups, the one history, idempotent sales."""

from __future__ import annotations

import json
from typing import Any

SALE = {
    "terminal_id": "pos-1",
    "customer_id": "c-0001",
    "currency": "EUR",
    "lines": [{"sku": "SKU-MUG", "qty": 2}],
}


def post_sale(client: Any, headers: Any, body: dict[str, Any], key: str = "k-1") -> Any:
    return client.post("/api/v1/sales", json=body, headers=headers("pos", Idempotency_Key=key))


def test_healthz_and_readyz(client, seeded):
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json["database"]["ok"] is True
    assert ready.json["link"]["connected"] is False
    assert "link_down" in ready.json["degraded"]


def test_lookup_by_card_masks_last_name_for_the_kiosk(client, headers, seeded):
    r = client.get("/api/v1/customers/lookup?card=PC000000000001", headers=headers("kiosk"))
    assert r.status_code == 200
    assert r.json["first_name"] == "Élodie" and r.json["last_name"] == "D."
    assert r.json["tier"] == "gold" and r.json["locale"] == "fr"
    r = client.get("/api/v1/customers/lookup?card=PC000000000001", headers=headers("pos"))
    assert r.json["last_name"] == "Durand"


def test_phone_lookup_is_for_store_staff_only(client, headers, seeded):
    q = "/api/v1/customers/lookup?phone=%2B33612345678"
    assert client.get(q, headers=headers("kiosk")).status_code == 403
    r = client.get(q, headers=headers("pos"))
    assert r.status_code == 200 and r.json["customer_id"] == "c-0001"


def test_unknown_card_is_a_clear_404(client, headers, seeded):
    r = client.get("/api/v1/customers/lookup?card=NOPE0000", headers=headers("pos"))
    assert r.status_code == 404
    assert r.json["error"]["code"] == "customer_not_found" and r.json["error"]["field"] == "card"


def test_history_has_web_and_store_newest_first_with_cursor(client, headers, seeded):
    r = client.get("/api/v1/customers/c-0001/history?limit=2", headers=headers("pos"))
    assert r.status_code == 200
    first = r.json["items"]
    assert len(first) == 2 and r.json["next_cursor"]
    r2 = client.get(
        f"/api/v1/customers/c-0001/history?limit=2&cursor={r.json['next_cursor']}",
        headers=headers("pos"),
    )
    items = first + r2.json["items"]
    assert {i["channel"] for i in items} == {"web", "store"}
    assert [i["occurred_at"] for i in items] == sorted(
        (i["occurred_at"] for i in items), reverse=True
    )
    assert r2.json["next_cursor"] is None


def test_kiosk_reads_history_only_with_the_members_card(client, headers, seeded):
    base = "/api/v1/customers/c-0001/history"
    assert client.get(base, headers=headers("kiosk")).status_code == 403
    assert client.get(base + "?card=PC000000000002", headers=headers("kiosk")).status_code == 404
    assert client.get(base + "?card=PC000000000001", headers=headers("kiosk")).status_code == 200


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
    assert [e["type"] for e in events] == ["sale.recorded", "loyalty.entry", "loyalty.entry"]
    assert [e["sequence"] for e in events] == [1, 2, 3]
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


def test_bad_input_gets_the_error_shape(client, headers, seeded):
    h = headers("pos", Idempotency_Key="x")
    cases = [
        (
            client.post("/api/v1/sales", data="{", headers=h, content_type="application/json"),
            400,
            "malformed_json",
        ),
        (
            client.post(
                "/api/v1/sales",
                data="a=1",
                headers=h,
                content_type="application/x-www-form-urlencoded",
            ),
            415,
            "unsupported_media_type",
        ),
        (
            client.post(
                "/api/v1/sales", json=dict(SALE, lines=[{"sku": "SKU-MUG", "qty": 0}]), headers=h
            ),
            422,
            "invalid_value",
        ),
        (
            client.post(
                "/api/v1/sales", json=dict(SALE, lines=[{"sku": "NOPE", "qty": 1}]), headers=h
            ),
            422,
            "unknown_sku",
        ),
        (
            client.post("/api/v1/sales", json=dict(SALE, customer_id="nobody"), headers=h),
            422,
            "unknown_customer",
        ),
        (client.post("/api/v1/sales", json={"terminal_id": "p"}, headers=h), 422, "missing_field"),
        (
            client.post(
                "/api/v1/sales",
                data=b"{" + b" " * (1024 * 1024 + 1) + b"}",
                headers=h,
                content_type="application/json",
            ),
            413,
            "payload_too_large",
        ),
    ]
    for resp, status, code in cases:
        assert resp.status_code == status, (code, resp.json)
        assert set(resp.json["error"]) == {"code", "message", "field"}
        assert resp.json["error"]["code"] == code


def test_tokens_and_roles(client, headers, seeded):
    assert client.get("/api/v1/products?q=mug").status_code == 401
    r = client.get("/api/v1/products?q=mug", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401 and r.json["error"]["code"] == "invalid_token"
    r = client.post("/api/v1/sales", json=SALE, headers=headers("kiosk", Idempotency_Key="a"))
    assert r.status_code == 403


def test_products_by_barcode_and_name(client, headers, seeded):
    r = client.get("/api/v1/products?barcode=3760123450017", headers=headers("pos"))
    assert [p["sku"] for p in r.json["items"]] == ["SKU-MUG"]
    r = client.get("/api/v1/products?q=caf", headers=headers("pos"))
    assert r.json["items"][0]["name"] == "Café moulu 250 g"


def test_enrol_emits_customer_enrolled(client, headers, conn):
    r = client.post(
        "/api/v1/customers",
        headers=headers("pos"),
        json={"first_name": "Zoé", "last_name": "Martin", "phone": "+33600000001", "locale": "fr"},
    )
    assert r.status_code == 201, r.json
    assert r.json["loyalty_card"].startswith("PC")
    row = conn.execute("SELECT type, data FROM outbox").fetchone()
    assert row["type"] == "customer.enrolled"
    assert json.loads(row["data"])["customer_id"] == r.json["customer_id"]
