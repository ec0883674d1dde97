"""Click-and-collect: the staff board, the moves of an order, the verified handover and the
shopper's check-in. Thin routes: the rules are in ``edge.pickups``
(``service`` for the moves, ``views`` for what is read)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from flask import Blueprint
from prometheus_client.core import GaugeMetricFamily, Metric
from pydantic import ConfigDict, Field, StringConstraints

from edge.config import Settings
from edge.pickups import rules, service, views
from edge.system import metrics
from edge.web import health
from edge.web.context import current_principal, get_db, settings
from edge.web.models import In, Line, Locale, Out
from edge.web.routing import operation

bp = Blueprint("pickups", __name__)

PickupStatus = rules.Status
Code = Annotated[
    str,
    StringConstraints(min_length=1, max_length=80, strip_whitespace=True),
]
OrderNumber = Annotated[str, StringConstraints(min_length=1, max_length=32, strip_whitespace=True)]

CODE_HELP = (
    "the 6-digit pickup code, or the text of the QR code in the shopper's e-mail: "
    f"`{rules.qr_payload('W-100234', '123456')}`"
)


class PickupQuery(In):
    model_config = ConfigDict(strict=False, extra="forbid")
    status: PickupStatus | None = None
    limit: int = Field(default=200, ge=1, le=1000)


class ShortLine(Out):
    sku: str
    qty: int = Field(description="units the order holds")
    covered: int = Field(description="units the shelf covers now, first reserved first served")


class Pickup(Out):
    order_id: str
    order_number: str
    status: PickupStatus
    customer_id: str | None
    customer_name: str
    lines: list[Line]
    total: int
    currency: str
    paid: bool
    placed_at: str
    pickup_by: str
    checked_in_at: str | None
    ready_at: str | None
    collected_at: str | None
    collected_by: str | None
    cancel_reason: str | None
    cancelled_by: Literal["web", "staff"] | None
    locked: bool = Field(description="too many wrong codes: a manager must unlock it")
    wrong_codes: int
    put_back: bool = Field(
        description="the goods were ready and the order is cancelled or expired: shelve them"
    )
    paid_in_store: bool
    allowed_actions: list[str]
    updated_at: str
    short: list[ShortLine] = Field(
        default=[], description="on the board: held lines the store's stock cannot cover now"
    )


class PickupBoard(Out):
    items: list[Pickup]
    counts: dict[str, int] = Field(description="orders per status (all orders, not only items)")


class CollectIn(In):
    pickup_code: Code = Field(description=CODE_HELP)
    payment_collected: bool = Field(
        default=False, description="for an order not paid online: the till took the payment"
    )


class CancelIn(In):
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500, strip_whitespace=True)]


class CheckinIn(In):
    order_number: OrderNumber | None = Field(
        default=None, description="optional when pickup_code is the scanned QR payload"
    )
    pickup_code: Code = Field(description=CODE_HELP)
    locale: Locale | None = Field(
        default=None, description="the language the shopper chose on the kiosk"
    )


class CheckinOut(Out):
    order_number: str
    status: PickupStatus
    checked_in_at: str | None
    next_step: Literal["wait_preparing", "wait_ready"]
    to_pay: bool
    message: str = Field(description="what to do next, in the shopper's language")
    locale: str


class ReprintOut(Out):
    job_id: int
    document: Literal["pickup_slip", "handover_receipt"]
    order_id: str


@operation(
    bp,
    "/pickups",
    name="pickups.list",
    tags=["pickups"],
    summary="The click-and-collect board, by pickup_by, with counts per status",
    query=PickupQuery,
    responses={200: PickupBoard},
)
def list_pickups(query: PickupQuery) -> PickupBoard:
    return PickupBoard(**views.board(get_db(), query.status, query.limit))


@operation(
    bp,
    "/pickups/<order_id>",
    name="pickups.get",
    tags=["pickups"],
    summary="One click-and-collect order",
    responses={200: Pickup},
)
def get_pickup(order_id: str) -> Pickup:
    return Pickup(**views.order_view(get_db(), order_id))


@operation(
    bp,
    "/pickups/<order_id>/preparing",
    "POST",
    name="pickups.preparing",
    tags=["pickups"],
    summary="Start preparing a received order (emits pickup.updated)",
    responses={200: Pickup},
)
def preparing(order_id: str) -> Pickup:
    return Pickup(**service.start_preparing(get_db(), order_id, current_principal(), settings()))


@operation(
    bp,
    "/pickups/<order_id>/ready",
    "POST",
    name="pickups.ready",
    tags=["pickups"],
    summary="Mark an order ready (emits pickup.updated, queues the pickup slip)",
    responses={200: Pickup},
)
def ready(order_id: str) -> Pickup:
    return Pickup(**service.mark_ready(get_db(), order_id, current_principal(), settings()))


@operation(
    bp,
    "/pickups/<order_id>/collect",
    "POST",
    name="pickups.collect",
    tags=["pickups"],
    summary="Hand over a ready order against its pickup code (emits pickup.updated)",
    body=CollectIn,
    responses={200: Pickup},
)
def collect(order_id: str, body: CollectIn) -> Pickup:
    """A wrong code answers 422 `wrong_pickup_code` and is counted; at the limit
    (`pickup_max_wrong_codes`, 5) the order locks: 423 `pickup_locked` until a manager
    unlocks it. A handover receipt is queued."""
    return Pickup(
        **service.collect(
            get_db(),
            order_id,
            body.pickup_code,
            current_principal(),
            settings(),
            payment_collected=body.payment_collected,
        )
    )


@operation(
    bp,
    "/pickups/<order_id>/cancel",
    "POST",
    name="pickups.cancel",
    tags=["pickups"],
    summary="Cancel an open order with a reason (emits pickup.updated)",
    body=CancelIn,
    responses={200: Pickup},
)
def cancel(order_id: str, body: CancelIn) -> Pickup:
    return Pickup(
        **service.cancel(get_db(), order_id, body.reason, current_principal(), settings())
    )


@operation(
    bp,
    "/pickups/<order_id>/unlock",
    "POST",
    name="pickups.unlock",
    tags=["pickups"],
    summary="Lift a wrong-code lock (managers and admins only)",
    responses={200: Pickup},
)
def unlock(order_id: str) -> Pickup:
    return Pickup(**service.unlock(get_db(), order_id, current_principal(), settings()))


@operation(
    bp,
    "/pickups/<order_id>/put-back",
    "POST",
    name="pickups.put_back",
    tags=["pickups"],
    summary="Confirm the goods of a cancelled or expired order are back on the shelves",
    responses={200: Pickup},
)
def put_back(order_id: str) -> Pickup:
    return Pickup(**service.goods_put_back(get_db(), order_id, current_principal(), settings()))


@operation(
    bp,
    "/pickups/<order_id>/reprint",
    "POST",
    name="pickups.reprint",
    tags=["pickups"],
    summary="Queue the pickup slip (ready) or the handover receipt (collected) again",
    responses={202: ReprintOut},
)
def reprint(order_id: str) -> tuple[ReprintOut, int]:
    return ReprintOut(**service.reprint(get_db(), order_id, current_principal(), settings())), 202


@operation(
    bp,
    "/pickups/checkin",
    "POST",
    name="pickups.checkin",
    tags=["pickups"],
    summary="The shopper checks in with order number and pickup code (kiosk or counter)",
    body=CheckinIn,
    responses={200: CheckinOut},
)
def checkin(body: CheckinIn) -> CheckinOut:
    """An unknown order number, a wrong code and a locked order all answer the same 422
    `checkin_failed`, with no detail about any order. Wrong codes count toward the order's
    lock. A closed order (with the right code) answers 409 in the shopper's language."""
    return CheckinOut(
        **service.checkin(
            get_db(),
            body.order_number,
            body.pickup_code,
            current_principal(),
            settings(),
            locale=body.locale,
        )
    )


