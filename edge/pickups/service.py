"""Click-and-collect: the life of a web order picked up at this store.

The one place that owns the rules. Pure functions first (the state machine, the pickup code
and its QR payload, overdue orders, the shopper's messages), then the functions that apply a
move: each one runs in one ``db.write`` transaction that changes the order, writes its
``pickup.updated`` up-event, its audit row and its print job together, so nothing is ever
half-done. The down-event handlers (``order.placed``, ``order.cancelled``) run inside the
inbox's transaction instead. No Flask, no paho here: the API, the screens and the sync worker
all call these functions.

Lifecycle::

    received ─prepare─► preparing ─ready─► ready ─collect─► collected
        │                   │                │ └──expire (pickup_by + grace)──► expired
        └───────cancel──────┴─────cancel─────┴──► cancelled

Check-in (the shopper says "I am here") is allowed in every open state and does not change
the status; it sets ``checked_in_at`` and is reported with the same ``pickup.updated`` event.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from edge.actor import Actor
from edge.config import Settings
from edge.errors import Conflict, DomainError, Forbidden, InvalidInput, Locked, NotFound
from edge.pickups.texts import MESSAGES, next_step, shopper_message  # noqa: F401
from edge.printing import queue
from edge.store import audit, outbox, privacy
from edge.store.db import now_iso, write

if TYPE_CHECKING:
    from edge.store.inbox import ApplyContext

# -- the state machine (pure) ----------------------------------------------------------------

Status = Literal["received", "preparing", "ready", "collected", "cancelled", "expired"]
Action = Literal["prepare", "ready", "collect", "cancel", "expire", "checkin"]

STATUSES: tuple[Status, ...] = (
    "received",
    "preparing",
    "ready",
    "collected",
    "cancelled",
    "expired",
)
ACTIONS: tuple[Action, ...] = ("prepare", "ready", "collect", "cancel", "expire", "checkin")
ERASED_NAME = privacy.ERASED
OPEN: frozenset[str] = frozenset({"received", "preparing", "ready"})
CLOSED: frozenset[str] = frozenset({"collected", "cancelled", "expired"})

# (current status, action) → new status. Anything not here is refused (409).
TRANSITIONS: dict[tuple[str, str], Status] = {
    ("received", "prepare"): "preparing",
    ("preparing", "ready"): "ready",
    ("ready", "collect"): "collected",
    ("received", "cancel"): "cancelled",
    ("preparing", "cancel"): "cancelled",
    ("ready", "cancel"): "cancelled",
    ("ready", "expire"): "expired",
    # the shopper's check-in leaves the status as it is
    ("received", "checkin"): "received",
    ("preparing", "checkin"): "preparing",
    ("ready", "checkin"): "ready",
}

VERBS: dict[str, str] = {
    "prepare": "start preparing it",
    "ready": "mark it ready",
    "collect": "hand it over",
    "cancel": "cancel it",
    "expire": "expire it",
    "checkin": "check in",
}


def allowed_actions(status: str) -> list[str]:
    """What may happen next to an order in ``status`` (the staff screen's buttons)."""
    return [a for a in ACTIONS if (status, a) in TRANSITIONS]


def next_status(current: str, action: str, order_number: str = "this order") -> Status:
    """The status after ``action``, or Conflict (409) naming the current state."""
    try:
        return TRANSITIONS[(current, action)]
    except KeyError:
        allowed = [VERBS[a] for a in allowed_actions(current) if a != "expire"]
        hint = f"allowed now: {', '.join(allowed)}" if allowed else "the order is closed"
        raise Conflict(
            f"order {order_number} is {current}: cannot {VERBS.get(action, action)} ({hint})",
            field="status",
            code="invalid_transition",
        ) from None


def is_overdue(pickup_by: datetime, now: datetime, grace_hours: float) -> bool:
    """A ready order expires once ``pickup_by`` plus the grace has passed."""
    return now > pickup_by + timedelta(hours=grace_hours)


def parse_time(value: str) -> datetime:
    t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if t.tzinfo is None:
        raise ValueError(f"time without a zone: {value!r}")
    return t.astimezone(UTC)


def format_time(t: datetime) -> str:
    """The one stored format (now_iso's): sorts as text."""
    return t.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# -- the pickup code and its QR payload (pure) -------------------------------------------------
#
# The shopper's e-mail carries the 6-digit code and a QR code whose text is
#     PSRL:<order_number>:<pickup_code>      e.g.  PSRL:W-100234:123456
# "PSRL" marks a Passerelle pickup; order numbers never contain ':' (contract:
# [A-Za-z0-9-]{1,32}). Wherever a code is asked for, the typed code or the scanned payload
# is accepted.

QR_PREFIX = "PSRL"


def qr_payload(order_number: str, pickup_code: str) -> str:
    """The text of the QR code in the shopper's e-mail."""
    return f"{QR_PREFIX}:{order_number}:{pickup_code}"


def parse_presented_code(text: str) -> tuple[str | None, str]:
    """``(order number or None, code)`` from what was typed or scanned."""
    text = text.strip()
    parts = text.split(":")
    if len(parts) == 3 and parts[0].upper() == QR_PREFIX:
        return parts[1].strip(), parts[2].strip()
    return None, text


def code_hash(order_id: str, pickup_code: str) -> str:
    """Only a hash of the code is kept: a copied database does not hand out codes as text."""
    return hashlib.sha256(f"{order_id}:{pickup_code}".encode()).hexdigest()


def code_matches(order_id: str, order_number: str, stored_hash: str, presented: str) -> bool:
    """Constant-time check of a typed code or a scanned QR payload against the order."""
    number, code = parse_presented_code(presented)
    number_ok = number is None or hmac.compare_digest(number.encode(), order_number.encode())
    code_ok = hmac.compare_digest(code_hash(order_id, code), stored_hash)
    return number_ok and code_ok


# -- down-events' data ---------------------------------------------------------------------------

ContractTime = Annotated[
    str,
    StringConstraints(
        pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|\+00:00)$"
    ),
]
ContractId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")]


