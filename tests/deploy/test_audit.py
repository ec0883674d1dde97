"""The audit log: staff actions appended in their own transaction, never changed, read by
the admin role only."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from edge.staff import service as auth
from edge.store import db

SALE = {
    "terminal_id": "pos-1",
    "customer_id": "c-0001",
    "currency": "EUR",
    "lines": [{"sku": "SKU-MUG", "qty": 2}],
}


def test_points_redemption_is_audited_with_the_cashier(
    client: FlaskClient, headers: Callable, seeded: dict[str, Any], conn: sqlite3.Connection
) -> None:
    r = client.post(
        "/api/v1/sales",
        json=dict(SALE, redeem_points=500),
        headers=headers("pos", Idempotency_Key="a-1"),
    )
    assert r.status_code == 201, r.json
    # a retry replays the answer and writes no second entry; a sale without points writes none
    client.post(
        "/api/v1/sales",
        json=dict(SALE, redeem_points=500),
        headers=headers("pos", Idempotency_Key="a-1"),
    )
    client.post("/api/v1/sales", json=SALE, headers=headers("pos", Idempotency_Key="a-2"))
    page = client.get("/api/v1/audit", headers=headers("admin")).json
    redeemed = [e for e in page["items"] if e["action"] == "points.redeem"]
    assert len(redeemed) == 1
    e = redeemed[0]
    assert e["actor"] == "test-pos" and e["role"] == "pos" and e["target"] == "c-0001"
    assert e["detail"]["sale_id"] == r.json["sale_id"]
    assert e["detail"]["points"] == 500 and e["detail"]["value"] == 500
    # a refused redemption leaves no entry (same transaction as the sale)
    bad = client.post(
        "/api/v1/sales",
        json=dict(SALE, redeem_points=10**6),
        headers=headers("pos", Idempotency_Key="a-3"),
    )
    assert bad.status_code == 422
    n = conn.execute("SELECT COUNT(*) FROM audit_log WHERE action='points.redeem'").fetchone()
    assert n[0] == 1


def test_token_creation_is_audited(client: FlaskClient, conn: sqlite3.Connection) -> None:
    admin = auth.create_token(conn, name="it-admin", role="admin")
    auth.create_token(conn, name="kiosk-door", role="kiosk")
    auth.revoke_token(conn, "kiosk-door")
    items = client.get("/api/v1/audit", headers={"Authorization": f"Bearer {admin}"}).json["items"]
    seen = [(e["action"], e["target"]) for e in items]
    assert ("token.create", "kiosk-door") in seen and ("token.revoke", "kiosk-door") in seen
    assert all(e["at"] and e["actor"] for e in items)
    # newest first, and pages with ?before=
    ids = [e["audit_id"] for e in items]
    assert ids == sorted(ids, reverse=True)
    older = client.get(
        f"/api/v1/audit?before={ids[0]}&limit=1", headers={"Authorization": f"Bearer {admin}"}
    ).json["items"]
    assert [e["audit_id"] for e in older] == [ids[1]]


def test_the_log_is_append_only(client: FlaskClient, conn: sqlite3.Connection) -> None:
    auth.create_token(conn, name="k", role="kiosk")
    before = conn.execute("SELECT * FROM audit_log").fetchall()
    for statement in (
        "UPDATE audit_log SET actor = 'someone else'",
        "DELETE FROM audit_log",
    ):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"), db.write(conn):
            conn.execute(statement)
    assert conn.execute("SELECT * FROM audit_log").fetchall() == before


@pytest.mark.parametrize("role", ["kiosk", "pos", "staff"])
def test_only_admins_read_it(client: FlaskClient, headers: Callable, role: str) -> None:
    r = client.get("/api/v1/audit", headers=headers(role))
    assert r.status_code == 403 and r.json["error"]["code"] == "forbidden_role"
    assert client.get("/api/v1/audit").status_code == 401
    assert client.get("/api/v1/audit", headers=headers("admin")).status_code == 200
