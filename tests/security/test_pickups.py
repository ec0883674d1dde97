"""Pickup codes (issue 19 items 5 and 6): a stranger at the kiosk cannot lock the day's
orders; the stored hash needs the box key (not in the database); the raw order.placed
payloads that the sync keeps never hold the code in clear."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from edge.pickups import checkin_guard
from edge.store import db
from sync import contract
from sync.consumer import Inbox
from tests.sync.events import data_for, event

PREFIX = "passerelle/v1"
DOWN = contract.store_down_source("S001")
TOPIC = f"{PREFIX}/stores/S001/down/order.placed"


def _order(conn, n: int, code: str) -> dict[str, Any]:
    """Order ``n`` delivered as the first event of the store's down-stream."""
    data = data_for("order.placed", n)
    data["pickup_code"] = code
    inbox = Inbox("S001", PREFIX)
    with db.write(conn):
        inbox.ensure_streams(conn)
        inbox.receive(conn, TOPIC, event(DOWN, "order.placed", 1, data))
    return data


def test_wrong_codes_at_the_kiosk_never_lock_a_handover(client, conn, headers, seeded):
    order = _order(conn, 1, "481516")
    for _ in range(12):  # a stranger, all day long
        r = client.post(
            "/api/v1/pickups/checkin",
            json={"order_number": order["order_number"], "pickup_code": "000000"},
            headers=headers("kiosk"),
        )
        assert r.status_code == 422
    row = conn.execute(
        "SELECT locked, wrong_codes, checkin_failures FROM pickup_orders WHERE order_id = ?",
        (order["order_id"],),
    ).fetchone()
    assert row["locked"] == 0 and row["wrong_codes"] == 0
    assert row["checkin_failures"] == checkin_guard.FREE_TRIES  # the rest waited, untried
    # the shopper comes to the counter: the handover works at once
    oid = order["order_id"]
    for step in ("preparing", "ready"):
        assert (
            client.post(f"/api/v1/pickups/{oid}/{step}", headers=headers("staff")).status_code
            == 200
        )
    r = client.post(
        f"/api/v1/pickups/{oid}/collect", json={"pickup_code": "481516"}, headers=headers("staff")
    )
    assert r.status_code == 200 and r.json["status"] == "collected"
    assert [checkin_guard.delay(n) for n in (0, 2, 3, 4, 20)] == [0, 0, 5, 10, 3600]


def test_the_stored_hash_cannot_be_reversed_without_the_box_key(conn, db_path: Path):
    order = _order(conn, 2, "271828")
    stored = conn.execute(
        "SELECT code_hash FROM pickup_orders WHERE order_id = ?", (order["order_id"],)
    ).fetchone()[0]
    assert stored.startswith("h1:")
    # what a thief with a backup tries: the 10⁶ codes, hashed as before; the right one fails
    plain = hashlib.sha256(f"{order['order_id']}:271828".encode()).hexdigest()
    assert stored.removeprefix("h1:") != plain
    key_file = db_path.parent / "pickup_key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert key_file.read_text().strip().encode() not in db_path.read_bytes()


def test_parked_and_dead_order_payloads_hold_no_code(conn, db_path: Path):
    inbox = Inbox("S001", PREFIX)
    parked = data_for("order.placed", 3)
    parked["pickup_code"] = "314159"
    with db.write(conn):  # sequence 3 first: parked until 1 and 2 arrive
        inbox.ensure_streams(conn)
        inbox.receive(conn, TOPIC, event(DOWN, "order.placed", 3, parked))
    raw = conn.execute("SELECT payload FROM inbox_pending").fetchone()[0]
    assert "314159" not in raw and "sealed:" in raw
    bad = data_for("order.placed", 9)
    bad["pickup_code"] = "161803"
    bad["total"] = "not a number"
    for message in (
        event(DOWN, "order.placed", 1),
        event(DOWN, "order.placed", 2),  # unparks 3
        json.dumps(event(DOWN, "order.placed", 4, bad)).encode(),
    ):
        with db.write(conn):
            inbox.receive(conn, TOPIC, message)
    dead = [r[0] for r in conn.execute("SELECT payload FROM dead_letters")]
    # sealed like a parked one (issue 18: a dead letter can be applied again after a fix)
    assert dead and all("161803" not in p for p in dead) and "sealed:" in dead[0]
    # the parked order was applied with its real code
    from edge.pickups.rules import code_matches
    from edge.store.keys import box_key

    row = conn.execute(
        "SELECT order_id, order_number, code_hash FROM pickup_orders WHERE order_id = ?",
        (parked["order_id"],),
    ).fetchone()
    assert code_matches(row[0], row[1], row[2], "314159", box_key(conn, "pickup_key"))
    assert b"314159" not in db_path.read_bytes() and b"161803" not in db_path.read_bytes()
