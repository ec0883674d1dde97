"""Click-and-collect's pure rules: the state machine, the clock, the pickup code and its QR.

No database, no web, no MQTT here, so every rule can be checked on its own (and under
hypothesis) without a store; the service, the views and the down-event handlers all decide
with these functions.

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
import re
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from edge.actor import Actor
from edge.errors import Conflict, DomainError, InvalidInput, Locked

# -- the state machine ---------------------------------------------------------------------------

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

# What each closing move prints, by the status it leaves the order in (and what a reprint
# prints again).
DOCUMENTS: dict[str, str] = {"ready": "pickup_slip", "collected": "handover_receipt"}


def allowed_actions(status: str) -> list[str]:
    """What may happen next to an order in ``status``."""
    return [a for a in ACTIONS if (status, a) in TRANSITIONS]


def staff_actions(status: str) -> list[str]:
    """The staff screen's buttons: the allowed actions but the clock's (``expire``)."""
    return [a for a in allowed_actions(status) if a != "expire"]


def next_status(current: str, action: str, order_number: str = "this order") -> Status:
    """The status after ``action``, or Conflict (409) naming the current state."""
    try:
        return TRANSITIONS[(current, action)]
    except KeyError:
        allowed = [VERBS[a] for a in staff_actions(current)]
        hint = f"allowed now: {', '.join(allowed)}" if allowed else "the order is closed"
        raise Conflict(
            f"order {order_number} is {current}: cannot {VERBS.get(action, action)} ({hint})",
            field="status",
            code="invalid_transition",
        ) from None


def cancellation(
    current: str, reason: str, by: str, stamp: str, updated_by: str | None
) -> dict[str, Any]:
    """The columns a cancellation sets, by staff or by the web: a ``ready`` order's goods
    were on the pickup shelf, so it is flagged for the staff to put them back."""
    return {
        "status": "cancelled",
        "cancel_reason": reason,
        "cancelled_by": by,
        "put_back": int(current == "ready"),
        "closed_at": stamp,
        "updated_at": stamp,
        "updated_by": updated_by,
    }


def next_step(status: str) -> str:
    """What the checked-in shopper waits for: the order to be ready, or to be brought."""
    return "wait_ready" if status == "ready" else "wait_preparing"


def staff_of(who: Actor) -> str | None:
    """Who acted, as the event's ``staff_id``: the PIN login, else the token's name; None for
    a kiosk (the shopper acted)."""
    if who.role == "kiosk":
        return None
    return who.staff_id or who.name


def locks_at(wrong_codes: int, max_wrong_codes: int) -> bool:
    """An order locks once this many wrong codes were given: it caps guessing."""
    return wrong_codes >= max_wrong_codes


def locked_error(order_number: str) -> Locked:
    """The counter's answer for a locked order: only a manager lifts the lock (423)."""
    return Locked(
        f"order {order_number} is locked after too many wrong codes: a manager must unlock it",
        field="pickup_code",
        code="pickup_locked",
    )


def wrong_code_error(order_number: str, wrong_codes: int, max_wrong_codes: int) -> DomainError:
    """The counter's answer to a wrong code, ``wrong_codes`` counting this one: the tries left
    (422), or that the order is now locked (423)."""
    if locks_at(wrong_codes, max_wrong_codes):
        return Locked(
            f"wrong pickup code; order {order_number} is now locked after "
            f"{max_wrong_codes} wrong codes: a manager must unlock it",
            field="pickup_code",
            code="pickup_locked",
        )
    return InvalidInput(
        f"wrong pickup code ({max_wrong_codes - wrong_codes} tries left before the order locks)",
        field="pickup_code",
        code="wrong_pickup_code",
    )


# -- the clock -----------------------------------------------------------------------------------


def is_overdue(pickup_by: datetime, now: datetime, grace_hours: float) -> bool:
    """A ready order expires once ``pickup_by`` plus the grace has passed."""
    return now > pickup_by + timedelta(hours=grace_hours)


def parse_time(value: str) -> datetime:
    """A contract or stored time as an aware UTC datetime; a time without a zone is refused,
    since the web and the store may not share one."""
    t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if t.tzinfo is None:
        raise ValueError(f"time without a zone: {value!r}")
    return t.astimezone(UTC)


def format_time(t: datetime) -> str:
    """The one stored format (now_iso's): sorts as text."""
    return t.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# -- the pickup code and its QR payload ----------------------------------------------------------
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


# The online store numbers its orders "W-" + digits. A person types the number as printed, or
# without the prefix, with spaces or in lower case ("w 100 001", "100001"), and a keypad that
# once prefilled "W-" gives "W-W-100001": all of them are the one number "W-100001".
WEB_ORDER_PREFIX = "W-"
_WEB_NUMBER = re.compile(r"(?:W-?)*(\d+)")


def normalise_order_number(text: str) -> str:
    """The order number as stored, from what a person typed or a QR code carried.

    Spaces go and letters are upper-cased; bare digits or ``W`` + digits get the web prefix.
    Any other number (the contract allows ``[A-Za-z0-9-]{1,32}``) is kept, upper-cased, and
    compared without regard to case.
    """
    compact = "".join(text.split()).upper()
    m = _WEB_NUMBER.fullmatch(compact)
    return WEB_ORDER_PREFIX + m.group(1) if m else compact


def same_order_number(a: str, b: str) -> bool:
    """Whether two spellings name the same order (constant time on the normalised text)."""
    return hmac.compare_digest(
        normalise_order_number(a).encode(), normalise_order_number(b).encode()
    )


KEYED = "h1:"
"""Prefix of a keyed hash; hashes without it were made before issue 19 (plain SHA-256)."""


def code_hash(order_id: str, pickup_code: str, key: bytes | None = None) -> str:
    """Only a hash of the code is kept: a copied database does not hand out codes as text.

    With the box's key (``edge.store.keys``, never in the database) it is an HMAC: a plain
    hash of a 6-digit code is reversed by trying the 10⁶ codes in an instant, an HMAC needs
    the key, which a backup does not hold. Without a key: the plain hash of older orders."""
    text = f"{order_id}:{pickup_code}".encode()
    if key is None:
        return hashlib.sha256(text).hexdigest()
    return KEYED + hmac.new(key, text, hashlib.sha256).hexdigest()


def code_matches(
    order_id: str, order_number: str, stored_hash: str, presented: str, key: bytes | None = None
) -> bool:
    """Constant-time check of a typed code or a scanned QR payload against the order."""
    number, code = parse_presented_code(presented)
    number_ok = number is None or same_order_number(number, order_number)
    keyed = stored_hash.startswith(KEYED)
    if keyed and key is None:
        return False
    expected = code_hash(order_id, code, key if keyed else None)
    code_ok = hmac.compare_digest(expected.encode(), stored_hash.encode())
    return number_ok and code_ok
