"""Store sales: idempotent, one transaction with their ledger entries and up-events."""

from __future__ import annotations

from flask import request

from edge import idempotency, sales
from edge.api import bp
from edge.api.context import current_principal, get_db, settings
from edge.api.customers import rules
from edge.api.offers import coupon_rules
from edge.api.routing import Header, operation
from edge.errors import NotFound
from edge.models import SaleIn, SaleOut

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
    conn = get_db()
    ctx = sale_context()
    status, out, replayed = idempotency.once(
        conn,
        scope=f"sale:{current_principal().name}",
        key=key,
        body_hash=idempotency.request_hash(body.model_dump(mode="json")),
        produce=lambda: sales.record_sale(conn, body, ctx),
    )
    return SaleOut(**out), status, {"Idempotent-Replayed": "true" if replayed else "false"}


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
    row = sales.get_sale(conn, sale_id)
    if row is None:
        raise NotFound(f"no sale {sale_id!r}", field="sale_id")
    return SaleOut(**sales.sale_body(conn, row))