class _Down(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class OrderLine(_Down):
    sku: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    qty: int = Field(ge=1, le=100_000)
    unit_price: int = Field(ge=0, le=100_000_000_000)


class OrderPlaced(_Down):
    order_id: ContractId
    order_number: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,32}$")]
    customer_id: ContractId | None
    customer_name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    pickup_code: Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
    total: int = Field(ge=0, le=100_000_000_000)
    paid: bool
    lines: list[OrderLine] = Field(min_length=1, max_length=1000)
    placed_at: ContractTime
    pickup_by: ContractTime


class OrderCancelled(_Down):
    order_id: ContractId
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)]


M = TypeVar("M", bound=BaseModel)


def _validated(model: type[M], data: Mapping[str, Any]) -> M:
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err.get("loc", ())) or None
        raise InvalidInput(
            f"{model.__name__}: {field or 'data'}: {err.get('msg', 'invalid')}", field=field
        ) from exc


# -- reading ---------------------------------------------------------------------------------


def get_row(conn: sqlite3.Connection, order_id: str) -> sqlite3.Row:
    row = conn.execute("SELECT * FROM pickup_orders WHERE order_id = ?", (order_id,)).fetchone()
    if row is None:
        raise NotFound(f"no click-and-collect order {order_id!r}", field="order_id")
    return row


