"""The sales service called directly, as the web layer calls it: a plain command, a temp
database, no Flask request. One sale per idempotency key, its up-events and receipt in the
same transaction, and nothing written when it is refused."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from edge.config import Settings
from edge.errors import InvalidInput
from edge.loyalty.rules import LoyaltyRules
from edge.sales import service as sales
from edge.sales.rules import NewSale, SaleLine


def _ctx(settings: Settings) -> sales.SaleContext:
    return sales.SaleContext(
        store_id=settings.store_id,
        source=settings.up_source,
        currency=settings.currency,
        rules=LoyaltyRules(),
        cashier_id="st-1",
        role="pos",
        store_name=settings.store_name,
    )


def _counts(conn: sqlite3.Connection) -> dict[str, int]:
    tables = ("sales", "outbox", "print_jobs", "idempotency_keys")
    return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}


def test_one_sale_per_key_with_its_events_and_receipt(
    conn: sqlite3.Connection, settings: Settings, seeded: dict[str, Any]
) -> None:
    sale = NewSale(
        terminal_id="pos-1",
        currency="EUR",
        customer_id="c-0001",
        lines=(SaleLine(sku="SKU-MUG", qty=2),),
    )
    before = _counts(conn)
    body, replayed = sales.record(conn, sale, _ctx(settings), scope="sale:pos-1", key="k-1")
    again, replayed_again = sales.record(conn, sale, _ctx(settings), scope="sale:pos-1", key="k-1")
    assert not replayed and replayed_again and again == body
    assert body["total"] == 2 * 1290 and body["points_earned"] > 0
    after = _counts(conn)
    assert after["sales"] == before["sales"] + 1
    assert after["print_jobs"] == before["print_jobs"] + 1
    assert after["idempotency_keys"] == before["idempotency_keys"] + 1
    types = [
        r[0]
        for r in conn.execute(
            "SELECT type FROM outbox WHERE json_extract(data, '$.sale_id') = ? "
            "OR json_extract(data, '$.ref') = ?",
            (body["sale_id"], body["sale_id"]),
        )
    ]
    assert sorted(types) == ["loyalty.entry", "sale.recorded"]


def test_a_refused_sale_writes_nothing(
    conn: sqlite3.Connection, settings: Settings, seeded: dict[str, Any]
) -> None:
    before = _counts(conn)
    bad = NewSale(terminal_id="pos-1", currency="EUR", lines=(SaleLine(sku="SKU-NONE", qty=1),))
    with pytest.raises(InvalidInput) as err:
        sales.record(conn, bad, _ctx(settings), scope="sale:pos-1", key="k-2")
    assert err.value.field == "lines[0].sku"
    assert _counts(conn) == before
