"""The coupon chain over a real Mosquitto with the real sync worker: a coupon issued on the
web comes down, is seen at the kiosk, is redeemed at the till, and ``coupon.redeemed`` goes
up once (a retried sale redeems nothing more); a coupon spent on the web first is refused;
the store's own redemption echoed back is not counted twice; a double use during an outage
is flagged once the events are merged."""

from __future__ import annotations

from typing import Any

import pytest

from edge.offers import views as offer_views
from tests.offers.conftest import coupon, offer, redeemed
from tests.offers.test_events import deliver, end_state, fresh
from tests.support.waiting import wait_until
from tests.sync.conftest import wait_applied

pytestmark = pytest.mark.slow


def sell(client: Any, headers: Any, key: str, code: str, customer_id: str = "c-0001") -> Any:
    body = {
        "terminal_id": "pos-1",
        "currency": "EUR",
        "customer_id": customer_id,
        "lines": [{"sku": "SKU-MUG", "qty": 2}],
        "coupon_codes": [code],
    }
    return client.post("/api/v1/sales", json=body, headers=headers("pos", Idempotency_Key=key))


def test_coupon_chain_over_mqtt(client, headers, seeded, edge_db, web, collector, start_edge):
    edge = start_edge()
    chain = [
        web.make("offer.upserted", offer("OFF-10")),
        web.make("coupon.issued", coupon("WEB10", customer_id="c-0001")),
        web.make("coupon.issued", coupon("SPENT10", customer_id="c-0001")),
        web.make("coupon.redeemed", redeemed("cp-spent10", redemption_id="r-web-1")),
    ]
    web.publish_many(chain)
    wait_applied(edge_db, len(chain))

    # the kiosk shows the member's coupon (not the spent one)
    r = client.get("/api/v1/customers/c-0001/offers?card=PC000000000001", headers=headers("kiosk"))
    assert [c["code"] for c in r.json["coupons"]] == ["WEB10"]

    # redeemed at the till; the POS retries with the same key
    r1 = sell(client, headers, "k-1", "WEB10")
    assert r1.status_code == 201 and r1.json["discount"] == 258
    r2 = sell(client, headers, "k-1", "WEB10")
    assert r2.json == r1.json and r2.headers["Idempotent-Replayed"] == "true"
    # a code spent on the web first is refused
    r3 = sell(client, headers, "k-2", "SPENT10")
    assert r3.status_code == 409 and r3.json["error"]["code"] == "coupon_already_used"

    wait_until(lambda: collector.distinct("coupon.redeemed"), 30, what="coupon.redeemed up")
    wait_until(lambda: collector.distinct("sale.recorded"), 30, what="sale.recorded up")
    assert not collector.invalid
    ups = list(collector.distinct("coupon.redeemed").values())
    assert len(ups) == 1  # once, whatever the retries
    up = ups[0]["data"]
    assert up["coupon_id"] == "cp-web10" and up["ref"] == r1.json["sale_id"]
    sale = next(iter(collector.distinct("sale.recorded").values()))["data"]
    assert sale["coupons"] == [{"coupon_id": "cp-web10", "discount": 258}]

    # the chain echoes the store's redemption back: still one use
    web.publish(web.make("coupon.redeemed", up))
    wait_applied(edge_db, len(chain) + 1)
    n = edge_db.execute(
        "SELECT COUNT(*) FROM coupon_redemptions WHERE coupon_id = 'cp-web10'"
    ).fetchone()[0]
    assert n == 1

    # an outage: the store redeems a code the web also redeems; the merge flags it
    web.publish(web.make("coupon.issued", coupon("TWICE", customer_id="c-0001")))
    wait_applied(edge_db, len(chain) + 2)
    edge.halt()
    assert sell(client, headers, "k-3", "TWICE").status_code == 201
    web.publish(web.make("coupon.redeemed", redeemed("cp-twice", redemption_id="r-web-2")))
    assert client.get("/readyz").json["coupons"]["overused"] == 0
    start_edge()
    wait_applied(edge_db, len(chain) + 3)
    ready = client.get("/readyz").json
    assert ready["coupons"]["overused"] == 1 and "coupon_overuse" in ready["degraded"]
    assert ready["coupons"]["flagged"] == 1  # counts only on /readyz (issue 19)
    assert offer_views.overused(edge_db)[0]["code"] == "TWICE"
    wait_until(lambda: len(collector.distinct("coupon.redeemed")) == 2, 30, what="2nd redemption")


def test_coupon_events_twice_and_out_of_order_over_mqtt(tmp_path, edge_db, web, start_edge):
    """The web publishes a use before its coupon, the coupon before its offer, an old
    version after a new one, everything backwards and then all again: the edge ends where a
    clean delivery ends (compared with one through the handlers on a fresh database)."""
    data = [
        ("offer.upserted", offer("OFF-LATE", version=1, value=10)),
        ("offer.upserted", offer("OFF-LATE", version=2, value=15)),
        ("coupon.issued", coupon("LATE", "OFF-LATE")),
        ("coupon.redeemed", redeemed("cp-late", redemption_id="r-web-1")),
        (
            "coupon.redeemed",
            redeemed("cp-late", redemption_id="r-store-9", channel="store", store_id="S042"),
        ),
    ]
    clean = fresh(tmp_path, "clean")
    deliver(clean, data)
    expected = end_state(clean)
    clean.close()
    assert expected["overuse"] == [("cp-late", 1, 2)]

    events = [web.make(t, d) for t, d in reversed(data)]  # sequence order = backwards
    start_edge()
    web.publish_many(events[::-1] + events)  # published out of sequence, then all again
    web.announce()
    wait_applied(edge_db, len(events))
    assert end_state(edge_db) == expected