def _lines(conn: sqlite3.Connection, order_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {oid: [] for oid in order_ids}
    if not order_ids:
        return out
    marks = ",".join("?" * len(order_ids))
    for ln in conn.execute(
        f"SELECT * FROM pickup_lines WHERE order_id IN ({marks}) ORDER BY order_id, line_no",
        order_ids,
    ):
        out[ln["order_id"]].append(
            {"sku": ln["sku"], "name": ln["name"], "qty": ln["qty"], "unit_price": ln["unit_price"]}
        )
    return out


def _view(row: sqlite3.Row, lines: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "order_id": row["order_id"],
        "order_number": row["order_number"],
        "status": row["status"],
        "customer_id": row["customer_id"],
        "customer_name": row["customer_name"],
        "lines": lines,
        "total": row["total"],
        "currency": row["currency"],
        "paid": bool(row["paid"]),
        "placed_at": row["placed_at"],
        "pickup_by": row["pickup_by"],
        "checked_in_at": row["checked_in_at"],
        "ready_at": row["ready_at"],
        "collected_at": row["collected_at"],
        "collected_by": row["collected_by"],
        "cancel_reason": row["cancel_reason"],
        "cancelled_by": row["cancelled_by"],
        "locked": bool(row["locked"]),
        "wrong_codes": row["wrong_codes"],
        "put_back": bool(row["put_back"]),
        "paid_in_store": bool(row["paid_in_store"]),
        "allowed_actions": [a for a in allowed_actions(row["status"]) if a != "expire"],
        "updated_at": row["updated_at"],
    }


def order_view(conn: sqlite3.Connection, order_id: str) -> dict[str, Any]:
    row = get_row(conn, order_id)
    return _view(row, _lines(conn, [order_id])[order_id])


def board(conn: sqlite3.Connection, status: str | None = None, limit: int = 200) -> dict[str, Any]:
    """The staff board: orders by ``pickup_by`` (the most urgent first), and counts per status."""
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}", field="status")
    rows = conn.execute(
        "SELECT * FROM pickup_orders WHERE (? IS NULL OR status = ?) "
        "ORDER BY pickup_by, order_number LIMIT ?",
        (status, status, limit),
    ).fetchall()
    lines = _lines(conn, [r["order_id"] for r in rows])
    counts = dict.fromkeys(STATUSES, 0)
    for r in conn.execute("SELECT status, COUNT(*) AS n FROM pickup_orders GROUP BY status"):
        counts[r["status"]] = r["n"]
    return {"items": [_view(r, lines[r["order_id"]]) for r in rows], "counts": counts}


def customer_locale(conn: sqlite3.Connection, customer_id: str | None, default: str) -> str:
    """The shopper's language if the store knows the member, else the store's."""
    if customer_id:
        row = conn.execute(
            "SELECT locale FROM customers WHERE customer_id = ? AND erased_at IS NULL",
            (customer_id,),
        ).fetchone()
        if row and row["locale"] in MESSAGES:
            return str(row["locale"])
    return default


# -- writing: shared steps (the caller holds the transaction) --------------------------------


def staff_of(who: Actor) -> str | None:
    """Who acted, as the event's ``staff_id``: the PIN login, else the token's name; None for
    a kiosk (the shopper acted)."""
    if who.role == "kiosk":
        return None
    return who.staff_id or who.name


def _emit(
    conn: sqlite3.Connection, source: str, row: sqlite3.Row, staff_id: str | None, occurred_at: str
) -> None:
    outbox.append(
        conn,
        source,
        "pickup.updated",
        {
            "order_id": row["order_id"],
            "status": row["status"],
            "checked_in_at": row["checked_in_at"],
            "staff_id": staff_id,
            "occurred_at": occurred_at,
        },
        time=occurred_at,
    )


def _set(conn: sqlite3.Connection, order_id: str, **changes: Any) -> sqlite3.Row:
    cols = ", ".join(f"{k} = ?" for k in changes)
    conn.execute(
        f"UPDATE pickup_orders SET {cols} WHERE order_id = ?", (*changes.values(), order_id)
    )
    return get_row(conn, order_id)


