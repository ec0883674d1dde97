"""Store sales: the till's one write path.

Pure rules first (pricing a basket, what is paid, what is earned), then ``record_sale``,
which writes the sale, its lines in the one purchase history, its ledger entries and the
``sale.recorded`` / ``loyalty.entry`` up-events in the caller's single transaction.
Prices come from the catalogue, never from the client.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from edge.customers import service as customers
from edge.errors import InvalidInput, NotFound
from edge.loyalty import service as loyalty
from edge.offers import rules as offer_rules
from edge.offers import service as offers
from edge.offers import views as offer_views
from edge.offers.texts import pick_locale
from edge.printing import queue as print_queue
from edge.products import service as products
from edge.sales.receipts import sale_receipt_data
from edge.sales.rules import LineLike, NewSale, PricedLine
from edge.store import audit, idempotency, outbox, state
from edge.store.db import now_iso
from edge.store.ids import new_id


@dataclass(frozen=True)
class SaleContext:
    """Who sells, where, and under which rules: everything a sale needs besides its body."""

    store_id: str
    source: str
    currency: str
    rules: loyalty.LoyaltyRules
    cashier_id: str | None = None
    role: str | None = None
    store_name: str = ""
    coupon_rules: offer_rules.CouponRules = offer_rules.CouponRules()


class HasLines(Protocol):
    """A sale, or a basket checked against a coupon: lines to price from the catalogue."""

    @property
    def lines(self) -> Sequence[LineLike]: ...


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


def record_sale(conn: sqlite3.Connection, sale: NewSale, ctx: SaleContext) -> dict[str, Any]:
    """Write one sale; the caller holds the write transaction (see ``record``)."""
    if sale.currency != ctx.currency:
        raise InvalidInput(
            f"this store sells in {ctx.currency}", field="currency", code="currency_mismatch"
        )
    lines = price_lines(conn, sale, ctx.currency)
    subtotal = sum(ln.amount for ln in lines)
    customer = None
    if sale.customer_id:
        try:
            customer = customers.find(conn, customer_id=sale.customer_id)
        except NotFound as exc:
            raise InvalidInput(
                f"unknown customer {sale.customer_id!r}",
                field="customer_id",
                code="unknown_customer",
            ) from exc
    if sale.redeem_points and customer is None:
        raise InvalidInput("points can be redeemed only for a member", field="redeem_points")

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
    discount = sum(a.discount for a in applied)
    payable = subtotal - discount
    points_value = 0
    balance_before = loyalty.balance(conn, customer["customer_id"]) if customer else 0
    if customer is not None and sale.redeem_points:
        link = state.link(conn)
        points_value = loyalty.check_redemption(
            points=sale.redeem_points,
            balance=balance_before,
            payable=payable,
            currency=ctx.currency,
            rules=ctx.rules,
            redeemed_today=loyalty.redeemed_on_day(conn, customer["customer_id"]),
            offline_seconds=link["offline_seconds"],
        )
    total = payable - points_value
    earned = (
        loyalty.points_earned(total, customer["tier"], ctx.currency, ctx.rules) if customer else 0
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
            "points_earned": earned,
            "lines": [ln.as_dict() for ln in lines],
        },
        origin="local",
    )
    conn.execute(
        "INSERT INTO sales (sale_id, terminal_id, cashier_id, customer_id, occurred_at, currency, "
        "subtotal, discount, points_value, total, points_earned, points_redeemed, payment_method, "
        "locale) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            sale_id,
            sale.terminal_id,
            ctx.cashier_id,
            customer_id,
            occurred_at,
            ctx.currency,
            subtotal,
            discount,
            points_value,
            total,
            earned,
            sale.redeem_points,
            sale.payment_method,
            customer["locale"] if customer else None,
        ),
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
            "discount": discount,
            "coupons": [{"coupon_id": a.coupon.coupon_id, "discount": a.discount} for a in applied],
            "points_earned": earned,
            "points_redeemed": sale.redeem_points,
        },
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
    entries = []
    if customer_id and sale.redeem_points:
        entries.append((-sale.redeem_points, "redeem"))
    if customer_id and earned:
        entries.append((earned, "purchase"))
    for points, reason in entries:
        entry = {
            "entry_id": new_id(),
            "customer_id": customer_id,
            "points": points,
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
                "value": points_value,
                "currency": ctx.currency,
            },
        )

    body = {
        "sale_id": sale_id,
        "occurred_at": occurred_at,
        "currency": ctx.currency,
        "subtotal": subtotal,
        "discount": discount,
        "points_value": points_value,
        "total": total,
        "points_earned": earned,
        "points_redeemed": sale.redeem_points,
        "points_balance": balance_before - sale.redeem_points + earned if customer_id else None,
        "lines": [ln.as_dict() for ln in lines],
        "coupons": redeemed,
    }
    # The receipt is queued in the sale's transaction: printed if and only if it is recorded.
    print_queue.enqueue(
        conn,
        document="sale_receipt",
        data=sale_receipt_data(
            body,
            store_name=ctx.store_name,
            payment_method=sale.payment_method,
            terminal_id=sale.terminal_id,
            customer=customer,
        )
        | {"coupons": offer_views.receipt_coupons(applied, locale)},
        ref=sale_id,
        locale=customer["locale"] if customer else None,
        open_drawer=sale.payment_method == "cash",
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
