"""Store sales: the till's one write path.

``record`` is the operation: once per idempotency key, in one write transaction of its own,
``record_sale`` writes the sale, its lines in the one purchase history, its ledger entries,
its receipt job and the ``sale.recorded`` / ``loyalty.entry`` up-events. Prices come from the
catalogue (``price_lines``), never from the client; the sums are ``edge.sales.rules``.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, replace
from typing import Any

from edge.actor import Actor
from edge.customers import service as customers
from edge.customers import views as members
from edge.errors import InvalidInput, NotFound
from edge.loyalty import service as loyalty
from edge.loyalty import views as ledger
from edge.loyalty.rules import LoyaltyRules, check_redemption
from edge.offers import rules as offer_rules
from edge.offers import service as offers
from edge.offers import views as offer_views
from edge.offers.texts import pick_locale
from edge.pickups import service as pickups
from edge.pickups import views as pickup_views
from edge.printing import queue as print_queue
from edge.products import views as products
from edge.sales import receipts
from edge.sales.rules import (
    HasLines,
    NewSale,
    PricedLine,
    Totals,
    check_currency,
    check_redeemer,
    earned,
    ledger_moves,
    settle,
)
from edge.stock import service as stock
from edge.store import audit, idempotency, outbox, state
from edge.store.db import now_iso, write
from edge.store.ids import new_id


@dataclass(frozen=True)
class SaleContext:
    """Who sells, where, and under which rules: everything a sale needs besides its body."""

    store_id: str
    source: str
    currency: str
    rules: LoyaltyRules
    cashier_id: str | None = None
    role: str | None = None
    store_name: str = ""
    coupon_rules: offer_rules.CouponRules = offer_rules.CouponRules()
    stock_on_sale: bool = True
    settings: Any = None
    """the store's ``Settings``: a sale that pays for a click-and-collect order collects it"""
    actor: Actor | None = None


def price_lines(conn: sqlite3.Connection, sale: HasLines, currency: str) -> list[PricedLine]:
    """Each line at the catalogue price; unknown, inactive or mispriced SKUs are refused."""
    priced = []
    for i, line in enumerate(sale.lines):
        row = products.get_active(conn, line.sku)
        if row is None:
            raise InvalidInput(
                f"unknown or inactive SKU {line.sku!r}", field=f"lines[{i}].sku", code="unknown_sku"
            )
        if row["currency"] != currency:
            raise InvalidInput(
                f"SKU {line.sku!r} is priced in {row['currency']}",
                field=f"lines[{i}].sku",
                code="currency_mismatch",
            )
        if line.unit_price is not None and line.unit_price != row["price"]:
            raise InvalidInput(
                f"unit_price {line.unit_price} differs from the catalogue price {row['price']} "
                f"of {line.sku!r}; prices are set by the catalogue",
                field=f"lines[{i}].unit_price",
                code="price_mismatch",
            )
        priced.append(PricedLine(line.sku, row["name"], line.qty, row["price"]))
    return priced


def order_lines(
    conn: sqlite3.Connection, sale: NewSale, currency: str
) -> tuple[list[PricedLine], int, str | None]:
    """A sale that pays for a click-and-collect order sells the order's lines at the order's
    prices (what the shopper was promised), less the web's own discount on it; the till must
    send the same SKUs and quantities. Returns the lines, that discount and the order's
    customer."""
    assert sale.order_id is not None
    row = pickup_views.get_row(conn, sale.order_id)
    if row["currency"] != currency:
        raise InvalidInput(
            f"order {row['order_number']} is in {row['currency']}",
            field="currency",
            code="currency_mismatch",
        )
    ordered = pickup_views.order_lines(conn, [sale.order_id])[sale.order_id]
    want = sorted((ln["sku"], ln["qty"]) for ln in ordered)
    if sorted((ln.sku, ln.qty) for ln in sale.lines) != want:
        raise InvalidInput(
            f"the lines differ from order {row['order_number']}'s: "
            + ", ".join(f"{q} x {k}" for k, q in want),
            field="lines",
            code="order_lines_mismatch",
        )
    lines = [PricedLine(ln["sku"], ln["name"], ln["qty"], ln["unit_price"]) for ln in ordered]
    web_discount = max(0, sum(ln.amount for ln in lines) - row["total"])
    return lines, web_discount, row["customer_id"]


