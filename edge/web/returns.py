"""Returns, voids and exchanges at the till. Thin routes: the rules are in ``edge.returns``.

A return names what it takes back from (``original``: a store sale, scanned from the
receipt's QR code or found in the member's history, or a web order by its id or number),
the lines and quantities (none: everything left), the reason, and how the money goes back.
Above ``return_manager_above`` or without a receipt a manager's id and PIN come with it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from flask import Blueprint, request
from pydantic import ConfigDict, Field, StringConstraints

from edge.returns import rules as return_rules
from edge.returns import service, views
from edge.returns.rules import NewReturn, Refund, ReturnLine
from edge.store import idempotency
from edge.web.context import current_principal, get_db, settings
from edge.web.models import Id, In, Out, SaleIn, SaleOut, Tender
from edge.web.routing import Header, operation
from edge.web.sales import new_sale, sale_context

bp = Blueprint("returns", __name__)

IDEMPOTENCY = Header(
    "Idempotency-Key",
    "One new key per return; the same key on a retry returns the first answer and never "
    "refunds twice.",
)
Pin = Annotated[str, StringConstraints(min_length=4, max_length=12, pattern=r"^[0-9]+$")]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]


class OriginalIn(In):
    kind: Literal["sale", "order"]
    id: Annotated[
        str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    ]


class ReturnLineIn(In):
    sku: Id
    qty: int = Field(description="units brought back; 1 or more (0 or less is a 422)")


class RefundIn(In):
    method: Tender
    amount: int = Field(gt=0, le=100_000_000_000)


class ReturnIn(In):
    terminal_id: Id
    original: OriginalIn
    lines: list[ReturnLineIn] = Field(
        default_factory=list, max_length=500, description="none: everything still returnable"
    )
    reason: Reason
    refunds: list[RefundIn] = Field(
        default_factory=list,
        max_length=10,
        description="how the money goes back, summing to the refund; none: the original tenders",
    )
    refund_method: Tender | None = Field(
        default=None, description="the whole refund by this tender (cash, store credit…)"
    )
    receipt: bool = Field(default=True, description="false: no receipt shown (manager's PIN)")
    manager_id: Id | None = None
    manager_pin: Pin | None = None
    restock: bool = Field(
        default=True, description="false: damaged goods, not put back on the shelf"
    )


class VoidIn(In):
    terminal_id: Id
    reason: Reason
    manager_id: Id
    manager_pin: Pin


class ExchangeIn(In):
    return_: ReturnIn = Field(alias="return")
    sale: SaleIn


class ReturnedLine(Out):
    sku: str
    name: str
    qty: int
    refund: int


class VoucherOut(Out):
    coupon_id: str
    offer_id: str | None
    code: str | None = Field(description="the code to type or scan, in every channel")
    valid_until: str | None


class RefundOut(Out):
    method: str
    amount: int
    voucher: VoucherOut | None = Field(
        default=None,
        exclude_if=lambda v: v is None,  # only on store credit: the others stay as they were
        description="store credit: the voucher (a one-use coupon) it is paid in",
    )


class OriginalOut(Out):
    kind: str
    id: str


class ReturnOut(Out):
    return_id: str
    kind: str
    original: OriginalOut
    purchase_id: str
    customer_id: str | None
    occurred_at: str
    currency: str
    lines: list[ReturnedLine]
    total_refunded: int
    refunds: list[RefundOut]
    points_reversed: int
    points_restored: int
    reason: str
    approved_by: str | None
    exchange_of: str | None
    points_balance: int | None = None


class ExchangeOut(Out):
    return_: ReturnOut = Field(alias="return", serialization_alias="return")
    sale: SaleOut
    difference: int = Field(description="> 0: the shopper paid it; < 0: refunded to them")


class LookupQuery(In):
    model_config = ConfigDict(strict=False, extra="forbid")
    kind: Literal["sale", "order"]
    id: Annotated[
        str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    ]


class ReturnableLine(Out):
    sku: str
    name: str
    qty: int
    returned: int
    returnable: int
    unit_refund: int = Field(description="what the next unit refunds, after its discounts")


class Returnable(Out):
    original: OriginalOut
    purchase_id: str
    channel: str
    customer_id: str | None
    occurred_at: str
    currency: str
    total: int
    return_until: str
    ours: bool
    lines: list[ReturnableLine]
    returns: list[ReturnOut]


def context() -> service.ReturnContext:
    return service.ReturnContext(settings=settings(), actor=current_principal())


def new_return(body: ReturnIn) -> NewReturn:
    return NewReturn(
        terminal_id=body.terminal_id,
        original_kind=body.original.kind,
        original_id=body.original.id,
        reason=body.reason,
        lines=tuple(ReturnLine(ln.sku, ln.qty) for ln in body.lines),
        refunds=tuple(Refund(r.method, r.amount) for r in body.refunds),
        refund_method=body.refund_method,
        receipt=body.receipt,
        manager_id=body.manager_id,
        manager_pin=body.manager_pin,
        restock=body.restock,
    )


@operation(
    bp,
    "/returns/lookup",
    name="returns.lookup",
    tags=["returns"],
    summary="What a purchase (store sale or web order) still lets come back, and its returns",
    query=LookupQuery,
    responses={200: Returnable},
)
def lookup(query: LookupQuery) -> Returnable:
    conn = get_db()
    row = views.find_purchase(conn, query.kind, query.id)
    b = views.bought(conn, row, query.kind)
    done = views.returned(conn, b)
    skus = return_rules.per_sku(b)
    at = datetime.fromisoformat(b.occurred_at.replace("Z", "+00:00"))
    until = (at + timedelta(days=settings().return_days)).astimezone(UTC)
    lines = []
    for sku, s in skus.items():
        already = done.get(sku, 0)
        left = s.qty - already
        lines.append(
            ReturnableLine(
                sku=sku,
                name=s.name,
                qty=s.qty,
                returned=already,
                returnable=left,
                unit_refund=return_rules.share(s.paid, s.qty, already, 1) if left else 0,
            )
        )
    return Returnable(
        original=OriginalOut(kind=b.kind, id=b.original_id),
        purchase_id=b.purchase_id,
        channel=row["channel"],
        customer_id=b.customer_id,
        occurred_at=b.occurred_at,
        currency=b.currency,
        total=b.total,
        return_until=until.isoformat(timespec="seconds").replace("+00:00", "Z"),
        ours=b.ours,
        lines=lines,
        returns=[ReturnOut(**r) for r in views.for_purchases(conn, [b.purchase_id])[b.purchase_id]],
    )


@operation(
    bp,
    "/returns",
    "POST",
    name="returns.create",
    tags=["returns"],
    summary="Take goods back and refund them (emits return.recorded and loyalty.entry)",
    body=ReturnIn,
    responses={201: ReturnOut},
    headers=[IDEMPOTENCY],
)
def create(body: ReturnIn) -> tuple[ReturnOut, int, dict[str, str]]:
    key = idempotency.check_key(request.headers.get("Idempotency-Key"))
    out, replayed = service.record(
        get_db(),
        new_return(body),
        context(),
        scope=f"return:{current_principal().name}",
        key=key,
    )
    return ReturnOut(**out), 201, {"Idempotent-Replayed": "true" if replayed else "false"}


@operation(
    bp,
    "/returns/<return_id>",
    name="returns.get",
    tags=["returns"],
    summary="One return",
    responses={200: ReturnOut},
)
def get(return_id: str) -> ReturnOut:
    return ReturnOut(**views.get_return(get_db(), return_id))


@operation(
    bp,
    "/sales/<sale_id>/void",
    "POST",
    name="sales.void",
    tags=["returns"],
    summary="Void the last sale of this till within minutes, with a manager's PIN",
    body=VoidIn,
    responses={201: ReturnOut},
)
def void(sale_id: str, body: VoidIn) -> tuple[ReturnOut, int]:
    cmd = NewReturn(
        terminal_id=body.terminal_id,
        original_kind="sale",
        original_id=sale_id,
        reason=body.reason,
        manager_id=body.manager_id,
        manager_pin=body.manager_pin,
    )
    return ReturnOut(**service.void(get_db(), sale_id, cmd, context())), 201


@operation(
    bp,
    "/exchanges",
    "POST",
    name="exchanges.create",
    tags=["returns"],
    summary="A return and a new sale in one, paying or refunding only the difference",
    body=ExchangeIn,
    responses={201: ExchangeOut},
    headers=[
        Header(
            "Idempotency-Key",
            "Optional: the same key on a retry returns the first answer, never a second exchange.",
            required=False,
        )
    ],
)
def exchange(body: ExchangeIn) -> tuple[dict[str, Any], int, dict[str, str]]:
    raw = request.headers.get("Idempotency-Key")
    key = idempotency.check_key(raw) if raw is not None else None
    out, replayed = service.exchange(
        get_db(),
        new_return(body.return_),
        new_sale(body.sale),
        context(),
        sale_context(),
        scope=f"exchange:{current_principal().name}",
        key=key,
    )
    model = ExchangeOut(**{"return": ReturnOut(**out["return"]), "sale": SaleOut(**out["sale"]),
                           "difference": out["difference"]})  # fmt: skip
    headers = {"Idempotent-Replayed": "true" if replayed else "false"}
    return model.model_dump(mode="json", by_alias=True), 201, headers
