"""The shopper's check-in at the kiosk: the shopper's language, and nothing for strangers."""

from __future__ import annotations

from edge.pickups import checkin_guard, rules
from tests.pickups.conftest import pickup_events


def checkin(client, headers, role="kiosk", **body):
    return client.post("/api/v1/pickups/checkin", json=body, headers=headers(role))


def test_checkin_in_the_shoppers_language(client, headers, seeded, place, act, conn):
    james = place(customer_id="c-0002")  # an English-speaking member
    r = checkin(
        client, headers, order_number=james["order_number"], pickup_code=james["pickup_code"]
    )
    assert r.status_code == 200, r.json
    assert r.json["locale"] == "en" and r.json["status"] == "received"
    assert r.json["next_step"] == "wait_preparing"
    assert "being prepared" in r.json["message"] and james["order_number"] in r.json["message"]
    assert r.json["checked_in_at"]
    ev = pickup_events(conn, james["order_id"])[-1]
    assert ev["status"] == "received" and ev["staff_id"] is None
    assert ev["checked_in_at"] == r.json["checked_in_at"]

    elodie = place(customer_id="c-0001")  # French
    for step in ("preparing", "ready"):
        act(elodie, step)
    r = checkin(
        client, headers, order_number=elodie["order_number"], pickup_code=elodie["pickup_code"]
    )
    assert r.json["locale"] == "fr" and r.json["next_step"] == "wait_ready"
    assert "prête" in r.json["message"]

    stranger = place(customer_id=None, paid=False)  # unknown customer: the store's language
    r = checkin(
        client,
        headers,
        order_number=stranger["order_number"],
        pickup_code=stranger["pickup_code"],
    )
    assert r.json["locale"] == "fr" and r.json["to_pay"] is True
    assert "comptoir" in r.json["message"]
    # the kiosk's language button wins
    r = checkin(
        client,
        headers,
        order_number=stranger["order_number"],
        pickup_code=stranger["pickup_code"],
        locale="en",
    )
    assert r.json["locale"] == "en" and "counter" in r.json["message"]


def test_checkin_twice_is_one_event(client, headers, place, conn):
    order = place()
    body = {"order_number": order["order_number"], "pickup_code": order["pickup_code"]}
    first = checkin(client, headers, **body).json
    second = checkin(client, headers, **body).json
    assert first["checked_in_at"] == second["checked_in_at"]
    assert [e["status"] for e in pickup_events(conn, order["order_id"])] == [
        "received",
        "received",
    ]


def test_checkin_with_the_scanned_qr_only(client, headers, place):
    order = place()
    payload = rules.qr_payload(order["order_number"], order["pickup_code"])
    r = checkin(client, headers, pickup_code=payload)
    assert r.status_code == 200 and r.json["order_number"] == order["order_number"]


def test_staff_checkin_at_the_counter_names_the_staff(client, headers, place, conn):
    order = place()
    r = checkin(
        client,
        headers,
        role="staff",
        order_number=order["order_number"],
        pickup_code=order["pickup_code"],
    )
    assert r.status_code == 200
    assert pickup_events(conn, order["order_id"])[-1]["staff_id"] == "test-staff"
    board = client.get("/api/v1/pickups", headers=headers("staff")).json
    assert board["items"][0]["checked_in_at"] == r.json["checked_in_at"]


def test_checkin_leaks_nothing_to_a_stranger(client, headers, place, conn, settings):
    order = place()
    locked = place()
    for _ in range(settings.pickup_max_wrong_codes):
        checkin(client, headers, order_number=locked["order_number"], pickup_code="999999")
    answers = [
        checkin(client, headers, order_number="W-999999999", pickup_code="123456"),
        checkin(client, headers, order_number=order["order_number"], pickup_code="999999"),
        checkin(client, headers, order_number=order["order_number"], pickup_code="12"),
        checkin(client, headers, pickup_code="999999"),
        checkin(client, headers, pickup_code=rules.qr_payload("W-404", "123456")),
        checkin(
            client,
            headers,
            order_number=order["order_number"],
            pickup_code=rules.qr_payload(locked["order_number"], order["pickup_code"]),
        ),
        # the right code of a locked order: still the same answer
        checkin(
            client, headers, order_number=locked["order_number"], pickup_code=locked["pickup_code"]
        ),
    ]
    bodies = {(r.status_code, r.get_data(as_text=True)) for r in answers}
    assert len(bodies) == 1, bodies
    status, text = bodies.pop()
    assert status == 422
    err = answers[0].json["error"]
    assert err["code"] == "checkin_failed" and err["field"] is None
    for secret in (order["order_number"], locked["order_number"], "locked", "received", "James"):
        assert secret not in text
    # the wrong codes slow this order's check-in down (the right code waits too) but never
    # lock its handover: a stranger cannot lock the day's orders from the kiosk (issue 19)
    row = conn.execute(
        "SELECT wrong_codes, locked, checkin_failures FROM pickup_orders WHERE order_id = ?",
        (locked["order_id"],),
    ).fetchone()
    assert row["locked"] == 0 and row["wrong_codes"] == 0
    assert row["checkin_failures"] == checkin_guard.FREE_TRIES  # then tries wait, untried
    assert pickup_events(conn, locked["order_id"])[-1]["checked_in_at"] is None


def test_checkin_on_a_closed_order_says_so(client, headers, place, act):
    order = place(customer_id="c-0002")
    act(order, "cancel")
    r = checkin(
        client, headers, order_number=order["order_number"], pickup_code=order["pickup_code"]
    )
    assert r.status_code == 409 and "cancelled" in r.json["error"]["message"]


def test_checkin_body_is_validated(client, headers):
    r = checkin(client, headers, order_number="W-1", pickup_code="1", extra=True)
    assert r.status_code == 422 and r.json["error"]["code"] == "unknown_field"
    r = client.post("/api/v1/pickups/checkin", data="x", headers=headers("kiosk"))
    assert r.status_code == 415


def test_kiosk_reaches_only_the_checkin(client, headers, place):
    order = place()
    assert client.get("/api/v1/pickups", headers=headers("kiosk")).status_code == 403
    r = client.post(f"/api/v1/pickups/{order['order_id']}/ready", headers=headers("kiosk"))
    assert r.status_code == 403
    r = client.post(
        f"/api/v1/pickups/{order['order_id']}/collect",
        json={"pickup_code": order["pickup_code"]},
        headers=headers("kiosk"),
    )
    assert r.status_code == 403
    r = checkin(client, headers, "pos", order_number="W-1", pickup_code="123456")
    assert r.status_code == 403
