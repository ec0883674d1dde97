"""The loyalty ledger in a database: a negative merged balance is flagged, then cleared."""

from __future__ import annotations

from edge.loyalty import service as loyalty
from edge.loyalty import views


def test_a_balance_turned_negative_by_the_merge_is_flagged(client, headers, seeded, conn):
    """The store redeemed points offline; the web had spent them too: after the merge the
    balance is negative and /readyz says so (not hidden), until an adjustment clears it."""
    from edge.store import db

    bal = views.balance(conn, "c-0002")
    with db.write(conn):
        loyalty.insert_entry(
            conn,
            {
                "entry_id": "web-redeem-1",
                "customer_id": "c-0002",
                "points": -(bal + 50),
                "reason": "redeem",
                "ref": "W-1",
                "channel": "web",
                "occurred_at": "2026-11-24T10:00:00Z",
            },
            origin="down",
        )
    ready = client.get("/readyz").json
    assert ready["loyalty"]["negative_balances"] == 1 and "negative_balances" in ready["degraded"]
    assert "passerelle_negative_balances 1.0" in client.get("/metrics").text
    with db.write(conn):
        loyalty.insert_entry(
            conn,
            {
                "entry_id": "adj-1",
                "customer_id": "c-0002",
                "points": 50,
                "reason": "adjust",
                "channel": "web",
                "occurred_at": "2026-11-24T11:00:00Z",
            },
            origin="down",
        )
    assert client.get("/readyz").json["loyalty"]["negative_balances"] == 0