def _print_data(
    conn: sqlite3.Connection, row: sqlite3.Row, settings: Settings, who: Actor
) -> dict[str, Any]:
    """Everything a pickup slip or a handover receipt shows (never the pickup code), for the
    printing layouts (``hardware/layouts.py``): ``staff`` is the id of the event's
    ``staff_id``, ``handed_over_by`` the name printed on the receipt."""
    return {
        "order_id": row["order_id"],
        "order_number": row["order_number"],
        "customer_name": row["customer_name"],
        "lines": _lines(conn, [row["order_id"]])[row["order_id"]],
        "total": row["total"],
        "currency": row["currency"],
        "paid": bool(row["paid"]),
        "paid_in_store": bool(row["paid_in_store"]),
        "placed_at": row["placed_at"],
        "pickup_by": row["pickup_by"],
        "ready_at": row["ready_at"],
        "checked_in_at": row["checked_in_at"],
        "collected_at": row["collected_at"],
        "staff": staff_of(who),
        "handed_over_by": who.name if row["collected_at"] else None,
        "store_id": settings.store_id,
        "store_name": settings.store_name,
    }


def _enqueue(
    conn: sqlite3.Connection,
    row: sqlite3.Row,
    settings: Settings,
    who: Actor,
    document: str,
) -> int:
    return queue.enqueue(
        conn,
        document=document,
        data=_print_data(conn, row, settings, who),
        ref=row["order_id"],
        locale=customer_locale(conn, row["customer_id"], settings.locale),
        printer_role="pickup_slips" if document == "pickup_slip" else "receipts",
        requested_by=staff_of(who),
    )


def _audit(
    conn: sqlite3.Connection,
    who: Actor,
    action: str,
    row: sqlite3.Row,
    **detail: Any,
) -> None:
    audit.record(
        conn,
        actor=who.staff_id or who.name,
        role=who.role,
        action=f"pickup.{action}",
        target=row["order_id"],
        detail={"order_number": row["order_number"], **detail},
    )


def _wrong_code(
    conn: sqlite3.Connection, row: sqlite3.Row, who: Actor, settings: Settings, where: str
) -> bool:
    """Count a wrong code; lock the order at the limit. Returns True when it is now locked."""
    wrong = row["wrong_codes"] + 1
    lock = wrong >= settings.pickup_max_wrong_codes
    stamp = now_iso()
    conn.execute(
        "UPDATE pickup_orders SET wrong_codes = ?, locked = ?, locked_at = ? WHERE order_id = ?",
        (wrong, int(lock), stamp if lock else None, row["order_id"]),
    )
    _audit(conn, who, "wrong_code", row, wrong_codes=wrong, at=where, locked=lock)
    return lock


# -- moves by staff, one transaction each ------------------------------------------------------


def _staff_move(
    conn: sqlite3.Connection,
    order_id: str,
    action: Action,
    who: Actor,
    settings: Settings,
) -> dict[str, Any]:
    with write(conn):
        row = get_row(conn, order_id)
        status = next_status(row["status"], action, row["order_number"])
        stamp = now_iso()
        staff = staff_of(who)
        changes: dict[str, Any] = {"status": status, "updated_at": stamp, "updated_by": staff}
        if status == "ready":
            changes["ready_at"] = stamp
        row = _set(conn, order_id, **changes)
        _emit(conn, settings.up_source, row, staff, stamp)
        _audit(conn, who, action, row, status=status)
        if status == "ready":
            _enqueue(conn, row, settings, who, "pickup_slip")
    return order_view(conn, order_id)


def start_preparing(
    conn: sqlite3.Connection, order_id: str, who: Actor, settings: Settings
) -> dict[str, Any]:
    return _staff_move(conn, order_id, "prepare", who, settings)


def mark_ready(
    conn: sqlite3.Connection, order_id: str, who: Actor, settings: Settings
) -> dict[str, Any]:
    """Ready on the shelf: the web tells the shopper, and a pickup slip is queued."""
    return _staff_move(conn, order_id, "ready", who, settings)


def cancel(
    conn: sqlite3.Connection, order_id: str, reason: str, who: Actor, settings: Settings
) -> dict[str, Any]:
    """Staff cancel with a reason (goods damaged, out of stock…)."""
    with write(conn):
        row = get_row(conn, order_id)
        next_status(row["status"], "cancel", row["order_number"])
        stamp = now_iso()
        staff = staff_of(who)
        row = _set(
            conn,
            order_id,
            status="cancelled",
            cancel_reason=reason,
            cancelled_by="staff",
            put_back=int(row["status"] == "ready"),
            closed_at=stamp,
            updated_at=stamp,
            updated_by=staff,
        )
        _emit(conn, settings.up_source, row, staff, stamp)
        _audit(conn, who, "cancel", row, reason=reason)
    return order_view(conn, order_id)


