"""Store-credit vouchers at the till (issue 16): a refund in store credit is a coupon code of
the contract, made at once (usable here with the link down), announced in ``return.recorded``,
spent once, and never doubled when the online store's ``coupon.issued`` comes back."""

from __future__ import annotations

import json
import re
import sqlite3
from typing import Any

from flask.testing import FlaskClient

from edge.returns.rules import Refund, merge_credit, voucher_amount, voucher_code
from tests.returns.conftest import Apply, Post, count, events

CODE = re.compile(r"^AV-[A-HJ-NP-Z2-9]{10}$")


def test_voucher_codes_are_random_and_typeable() -> None:
    codes = {voucher_code() for _ in range(2000)}
    assert len(codes) == 2000  # 50 random bits: no repeat in a few thousand
    assert all(CODE.match(c) for c in codes)


def test_only_credit_not_spent_at_once_becomes_one_voucher() -> None:
    back = [Refund("store_credit", 500, spent=True), Refund("card", 200),
            Refund("store_credit", 300), Refund("store_credit", 100)]  # fmt: skip
    assert voucher_amount(back) == 400
    assert merge_credit(back) == [
        Refund("store_credit", 500, spent=True),
        Refund("card", 200),
        Refund("store_credit", 400),
    ]
    assert voucher_amount([Refund("card", 900), Refund("cash", 10)]) == 0


def credit_return(sell: Post, take_back: Post, **sale: Any) -> tuple[dict[str, Any], str]:
    bought = sell(lines=[{"sku": "SKU-BOUGIE", "qty": 1}], **sale)
    assert bought.status_code == 201, bought.json
    r = take_back({"kind": "sale", "id": bought.json["sale_id"]}, refund_method="store_credit",
                  reason="changed mind")  # fmt: skip
    assert r.status_code == 201, r.json
    return r.json, bought.json["sale_id"]


def test_a_store_credit_refund_is_a_voucher_announced_in_the_return(
    shop: dict[str, Any], sell: Post, take_back: Post, conn: sqlite3.Connection
) -> None:
    ret, _ = credit_return(sell, take_back, customer_id="c-0002")
    (refund,) = ret["refunds"]
    assert (refund["method"], refund["amount"]) == ("store_credit", 2450)
    v = refund["voucher"]
    assert CODE.match(v["code"]) and v["coupon_id"] == f"sc-{ret['return_id']}"

    row = conn.execute("SELECT * FROM coupons WHERE code = ?", (v["code"],)).fetchone()
    assert (row["coupon_id"], row["offer_id"], row["customer_id"], row["max_uses"],
            row["channel"]) == (v["coupon_id"], v["coupon_id"], "c-0002", 1, "store")  # fmt: skip
    offer = conn.execute("SELECT * FROM offers WHERE offer_id = ?", (v["coupon_id"],)).fetchone()
    assert (offer["kind"], offer["value"], offer["skus"]) == ("amount", 2450, "[]")
    assert offer["valid_until"] == v["valid_until"] > ret["occurred_at"]

    ev = events(conn, "return.recorded")[-1]  # checked against the contract's schema
    assert ev["refunds"] == [{"method": "store_credit", "amount": 2450, "voucher": {
        "code": v["code"], "coupon_id": v["coupon_id"], "offer_id": v["coupon_id"],
        "valid_until": v["valid_until"]}}]  # fmt: skip

    job = conn.execute(
        "SELECT data FROM print_jobs WHERE document = 'return_receipt' AND ref = ?",
        (ret["return_id"],),
    ).fetchone()
    printed = json.loads(job["data"])
    assert (printed["voucher_code"], printed["voucher_amount"]) == (v["code"], 2450)


def test_the_voucher_pays_here_at_once_and_only_once(
    shop: dict[str, Any], sell: Post, take_back: Post, conn: sqlite3.Connection, apply: Apply
) -> None:
    ret, _ = credit_return(sell, take_back, customer_id="c-0002")
    code = ret["refunds"][0]["voucher"]["code"]
    # Nothing came from the online store yet (no link needed): the code pays a new sale.
    assert count(conn, "SELECT COUNT(*) FROM inbox") == 0
    other = sell(customer_id="c-0001", lines=[{"sku": "SKU-MUG", "qty": 1}],
                 coupon_codes=[code.lower()])  # fmt: skip
    assert other.status_code == 422 and other.json["error"]["code"] == "coupon_other_customer"
    spend = sell(customer_id="c-0002", lines=[{"sku": "SKU-TORCHON", "qty": 1}],
                 coupon_codes=[code.lower()])  # fmt: skip
    assert spend.status_code == 201, spend.json
    assert (spend.json["discount"], spend.json["total"]) == (1500, 0)  # capped at the basket
    again = sell(customer_id="c-0002", lines=[{"sku": "SKU-MUG", "qty": 1}], coupon_codes=[code])
    assert again.status_code == 409 and again.json["error"]["code"] == "coupon_already_used"
    assert [e["coupon_id"] for e in events(conn, "coupon.redeemed")] == [f"sc-{ret['return_id']}"]


