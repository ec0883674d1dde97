"""A whole order through the API: the up-events in order with the contract's fields, the
print jobs, the board, expiry, metrics and readiness."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from edge.pickups import service as pickups
from edge.store import outbox
from edge.system import jobs
from hardware.render import Renderer
from sync import contract
from tests.pickups.conftest import iso, pickup_events, status_of
from tests.printing.decode import decode

CONTRACT_FIELDS = {"order_id", "status", "checked_in_at", "staff_id", "occurred_at"}
RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")


def test_up_events_in_order_with_the_contracts_fields(place, act, client, headers, conn):
    order = place()
    assert act(order, "preparing").status_code == 200
    assert act(order, "ready").status_code == 200
    assert act(order, "checkin", role="kiosk").status_code == 200
    assert act(order, "collect").status_code == 200
    rows = conn.execute(
        "SELECT source, sequence, type, time, data FROM outbox ORDER BY sequence"
    ).fetchall()
    assert [r["sequence"] for r in rows] == list(range(1, len(rows) + 1))
    rows = [r for r in rows if r["type"] != "stock.changed"]  # the order's held stock (issue 17)
    assert {r["type"] for r in rows} == {"pickup.updated"}
    assert {r["source"] for r in rows} == {"/stores/S001"}
    events = [json.loads(r["data"]) for r in rows]
    assert [e["status"] for e in events] == ["received", "preparing", "ready", "ready", "collected"]
    assert [e["staff_id"] for e in events] == [None, "test-staff", "test-staff", None, "test-staff"]
    for row, e in zip(rows, events, strict=True):
        assert set(e) == CONTRACT_FIELDS
        assert e["order_id"] == order["order_id"]
        assert RFC3339_UTC.match(e["occurred_at"]) and e["occurred_at"] == row["time"]
    assert events[0]["checked_in_at"] is None and events[2]["checked_in_at"] is None
    assert events[3]["checked_in_at"] and events[4]["checked_in_at"] == events[3]["checked_in_at"]
    assert [e["occurred_at"] for e in events] == sorted(e["occurred_at"] for e in events)
    # and each, as it will travel, passes the contract's JSON Schemas
    for event in outbox.after(conn, "/stores/S001", 0):
        contract.validate(event.envelope())


def test_every_up_event_of_the_conflicts_passes_the_contract(place, act, deliver, conn):
    order = place()
    for step in ("preparing", "ready", "collect"):
        act(order, step)
    deliver("order.cancelled", {"order_id": order["order_id"], "reason": "late"})
    early = place()
    deliver("order.cancelled", {"order_id": early["order_id"] + "x", "reason": "x"})
    act(early, "cancel")
    events = outbox.after(conn, "/stores/S001", 0)
    assert len([e for e in events if e.type != "stock.changed"]) == 7  # besides held stock
    for event in events:
        contract.validate(event.envelope())


def test_print_jobs_at_ready_and_collected_and_reprint(place, act, client, headers, conn, seeded):
    order = place(customer_id="c-0002", pickup_code="482913")
    act(order, "preparing")
    r = client.post(f"/api/v1/pickups/{order['order_id']}/reprint", headers=headers("staff"))
    assert r.status_code == 409  # nothing printed yet for a preparing order
    act(order, "ready")
    jobs_ = conn.execute("SELECT * FROM print_jobs ORDER BY job_id").fetchall()
    assert [(j["document"], j["printer_role"], j["ref"]) for j in jobs_] == [
        ("pickup_slip", "pickup_slips", order["order_id"])
    ]
    slip = json.loads(jobs_[0]["data"])
    for key in ("order_number", "customer_name", "lines", "total", "currency", "pickup_by"):
        assert slip[key] not in (None, [], ""), key
    assert slip["staff"] == "test-staff" and slip["lines"][0]["sku"] == "SKU-MUG"
    assert order["pickup_code"] not in jobs_[0]["data"]  # a slip never carries the code

    r = client.post(f"/api/v1/pickups/{order['order_id']}/reprint", headers=headers("staff"))
    assert r.status_code == 202 and r.json["document"] == "pickup_slip"
    again = conn.execute(
        "SELECT * FROM print_jobs WHERE job_id = ?", (r.json["job_id"],)
    ).fetchone()
    assert again["reprint_of"] == jobs_[0]["job_id"]

    act(order, "collect")
    receipt = conn.execute(
        "SELECT * FROM print_jobs WHERE document = 'handover_receipt'"
    ).fetchone()
    assert receipt["printer_role"] == "receipts" and receipt["ref"] == order["order_id"]
    data = json.loads(receipt["data"])
    assert data["collected_at"] and data["staff"] == "test-staff"
    assert data["handed_over_by"] == "test-staff"
    assert data["order_number"] == order["order_number"] and data["total"] == order["total"]

    # a reprint of the receipt is the same paper again, naming the job it repeats
    r = client.post(f"/api/v1/pickups/{order['order_id']}/reprint", headers=headers("admin"))
    assert r.status_code == 202 and r.json["document"] == "handover_receipt"
    copy = conn.execute("SELECT * FROM print_jobs WHERE job_id = ?", (r.json["job_id"],)).fetchone()
    assert copy["reprint_of"] == receipt["job_id"] and copy["requested_by"] == "test-admin"
    assert json.loads(copy["data"]) == data and copy["locale"] == "en"

    # and the printing area's layouts render both documents from this data
    for job, expect in ((jobs_[0], "Order to collect"), (receipt, "Order handover receipt")):
        paper = decode(
            Renderer(locale=job["locale"], width=48).render(
                job["document"], json.loads(job["data"])
            )
        )
        assert expect in paper.text and order["order_number"] in paper.large_text
        assert "James O'Neill" in paper.text and "2 x Mug" in paper.text
    assert (
        "Collect before" in decode(Renderer(locale="en", width=48).render("pickup_slip", slip)).text
    )


def test_board_sorted_by_pickup_by_with_counts(place, act, client, headers):
    now = datetime.now(UTC)
    late = place(pickup_by=iso(now + timedelta(days=5)))
    soon = place(pickup_by=iso(now + timedelta(hours=2)))
    mid = place(pickup_by=iso(now + timedelta(days=1)))
    act(mid, "preparing")
    board = client.get("/api/v1/pickups", headers=headers("staff")).json
    assert [i["order_id"] for i in board["items"]] == [
        soon["order_id"],
        mid["order_id"],
        late["order_id"],
    ]
    assert board["counts"] == {
        "received": 2,
        "preparing": 1,
        "ready": 0,
        "collected": 0,
        "cancelled": 0,
        "expired": 0,
    }
    item = board["items"][0]
    for key in (
        "order_id",
        "order_number",
        "status",
        "customer_name",
        "lines",
        "total",
        "currency",
        "paid",
        "placed_at",
        "pickup_by",
        "checked_in_at",
        "locked",
        "put_back",
    ):
        assert key in item
    only = client.get("/api/v1/pickups?status=preparing", headers=headers("staff")).json
    assert [i["order_id"] for i in only["items"]] == [mid["order_id"]]
    assert only["counts"]["received"] == 2
    r = client.get("/api/v1/pickups?status=lost", headers=headers("staff"))
    assert r.status_code == 422 and r.json["error"]["field"] == "status"
    assert client.get("/api/v1/pickups/nope", headers=headers("staff")).status_code == 404


def test_expiry_job_moves_overdue_ready_orders(place, act, conn, settings):
    now = datetime.now(UTC)
    grace = timedelta(hours=settings.pickup_grace_hours)
    overdue = place(pickup_by=iso(now - grace - timedelta(minutes=5)))
    in_grace = place(pickup_by=iso(now - grace + timedelta(minutes=5)))
    not_ready = place(pickup_by=iso(now - grace - timedelta(days=1)))
    for order in (overdue, in_grace):
        act(order, "preparing")
        act(order, "ready")
    job = dict((name, fn) for name, _interval, fn in jobs.PERIODIC)["pickup_expiry"]
    assert [i for n, i, _ in jobs.PERIODIC if n == "pickup_expiry"] == [60.0]
    assert job(conn, settings) == 1
    assert status_of(conn, overdue["order_id"]) == "expired"
    assert status_of(conn, in_grace["order_id"]) == "ready"
    assert status_of(conn, not_ready["order_id"]) == "received"
    last = pickup_events(conn, overdue["order_id"])[-1]
    assert last["status"] == "expired" and last["staff_id"] is None
    row = conn.execute(
        "SELECT put_back FROM pickup_orders WHERE order_id = ?", (overdue["order_id"],)
    ).fetchone()
    assert row["put_back"] == 1
    assert job(conn, settings) == 0  # nothing twice
    # later, the one in its grace goes too
    assert pickups.expire_overdue(conn, settings, now=now + timedelta(minutes=10)) == [
        in_grace["order_id"]
    ]


def test_metrics_and_readiness(place, act, client, headers):
    a, b, c = place(), place(), place()
    act(a, "preparing")
    act(a, "ready")
    act(b, "preparing")
    act(b, "ready")
    act(b, "collect")
    act(c, "checkin", role="kiosk")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'passerelle_pickups{status="ready"} 1.0' in text
    assert 'passerelle_pickups{status="collected"} 1.0' in text
    assert 'passerelle_pickups{status="received"} 1.0' in text
    assert "passerelle_pickup_handovers_last_hour 1.0" in text
    assert "passerelle_pickup_oldest_ready_age_seconds" in text
    ready = client.get("/readyz").json
    assert ready["pickups"] == {"checked_in_waiting": 1, "locked": 0, "ready": 1, "put_back": 0}


def test_pickups_are_in_the_openapi_document(client, headers):
    doc = client.get("/api/v1/openapi.json", headers=headers("kiosk")).json
    paths = doc["paths"]
    for path, method in [
        ("/api/v1/pickups", "get"),
        ("/api/v1/pickups/{order_id}", "get"),
        ("/api/v1/pickups/{order_id}/preparing", "post"),
        ("/api/v1/pickups/{order_id}/ready", "post"),
        ("/api/v1/pickups/{order_id}/collect", "post"),
        ("/api/v1/pickups/{order_id}/cancel", "post"),
        ("/api/v1/pickups/{order_id}/unlock", "post"),
        ("/api/v1/pickups/{order_id}/reprint", "post"),
        ("/api/v1/pickups/checkin", "post"),
    ]:
        assert method in paths[path], path
    assert paths["/api/v1/pickups/checkin"]["post"]["x-roles"] == ["admin", "kiosk", "staff"]
    assert "423" in paths["/api/v1/pickups/{order_id}/collect"]["post"]["responses"]


def test_staff_cancel_needs_a_reason_and_is_audited(place, act, client, headers, conn):
    order = place()
    r = client.post(
        f"/api/v1/pickups/{order['order_id']}/cancel", json={}, headers=headers("staff")
    )
    assert r.status_code == 422 and r.json["error"]["field"] == "reason"
    r = act(order, "cancel", reason="damaged in store")
    assert r.status_code == 200 and r.json["cancelled_by"] == "staff"
    row = conn.execute(
        "SELECT actor, detail FROM audit_log WHERE action = 'pickup.cancel'"
    ).fetchone()
    assert row["actor"] == "test-staff" and "damaged in store" in row["detail"]
