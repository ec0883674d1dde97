"""Every order in the one history, both sides for real (issue 16): the store edge (its API,
and its sync worker as a process) and the reference online store, on one Mosquitto.

One walk through the issue's "Done when": a paid click-and-collect order in both histories
once with its points once; an unpaid order paid at the till, collected, one purchase on both
sides; a store sale returned by line after its coupon share, points reversed, both balances
equal; two tills returning the same last unit at once, one refused, one return on the web;
a web order returned in store reaching the web; an exchange and a void reaching the web.
(Store-credit vouchers: tests/returns/test_vouchers_e2e.py.)"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from online_store import OnlineStore

from edge.loyalty import views as ledger
from tests.returns.conftest import at_once
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow
MANAGER = {"manager_id": "st-manon", "manager_pin": "246810"}


def test_orders_returns_exchanges_and_voids_in_one_history(
    app: Flask,
    client: FlaskClient,
    headers: Callable[..., dict[str, str]],
    seeded: dict[str, Any],
    conn: sqlite3.Connection,
    online: tuple[OnlineStore, str],  # noqa: F811
    edge_worker: None,  # noqa: F811
) -> None:
    store, _ = online
    pos, staff = headers("pos"), headers("staff")

    def post(path: str, body: dict[str, Any], h: dict[str, str] | None = None) -> Any:
        h = h or headers("pos", Idempotency_Key=uuid.uuid4().hex)
        return client.post(f"/api/v1{path}", json=body, headers=h)

    def edge_history(cid: str) -> list[dict[str, Any]]:
        r = client.get(f"/api/v1/customers/{cid}/history?limit=100", headers=pos)
        return list(r.json["items"])

    def balances_agree(cid: str) -> bool:
        return ledger.balance(conn, cid) == store.balance(cid)

    wait_until(lambda: balances_agree("c-0001") and balances_agree("c-0002"), timeout=30,
               what="the demo balances in step")  # fmt: skip

    # 1. A paid click-and-collect order: one web purchase, in both histories, points once.
    web_before = store.balance("c-0001")
    paid = store.place_order("c-0001", "S001", {"SKU-MUG": 2}, paid=True)
    oid = paid["order_id"]

    def paid_in_store_history() -> list[dict[str, Any]]:
        return [i for i in edge_history("c-0001") if i.get("order_id") == oid]

    wait_until(paid_in_store_history, timeout=30, what="the paid order in the store's history")
    item = paid_in_store_history()[0]
    assert (item["channel"], item["store_id"], item["fulfilment"]) == ("web", "S001", "pickup")
    wait_until(lambda: item.get("pickup_status") or paid_in_store_history()[0]["pickup_status"],
               what="its pickup state shown")  # fmt: skip
    web_items = [p for p in store.purchases("c-0001") if p["purchase_id"] == item["purchase_id"]]
    assert len(web_items) == 1
    assert store.balance("c-0001") == web_before + item["points_earned"]
    wait_until(lambda: balances_agree("c-0001"), what="the order's points in the store")

    # 2. An unpaid order paid at the till and collected: one purchase on both sides.
    unpaid = store.place_order("c-0002", "S001", {"SKU-THE-VERT": 1}, paid=False)
    uid = unpaid["order_id"]
    wait_until(
        lambda: conn.execute("SELECT 1 FROM pickup_orders WHERE order_id = ?", (uid,)).fetchone(),
        timeout=30,
        what="the unpaid order at the store",
    )
    for step in ("preparing", "ready"):
        assert client.post(f"/api/v1/pickups/{uid}/{step}", headers=staff).status_code == 200
    sale = post(
        "/sales",
        {
            "terminal_id": "pos-1",
            "currency": "EUR",
            "lines": [{"sku": "SKU-THE-VERT", "qty": 1}],
            "order_id": uid,
            "pickup_code": unpaid["pickup_code"],
            "payments": [{"method": "cash", "amount": 590, "tendered": 1000}],
        },
    )
    assert sale.status_code == 201, sale.json  # fmt: skip
    assert sale.json["change_due"] == 410
    sale_id = sale.json["sale_id"]
    wait_until(lambda: any(p["purchase_id"] == sale_id for p in store.purchases("c-0002")),
               timeout=30, what="the till sale in the web account")  # fmt: skip
    account = store.account("c-0002")
    assert [o["paid"] for o in account["orders"] if o["order_id"] == uid] == [1]
    of_order = [pid for pid, po in account["purchase_orders"].items() if po["order_id"] == uid]
    assert of_order == [sale_id]  # the online store recorded no second purchase
    wait_until(
        lambda: (
            [o["pickup_status"] for o in store.account("c-0002")["orders"] if o["order_id"] == uid]
            == ["collected"]
        ),
        what="collected on the web",
    )
    assert conn.execute("SELECT COUNT(*) FROM purchases WHERE order_id = ?",
                        (uid,)).fetchone()[0] == 1  # fmt: skip
    wait_until(lambda: balances_agree("c-0002"), what="c-0002's balances in step")

    # 3. A store sale with a coupon and points, returned by line: refund after their shares,
    # points earned taken back, points spent given back.
    offer = store.create_offer(title_fr="−20 % mugs", title_en="20% off mugs", kind="percent",
                               value=20, skus=["SKU-MUG"])  # fmt: skip
    code = store.issue_coupon(offer["offer_id"], "c-0001")["code"]
    wait_until(
        lambda: conn.execute("SELECT 1 FROM coupons WHERE code = ?", (code,)).fetchone(),
        timeout=30,
        what="the coupon at the store",
    )
    sale = post("/sales", {"terminal_id": "pos-1", "currency": "EUR", "customer_id": "c-0001",
                           "lines": [{"sku": "SKU-MUG", "qty": 2}, {"sku": "SKU-SAVON", "qty": 1}],
                           "coupon_codes": [code], "redeem_points": 100}).json  # fmt: skip
    ret = post(
        "/returns",
        {
            "terminal_id": "pos-1",
            "reason": "chipped",
            "original": {"kind": "sale", "id": sale["sale_id"]},
            "lines": [{"sku": "SKU-MUG", "qty": 1}],
        },
    )
    assert ret.status_code == 201, ret.json  # fmt: skip
    # 12.90 less its coupon share (20 %) and its share of the 100 points (1.00) spent on the sale
    assert ret.json["total_refunded"] == 1290 - 258 - 43
    assert ret.json["points_reversed"] > 0 and ret.json["points_restored"] == 43
    moved = conn.execute("SELECT SUM(points) FROM loyalty_entries WHERE ref = ?",
                         (ret.json["return_id"],)).fetchone()[0]  # fmt: skip
    assert moved == 43 - ret.json["points_reversed"]  # both travel; the balances agree below

    # 3b. Two tills take the last mug back at the same moment: one refund, one refusal, and
    # the web learns of one return of it.
    answers = at_once(app, headers, [
        {"terminal_id": name, "reason": "changed mind",
         "original": {"kind": "sale", "id": sale["sale_id"]},
         "lines": [{"sku": "SKU-MUG", "qty": 1}]} for name in ("pos-4", "pos-5")])  # fmt: skip
    assert sorted(r.status_code for r in answers) == [201, 422]
    assert next(r for r in answers if r.status_code == 422).json["error"]["code"] == (
        "more_than_bought"
    )
    last_mug = next(r for r in answers if r.status_code == 201).json["return_id"]

    # 4. The paid web order comes back in the store and reaches the web.
    web_ret = post(
        "/returns",
        {
            "terminal_id": "pos-1",
            "reason": "does not fit",
            "original": {"kind": "order", "id": paid["order_number"]},
            "lines": [{"sku": "SKU-MUG", "qty": 1}],
        },
    )
    assert web_ret.status_code == 201, web_ret.json  # fmt: skip
    assert web_ret.json["original"] == {"kind": "order", "id": oid}

    # 5. An exchange and a void.
    mug = post(
        "/sales",
        {
            "terminal_id": "pos-2",
            "currency": "EUR",
            "customer_id": "c-0002",
            "lines": [{"sku": "SKU-CAFE-250", "qty": 1}],
        },
    ).json
    ex = post(
        "/exchanges",
        {
            "return": {
                "terminal_id": "pos-2",
                "reason": "wrong grind",
                "original": {"kind": "sale", "id": mug["sale_id"]},
            },
            "sale": {
                "terminal_id": "pos-2",
                "currency": "EUR",
                "customer_id": "c-0002",
                "lines": [{"sku": "SKU-SAVON", "qty": 1}],
            },
        },
    )
    assert ex.status_code == 201, ex.json
    assert ex.json["difference"] == 350 - 450  # fmt: skip
    last = post(
        "/sales",
        {
            "terminal_id": "pos-3",
            "currency": "EUR",
            "customer_id": "c-0001",
            "lines": [{"sku": "SKU-BOUGIE", "qty": 1}],
        },
    ).json
    void = post(
        f"/sales/{last['sale_id']}/void",
        {"terminal_id": "pos-3", "reason": "scanned twice", **MANAGER},
        pos,
    )
    assert void.status_code == 201, void.json  # fmt: skip

    mine = {ret.json["return_id"], web_ret.json["return_id"], ex.json["return"]["return_id"],
            void.json["return_id"], last_mug}  # fmt: skip
    wait_until(lambda: mine <= {r["return_id"] for r in store.returns("c-0001")
                                + store.returns("c-0002")}, timeout=30,
               what="every return on the web")  # fmt: skip
    web_order = [r for r in store.returns("c-0001") if r["return_id"] == web_ret.json["return_id"]]
    assert web_order[0]["original_id"] == oid and web_order[0]["channel"] == "store"
    wait_until(lambda: balances_agree("c-0001") and balances_agree("c-0002"), timeout=30,
               what="both balances equal on web and store")  # fmt: skip
    assert store.dead_letters() == []
    # Every return came back down once (the chain echo): the store still counts it once.
    wait_until(
        lambda: {e["data"]["return_id"] for e in store.events("chain")
                 if e["type"] == "return.recorded"} >= mine,
        what="the returns published on the chain",
    )  # fmt: skip
    assert conn.execute("SELECT COUNT(*) FROM returns").fetchone()[0] == 5
    of_sale = [r for r in store.returns("c-0001") if r["original_id"] == sale["sale_id"]]
    assert sorted(ln["qty"] for r in of_sale for ln in r["lines"]) == [1, 1]  # 2 mugs, 2 back

    # The web's own return limit counts the store's return; the web's return reaches the store.
    with pytest.raises(Exception, match="cannot come back"):
        store.return_order(oid, {"SKU-MUG": 2})
    by_post = store.return_order(oid, {"SKU-MUG": 1})
    wait_until(
        lambda: conn.execute(
            "SELECT 1 FROM returns WHERE return_id = ? AND origin = 'down'",
            (by_post["return_id"],),
        ).fetchone(),
        timeout=30,
        what="the web return at the store",
    )
    look = client.get(f"/api/v1/returns/lookup?kind=order&id={oid}", headers=pos).json
    assert look["lines"][0]["returnable"] == 0
    wait_until(lambda: balances_agree("c-0001"), what="c-0001's balances in step again")
    assert conn.execute("SELECT COUNT(*) FROM dead_letters").fetchone()[0] == 0