def collect(
    conn: sqlite3.Connection,
    order_id: str,
    presented_code: str,
    who: Actor,
    settings: Settings,
    *,
    payment_collected: bool = False,
) -> dict[str, Any]:
    """The verified handover. A wrong code is counted (and committed) before the 422, so
    retrying cannot escape the lock; the order locks at ``pickup_max_wrong_codes``."""
    failure: DomainError | None = None
    with write(conn):
        row = get_row(conn, order_id)
        next_status(row["status"], "collect", row["order_number"])
        if row["locked"]:
            raise Locked(
                f"order {row['order_number']} is locked after too many wrong codes: a manager "
                "must unlock it",
                field="pickup_code",
                code="pickup_locked",
            )
        if not code_matches(row["order_id"], row["order_number"], row["code_hash"], presented_code):
            if _wrong_code(conn, row, who, settings, "collect"):
                failure = Locked(
                    f"wrong pickup code; order {row['order_number']} is now locked after "
                    f"{settings.pickup_max_wrong_codes} wrong codes: a manager must unlock it",
                    field="pickup_code",
                    code="pickup_locked",
                )
            else:
                left = settings.pickup_max_wrong_codes - row["wrong_codes"] - 1
                failure = InvalidInput(
                    f"wrong pickup code ({left} tries left before the order locks)",
                    field="pickup_code",
                    code="wrong_pickup_code",
                )
        elif not row["paid"] and not payment_collected:
            raise Conflict(
                f"order {row['order_number']} was not paid online: take the payment at the "
                "till, then hand over with payment_collected=true",
                field="payment_collected",
                code="payment_required",
            )
        else:
            stamp = now_iso()
            staff = staff_of(who)
            row = _set(
                conn,
                order_id,
                status="collected",
                collected_at=stamp,
                collected_by=staff,
                paid_in_store=int(not row["paid"]),
                closed_at=stamp,
                updated_at=stamp,
                updated_by=staff,
            )
            _emit(conn, settings.up_source, row, staff, stamp)
            _audit(conn, who, "collect", row)
            _enqueue(conn, row, settings, who, "handover_receipt")
    if failure is not None:
        raise failure
    return order_view(conn, order_id)


def unlock(
    conn: sqlite3.Connection, order_id: str, who: Actor, settings: Settings
) -> dict[str, Any]:
    """Only a manager (or an admin) lifts a wrong-code lock, after checking the shopper's ID."""
    if not (who.is_manager or who.role == "admin"):
        raise Forbidden("only a manager may unlock an order", field=None, code="manager_required")
    with write(conn):
        row = get_row(conn, order_id)
        if not row["locked"]:
            raise Conflict(
                f"order {row['order_number']} is not locked (status {row['status']})",
                code="not_locked",
            )
        row = _set(
            conn,
            order_id,
            locked=0,
            locked_at=None,
            wrong_codes=0,
            updated_at=now_iso(),
            updated_by=staff_of(who),
        )
        _audit(conn, who, "unlock", row)
    return order_view(conn, order_id)


