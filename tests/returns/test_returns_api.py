"""Returns at the till over the API: refund after the coupon share, points reversed and
restored as ledger entries, never more than bought (two tills at once included), the
manager's PIN, the audit row, the receipt, and bad input refused with nothing written."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from flask import Flask

from edge.loyalty import views as ledger
from tests.returns.conftest import Post, at_once, count, events

MANAGER = {"manager_id": "st-manon", "manager_pin": "246810"}


def mug_sale(sell: Post, **over: Any) -> dict[str, Any]:
    r = sell(
        customer_id="c-0002",
        lines=[{"sku": "SKU-MUG", "qty": 2}, {"sku": "SKU-CAFE-250", "qty": 1}],
        coupon_codes=["MUG20"],
        **over,
    )
    assert r.status_code == 201, r.json
    assert (r.json["discount"], r.json["total"], r.json["points_earned"]) == (516, 2514, 25)
    return dict(r.json)


def test_a_line_comes_back_with_its_coupon_share_and_points(
    shop: dict[str, Any], sell: Post, take_back: Post, conn: sqlite3.Connection, client, headers
) -> None:
    sale = mug_sale(sell)
    before = ledger.balance(conn, "c-0002")
    look = client.get(
        f"/api/v1/returns/lookup?kind=sale&id={sale['sale_id']}", headers=headers("pos")
    )
    assert look.status_code == 200, look.json
    mug = next(ln for ln in look.json["lines"] if ln["sku"] == "SKU-MUG")
    assert (mug["returnable"], mug["unit_refund"]) == (2, 1032)

    r = take_back({"kind": "sale", "id": sale["sale_id"]}, lines=[{"sku": "SKU-MUG", "qty": 1}])
    assert r.status_code == 201, r.json
    assert r.json["total_refunded"] == 1032  # 12.90 less its 20 % coupon share
    assert r.json["refunds"] == [{"method": "card", "amount": 1032}]  # the original tender
    assert r.json["points_reversed"] == 10
    assert ledger.balance(conn, "c-0002") == before - 10

    ev = events(conn, "return.recorded")[-1]
    assert ev["original"] == {"kind": "sale", "id": sale["sale_id"]}
    assert ev["lines"] == [{"sku": "SKU-MUG", "name": "Mug « Passerelle »", "qty": 1,
                           "refund": 1032}]  # fmt: skip
    entries = [e for e in events(conn, "loyalty.entry") if e["ref"] == ev["return_id"]]
    assert [(e["points"], e["reason"]) for e in entries] == [(-10, "adjust")]
    audit = conn.execute(
        "SELECT * FROM audit_log WHERE action = 'return.record' AND target = ?",
        (ev["return_id"],),
    ).fetchone()
    assert audit is not None and "damaged" in audit["detail"]
    job = conn.execute(
        "SELECT * FROM print_jobs WHERE document = 'return_receipt' AND ref = ?",
        (ev["return_id"],),
    ).fetchone()
    assert job is not None and not job["open_drawer"]

    # The second mug refunds the rest exactly; a third is more than was bought.
    r = take_back({"kind": "sale", "id": sale["sale_id"]}, lines=[{"sku": "SKU-MUG", "qty": 1}])
    assert r.json["total_refunded"] == 1032 and r.json["points_reversed"] == 11
    r = take_back({"kind": "sale", "id": sale["sale_id"]}, lines=[{"sku": "SKU-MUG", "qty": 1}])
    assert r.status_code == 422 and r.json["error"]["field"] == "lines[0].qty"
    assert r.json["error"]["code"] == "more_than_bought"


def test_points_spent_on_the_goods_are_given_back(
    shop: dict[str, Any], sell: Post, take_back: Post, conn: sqlite3.Connection
) -> None:
    start = ledger.balance(conn, "c-0001")
    r = sell(customer_id="c-0001", lines=[{"sku": "SKU-BOUGIE", "qty": 1}], redeem_points=500)
    assert r.status_code == 201, r.json
    sale = r.json
    r = take_back({"kind": "sale", "id": sale["sale_id"]}, refund_method="cash")
    assert r.status_code == 201, r.json
    assert r.json["total_refunded"] == sale["total"] == 1950
    assert (r.json["points_reversed"], r.json["points_restored"]) == (sale["points_earned"], 500)
    assert ledger.balance(conn, "c-0001") == start  # as if it never happened
    job = conn.execute(
        "SELECT open_drawer FROM print_jobs WHERE document = 'return_receipt'"
    ).fetchone()
    assert job["open_drawer"] == 1  # cash back: the drawer opens


def test_bad_returns_are_refused_with_the_field_and_nothing_written(
    shop: dict[str, Any], sell: Post, take_back: Post, conn: sqlite3.Connection
) -> None:
    sale = mug_sale(sell)
    other = sell(lines=[{"sku": "SKU-SAVON", "qty": 1}]).json
    outbox = count(conn, "SELECT COUNT(*) FROM outbox")
    orig = {"kind": "sale", "id": sale["sale_id"]}
    cases = [
        (take_back(orig, lines=[{"sku": "SKU-MUG", "qty": 3}]), 422, "lines[0].qty"),
        (take_back(orig, lines=[{"sku": "SKU-MUG", "qty": 0}]), 422, "lines[0].qty"),
        (take_back(orig, lines=[{"sku": "SKU-MUG", "qty": -2}]), 422, "lines[0].qty"),
        (take_back(orig, lines=[{"sku": "SKU-SAVON", "qty": 1}]), 422, "lines[0].sku"),
        (take_back({"kind": "sale", "id": "S042-never-seen"}), 404, "original.id"),
        (take_back(orig, refunds=[{"method": "cash", "amount": 5}]), 422, "refunds"),
        (take_back(orig, reason=""), 422, "reason"),
        (take_back({"kind": "gift", "id": "x"}), 422, "original.kind"),
    ]
    for r, status, field in cases:
        assert (r.status_code, r.json["error"]["field"]) == (status, field), r.json
    assert other["sale_id"]
    conn.execute(
        "UPDATE purchases SET occurred_at = '2020-01-01T10:00:00.000Z' WHERE purchase_id = ?",
        (other["sale_id"],),
    )
    conn.commit()
    r = take_back({"kind": "sale", "id": other["sale_id"]})
    assert r.status_code == 422 and r.json["error"]["code"] == "return_window_expired"
    assert count(conn, "SELECT COUNT(*) FROM returns") == 0
    assert count(conn, "SELECT COUNT(*) FROM outbox") == outbox


def test_a_manager_pin_above_the_limit_or_without_receipt(
    shop: dict[str, Any], sell: Post, take_back: Post, conn: sqlite3.Connection
) -> None:
    sale = sell(lines=[{"sku": "SKU-BOUGIE", "qty": 2}]).json  # 49.00 > the 30.00 limit
    orig = {"kind": "sale", "id": sale["sale_id"]}
    r = take_back(orig)
    assert r.status_code == 403 and r.json["error"]["code"] == "manager_required"
    r = take_back(orig, manager_id="st-manon", manager_pin="9999")
    assert r.status_code == 403
    r = take_back(orig, manager_id="st-lucas", manager_pin="2345")  # not a manager
    assert r.status_code == 403
    r = take_back(orig, lines=[{"sku": "SKU-BOUGIE", "qty": 1}], receipt=False)
    assert r.status_code == 403  # 24.50 is below the limit, but there is no receipt
    r = take_back(orig, **MANAGER)
    assert r.status_code == 201, r.json
    assert r.json["approved_by"] == "st-manon"
    detail = conn.execute("SELECT detail FROM audit_log WHERE action = 'return.record'").fetchone()[
        "detail"
    ]
    assert '"approved_by": "st-manon"' in detail


def test_two_tills_returning_the_same_goods_at_once(
    app: Flask, shop: dict[str, Any], sell: Post, headers: Callable[..., dict[str, str]],
    conn: sqlite3.Connection,
) -> None:  # fmt: skip
    sale = sell(lines=[{"sku": "SKU-MUG", "qty": 1}]).json
    answers = at_once(app, headers, [
        {"terminal_id": name, "original": {"kind": "sale", "id": sale["sale_id"]},
         "reason": "changed mind"} for name in ("pos-1", "pos-2")])  # fmt: skip
    assert sorted(r.status_code for r in answers) == [201, 422]
    refused = next(r for r in answers if r.status_code == 422)
    assert refused.json["error"]["code"] in ("more_than_bought", "nothing_to_return")
    assert count(conn, "SELECT COUNT(*) FROM returns") == 1
    assert count(conn, "SELECT COUNT(*) FROM outbox WHERE type = 'return.recorded'") == 1


def test_a_retried_return_refunds_once(
    shop: dict[str, Any], sell: Post, take_back: Post, conn: sqlite3.Connection
) -> None:
    sale = sell(lines=[{"sku": "SKU-MUG", "qty": 2}]).json
    orig = {"kind": "sale", "id": sale["sale_id"]}
    one = take_back(orig, key="ret-1", lines=[{"sku": "SKU-MUG", "qty": 1}])
    two = take_back(orig, key="ret-1", lines=[{"sku": "SKU-MUG", "qty": 1}])
    assert one.status_code == two.status_code == 201
    assert one.json["return_id"] == two.json["return_id"]
    assert two.headers["Idempotent-Replayed"] == "true"
    assert count(conn, "SELECT COUNT(*) FROM returns") == 1


def test_a_reversal_below_zero_is_recorded_and_flagged(
    shop: dict[str, Any], sell: Post, take_back: Post, conn: sqlite3.Connection
) -> None:
    # James spends every point he has, including those of a sale he then brings back.
    earned = sell(customer_id="c-0002", lines=[{"sku": "SKU-BOUGIE", "qty": 1}]).json
    balance = ledger.balance(conn, "c-0002")
    spent = sell(customer_id="c-0002", lines=[{"sku": "SKU-TORCHON", "qty": 1}],
                 redeem_points=balance)  # fmt: skip
    assert spent.status_code == 201, spent.json
    r = take_back({"kind": "sale", "id": earned["sale_id"]})
    assert r.status_code == 201, r.json
    left = spent.json["points_earned"] - earned["points_earned"]
    assert left < 0 and ledger.balance(conn, "c-0002") == left  # recorded, not refused
    flagged = conn.execute(
        "SELECT balance FROM loyalty_negative WHERE customer_id = 'c-0002'"
    ).fetchone()
    assert flagged is not None and flagged["balance"] == left


def test_saleable_goods_go_back_on_the_shelf_damaged_ones_do_not(
    shop: dict[str, Any], sell: Post, take_back: Post, conn: sqlite3.Connection
) -> None:
    def on_hand() -> int:
        row = conn.execute("SELECT on_hand FROM stock_levels WHERE sku = 'SKU-MUG'").fetchone()
        return int(row[0]) if row else 0

    sale = sell(lines=[{"sku": "SKU-MUG", "qty": 2}]).json
    after_sale = on_hand()
    orig = {"kind": "sale", "id": sale["sale_id"]}
    r = take_back(orig, lines=[{"sku": "SKU-MUG", "qty": 1}], reason="changed mind")
    assert r.status_code == 201, r.json
    assert on_hand() == after_sale + 1
    moved = conn.execute(
        "SELECT reason, ref FROM stock_movements ORDER BY movement_id DESC LIMIT 1"
    ).fetchone()
    assert (moved["reason"], moved["ref"]) == ("return", r.json["return_id"])
    r = take_back(orig, lines=[{"sku": "SKU-MUG", "qty": 1}], restock=False)
    assert r.status_code == 201, r.json
    assert on_hand() == after_sale + 1  # damaged: not back on sale
