"""A click-and-collect order, end to end: brought down as the sync worker applies it, made
ready and handed over through the API, its slip and handover receipt printed by the worker
on the emulated printer in the member's language."""

from __future__ import annotations

import uuid

import pytest

from edge import handlers
from edge.store import db, inbox
from tests.pickups.conftest import order_data
from tests.printing.decode import decode
from tests.printing.test_receipts import printed


@pytest.mark.parametrize(
    ("customer_id", "name", "expect"),
    [
        (
            "c-0001",
            "Élodie Durand",
            [
                "Commande à retirer",
                "À retirer avant le",
                "Reçu de remise de commande",
                "Payé en ligne",
            ],
        ),
        (
            "c-0002",
            "James O'Neill",
            ["Order to collect", "Collect before", "Order handover receipt", "Paid online"],
        ),
    ],
)
def test_ready_and_collected_orders_print_in_the_members_language(
    client, headers, seeded, conn, settings, emulator, start_worker, customer_id, name, expect
):
    order = order_data(customer_id=customer_id, customer_name=name, pickup_code="482913")
    ctx = inbox.ApplyContext(
        store_id=settings.store_id, source=settings.up_source, event_id=str(uuid.uuid4())
    )
    with db.write(conn):
        handlers.HANDLERS["order.placed"](conn, order, ctx)
    oid = order["order_id"]
    for action in ("preparing", "ready"):
        r = client.post(f"/api/v1/pickups/{oid}/{action}", headers=headers("staff"))
        assert r.status_code < 300, r.json
    r = client.post(
        f"/api/v1/pickups/{oid}/collect",
        json={"pickup_code": order["pickup_code"]},
        headers=headers("staff"),
    )
    assert r.status_code < 300, r.json
    start_worker()
    slip, handover = (decode(j) for j in printed(emulator, 2))
    text = slip.text + handover.text
    for words in expect:
        assert words in text
    assert order["order_number"] in slip.large_text and name in slip.text
    assert "[ ] 2 x Mug « Passerelle »" in slip.text and slip.qr_codes == [oid]
    assert order["pickup_code"] not in text  # a slip never carries the code
    assert handover.code_pages == slip.code_pages == [16]
    assert slip.cuts == handover.cuts == 1 and handover.drawer_kicks == []
    statuses = [r[0] for r in conn.execute("SELECT status FROM print_jobs ORDER BY job_id")]
    assert statuses == ["done", "done"]