def reprint(
    conn: sqlite3.Connection, order_id: str, who: Actor, settings: Settings
) -> dict[str, Any]:
    """Queue the slip again (ready) or the handover receipt again (collected)."""
    with write(conn):
        row = get_row(conn, order_id)
        documents = {"ready": "pickup_slip", "collected": "handover_receipt"}
        document = documents.get(row["status"])
        if document is None:
            raise Conflict(
                f"order {row['order_number']} is {row['status']}: there is nothing to reprint "
                "(a slip is printed for a ready order, a receipt for a collected one)",
                field="status",
                code="invalid_transition",
            )
        last = conn.execute(
            "SELECT * FROM print_jobs WHERE ref = ? AND document = ? "
            "AND reprint_of IS NULL ORDER BY job_id DESC LIMIT 1",
            (order_id, document),
        ).fetchone()
        staff = staff_of(who)
        if last is None:  # the first print was purged: print what the order says now
            job_id = _enqueue(conn, row, settings, who, document)
        else:  # the same paper again (same staff, same times), marked as a copy
            job_id = queue.enqueue(
                conn,
                document=document,
                data=json.loads(last["data"]),
                ref=order_id,
                locale=last["locale"],
                printer_role=last["printer_role"],
                reprint_of=last["job_id"],
                requested_by=staff,
            )
        _audit(conn, who, "reprint", row, document=document, job_id=job_id)
    return {"job_id": job_id, "document": document, "order_id": order_id}


def goods_put_back(
    conn: sqlite3.Connection, order_id: str, who: Actor, settings: Settings
) -> dict[str, Any]:
    """Staff confirm the goods of a cancelled or expired order are back on the shelves: the
    board stops asking."""
    with write(conn):
        row = get_row(conn, order_id)
        if not row["put_back"]:
            raise Conflict(
                f"order {row['order_number']} is {row['status']}: it has no goods to put back",
                field="put_back",
                code="nothing_to_put_back",
            )
        row = _set(conn, order_id, put_back=0, updated_at=now_iso(), updated_by=staff_of(who))
        _audit(conn, who, "put_back", row)
    return order_view(conn, order_id)


# -- the shopper's check-in --------------------------------------------------------------------


def checkin(
    conn: sqlite3.Connection,
    order_number: str | None,
    presented_code: str,
    who: Actor,
    settings: Settings,
    locale: str | None = None,
) -> dict[str, Any]:
    """The shopper's "I am here for W-100234, code 123456", at the kiosk or the counter.

    Unknown number, wrong code and locked order all get the same 422 in the same words, so a
    stranger learns nothing about anyone's order; a wrong code on a real order counts toward
    its lock, which caps guessing at ``pickup_max_wrong_codes`` tries per order.
    """
    fallback = locale or settings.locale
    failed = InvalidInput(shopper_message("failed", fallback), code="checkin_failed")
    qr_number, _ = parse_presented_code(presented_code)
    if order_number and qr_number and order_number.strip() != qr_number:
        raise failed
    number = (order_number or qr_number or "").strip()
    if not number:
        raise failed
    counted = False
    with write(conn):
        row = conn.execute(
            "SELECT * FROM pickup_orders WHERE order_number = ?", (number,)
        ).fetchone()
        if row is None:
            # Hash anyway, so an unknown number costs what a wrong code costs.
            code_matches("-", number, "0" * 64, presented_code)
            raise failed
        if row["locked"]:
            raise failed
        if not code_matches(row["order_id"], row["order_number"], row["code_hash"], presented_code):
            _wrong_code(conn, row, who, settings, "checkin")
            counted = True
        else:
            lang = locale or customer_locale(conn, row["customer_id"], settings.locale)
            if row["status"] in CLOSED:
                raise Conflict(
                    shopper_message(
                        "closed", lang, number=row["order_number"], status=row["status"]
                    ),
                    field="status",
                    code="invalid_transition",
                )
            next_status(row["status"], "checkin", row["order_number"])
            if row["checked_in_at"] is None:
                stamp = now_iso()
                staff = staff_of(who)
                row = _set(
                    conn,
                    row["order_id"],
                    checked_in_at=stamp,
                    checked_in_by=who.staff_id or who.name,
                    updated_at=stamp,
                    updated_by=staff,
                )
                _emit(conn, settings.up_source, row, staff, stamp)
                _audit(conn, who, "checkin", row)
    if counted:
        raise failed
    step = next_step(row["status"])
    message = shopper_message(step, lang, number=row["order_number"])
    if not row["paid"]:
        message += shopper_message("pay", lang)
    return {
        "order_number": row["order_number"],
        "status": row["status"],
        "checked_in_at": row["checked_in_at"],
        "next_step": step,
        "to_pay": not row["paid"],
        "message": message,
        "locale": lang,
    }


