"""Store-credit vouchers across both channels, for real (issue 16): the edge's API and sync
worker, the reference online store and one Mosquitto.

A store-credit return prints a code that pays at this till at once, with the link down too;
the online store makes the same coupon and publishes it, so it pays on the web; spent in one
channel it is refused in the other; duplicated and replayed events make no second coupon."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from online_store import OnlineStore, db

from edge.store import outbox
from edge.store.db import write
from tests.support.broker import Broker
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow


def test_a_store_credit_voucher_works_once_in_either_channel(
    client: FlaskClient,
    headers: Callable[..., dict[str, str]],
    seeded: dict[str, Any],
    conn: sqlite3.Connection,
    mosquitto: Broker,
    online: tuple[OnlineStore, str],  # noqa: F811
    edge_worker: None,  # noqa: F811
) -> None:
    store, _ = online

    def post(path: str, body: dict[str, Any]) -> Any:
        h = headers("pos", Idempotency_Key=uuid.uuid4().hex)
        return client.post(f"/api/v1{path}", json=body, headers=h)

    def sell(lines: dict[str, int], codes: list[str] | None = None) -> Any:
        return post("/sales", {"terminal_id": "pos-1", "currency": "EUR", "customer_id": "c-0002",
                               "lines": [{"sku": s, "qty": q} for s, q in lines.items()],
                               "coupon_codes": codes or []})  # fmt: skip

    def credit_voucher() -> dict[str, Any]:
        sale = sell({"SKU-BOUGIE": 1})
        assert sale.status_code == 201, sale.json
        ret = post("/returns", {"terminal_id": "pos-1", "reason": "changed mind",
                                "original": {"kind": "sale", "id": sale.json["sale_id"]},
                                "refund_method": "store_credit"})  # fmt: skip
        assert ret.status_code == 201, ret.json
        voucher: dict[str, Any] = ret.json["refunds"][0]["voucher"]
        printed = conn.execute(
            "SELECT data FROM print_jobs WHERE document = 'return_receipt' AND ref = ?",
            (ret.json["return_id"],),
        ).fetchone()
        assert json.loads(printed["data"])["voucher_code"] == voucher["code"]
        return {**voucher, "return_id": ret.json["return_id"]}

    def web_coupon(code: str) -> list[dict[str, Any]]:
        return [c for c in store.account("c-0002")["coupons"] if c["code"] == code]

    def chain_events(type_: str, coupon_id: str) -> list[dict[str, Any]]:
        ids = ("coupon_id", "offer_id")
        return [
            e
            for e in store.events("chain")
            if e["type"] == type_ and coupon_id in (e["data"].get(k) for k in ids)
        ]

    def edge_applied(event: dict[str, Any]) -> bool:
        row = conn.execute(
            "SELECT last_sequence FROM inbox_streams WHERE source = '/web/chain'"
        ).fetchone()
        return row is not None and row[0] >= int(event["sequence"])

    def edge_uses(coupon_id: str) -> int:
        return int(conn.execute("SELECT COUNT(*) FROM coupon_redemptions WHERE coupon_id = ?",
                                (coupon_id,)).fetchone()[0])  # fmt: skip

    # 1. Made at the till, issued by the online store with the same ids and code: one coupon.
    first = credit_voucher()
    wait_until(lambda: web_coupon(first["code"]), timeout=30, what="the voucher on the web")
    (issued,) = chain_events("coupon.issued", first["coupon_id"])
    assert (
        issued["data"]["channel"] == "store"
        and len(chain_events("offer.upserted", first["offer_id"])) == 1
    )
    wait_until(lambda: edge_applied(issued), timeout=30, what="the edge applied coupon.issued")
    assert conn.execute("SELECT COUNT(*) FROM coupons WHERE code = ?",
                        (first["code"],)).fetchone()[0] == 1  # fmt: skip

    # 2. Spent on the web: refused at the till once the web's use arrives.
    web = store.record_web_purchase("c-0002", {"SKU-MUG": 1}, coupon_code=first["code"])
    assert web["total"] == 0  # 12.90 of a 24.50 voucher
    wait_until(lambda: edge_uses(first["coupon_id"]) == 1, timeout=30, what="the web's use")
    r = sell({"SKU-SAVON": 1}, [first["code"]])
    assert r.status_code == 409 and r.json["error"]["code"] == "coupon_already_used"

    # 3. The link down: a second voucher, made and spent at this till at once; published
    # later, it is refused on the web.
    mosquitto.stop()
    second = credit_voucher()
    r = sell({"SKU-TORCHON": 1}, [second["code"]])
    assert r.status_code == 201, r.json
    assert r.json["coupons"][0]["discount"] == 1500
    mosquitto.start()
    wait_until(lambda: web_coupon(second["code"]) and web_coupon(second["code"])[0]["uses"] == 1,
               timeout=60, what="the voucher and its use on the web")  # fmt: skip
    with pytest.raises(Exception, match="already used"):
        store.record_web_purchase("c-0002", {"SKU-MUG": 1}, coupon_code=second["code"])

    # 4. Duplicated and replayed: the return again under a new event id, and a replay of the
    # whole up-stream. Still one offer, one coupon and one coupon.issued per voucher.
    ret = conn.execute(
        "SELECT data FROM outbox WHERE type = 'return.recorded' ORDER BY sequence DESC LIMIT 1"
    ).fetchone()
    with write(conn):
        last = outbox.append(conn, "/stores/S001", "return.recorded", json.loads(ret["data"]))
    store.publish("stores/S001", "replay.requested", {"after": "0"})
    wait_until(lambda: store.up_sequence("S001") >= last.sequence, timeout=30,
               what="the duplicate return at the online store")  # fmt: skip
    for v in (first, second):
        assert len(chain_events("coupon.issued", v["coupon_id"])) == 1
        assert len(chain_events("offer.upserted", v["offer_id"])) == 1
        assert len(web_coupon(v["code"])) == 1
        assert conn.execute("SELECT COUNT(*) FROM coupons WHERE offer_id = ?",
                            (v["offer_id"],)).fetchone()[0] == 1  # fmt: skip
    with store.connection() as oc, db.write(oc):
        assert oc.execute("SELECT COUNT(*) FROM coupons WHERE coupon_id LIKE 'sc-%'"
                          ).fetchone()[0] == 2  # fmt: skip
    assert store.dead_letters() == []
    assert conn.execute("SELECT COUNT(*) FROM dead_letters").fetchone()[0] == 0
