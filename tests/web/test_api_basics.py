"""The edge core through its HTTP API: health, the error shape, tokens and roles."""

from __future__ import annotations

from tests.sales.support import SALE


def test_healthz_and_readyz(client, seeded):
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json["database"]["ok"] is True
    assert ready.json["link"]["connected"] is False
    assert "link_down" in ready.json["degraded"]


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


def test_a_path_id_of_unicode_digits_is_a_404_not_a_500(client, headers, seeded):
    # str.isdigit() accepts "³", which int() refuses: found by the schemathesis run
    r = client.post("/api/v1/print-jobs/%C2%B3/retry", headers=headers("admin"))
    assert r.status_code == 404 and r.json["error"]["field"] == "job_id"
