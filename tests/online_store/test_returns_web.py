"""The web account's returns (issue 16): a return by post of a paid click-and-collect order
is listed with the store's, its points are taken back, and never more comes back than was
bought, whatever the stores already took back."""

from __future__ import annotations

from online_store import OnlineStore, db, returns

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