# -- expiry (the periodic job) ------------------------------------------------------------------


def expire_overdue(
    conn: sqlite3.Connection, settings: Settings, now: datetime | None = None
) -> list[str]:
    """Ready orders past ``pickup_by`` + ``pickup_grace_hours`` become expired (and their
    goods go back to the shelves). Returns the order ids expired."""
    now = now or datetime.now(UTC)
    cutoff = format_time(now - timedelta(hours=settings.pickup_grace_hours))
    expired: list[str] = []
    with write(conn):
        rows = conn.execute(
            "SELECT * FROM pickup_orders WHERE status = 'ready' AND pickup_by < ? "
            "ORDER BY pickup_by",
            (cutoff,),
        ).fetchall()
        for row in rows:
            if not is_overdue(parse_time(row["pickup_by"]), now, settings.pickup_grace_hours):
                continue
            next_status(row["status"], "expire", row["order_number"])
            stamp = now_iso()
            row = _set(
                conn,
                row["order_id"],
                status="expired",
                put_back=1,
                closed_at=stamp,
                updated_at=stamp,
                updated_by=None,
            )
            _emit(conn, settings.up_source, row, None, stamp)
            audit.record(
                conn,
                actor="system",
                role=None,
                action="pickup.expire",
                target=row["order_id"],
                detail={"order_number": row["order_number"], "pickup_by": row["pickup_by"]},
            )
            expired.append(row["order_id"])
    return expired


def expiry_job(conn: sqlite3.Connection, settings: Settings) -> int:
    """``edge.system.jobs.PERIODIC`` entry."""
    return len(expire_overdue(conn, settings))


# -- down-events (inside the inbox's transaction) ------------------------------------------------


def on_order_placed(conn: sqlite3.Connection, d: Mapping[str, Any], ctx: ApplyContext) -> bool:
    """``order.placed``: keep the order once, however often it is delivered, and tell the web
    the store has it (``received``). If its ``order.cancelled`` came first, the order arrives
    already cancelled and the web hears ``cancelled``."""
    order = _validated(OrderPlaced, d)
    existing = conn.execute(
        "SELECT order_id FROM pickup_orders WHERE order_id = ? OR order_number = ?",
        (order.order_id, order.order_number),
    ).fetchone()
    if existing is not None:
        if existing["order_id"] != order.order_id:
            raise InvalidInput(
                f"order number {order.order_number} already belongs to order "
                f"{existing['order_id']}",
                field="order_number",
            )
        return False
    tomb = conn.execute(
        "SELECT reason FROM pickup_tombstones WHERE order_id = ?", (order.order_id,)
    ).fetchone()
    stamp = now_iso()
    status: Status = "cancelled" if tomb else "received"
    conn.execute(
        "INSERT INTO pickup_orders (order_id, order_number, customer_id, customer_name, "
        "code_hash, currency, total, paid, placed_at, pickup_by, status, cancel_reason, "
        "cancelled_by, closed_at, received_at, updated_at) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            order.order_id,
            order.order_number,
            order.customer_id,
            order.customer_name,
            code_hash(order.order_id, order.pickup_code),
            order.currency,
            order.total,
            int(order.paid),
            format_time(parse_time(order.placed_at)),
            format_time(parse_time(order.pickup_by)),
            status,
            tomb["reason"] if tomb else None,
            "web" if tomb else None,
            stamp if tomb else None,
            stamp,
            stamp,
        ),
    )
    conn.executemany(
        "INSERT INTO pickup_lines (order_id, line_no, sku, name, qty, unit_price) "
        "VALUES (?,?,?,?,?,?)",
        [
            (order.order_id, i, ln.sku, ln.name, ln.qty, ln.unit_price)
            for i, ln in enumerate(order.lines, start=1)
        ],
    )
    if tomb:
        conn.execute("DELETE FROM pickup_tombstones WHERE order_id = ?", (order.order_id,))
    _emit(conn, ctx.source, get_row(conn, order.order_id), None, stamp)
    return True


