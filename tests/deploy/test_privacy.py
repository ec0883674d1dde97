"""Kiosk privacy and abuse: rate limits per terminal and per address, personal data masked
by role, and a customer erased by ``customer.erased`` gone from every table."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from edge import handlers
from edge.printing import queue
from edge.staff import service as auth
from edge.store import db, inbox, outbox
from edge.web.app import create_app
from edge.web.limits import LIMITED
from sync import contract
from tests.sync.events import data_for

PERSON = {
    "first_name": "Zoé",
    "last_name": "Vasquez-Ardent",
    "email": "zoe.vasquez@example.org",
    "phone": "+33611223344",
    "loyalty_card": "PC987654321000",
}


@pytest.fixture
def limited_app(app_config: dict[str, Any]) -> Flask:
    return create_app(dict(app_config, RATE_LIMIT_LOOKUP="3/minute", RATE_LIMIT_PIN="3/minute"))


def _call(client: FlaskClient, path: str, method: str, op: dict[str, Any], token: str, ip: str):
    url = re.sub(r"\{[^}]+\}", "1", path)
    kwargs: dict[str, Any] = {
        "headers": {"Authorization": f"Bearer {token}"},
        "environ_base": {"REMOTE_ADDR": ip},
    }
    if "requestBody" in op:
        kwargs["json"] = {}
    return client.open(url, method=method.upper(), **kwargs)


def test_limited_operations_count_per_terminal_and_per_address(limited_app: Flask) -> None:
    client = limited_app.test_client()
    conn = db.connect(limited_app.config["DB_PATH"])
    tok = {n: auth.create_token(conn, name=n, role="kiosk") for n in ("k1", "k2", "k3")}
    admin = auth.create_token(conn, name="adm", role="admin")
    conn.close()
    doc = client.get("/api/v1/openapi.json", headers={"Authorization": f"Bearer {admin}"}).json
    ops = [
        (path, m, op)
        for path, item in doc["paths"].items()
        for m, op in item.items()
        if op.get("operationId") in LIMITED
    ]
    assert any(op["operationId"] == "customers.lookup" for _, _, op in ops)
    for path, method, op in ops:
        for _ in range(3):
            r = _call(client, path, method, op, tok["k1"], "10.0.0.1")
            assert r.status_code != 429, (op["operationId"], r.json)
        over = _call(client, path, method, op, tok["k1"], "10.0.0.1")
        assert over.status_code == 429
        assert over.json["error"]["code"] == "rate_limited"
        assert set(over.json["error"]) == {"code", "message", "field"}
        assert int(over.headers["Retry-After"]) > 0
        # another terminal from another address: its own counters
        assert _call(client, path, method, op, tok["k2"], "10.0.0.2").status_code != 429
        # the same address with another token: the address is spent
        assert _call(client, path, method, op, tok["k3"], "10.0.0.1").status_code == 429
        # the spent token from another address: the terminal is spent
        assert _call(client, path, method, op, tok["k1"], "10.0.0.3").status_code == 429


def test_other_operations_are_not_limited(limited_app: Flask) -> None:
    client = limited_app.test_client()
    conn = db.connect(limited_app.config["DB_PATH"])
    token = auth.create_token(conn, name="pos", role="pos")
    conn.close()
    for _ in range(6):
        r = client.get("/api/v1/products?q=mug", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200


def test_personal_data_masked_by_role(
    client: FlaskClient, headers: Callable, seeded: dict[str, Any]
) -> None:
    card = seeded["cards"][0]
    kiosk = client.get(f"/api/v1/customers/lookup?card={card}", headers=headers("kiosk")).json
    pos = client.get(f"/api/v1/customers/lookup?card={card}", headers=headers("pos")).json
    assert re.fullmatch(r"[A-Z]\.", kiosk["last_name"]) and len(pos["last_name"]) > 2
    for body in (kiosk, pos):
        assert not {"email", "phone", "loyalty_card"} & set(body)
    by_phone = client.get("/api/v1/customers/lookup?phone=%2B33612345678", headers=headers("kiosk"))
    assert by_phone.status_code == 403
    cid = kiosk["customer_id"]
    assert client.get(f"/api/v1/customers/{cid}", headers=headers("kiosk")).status_code == 403
    # the kiosk reads a history only with the card of the member in front of it
    hist = client.get(f"/api/v1/customers/{cid}/history", headers=headers("kiosk"))
    assert hist.status_code == 403
    other = seeded["cards"][1]
    hist = client.get(f"/api/v1/customers/{cid}/history?card={other}", headers=headers("kiosk"))
    assert hist.status_code == 404


def _every_text_value(conn: sqlite3.Connection) -> list[tuple[str, str, str]]:
    out = []
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    for t in tables:
        cols = [c[1] for c in conn.execute(f'PRAGMA table_info("{t}")')]
        for row in conn.execute(f'SELECT * FROM "{t}"'):
            for col, v in zip(cols, row, strict=True):
                if isinstance(v, str):
                    out.append((t, col, v))
    return out


def test_erased_customer_is_gone_from_every_table(
    client: FlaskClient, headers: Callable, conn: sqlite3.Connection, seeded: dict[str, Any]
) -> None:
    # a member enrolled at the till (customer.enrolled in the outbox), with a sale
    made = client.post("/api/v1/customers", json=PERSON, headers=headers("pos"))
    assert made.status_code == 201, made.json
    cid = made.json["customer_id"]
    sale = client.post(
        "/api/v1/sales",
        json={
            "terminal_id": "pos-1",
            "customer_id": cid,
            "currency": "EUR",
            "lines": [{"sku": "SKU-MUG", "qty": 1}],
        },
        headers=headers("pos", Idempotency_Key="erase-1"),
    )
    assert sale.status_code == 201
    full = f"{PERSON['first_name']} {PERSON['last_name']}"
    with db.write(conn):
        # other places personal data can land: a print job, a dead letter, a stored answer,
        # a search index
        queue.enqueue(
            conn,
            document="loyalty_ticket",
            data={"customer_id": cid, "name": full, "card": PERSON["loyalty_card"]},
        )
        conn.execute(
            "INSERT INTO dead_letters (received_at, topic, reason, payload) VALUES (?,?,?,?)",
            (db.now_iso(), "t", "bad", json.dumps({"data": dict(PERSON, customer_id=cid)})),
        )
        conn.execute(
            "INSERT INTO idempotency_keys VALUES ('enroll:x','k','h',201,?,?)",
            (json.dumps(dict(PERSON, customer_id=cid)), db.now_iso()),
        )
        # a click-and-collect order for them, as the online store sends it
        order = dict(data_for("order.placed", 7), customer_id=cid, customer_name=full)
        assert handlers.HANDLERS["order.placed"](
            conn, order, inbox.ApplyContext(store_id="S001", source="/stores/S001", event_id="o7")
        )
        conn.execute("CREATE VIRTUAL TABLE member_search USING fts5(customer_id, text)")
        conn.execute(
            "INSERT INTO member_search VALUES (?, ?)",
            (cid, f"{full} {PERSON['email']} {PERSON['phone']}"),
        )
    # another member who shares the first name and the family's phone keeps both
    other = dict(PERSON, last_name="Other", email=None, loyalty_card="PC111122223333")
    other_made = client.post("/api/v1/customers", json=other, headers=headers("pos"))
    assert other_made.status_code == 201
    # and a down-event about a third person with that phone, waiting behind a gap
    upsert = dict(data_for("customer.upserted", 9), phone=PERSON["phone"])
    with db.write(conn):
        conn.execute(
            "INSERT INTO inbox_pending VALUES ('/web/chain', 99, 'ev-99', ?, ?)",
            (json.dumps({"data": upsert}), db.now_iso()),
        )
    sequences = conn.execute("SELECT source, sequence, id, type FROM outbox").fetchall()

    with db.write(conn):
        ctx = inbox.ApplyContext(store_id="S001", source="/stores/S001", event_id="e-1")
        assert handlers.HANDLERS["customer.erased"](conn, {"customer_id": cid}, ctx)

    secrets = [PERSON[k] for k in ("email", "loyalty_card", "last_name")] + [full]
    leaks = [(t, c) for t, c, v in _every_text_value(conn) if any(s in v for s in secrets)]
    assert leaks == []
    # the shared phone is left only where it is someone else's
    phone_rows = {(t, c) for t, c, v in _every_text_value(conn) if PERSON["phone"] in v}
    assert phone_rows == {("customers", "phone"), ("inbox_pending", "payload"), ("outbox", "data")}
    # the search index finds nothing
    assert (
        conn.execute(
            "SELECT COUNT(*) FROM member_search WHERE member_search MATCH ?", ('"Vasquez"',)
        ).fetchone()[0]
        == 0
    )
    # nothing lost from the streams: same rows, same sequences, JSON still valid
    assert conn.execute("SELECT source, sequence, id, type FROM outbox").fetchall() == sequences
    enrolled = conn.execute(
        "SELECT id, data FROM outbox WHERE type = 'customer.enrolled' AND data LIKE ?",
        (f"%{cid}%",),
    ).fetchone()
    data = json.loads(enrolled["data"])
    assert data["customer_id"] == cid and data["first_name"] == "erased" and data["email"] is None
    assert data["phone"] is None
    # still a valid event of the contract, so an unsent one is published, not stuck
    row = conn.execute("SELECT * FROM outbox WHERE id = ?", (enrolled["id"],)).fetchone()
    contract.validate(outbox._from_row(row).envelope())
    # the tombstone keeps no personal field; purchases stay, anonymous
    row = conn.execute("SELECT * FROM customers WHERE customer_id = ?", (cid,)).fetchone()
    assert row["erased_at"] and not any(
        row[k] for k in ("loyalty_card", "first_name", "last_name", "email", "phone")
    )
    assert conn.execute("SELECT COUNT(*) FROM sales WHERE customer_id = ?", (cid,)).fetchone()[0]
    # the other Zoé is untouched
    kept = conn.execute(
        "SELECT data FROM outbox WHERE type = 'customer.enrolled' AND data LIKE ?",
        (f"%{other_made.json['customer_id']}%",),
    ).fetchone()
    assert json.loads(kept["data"])["first_name"] == PERSON["first_name"]
    assert json.loads(kept["data"])["phone"] == PERSON["phone"]
    assert (
        client.get(
            "/api/v1/customers/" + other_made.json["customer_id"], headers=headers("pos")
        ).json["phone"]
        == PERSON["phone"]
    )
    pending = conn.execute("SELECT payload FROM inbox_pending WHERE id = 'ev-99'").fetchone()
    assert json.loads(pending[0])["data"] == upsert
    # the order stays collectable (by its number and code), without the name
    name = conn.execute("SELECT customer_name FROM pickup_orders WHERE customer_id = ?", (cid,))
    assert PERSON["last_name"] not in name.fetchone()[0]
    card = PERSON["loyalty_card"]
    lookup = client.get(f"/api/v1/customers/lookup?card={card}", headers=headers("pos"))
    assert lookup.status_code == 404


def test_audit_details_never_hold_personal_fields(conn: sqlite3.Connection) -> None:
    from edge.store import audit

    with db.write(conn):
        audit.record(
            conn,
            actor="st-1",
            role="staff",
            action="pickup.handover",
            target="o-1",
            detail={"order_id": "o-1", "customer_name": "Zoé V", "lines": [{"email": "a@b.c"}]},
        )
    detail = json.loads(conn.execute("SELECT detail FROM audit_log").fetchall()[-1][0])
    assert detail == {"order_id": "o-1", "lines": [{}]}


def test_erasure_leaves_other_members_and_pending_events_alone(conn):
    """Two members share a family phone number; erasing one must not scrub the other, and
    an event parked behind a gap stays exactly as the online store sent it."""
    from edge.customers import service as customers
    from edge.store import db

    with db.write(conn):
        for cid in ("fam-1", "fam-2"):
            customers.apply_upserted(
                conn,
                {
                    "customer_id": cid,
                    "version": 1,
                    "loyalty_card": f"CARD-{cid}",
                    "first_name": "Sam",
                    "last_name": "Moreau",
                    "email": f"{cid}@example.fr",
                    "phone": "+33611111111",
                    "tier": "standard",
                    "locale": "fr",
                },
            )
        conn.execute(
            "INSERT INTO inbox_pending (source, sequence, id, payload, received_at) "
            "VALUES ('/web/chain', 9, 'e9', ?, 'x')",
            ('{"data": {"customer_id": "fam-2", "phone": "+33611111111"}}',),
        )
        customers.apply_erased(conn, {"customer_id": "fam-1"})
    other = conn.execute("SELECT phone, first_name FROM customers WHERE customer_id='fam-2'")
    assert tuple(other.fetchone()) == ("+33611111111", "Sam")
    payload = conn.execute("SELECT payload FROM inbox_pending").fetchone()[0]
    assert "+33611111111" in payload
