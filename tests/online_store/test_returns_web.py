"""The web account's returns (issue 16): a return by post of a paid click-and-collect order
is listed with the store's, its points are taken back, and never more comes back than was
bought, whatever the stores already took back."""

from __future__ import annotations

import pytest
from online_store import OnlineStore, db, returns
from online_store.auth import Refused

from tests.online_store.test_online_store_web import post, store, web  # noqa: F401


def test_a_return_by_post_counts_every_return(web, store: OnlineStore) -> None:  # noqa: F811
    cid = store.upsert_customer(first_name="Ada", last_name="Web")["customer_id"]
    order = store.place_order(cid, "S001", {"SKU-MUG": 2})
    earned = store.balance(cid)
    assert earned == 25  # the paid order earned at once
    # A store took one mug back (its return.recorded, applied as the consumer does).
    with store.connection() as conn, db.write(conn):
        returns.apply_store_return(
            conn,
            "S001",
            {
                "return_id": "r-store-1", "terminal_id": "pos-1", "cashier_id": "st-1",
                "customer_id": cid, "original": {"kind": "order", "id": order["order_id"]},
                "occurred_at": "2026-12-04T10:00:00.000Z", "currency": "EUR",
                "lines": [{"sku": "SKU-MUG", "name": "Mug", "qty": 1, "refund": 1290}],
                "total_refunded": 1290, "refunds": [{"method": "card", "amount": 1290}],
                "points_reversed": 12, "points_restored": 0, "reason": "chipped",
            },
        )  # fmt: skip
    status, page = post(web, f"/customers/{cid}/returns",
                        {"original": order["order_id"], "qty_SKU-MUG": "2"})  # fmt: skip
    assert status == 409 and "cannot come back" in page
    body = {"original": order["order_id"], "qty_SKU-MUG": "1", "reason": "late"}
    status, page = post(web, f"/customers/{cid}/returns", body)
    assert status == 200 and 'id="returns"' in page
    mine = store.returns(cid)
    assert [(r["channel"], r["total_refunded"]) for r in mine] == [("web", 1290), ("store", 1290)]
    assert store.balance(cid) == earned - 13  # the web's own return's points taken back


def store_credit_return(cid: str | None, rid: str = "r-credit-1", **voucher: str) -> dict:
    v = {"code": "AV-K7M2Q9XH4R", "coupon_id": f"sc-{rid}", "offer_id": f"sc-{rid}",
         "valid_until": "2027-12-04T10:00:00Z", **voucher}  # fmt: skip
    return {
        "return_id": rid, "terminal_id": "pos-1", "cashier_id": "st-1", "customer_id": cid,
        "original": {"kind": "sale", "id": "s-1"}, "occurred_at": "2026-12-04T10:00:00.000Z",
        "currency": "EUR", "lines": [{"sku": "SKU-BOUGIE", "name": "Bougie", "qty": 1,
                                      "refund": 2450}],
        "total_refunded": 2450,
        "refunds": [{"method": "store_credit", "amount": 2450, "voucher": v}],
        "points_reversed": 0, "points_restored": 0, "reason": "changed mind",
    }  # fmt: skip


def test_a_store_credit_voucher_becomes_a_coupon_of_every_channel_once(
    web,  # noqa: F811
    store: OnlineStore,  # noqa: F811
) -> None:
    cid = store.upsert_customer(first_name="Ada", last_name="Web")["customer_id"]
    for _ in range(2):  # the store's event delivered twice (or replayed)
        with store.connection() as conn, db.write(conn):
            returns.apply_store_return(conn, "S001", store_credit_return(cid))
    chain = [e for e in store.events("chain") if e["type"] in ("offer.upserted", "coupon.issued")]
    assert [e["type"] for e in chain] == ["offer.upserted", "coupon.issued"]
    offer, coupon = chain[0]["data"], chain[1]["data"]
    assert (offer["offer_id"], offer["kind"], offer["value"], offer["skus"]) == (
        "sc-r-credit-1", "amount", 2450, [])  # fmt: skip
    assert offer["valid_until"] == "2027-12-04T10:00:00Z"
    assert coupon == {"coupon_id": "sc-r-credit-1", "offer_id": "sc-r-credit-1",
                      "code": "AV-K7M2Q9XH4R", "customer_id": cid, "max_uses": 1,
                      "issued_at": "2026-12-04T10:00:00.000Z", "channel": "store"}  # fmt: skip
    page = web.get(f"/customers/{cid}").get_data(as_text=True)
    assert "AV-K7M2Q9XH4R" in page and "Store credit" in page  # the web account shows it
    # The web checkout takes it (typed in lower case), once.
    bought = store.record_web_purchase(cid, {"SKU-MUG": 1}, coupon_code="av-k7m2q9xh4r")
    assert bought["total"] == 0
    with pytest.raises(Exception, match="already used"):
        store.record_web_purchase(cid, {"SKU-MUG": 1}, coupon_code="AV-K7M2Q9XH4R")


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"coupon_id": "sc-other"}, "ids must be"),
        ({"offer_id": "of-campaign"}, "ids must be"),
        ({"valid_until": "2040-01-01T00:00:00Z"}, "valid until"),
        ({"valid_until": "2026-12-01T00:00:00Z"}, "valid until"),
        ({"code": "TAKEN"}, "belongs to another coupon"),
        ({"amount": 9999}, "for a return of less"),
        ({"method": "card"}, "on a card refund"),
    ],
)
def test_a_voucher_beyond_the_stores_own_refund_is_refused_with_nothing_written(
    store: OnlineStore,  # noqa: F811
    change: dict[str, object],
    why: str,
) -> None:
    offer = store.create_offer(title_fr="x", title_en="x", kind="amount", value=100)
    with store.connection() as conn, db.write(conn):
        conn.execute("INSERT INTO coupons (coupon_id, offer_id, code, customer_id, max_uses, "
                     "issued_at, channel) VALUES ('cp-1', ?, 'TAKEN', NULL, 1, "
                     "'2026-12-01T00:00:00Z', 'email')", (offer["offer_id"],))  # fmt: skip
    data = store_credit_return(None)
    refund = data["refunds"][0]
    for key, value in change.items():
        if key in ("amount", "method"):
            refund[key] = value
        else:
            refund["voucher"][key] = value
    with pytest.raises(Refused, match=why), store.connection() as conn, db.write(conn):
        returns.apply_store_return(conn, "S001", data)
    with store.connection() as conn:
        assert conn.execute("SELECT COUNT(*) FROM returns").fetchone()[0] == 0
        assert conn.execute("SELECT COUNT(*) FROM coupons").fetchone()[0] == 1
