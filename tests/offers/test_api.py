"""Coupons through the HTTP API: checks at the till and the kiosk, sales with codes, a member's
offers, bad input."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from edge.store import outbox as edge_outbox
from sync import contract
from tests.offers.conftest import coupon, iso, link_down, link_up, offer, redeemed

CHECK = "/api/v1/coupons/check"
MUGS = [{"sku": "SKU-MUG", "qty": 2}]  # 2 × 12.90 = 25.80


def sale(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"terminal_id": "pos-1", "currency": "EUR", "lines": MUGS}
    body.update(over)
    return body


def post_sale(client: Any, headers: Any, body: dict[str, Any], key: str) -> Any:
    return client.post("/api/v1/sales", json=body, headers=headers("pos", Idempotency_Key=key))


def outbox(conn) -> list[tuple[str, dict[str, Any]]]:
    rows = conn.execute(
        "SELECT type, data FROM outbox WHERE type != 'stock.changed' ORDER BY sequence"
    ).fetchall()
    return [(r["type"], json.loads(r["data"])) for r in rows]


def test_check_applies_and_spreads_the_discount(client, headers, shop):
    body = {
        "code": "bienvenue ",  # any case, stray blank from a scanner
        "lines": [{"sku": "SKU-MUG", "qty": 1}, {"sku": "SKU-BOUGIE", "qty": 1}],
    }
    r = client.post(CHECK, json=body, headers=headers("pos"))
    assert r.status_code == 200, r.json
    assert r.json["applies"] and r.json["valid"] and r.json["reason"] is None
    assert r.json["code"] == "BIENVENUE" and r.json["discount"] == 500
    # 500 over 1290 + 2450 by largest remainder: 172.46 → 172, 327.54 → 328
    assert [ln["discount"] for ln in r.json["lines"]] == [172, 328]
    assert r.json["offer"]["title"] == "5 € dès 20 €" and r.json["offer"]["kind"] == "amount"
    assert r.json["uses_left"] == 1000 and r.json["personal"] is False


def test_check_reasons_with_messages_in_the_shoppers_language(client, headers, shop, apply):
    apply("offer.upserted", offer("OFF-SOON", valid_from=iso(timedelta(days=2))))
    apply("offer.upserted", offer("OFF-OLD", valid_until=iso(-timedelta(days=2))))
    apply("offer.upserted", offer("OFF-OFF", active=False))
    apply("coupon.issued", coupon("SOON", "OFF-SOON"))
    apply("coupon.issued", coupon("OLD", "OFF-OLD"))
    apply("coupon.issued", coupon("OFF", "OFF-OFF"))
    apply("coupon.issued", coupon("ORPHAN", "OFF-NOT-HERE-YET"))
    apply("coupon.issued", coupon("USED", "OFF-10"))
    apply("coupon.redeemed", redeemed("cp-used"))
    cases = [
        ("NOPE", MUGS, None, "unknown", "pas reconnu"),
        ("ORPHAN", MUGS, None, "unknown", "pas reconnu"),
        ("OFF", MUGS, None, "inactive", "plus proposée"),
        ("SOON", MUGS, None, "not_yet_valid", "à partir du"),
        ("OLD", MUGS, None, "expired", "a expiré le"),
        ("USED", MUGS, None, "already_used", "déjà été utilisé"),
        ("ELODIE10", MUGS, "c-0002", "other_customer", "personal"),  # James reads English
        ("ELODIE10", MUGS, None, "other_customer", "personnel"),
        ("BIENVENUE", [{"sku": "SKU-SAVON", "qty": 1}], None, "min_total_not_reached", "16,50"),
        ("MUG20", [{"sku": "SKU-SAVON", "qty": 1}], None, "no_eligible_item", "Aucun article"),
    ]
    for code, lines, customer, reason, words in cases:
        body: dict[str, Any] = {"code": code, "lines": lines}
        if customer:
            body["customer_id"] = customer
        r = client.post(CHECK, json=body, headers=headers("pos"))
        assert r.status_code == 200, (code, r.json)
        assert r.json["applies"] is False and r.json["discount"] == 0, code
        assert r.json["reason"] == reason, (code, r.json)
        assert words in r.json["message"], (code, r.json["message"])
    r = client.post(
        CHECK, json={"code": "NOPE", "lines": MUGS, "locale": "en"}, headers=headers("pos")
    )
    assert r.json["message"] == "This code is not recognised."


def test_personal_code_applies_for_its_member(client, headers, shop):
    body = {"code": "ELODIE10", "lines": MUGS, "customer_id": "c-0001"}
    r = client.post(CHECK, json=body, headers=headers("pos"))
    assert r.json["applies"] and r.json["discount"] == 258
    assert r.json["personal"] and r.json["customer_id"] == "c-0001"


def test_kiosk_learns_what_a_code_gives_but_not_whose_it_is(client, headers, shop):
    r = client.post(CHECK, json={"code": "ELODIE10"}, headers=headers("kiosk"))
    assert r.status_code == 200, r.json
    assert r.json["valid"] is True and r.json["applies"] is False and r.json["reason"] is None
    assert r.json["personal"] is True and r.json["customer_id"] is None
    assert r.json["offer"]["title"] == "10 % sur tout" and r.json["offer"]["value"] == 10
    assert "c-0001" not in r.text and "Durand" not in r.text and "Élodie" not in r.text
    r = client.post(CHECK, json={"code": "ELODIE10", "lines": MUGS}, headers=headers("kiosk"))
    assert r.json["applies"] and r.json["discount"] == 258 and r.json["customer_id"] is None
    r = client.post(
        CHECK, json={"code": "ELODIE10", "customer_id": "c-0001"}, headers=headers("kiosk")
    )
    assert r.status_code == 403 and r.json["error"]["field"] == "customer_id"
    assert client.post(CHECK, json={"code": "X"}, headers=headers("staff")).status_code == 403


def test_sale_with_a_coupon(client, headers, shop, conn):
    balance = client.get("/api/v1/customers/c-0001", headers=headers("pos")).json["points_balance"]
    r = post_sale(client, headers, sale(customer_id="c-0001", coupon_codes=["elodie10"]), "k-1")
    assert r.status_code == 201, r.json
    assert r.json["subtotal"] == 2580 and r.json["discount"] == 258 and r.json["total"] == 2322
    assert r.json["coupons"] == [{"code": "ELODIE10", "coupon_id": "cp-elodie10", "discount": 258}]
    # points on what was paid: 23 whole euros × gold 1.5 = 34 (not 25 × 1.5 = 37)
    assert r.json["points_earned"] == 34 and r.json["points_balance"] == balance + 34
    events = outbox(conn)
    assert [t for t, _ in events] == ["sale.recorded", "coupon.redeemed", "loyalty.entry"]
    recorded, redemption = events[0][1], events[1][1]
    assert recorded["discount"] == 258 and recorded["total"] == 2322
    assert recorded["coupons"] == [{"coupon_id": "cp-elodie10", "discount": 258}]
    assert redemption["coupon_id"] == "cp-elodie10" and redemption["channel"] == "store"
    assert redemption["ref"] == r.json["sale_id"] and redemption["store_id"] == "S001"
    assert redemption["discount"] == 258
    for event in edge_outbox.after(conn, "/stores/S001", 0):  # each up-event meets the contract
        contract.validate(event.envelope())
    lines = conn.execute("SELECT line_no, discount FROM coupon_redemption_lines").fetchall()
    assert [tuple(x) for x in lines] == [(1, 258)]
    got = client.get(f"/api/v1/sales/{r.json['sale_id']}", headers=headers("pos")).json
    assert got["coupons"] == r.json["coupons"] and got["discount"] == 258
    # spent now: the next sale is refused with 409 and nothing is written
    before = len(outbox(conn))
    r2 = post_sale(client, headers, sale(customer_id="c-0001", coupon_codes=["ELODIE10"]), "k-2")
    assert r2.status_code == 409 and r2.json["error"]["code"] == "coupon_already_used"
    assert r2.json["error"]["field"] == "coupon_codes[0]"
    assert len(outbox(conn)) == before


def test_several_codes_and_points_together(client, headers, shop, conn):
    body = sale(
        customer_id="c-0001",
        lines=[{"sku": "SKU-MUG", "qty": 2}, {"sku": "SKU-SAVON", "qty": 1}],  # 2580 + 350
        coupon_codes=["MUG20", "ELODIE10", "BIENVENUE"],
        redeem_points=100,
    )
    r = post_sale(client, headers, body, "k-1")
    assert r.status_code == 201, r.json
    # MUG20: 20 % of 2580 = 516; ELODIE10: 10 % of (2064 + 350) = 241; BIENVENUE: 500
    assert [c["discount"] for c in r.json["coupons"]] == [516, 241, 500]
    assert r.json["discount"] == 1257 and r.json["points_value"] == 100
    assert r.json["total"] == 2930 - 1257 - 100
    types = [t for t, _ in outbox(conn)]
    assert types.count("coupon.redeemed") == 3 and types[0] == "sale.recorded"


def test_retry_with_the_same_key_redeems_nothing_more(client, headers, shop, conn):
    body = sale(coupon_codes=["BIENVENUE"])
    r1 = post_sale(client, headers, body, "same")
    r2 = post_sale(client, headers, body, "same")
    assert r1.status_code == r2.status_code == 201
    assert r2.json == r1.json and r2.headers["Idempotent-Replayed"] == "true"
    assert conn.execute("SELECT COUNT(*) FROM coupon_redemptions").fetchone()[0] == 1
    assert [t for t, _ in outbox(conn)].count("coupon.redeemed") == 1
    r3 = post_sale(client, headers, body, "other")  # a new sale: a second use of a 1000-use code
    assert r3.status_code == 201
    assert conn.execute("SELECT COUNT(*) FROM coupon_redemptions").fetchone()[0] == 2


def test_code_spent_on_the_web_first_is_refused(client, headers, shop, apply, conn):
    apply("coupon.redeemed", redeemed("cp-mug20", ref="W-100234"))
    r = post_sale(client, headers, sale(coupon_codes=["MUG20"]), "k-1")
    assert r.status_code == 409 and r.json["error"]["code"] == "coupon_already_used"
    assert "déjà" in r.json["error"]["message"]
    assert conn.execute("SELECT COUNT(*) FROM sales").fetchone()[0] == 0
    r = client.post(CHECK, json={"code": "MUG20", "lines": MUGS}, headers=headers("pos"))
    assert r.json["reason"] == "already_used"


def test_coupon_refusals_at_the_till_are_4xx_and_write_nothing(client, headers, shop, conn):
    cases = [
        (sale(coupon_codes=["NOPE"]), 422, "coupon_unknown"),
        (sale(coupon_codes=["ELODIE10"]), 422, "coupon_other_customer"),
        (sale(customer_id="c-0002", coupon_codes=["ELODIE10"]), 422, "coupon_other_customer"),
        (
            sale(lines=[{"sku": "SKU-SAVON", "qty": 1}], coupon_codes=["BIENVENUE"]),
            422,
            "coupon_min_total_not_reached",
        ),
        (sale(coupon_codes=["BIENVENUE", "bienvenue"]), 422, "coupon_duplicate"),
        (sale(coupon_codes=["bad code!"]), 422, "invalid_value"),
        (sale(coupon_codes=[""]), 422, "invalid_value"),
        (sale(coupon_codes=["A" * 65]), 422, "invalid_value"),
        (sale(coupon_codes=[f"C{i}" for i in range(6)]), 422, "invalid_value"),
        (sale(coupon_codes="BIENVENUE"), 422, "wrong_type"),
        (sale(coupon_codes=[42]), 422, "wrong_type"),
    ]
    for n, (body, status, code) in enumerate(cases):
        r = post_sale(client, headers, body, f"k-{n}")
        assert r.status_code == status, (body, r.json)
        assert set(r.json["error"]) == {"code", "message", "field"}
        assert r.json["error"]["code"] == code, (body, r.json)
    assert conn.execute("SELECT COUNT(*) FROM sales").fetchone()[0] == 0
    assert conn.execute("SELECT COUNT(*) FROM coupon_redemptions").fetchone()[0] == 0


def test_two_codes_of_one_offer_are_not_combined(client, headers, shop, apply):
    apply("coupon.issued", coupon("AUTRE10", "OFF-10"))
    r = post_sale(
        client, headers, sale(coupon_codes=["AUTRE10", "ELODIE10"], customer_id="c-0001"), "k"
    )
    assert r.status_code == 422 and r.json["error"]["code"] == "coupon_same_offer"


def test_bad_checks_get_the_error_shape(client, headers, shop):
    h = headers("pos")
    cases = [
        (client.post(CHECK, json={}, headers=h), 422, "missing_field"),
        (client.post(CHECK, json={"code": "a b"}, headers=h), 422, "invalid_value"),
        (client.post(CHECK, json={"code": 12}, headers=h), 422, "wrong_type"),
        (client.post(CHECK, json={"code": "X", "discount": 5}, headers=h), 422, "unknown_field"),
        (
            client.post(CHECK, json={"code": "X", "lines": [{"sku": "NOPE", "qty": 1}]}, headers=h),
            422,
            "unknown_sku",
        ),
        (
            client.post(
                CHECK, json={"code": "X", "lines": [{"sku": "SKU-MUG", "qty": 0}]}, headers=h
            ),
            422,
            "invalid_value",
        ),
        (
            client.post(
                CHECK,
                json={"code": "X", "lines": [{"sku": "SKU-MUG", "qty": 1, "unit_price": 1}]},
                headers=h,
            ),
            422,
            "price_mismatch",
        ),
        (client.post(CHECK, json={"code": "X", "lines": "SKU-MUG"}, headers=h), 422, "wrong_type"),
        (
            client.post(CHECK, json={"code": "X", "customer_id": "nobody"}, headers=h),
            422,
            "unknown_customer",
        ),
        (client.post(CHECK, json={"code": "X", "locale": "de"}, headers=h), 422, "invalid_value"),
        (client.post(CHECK, json=["X"], headers=h), 422, "wrong_type"),
        (
            client.post(CHECK, data="{", headers=h, content_type="application/json"),
            400,
            "malformed_json",
        ),
        (client.post(CHECK, json={"code": "X"}), 401, "missing_token"),
    ]
    for resp, status, code in cases:
        assert resp.status_code == status, (code, resp.json)
        assert set(resp.json["error"]) == {"code", "message", "field"}
        assert resp.json["error"]["code"] == code, resp.json


def test_offline_a_single_use_code_is_accepted_once_in_this_store(client, headers, shop, conn):
    link_down(conn, 3600)
    r1 = post_sale(client, headers, sale(coupon_codes=["MUG20"]), "k-1")
    assert r1.status_code == 201 and r1.json["discount"] == 516
    r2 = post_sale(client, headers, sale(coupon_codes=["MUG20"]), "k-2")
    assert r2.status_code == 409 and r2.json["error"]["code"] == "coupon_already_used"
    r3 = post_sale(client, headers, sale(), "k-3")  # a sale is never blocked
    assert r3.status_code == 201


def test_offline_cap_on_personal_codes(client, headers, shop, apply, conn):
    apply("offer.upserted", offer("OFF-BIG", kind="amount", value=6000))
    apply("coupon.issued", coupon("BIG60", "OFF-BIG", customer_id="c-0001"))
    apply("coupon.issued", coupon("BIGANY", "OFF-BIG"))
    body = sale(
        customer_id="c-0001", lines=[{"sku": "SKU-BOUGIE", "qty": 4}], coupon_codes=["BIG60"]
    )
    link_down(conn, 120)  # within the grace: no cap
    r = client.post(
        CHECK,
        json={"code": "BIG60", "lines": body["lines"], "customer_id": "c-0001"},
        headers=headers("pos"),
    )
    assert r.json["applies"] and r.json["discount"] == 6000
    link_down(conn, 3600)  # past the grace: a personal code over 50.00 waits for the link
    r = client.post(
        CHECK,
        json={"code": "BIG60", "lines": body["lines"], "customer_id": "c-0001"},
        headers=headers("pos"),
    )
    assert r.json["applies"] is False and r.json["reason"] == "offline_limit"
    assert "50,00" in r.json["message"]
    r = post_sale(client, headers, body, "k-1")
    assert r.status_code == 422 and r.json["error"]["code"] == "coupon_offline_limit"
    r = post_sale(client, headers, dict(body, coupon_codes=["BIGANY"]), "k-2")
    assert r.status_code == 201 and r.json["discount"] == 6000  # a code for anyone: not capped
    link_up(conn)
    r = post_sale(client, headers, body, "k-3")
    assert r.status_code == 201 and r.json["discount"] == 6000


def test_member_offers_at_the_kiosk(client, headers, shop, apply, conn):
    apply("coupon.issued", coupon("JAMES5", "OFF-5E", customer_id="c-0002"))
    apply("offer.upserted", offer("OFF-OLD", valid_until=iso(-timedelta(days=1))))
    apply("coupon.issued", coupon("ELODIE-OLD", "OFF-OLD", customer_id="c-0001"))
    apply(
        "offer.upserted", offer("OFF-SOON", valid_from=iso(timedelta(days=3)), title={"en": "Soon"})
    )
    apply("coupon.issued", coupon("ELODIE-SOON", "OFF-SOON", customer_id="c-0001"))
    base = "/api/v1/customers/c-0001/offers"
    assert client.get(base, headers=headers("kiosk")).status_code == 403
    assert client.get(base + "?card=PC000000000002", headers=headers("kiosk")).status_code == 404
    r = client.get(base + "?card=PC000000000001", headers=headers("kiosk"))
    assert r.status_code == 200, r.json
    assert r.json["locale"] == "fr"
    mine = {c["code"]: c for c in r.json["coupons"]}
    assert set(mine) == {"ELODIE10", "ELODIE-SOON"}  # not the expired one, not James's
    assert mine["ELODIE10"]["title"] == "10 % sur tout" and mine["ELODIE10"]["valid_now"]
    assert mine["ELODIE10"]["scan"] == {"payload": "ELODIE10", "symbologies": ["qr", "code128"]}
    assert mine["ELODIE10"]["valid_until"].endswith("Z")
    assert mine["ELODIE-SOON"]["valid_now"] is False and mine["ELODIE-SOON"]["title"] == "Soon"
    assert {o["code"] for o in r.json["offers"]} == {"BIENVENUE", "MUG20"}
    # once used, the coupon leaves the list
    post_sale(client, headers, sale(customer_id="c-0001", coupon_codes=["ELODIE10"]), "k-1")
    r = client.get(base + "?card=PC000000000001", headers=headers("kiosk"))
    assert "ELODIE10" not in {c["code"] for c in r.json["coupons"]}
    r = client.get("/api/v1/customers/c-0002/offers", headers=headers("pos"))
    assert r.json["locale"] == "en" and r.json["coupons"][0]["title"] == "€5 off from €20"
    assert client.get("/api/v1/customers/nobody/offers", headers=headers("pos")).status_code == 404


def test_openapi_describes_the_coupon_calls(client, headers, shop):
    doc = client.get("/api/v1/openapi.json", headers=headers("pos")).json
    check = doc["paths"]["/api/v1/coupons/check"]["post"]
    assert check["operationId"] == "coupons.check" and check["x-roles"] == ["admin", "kiosk", "pos"]
    assert "/api/v1/customers/{customer_id}/offers" in doc["paths"]
    sale_in = doc["components"]["schemas"]["SaleIn"]
    assert "coupon_codes" in sale_in["properties"]
