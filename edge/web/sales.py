"""Store sales: idempotent, one transaction with their ledger entries and up-events."""

from __future__ import annotations

from flask import Blueprint, request

from edge.errors import InvalidInput, NotFound
from edge.pickups import service as pickups
from edge.pickups import views as pickup_views
from edge.sales import service as sales
from edge.sales import views as sales_views
from edge.sales.rules import NewSale, Payment, SaleLine
from edge.store import idempotency
from edge.web.context import current_principal, get_db, settings
from edge.web.customers import rules
from edge.web.models import Line, Out, SaleIn, SaleOut
from edge.web.offers import coupon_rules
from edge.web.routing import Header, operation

bp = Blueprint("sales", __name__)

IDEMPOTENCY = Header(
    "Idempotency-Key",
    "One new key per sale; the same key on a retry returns "
    "the first answer and never records a second sale.",
)


def sale_context() -> sales.SaleContext:
    s = settings()
    who = current_principal()
    return sales.SaleContext(
        store_id=s.store_id,
        source=s.up_source,
        currency=s.currency,
        rules=rules(),
        cashier_id=who.staff_id or who.name,
        role=who.role,
        store_name=s.store_name,
        coupon_rules=coupon_rules(),
        stock_on_sale=s.stock_on_sale,
        settings=s,
        actor=who,
    )


@operation(
    bp,
    "/sales",
    "POST",
    name="sales.create",
    tags=["sales"],
    summary="Record a store sale (emits sale.recorded, coupon.redeemed and loyalty.entry)",
    body=SaleIn,
    responses={201: SaleOut},
    headers=[IDEMPOTENCY],
)
def create(body: SaleIn) -> tuple[SaleOut, int, dict[str, str]]:
    key = idempotency.check_key(request.headers.get("Idempotency-Key"))
    scope = f"sale:{current_principal().name}"
    if body.order_id and not idempotency.known(get_db(), scope=scope, key=key):
        if not body.pickup_code:
            raise InvalidInput(
                "a sale that pays for an order needs the shopper's pickup code",
                field="pickup_code",
            )
        # Counted in a transaction of its own: a wrong code stays counted (lock after N).
        pickups.check_for_payment(
            get_db(), body.order_id, body.pickup_code, current_principal(), settings()
        )
    out, replayed = sales.record(
        get_db(),
        new_sale(body),
        sale_context(),
        scope=scope,
        key=key,
    )
    return SaleOut(**out), 201, {"Idempotent-Replayed": "true" if replayed else "false"}


@operation(
    bp,
    "/sales/<sale_id>",
    name="sales.get",
    tags=["sales"],
    summary="One store sale",
    responses={200: SaleOut},
)
def get(sale_id: str) -> SaleOut:
    conn = get_db()
    row = sales_views.get_sale(conn, sale_id)
    if row is None:
        raise NotFound(f"no sale {sale_id!r}", field="sale_id")
    return SaleOut(**sales_views.sale_body(conn, row))


def new_sale(body: SaleIn) -> NewSale:
    """The request model as the sales service's plain command."""
    return NewSale(
        terminal_id=body.terminal_id,
        currency=body.currency,
        lines=tuple(
            SaleLine(sku=ln.sku, qty=ln.qty, name=ln.name, unit_price=ln.unit_price)
            for ln in body.lines
        ),
        customer_id=body.customer_id,
        redeem_points=body.redeem_points,
        payment_method=body.payment_method,
        coupon_codes=tuple(body.coupon_codes),
        payments=tuple(Payment(p.method, p.amount, p.tendered) for p in body.payments),
        order_id=body.order_id,
        pickup_code=body.pickup_code,
        cash_tendered=body.cash_tendered,
    )


class OrderToPay(Out):
    order_id: str
    order_number: str
    customer_id: str | None
    customer_name: str
    currency: str
    total: int
    paid: bool
    status: str
    lines: list[Line]


@operation(
    bp,
    "/sales/orders/<order_number>",
    name="sales.order",
    tags=["sales"],
    summary="A click-and-collect order to pay at the till, by its number (W-100234)",
    responses={200: OrderToPay},
)
def order_to_pay(order_number: str) -> OrderToPay:
    """The till opens an unpaid order with its lines; the sale that pays for it sends its
    ``order_id`` and the shopper's code, and collects it."""
    return OrderToPay(**pickup_views.order_for_till(get_db(), order_number))