def on_order_cancelled(conn: sqlite3.Connection, d: Mapping[str, Any], ctx: ApplyContext) -> bool:
    """``order.cancelled`` from the web, whatever the order's state:

    - not here yet: remember it (a tombstone), the order will arrive cancelled;
    - open: cancelled; a ``ready`` order is flagged so the staff screen says to put the goods
      back on the shelves;
    - collected: the goods have left the shop, so it stays ``collected`` and the store says
      ``collected`` again, so the web does not refund them;
    - already cancelled or expired: nothing to do.
    """
    event = _validated(OrderCancelled, d)
    row = conn.execute(
        "SELECT * FROM pickup_orders WHERE order_id = ?", (event.order_id,)
    ).fetchone()
    if row is None:
        cur = conn.execute(
            "INSERT OR IGNORE INTO pickup_tombstones (order_id, reason, received_at) "
            "VALUES (?,?,?)",
            (event.order_id, event.reason, now_iso()),
        )
        return cur.rowcount == 1
    if row["status"] == "collected":
        _emit(conn, ctx.source, row, row["collected_by"], row["collected_at"])
        audit.record(
            conn,
            actor="web",
            role=None,
            action="pickup.cancel_refused",
            target=row["order_id"],
            detail={"order_number": row["order_number"], "reason": event.reason},
        )
        return True
    if row["status"] not in OPEN:
        return False
    stamp = now_iso()
    row = _set(
        conn,
        row["order_id"],
        status="cancelled",
        cancel_reason=event.reason,
        cancelled_by="web",
        put_back=int(row["status"] == "ready"),
        closed_at=stamp,
        updated_at=stamp,
        updated_by=None,
    )
    _emit(conn, ctx.source, row, None, stamp)
    return True


def erase_customer(conn: sqlite3.Connection, customer_id: str) -> int:
    """``customer.erased`` (GDPR): the name goes from the person's orders; the order number
    and the pickup code still identify an open order at the counter."""
    cur = conn.execute(
        "UPDATE pickup_orders SET customer_name = ?, updated_at = ? WHERE customer_id = ?",
        (ERASED_NAME, now_iso(), customer_id),
    )
    return cur.rowcount


# -- what /readyz and /metrics show -------------------------------------------------------------


def stats(conn: sqlite3.Connection, now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    counts = dict.fromkeys(STATUSES, 0)
    for r in conn.execute("SELECT status, COUNT(*) AS n FROM pickup_orders GROUP BY status"):
        counts[r["status"]] = r["n"]
    oldest = conn.execute(
        "SELECT MIN(ready_at) FROM pickup_orders WHERE status = 'ready'"
    ).fetchone()[0]
    hour_ago = format_time(now - timedelta(hours=1))
    handovers = conn.execute(
        "SELECT COUNT(*) FROM pickup_orders WHERE collected_at >= ?", (hour_ago,)
    ).fetchone()[0]
    waiting = conn.execute(
        "SELECT COUNT(*) FROM pickup_orders WHERE checked_in_at IS NOT NULL "
        "AND status IN ('received', 'preparing', 'ready')"
    ).fetchone()[0]
    locked = conn.execute(
        "SELECT COUNT(*) FROM pickup_orders WHERE locked = 1 "
        "AND status IN ('received', 'preparing', 'ready')"
    ).fetchone()[0]
    put_back = conn.execute("SELECT COUNT(*) FROM pickup_orders WHERE put_back = 1").fetchone()[0]
    return {
        "counts": counts,
        "oldest_ready_age_seconds": (
            max(0.0, (now - parse_time(oldest)).total_seconds()) if oldest else 0.0
        ),
        "handovers_last_hour": int(handovers),
        "checked_in_waiting": int(waiting),
        "locked": int(locked),
        "put_back": int(put_back),
    }
