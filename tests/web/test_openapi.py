"""The OpenAPI 3.1 document describes every route and matches the real answers."""

from __future__ import annotations

from jsonschema import Draft202012Validator

from tests.support.openapi import check


def test_document_is_openapi_31_and_lists_every_api_route(app, client, headers):
    doc = client.get("/api/v1/openapi.json", headers=headers("kiosk")).json
    assert doc["openapi"] == "3.1.0"
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        path = rule.rule.replace("<", "{").replace(">", "}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (method, path) in documented, f"{method} {path} missing from the document"
    for schema in doc["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)
    for ops in doc["paths"].values():
        for op in ops.values():
            assert op["x-roles"], op["operationId"]


def test_real_answers_match_the_document(client, headers, seeded):
    doc = client.get("/api/v1/openapi.json", headers=headers("admin")).json
    calls = [
        ("GET", "/api/v1/customers/lookup?card=PC000000000001", "kiosk", None),
        ("GET", "/api/v1/customers/lookup?card=NOPE1234", "pos", None),
        ("GET", "/api/v1/customers/c-0001/history?limit=1", "pos", None),
        ("GET", "/api/v1/customers/c-0001", "pos", None),
        ("GET", "/api/v1/customers/c-0001", "staff", None),  # 403: the board reads names only
        ("GET", "/api/v1/products?q=th", "pos", None),
        (
            "POST",
            "/api/v1/customers",
            "pos",
            {"first_name": "Léa", "last_name": "Roux", "email": "lea@example.fr"},
        ),
        (
            "POST",
            "/api/v1/sales",
            "pos",
            {
                "terminal_id": "t1",
                "customer_id": "c-0002",
                "currency": "EUR",
                "lines": [{"sku": "SKU-THE-VERT", "qty": 1}],
                "redeem_points": 10,
            },
        ),
        ("POST", "/api/v1/sales", "pos", {"terminal_id": "t1"}),
        ("POST", "/api/v1/sales", "kiosk", {}),
        ("GET", "/api/v1/audit", "admin", None),
        ("GET", "/api/v1/sync/status", "admin", None),
    ]
    for method, path, role, body in calls:
        h = headers(role, Idempotency_Key=f"k-{path}-{role}")
        r = client.open(path, method=method, json=body, headers=h)
        assert r.status_code < 500
        check(doc, method, path, r.status_code, r.json)
    sale = client.post(
        "/api/v1/sales",
        headers=headers("pos", Idempotency_Key="z"),
        json={"terminal_id": "t1", "currency": "EUR", "lines": [{"sku": "SKU-MUG", "qty": 1}]},
    ).json
    r = client.get(f"/api/v1/sales/{sale['sale_id']}", headers=headers("pos"))
    check(doc, "GET", f"/api/v1/sales/{sale['sale_id']}", r.status_code, r.json)
