"""Store stock over the API: the kiosk's "is it here, or nearby?", the till's figures beside
its products, and the staff's receipts, adjustments, counts and the movements of a SKU."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from flask import Blueprint, request
from prometheus_client.core import GaugeMetricFamily
from pydantic import ConfigDict, Field, StringConstraints

from edge.errors import InvalidInput
from edge.stock import service as stock
from edge.stock import views
from edge.stock.rules import MAX_QTY
from edge.store import idempotency
from edge.system import metrics
from edge.web.context import current_principal, get_db, settings
from edge.web.models import Id, In, Out
from edge.web.routing import Header, operation

bp = Blueprint("stock", __name__)

Sku = Id
Note = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
IDEMPOTENCY = Header(
    "Idempotency-Key",
    "One new key per receipt or adjustment; the same key on a retry returns the first "
    "answer and never moves the stock twice.",
)


class LookupQuery(In):
    model_config = ConfigDict(strict=False, extra="forbid")
    barcode: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    q: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None
    limit: int = Field(default=10, ge=1, le=50)


class Elsewhere(Out):
    store_id: str
    available: int
    updated_at: str


class Availability(Out):
    sku: str
    name: str
    barcode: str | None
    price: int
    currency: str
    available_here: int = Field(description="on hand less what is held for orders, never < 0")
    updated_at: str | None
    elsewhere: list[Elsewhere] = Field(description="other stores that have some, most first")


class AvailabilityList(Out):
    items: list[Availability]


class LevelsQuery(In):
    model_config = ConfigDict(strict=False, extra="forbid")
    skus: Annotated[str, StringConstraints(min_length=1, max_length=2000)] = Field(
        description="comma-separated SKUs (at most 100)"
    )


class Figures(Out):
    on_hand: int
    reserved: int
    available: int
    version: int
    needs_count: bool = Field(description="on hand went below zero: count this SKU")
    updated_at: str | None
    counted_at: str | None


class Level(Figures):
    sku: str
    name: str


class Levels(Out):
    items: dict[str, Figures]


class LevelList(Out):
    items: list[Level]


class MovementsQuery(In):
    model_config = ConfigDict(strict=False, extra="forbid")
    limit: int = Field(default=50, ge=1, le=500)
    before: int | None = Field(default=None, ge=1)


class Movement(Out):
    movement_id: int
    reason: str
    on_hand_delta: int
    reserved_delta: int
    on_hand: int
    reserved: int
    available: int
    version: int
    ref: str | None
    note: str | None
    actor: str
    occurred_at: str


class Movements(Out):
    level: Level
    items: list[Movement]


class QtyLine(In):
    sku: Sku
    qty: int = Field(ge=1, le=MAX_QTY)


class ReceiptIn(In):
    ref: Note | None = Field(default=None, description="the delivery note's number")
    lines: list[QtyLine] = Field(min_length=1, max_length=1000)


class AdjustmentIn(In):
    sku: Sku
    qty: int = Field(ge=-MAX_QTY, le=MAX_QTY, description="signed: -1 takes one off the shelf")
    reason: Literal["damaged", "stolen", "found", "correction"]
    note: Note | None = None


class CountLine(In):
    sku: Sku
    on_hand: int = Field(ge=0, le=MAX_QTY, description="what is on the shelf")


class CountIn(In):
    note: Note | None = Field(default=None, description="what was counted: a shelf, the shop")
    lines: list[CountLine] = Field(min_length=1, max_length=10000)


class Moved(Out):
    sku: str
    on_hand_before: int
    on_hand: int
    difference: int
    reserved: int
    available: int
    version: int


class MoveOut(Out):
    reason: Literal["receipt", "adjustment", "count"]
    ref: str | None
    moved: list[Moved]


def _unique(skus: list[str], field: str) -> None:
    seen: set[str] = set()
    for i, sku in enumerate(skus):
        if sku in seen:
            raise InvalidInput(f"SKU {sku!r} is given twice", field=f"lines[{i}].{field}")
        seen.add(sku)


@operation(
    bp,
    "/stock/lookup",
    name="stock.lookup",
    tags=["stock"],
    summary="A product's price and availability here and at other stores (kiosk, no personal data)",
    query=LookupQuery,
    responses={200: AvailabilityList},
)
def lookup(query: LookupQuery) -> AvailabilityList:
    items = views.lookup(get_db(), barcode=query.barcode, q=query.q, limit=query.limit)
    return AvailabilityList(items=items)  # type: ignore[arg-type]


@operation(
    bp,
    "/stock/levels",
    name="stock.levels",
    tags=["stock"],
    summary="The figures of several SKUs (the till shows on hand beside each product)",
    query=LevelsQuery,
    responses={200: Levels},
)
def levels(query: LevelsQuery) -> Levels:
    skus = [s.strip() for s in query.skus.split(",") if s.strip()][:100]
    return Levels(items=views.levels(get_db(), skus))  # type: ignore[arg-type]


@operation(
    bp,
    "/stock/to-count",
    name="stock.to_count",
    tags=["stock"],
    summary="SKUs whose on hand went below zero: count them first",
    responses={200: LevelList},
)
def to_count() -> LevelList:
    return LevelList(items=views.needing_count(get_db()))  # type: ignore[arg-type]


@operation(
    bp,
    "/stock/<sku>/movements",
    name="stock.movements",
    tags=["stock"],
    summary="A SKU's figures and its movements, newest first (who, when, why)",
    query=MovementsQuery,
    responses={200: Movements},
)
def movements(sku: str, query: MovementsQuery) -> Movements:
    conn = get_db()
    level = views.level(conn, sku)
    items = views.movements(conn, sku, limit=query.limit, before=query.before)
    return Movements(level=level, items=items)  # type: ignore[arg-type]


@operation(
    bp,
    "/stock/receipts",
    "POST",
    name="stock.receive",
    tags=["stock"],
    summary="Goods received from the warehouse (a delivery note): on hand grows",
    body=ReceiptIn,
    responses={201: MoveOut},
    headers=[IDEMPOTENCY],
)
def receive(body: ReceiptIn) -> tuple[MoveOut, int]:
    key = idempotency.check_key(request.headers.get("Idempotency-Key"))
    _unique([ln.sku for ln in body.lines], "sku")
    out = stock.receive(
        get_db(),
        {ln.sku: ln.qty for ln in body.lines},
        current_principal(),
        settings(),
        ref=body.ref,
        key=key,
    )
    return MoveOut(**out), 201


@operation(
    bp,
    "/stock/adjustments",
    "POST",
    name="stock.adjust",
    tags=["stock"],
    summary="A correction with its reason: damaged or stolen (down), found (up)",
    body=AdjustmentIn,
    responses={201: MoveOut},
    headers=[IDEMPOTENCY],
)
def adjust(body: AdjustmentIn) -> tuple[MoveOut, int]:
    key = idempotency.check_key(request.headers.get("Idempotency-Key"))
    out = stock.adjust(
        get_db(),
        body.sku,
        body.qty,
        body.reason,
        current_principal(),
        settings(),
        note=body.note,
        key=key,
    )
    return MoveOut(**out), 201


@operation(
    bp,
    "/stock/counts",
    "POST",
    name="stock.count",
    tags=["stock"],
    summary="A stocktake: each SKU's on hand becomes what was counted; the difference is kept",
    body=CountIn,
    responses={201: MoveOut},
)
def count(body: CountIn) -> tuple[MoveOut, int]:
    _unique([ln.sku for ln in body.lines], "sku")
    out = stock.count(
        get_db(),
        {ln.sku: ln.on_hand for ln in body.lines},
        current_principal(),
        settings(),
        note=body.note,
    )
    return MoveOut(**out), 201


def collect_metrics(conn: Any, _settings: Any) -> Iterator[GaugeMetricFamily]:
    """/metrics: SKUs to count (below zero), and SKUs whose newer figures wait for their last
    ``stock.changed`` to be sent (coalescing at work; it stays high while the link is down)."""
    st = views.stats(conn)
    to_count = GaugeMetricFamily(
        "passerelle_stock_needs_count", "SKUs whose on hand went below zero: count them"
    )
    to_count.add_metric([], float(st["needs_count"]))
    yield to_count
    pending = GaugeMetricFamily(
        "passerelle_stock_pending_changes",
        "SKUs whose newer figures wait for their last stock.changed to be acknowledged",
    )
    pending.add_metric([], float(st["pending_changes"]))
    yield pending


if collect_metrics not in metrics.EXTRA_COLLECTORS:
    metrics.EXTRA_COLLECTORS.append(collect_metrics)
