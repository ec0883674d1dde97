"""Store sales: idempotent, one transaction with their ledger entries and up-events."""

from __future__ import annotations

from flask import Blueprint, request

from edge.errors import NotFound
from edge.sales import service as sales
from edge.sales import views as sales_views
from edge.sales.rules import NewSale, SaleLine
from edge.store import idempotency
from edge.web.context import current_principal, get_db, settings
from edge.web.customers import rules
from edge.web.models import SaleIn, SaleOut
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
    out, replayed = sales.record(
        get_db(),
        new_sale(body),
        sale_context(),
        scope=f"sale:{current_principal().name}",
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
    )