def test_the_online_stores_coupon_issued_for_it_is_a_no_op(
    shop: dict[str, Any], sell: Post, take_back: Post, conn: sqlite3.Connection, apply: Apply
) -> None:
    ret, _ = credit_return(sell, take_back)  # no member: a code anyone may use
    v = ret["refunds"][0]["voucher"]
    offer = conn.execute("SELECT * FROM offers WHERE offer_id = ?", (v["offer_id"],)).fetchone()
    # What the online store publishes back (coupons.store_credit_voucher): the same ids.
    assert not apply(
        "offer.upserted",
        {
            "offer_id": v["offer_id"],
            "version": 1,
            "title": {"fr": "Avoir", "en": "Store credit"},
            "kind": "amount",
            "value": 2450,
            "min_total": 0,
            "skus": [],
            "valid_from": ret["occurred_at"],
            "valid_until": v["valid_until"],
            "active": True,
        },
    )
    for _ in range(2):  # delivered twice
        assert not apply("coupon.issued", {
            "coupon_id": v["coupon_id"], "offer_id": v["offer_id"], "code": v["code"],
            "customer_id": None, "max_uses": 1, "issued_at": ret["occurred_at"],
            "channel": "store"})  # fmt: skip
    assert count(conn, "SELECT COUNT(*) FROM coupons WHERE offer_id = ?", v["offer_id"]) == 1
    assert dict(conn.execute("SELECT * FROM offers WHERE offer_id = ?",
                             (v["offer_id"],)).fetchone()) == dict(offer)  # fmt: skip
    assert count(conn, "SELECT COUNT(*) FROM audit_log WHERE action = 'coupon.code_conflict'") == 0
    # The voucher is spent by a web order: refused at the till afterwards.
    apply("coupon.redeemed", {"redemption_id": "rd-web-1", "coupon_id": v["coupon_id"],
                              "channel": "web", "store_id": None, "ref": "W-1", "discount": 2450,
                              "occurred_at": ret["occurred_at"]})  # fmt: skip
    r = sell(lines=[{"sku": "SKU-MUG", "qty": 1}], coupon_codes=[v["code"]])
    assert r.status_code == 409 and r.json["error"]["code"] == "coupon_already_used"


def test_store_credit_spent_by_an_exchange_is_no_voucher_but_its_rest_is(
    shop: dict[str, Any], sell: Post, client: FlaskClient, headers: Any, conn: sqlite3.Connection
) -> None:
    bougie = sell(customer_id="c-0002", lines=[{"sku": "SKU-BOUGIE", "qty": 1}]).json
    body = {
        "return": {"terminal_id": "pos-1", "original": {"kind": "sale", "id": bougie["sale_id"]},
                   "reason": "wrong scent", "refund_method": "store_credit"},
        "sale": {"terminal_id": "pos-1", "currency": "EUR", "customer_id": "c-0002",
                 "lines": [{"sku": "SKU-MUG", "qty": 1}]},
    }  # fmt: skip
    r = client.post("/api/v1/exchanges", json=body, headers=headers("pos", Idempotency_Key="v1"))
    assert r.status_code == 201, r.json
    refunds = r.json["return"]["refunds"]
    assert [(x["method"], x["amount"], "voucher" in x) for x in refunds] == [
        ("store_credit", 1290, False),  # paid the mug at once
        ("store_credit", 1160, True),  # the rest, as a voucher
    ]
    assert count(conn, "SELECT COUNT(*) FROM coupons WHERE channel = 'store'") == 1
    assert count(conn, "SELECT value FROM offers WHERE offer_id LIKE 'sc-%'") == 1160

    mug = sell(customer_id="c-0002", lines=[{"sku": "SKU-MUG", "qty": 1}]).json
    body["return"]["original"]["id"] = mug["sale_id"]
    body["return"].pop("refund_method")
    body["sale"]["lines"] = [{"sku": "SKU-TORCHON", "qty": 1}]
    r = client.post("/api/v1/exchanges", json=body, headers=headers("pos"))
    assert r.status_code == 201, r.json
    assert all("voucher" not in x for x in r.json["return"]["refunds"])
    assert count(conn, "SELECT COUNT(*) FROM coupons WHERE channel = 'store'") == 1