def record_sale(conn: sqlite3.Connection, sale: NewSale, ctx: SaleContext) -> dict[str, Any]:
    """Write one sale; the caller holds the write transaction (see ``record``)."""
    check_currency(sale, ctx.currency)
    web_discount = 0
    if sale.order_id:
        lines, web_discount, order_customer = order_lines(conn, sale, ctx.currency)
        if sale.customer_id and order_customer and sale.customer_id != order_customer:
            raise InvalidInput(
                "the order belongs to another customer", field="customer_id", code="wrong_customer"
            )
        sale = replace(sale, customer_id=sale.customer_id or order_customer)
    else:
        lines = price_lines(conn, sale, ctx.currency)
    customer = None
    if sale.customer_id:
        try:
            customer = members.find(conn, customer_id=sale.customer_id)
        except NotFound as exc:
            raise InvalidInput(
                f"unknown customer {sale.customer_id!r}",
                field="customer_id",
                code="unknown_customer",
            ) from exc
    check_redeemer(sale, member=customer is not None)

    locale = pick_locale(customer["locale"] if customer else None, ctx.coupon_rules.locale)
    applied = offers.apply_codes(
        conn,
        sale.coupon_codes,
        [offer_rules.BasketLine(ln.sku, ln.qty, ln.unit_price) for ln in lines],
        rules=ctx.coupon_rules,
        customer_id=customer["customer_id"] if customer else None,
        locale=locale,
        offline_seconds=state.link(conn)["offline_seconds"] if sale.coupon_codes else None,
    )
    totals = Totals.of(lines, discount=web_discount + sum(a.discount for a in applied))
    balance_before = ledger.balance(conn, customer["customer_id"]) if customer else 0
    if customer is not None and sale.redeem_points:
        link = state.link(conn)
        totals = totals.with_points(
            check_redemption(
                points=sale.redeem_points,
                balance=balance_before,
                payable=totals.payable,
                currency=ctx.currency,
                rules=ctx.rules,
                redeemed_today=ledger.redeemed_on_day(conn, customer["customer_id"]),
                offline_seconds=link["offline_seconds"],
            )
        )
    total = totals.total
    points_earned = earned(totals, customer["tier"] if customer else None, ctx.currency, ctx.rules)
    payments, change_due = settle(
        sale.payments,
        total,
        sale.payment_method,
        credit=sale.credit,
        cash_tendered=sale.cash_tendered,
    )

    sale_id = new_id()
    occurred_at = now_iso()
    customer_id = customer["customer_id"] if customer else None
    customers.insert_purchase(
        conn,
        {
            "purchase_id": sale_id,
            "customer_id": customer_id,
            "channel": "store",
            "store_id": ctx.store_id,
            "occurred_at": occurred_at,
            "currency": ctx.currency,
            "total": total,
            "points_earned": points_earned,
            "lines": [ln.as_dict() for ln in lines],
            "order_id": sale.order_id,
            "fulfilment": "pickup" if sale.order_id else None,
        },
        origin="local",
    )
    conn.execute(
        "INSERT INTO sales (sale_id, terminal_id, cashier_id, customer_id, occurred_at, currency, "
        "subtotal, discount, points_value, total, points_earned, points_redeemed, payment_method, "
        "locale, order_id, exchange_of, change_due) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            sale_id,
            sale.terminal_id,
            ctx.cashier_id,
            customer_id,
            occurred_at,
            ctx.currency,
            totals.subtotal,
            totals.discount,
            totals.points_value,
            total,
            points_earned,
            sale.redeem_points,
            payments[-1].method if payments else sale.payment_method,
            customer["locale"] if customer else None,
            sale.order_id,
            sale.exchange_of,
            change_due,
        ),
    )
    conn.executemany(
        "INSERT INTO sale_payments (sale_id, n, method, amount, tendered) VALUES (?,?,?,?,?)",
        [(sale_id, n, p.method, p.amount, p.tendered) for n, p in enumerate(payments, start=1)],
    )
    outbox.append(
        conn,
        ctx.source,
        "sale.recorded",
        {
            "sale_id": sale_id,
            "terminal_id": sale.terminal_id,
            "cashier_id": ctx.cashier_id,
            "customer_id": customer_id,
            "occurred_at": occurred_at,
            "currency": ctx.currency,
            "total": total,
            "lines": [ln.as_dict() for ln in lines],
            "discount": totals.discount,
            "coupons": [{"coupon_id": a.coupon.coupon_id, "discount": a.discount} for a in applied],
            "points_earned": points_earned,
            "points_redeemed": sale.redeem_points,
            "order_id": sale.order_id,
            "payments": [{"method": p.method, "amount": p.amount} for p in payments],
        }
        | ({"exchange_of": sale.exchange_of} if sale.exchange_of else {}),
        time=occurred_at,
    )
    redeemed = offers.redeem(
        conn,
        applied,
        sale_id=sale_id,
        store_id=ctx.store_id,
        source=ctx.source,
        occurred_at=occurred_at,
    )
    moves = (
        ledger_moves(redeem_points=sale.redeem_points, earned=points_earned) if customer_id else []
    )
    for moved, reason in moves:
        entry = {
            "entry_id": new_id(),
            "customer_id": customer_id,
            "points": moved,
            "reason": reason,
            "ref": sale_id,
            "channel": "store",
            "store_id": ctx.store_id,
            "occurred_at": occurred_at,
        }
        loyalty.insert_entry(conn, entry, origin="local")
        outbox.append(conn, ctx.source, "loyalty.entry", entry, time=occurred_at)
    if customer_id and sale.redeem_points:
        audit.record(
            conn,
            actor=ctx.cashier_id or sale.terminal_id,
            role=ctx.role,
            action="points.redeem",
            target=customer_id,
            detail={
                "sale_id": sale_id,
                "terminal_id": sale.terminal_id,
                "points": sale.redeem_points,
                "value": totals.points_value,
                "currency": ctx.currency,
            },
        )
    if ctx.stock_on_sale:
        stock.sold(
            conn,
            [(ln.sku, ln.qty) for ln in lines],
            sale_id=sale_id,
            actor=ctx.cashier_id or sale.terminal_id,
            source=ctx.source,
            # a sale paying for a click-and-collect order moves no stock: its collect does
            order_id=getattr(sale, "order_id", None),
        )

    body = {
        "sale_id": sale_id,
        "occurred_at": occurred_at,
        "currency": ctx.currency,
        "subtotal": totals.subtotal,
        "discount": totals.discount,
        "points_value": totals.points_value,
        "total": total,
        "points_earned": points_earned,
        "points_redeemed": sale.redeem_points,
        "points_balance": (
            balance_before - sale.redeem_points + points_earned if customer_id else None
        ),
        "lines": [ln.as_dict() for ln in lines],
        "coupons": redeemed,
        "order_id": sale.order_id,
        "payments": [{"method": p.method, "amount": p.amount} for p in payments],
        "change_due": change_due,
        "exchange_of": sale.exchange_of,
    }
    if sale.order_id:
        assert ctx.settings is not None and ctx.actor is not None
        pickups.collect_paid_at_till(
            conn, sale.order_id, sale_id, sale.pickup_code or "", ctx.actor, ctx.settings
        )
    # The receipt is queued in the sale's transaction: printed if and only if it is recorded.
    print_queue.enqueue(
        conn,
        document="sale_receipt",
        data=receipts.sale_receipt_data(
            body,
            store_name=ctx.store_name,
            payment_method=payments[-1].method if payments else sale.payment_method,
            terminal_id=sale.terminal_id,
            customer=customer,
        )
        | {"coupons": offer_views.receipt_coupons(applied, locale)},
        ref=sale_id,
        locale=customer["locale"] if customer else None,
        open_drawer=any(p.method == "cash" for p in payments),
    )
    return body


def record(
    conn: sqlite3.Connection, sale: NewSale, ctx: SaleContext, *, scope: str, key: str
) -> tuple[dict[str, Any], bool]:
    """Record a sale once per idempotency key, in one write transaction of its own.

    Returns the sale as recorded and whether it was a replay of an earlier request with the
    same key (same body: the same answer, never a second sale)."""
    return idempotency.once(
        conn,
        scope=scope,
        key=key,
        body_hash=idempotency.request_hash(sale.as_dict()),
        produce=lambda: record_sale(conn, sale, ctx),
    )


def reprint_receipt(
    conn: sqlite3.Connection, sale_id: str, *, store_name: str, actor: Actor
) -> dict[str, Any]:
    """Queue a recorded sale's receipt again (a copy, never a drawer kick), in one write
    transaction of its own with its audit row; the print job as the API shows it."""
    with write(conn):
        out = receipts.reprint(conn, sale_id, store_name=store_name, requested_by=actor.name)
        audit.record(
            conn,
            actor=actor.name,
            role=actor.role,
            action="sale.receipt_reprint",
            target=sale_id,
            detail={"job_id": out["job_id"], "reprint_of": out["reprint_of"]},
        )
    return out