# -- metrics and readiness (read from the database at scrape time) ---------------------------


def collect_metrics(conn: Any, _settings: Settings) -> Iterator[Metric]:
    st = views.stats(conn)
    per_status = GaugeMetricFamily(
        "passerelle_pickups", "Click-and-collect orders per status", labels=["status"]
    )
    for status, n in st["counts"].items():
        per_status.add_metric([status], float(n))
    yield per_status
    oldest = GaugeMetricFamily(
        "passerelle_pickup_oldest_ready_age_seconds",
        "How long the oldest ready order has waited for its shopper (0 when none)",
    )
    oldest.add_metric([], float(st["oldest_ready_age_seconds"]))
    yield oldest
    handovers = GaugeMetricFamily(
        "passerelle_pickup_handovers_last_hour", "Orders handed over in the last hour"
    )
    handovers.add_metric([], float(st["handovers_last_hour"]))
    yield handovers
    waiting = GaugeMetricFamily(
        "passerelle_pickup_checked_in_waiting", "Shoppers checked in and waiting for their order"
    )
    waiting.add_metric([], float(st["checked_in_waiting"]))
    yield waiting
    locked = GaugeMetricFamily(
        "passerelle_pickup_locked", "Open orders locked after too many wrong codes"
    )
    locked.add_metric([], float(st["locked"]))
    yield locked


def readiness(conn: Any, _status: dict[str, Any]) -> tuple[str, dict[str, Any], str | None]:
    """Shown on /readyz; neither makes the box degraded (they are work for the staff)."""
    st = views.stats(conn)
    return (
        "pickups",
        {
            "checked_in_waiting": st["checked_in_waiting"],
            "locked": st["locked"],
            "ready": st["counts"]["ready"],
            "put_back": st["put_back"],
        },
        None,
    )


if collect_metrics not in metrics.EXTRA_COLLECTORS:
    metrics.EXTRA_COLLECTORS.append(collect_metrics)
if readiness not in health.READINESS_EXTRAS:
    health.READINESS_EXTRAS.append(readiness)
