"""Members through the HTTP API: lookups (masked for the kiosk), the one history, enrolment."""

from __future__ import annotations

import json


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
