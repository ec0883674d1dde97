"""A member corrects their details and consents at the till or at the kiosk (issue 22): the
store's copy changes at once, ``customer.updated`` goes up with the version the store had,
and the online store's next version decides. Bad input writes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from edge.customers import rules
from edge.customers import service as customers
from edge.offers import handlers as offer_handlers
from edge.store import outbox
from edge.store.db import write
from edge.system import demo
from sync import contract

URL = "/api/v1/customers/c-0001"


@pytest.fixture
def seeded(conn: Any) -> None:
    """The demo's three members alone (the full demo hashes staff PINs: slow on purpose)."""
    with write(conn):
        for m in demo.MEMBERS:
            customers.apply_upserted(conn, {**m, "version": 1})


def ups(conn: Any) -> list[dict[str, Any]]:
    events = [e.envelope() for e in outbox.after(conn, "/stores/S001", 0)]
    for e in events:
        contract.validate(e)  # what goes up keeps the contract
    return [e["data"] for e in events if e["type"] == "customer.updated"]


def test_the_cashier_corrects_phone_and_consents(client, headers, seeded, conn):
    body = {"phone": "06 11 22 33 44", "consents": {"sms": False, "email": True}}
    r = client.patch(URL, json=body, headers=headers("pos"))
    assert r.status_code == 200, r.json
    assert r.json["phone"] == "+33611223344"
    assert r.json["consents"]["sms"] is False and r.json["consents"]["email"] is True
    (up,) = ups(conn)
    assert up["customer_id"] == "c-0001" and up["base_version"] == 1
    # Only what differs travels: she had consented to both, the e-mail consent is unchanged.
    assert up["changes"]["phone"] == "+33611223344"
    assert set(up["changes"]["consents"]) == {"sms", "updated_at"}


def test_only_real_changes_travel_and_none_means_no_event(client, headers, seeded, conn):
    r = client.patch(URL, json={"email": "elodie.durand@example.fr"}, headers=headers("pos"))
    assert r.status_code == 200 and ups(conn) == []
    r = client.patch(URL, json={"consents": {"email": False}}, headers=headers("pos"))
    assert r.json["consents"]["email"] is False
    (up,) = ups(conn)
    assert set(up["changes"]) == {"consents"} and up["changes"]["consents"]["email"] is False


def test_bad_fields_are_named_and_nothing_is_written(client, headers, seeded, conn):
    before = conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
    for body, field in (
        ({"phone": "12"}, "phone"),
        ({"email": "not-an-address"}, "email"),
        ({"consents": {"email": "yes"}}, "consents.email"),
        ({"tier": "gold"}, "tier"),
    ):
        r = client.patch(URL, json=body, headers=headers("pos"))
        assert r.status_code in (400, 422), (body, r.json)
        assert field.split(".")[0] in (r.json["error"]["field"] or ""), (body, r.json)
    assert conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == before
    row = conn.execute("SELECT phone, email FROM customers WHERE customer_id = 'c-0001'").fetchone()
    assert tuple(row) == ("+33612345678", "elodie.durand@example.fr")


def test_the_kiosk_changes_only_the_member_whose_card_it_scanned(client, headers, seeded):
    body: dict[str, Any] = {"consents": {"sms": True}}
    assert client.patch(URL, json=body, headers=headers("kiosk")).status_code == 403
    other = client.patch(URL, json={**body, "card": "PC000000000002"}, headers=headers("kiosk"))
    assert other.status_code == 404
    r = client.patch(URL, json={**body, "card": "PC000000000001"}, headers=headers("kiosk"))
    assert r.status_code == 200 and r.json["consents"]["sms"] is True
    assert client.patch(URL, json=body, headers=headers("staff")).status_code == 403


def test_the_online_stores_version_decides(seeded, conn):
    """A change made here offline shows at once; the web's newer version replaces it (the
    sms consent withdrawn here comes back: the web's version 2 said yes), and a 1.0
    upserted (no consents) keeps what the store knew."""
    actor = customers.Actor(name="pos-1", role="pos")
    customers.update_profile(
        conn,
        actor,
        customers.ProfileUpdate("c-0001", {"consents": {"sms": False}}),
        source="/stores/S001",
        locale="fr",
    )
    row = conn.execute("SELECT * FROM customers WHERE customer_id = 'c-0001'").fetchone()
    assert row["consent_sms"] == 0 and row["version"] == 1
    web = {
        "customer_id": "c-0001", "version": 2, "loyalty_card": "PC000000000001",
        "first_name": "Élodie", "last_name": "Durand", "email": "new@example.fr",
        "phone": "+33612345678", "tier": "gold", "locale": "fr",
        "consents": {"email": True, "sms": True, "updated_at": "2026-12-04T10:00:00Z"},
    }  # fmt: skip
    with write(conn):
        assert customers.apply_upserted(conn, web)
        old = {**web, "consents": {"email": False, "sms": False}}
        assert not customers.apply_upserted(conn, old)  # version 2 again: ignored
        v1_0 = {k: v for k, v in web.items() if k != "consents"}  # a 1.0 publisher
        assert customers.apply_upserted(conn, {**v1_0, "version": 3})
    row = conn.execute("SELECT * FROM customers WHERE customer_id = 'c-0001'").fetchone()
    assert (row["consent_email"], row["consent_sms"], row["version"]) == (1, 1, 3)


def test_the_kiosk_says_why_a_coupon_is_for_this_member(client, headers, seeded, conn):
    with write(conn):
        offer_handlers.apply_offer_upserted(conn, {
            "offer_id": "of-tea", "version": 1, "title": {"fr": "−20 % thé", "en": "20% off tea"},
            "kind": "percent", "value": 20, "min_total": 0, "skus": [],
            "valid_from": "2026-01-01T00:00:00Z", "valid_until": "2099-01-01T00:00:00Z",
            "active": True,
        })  # fmt: skip
        offer_handlers.apply_coupon_issued(conn, {
            "coupon_id": "cp-tea", "offer_id": "of-tea", "code": "TEA20", "customer_id": "c-0002",
            "issued_at": "2026-03-02T10:00:00Z", "channel": "email",
            "reason": {"fr": "parce que vous avez acheté Thé vert bio en mars",
                       "en": "because you bought Thé vert bio in March"},
        })  # fmt: skip
    r = client.get("/api/v1/customers/c-0002/offers?card=PC000000000002", headers=headers("kiosk"))
    (coupon,) = r.json["coupons"]
    assert coupon["why"] == "because you bought Thé vert bio in March"


def test_rules_read_numbers_in_the_stores_country():
    assert rules.e164("06 12 34 56 78") == "+33612345678"
    assert rules.e164("+44 7911 123456", "fr") == "+447911123456"
    assert rules.may_send({"email": True, "sms": False}, "email")
    assert not rules.may_send({"email": True, "sms": False}, "sms")
    assert not rules.may_send(None, "email")
