"""The customers area's pure rules: what is personal, how much of a name a screen may show,
the history's page cursor, and a new card number.

No database here: the views and the service apply these to the rows they read.
"""

from __future__ import annotations

import base64
import json
import secrets

from edge.errors import InvalidInput

PERSONAL_FIELDS = ("loyalty_card", "first_name", "last_name", "email", "phone")


def mask_name(value: str | None) -> str | None:
    """``Dupont`` → ``D.``: enough for a shopper to recognise themself, not for a stranger."""
    if not value:
        return value
    return value[0].upper() + "."


def mask_phone(value: str | None) -> str | None:
    if not value:
        return value
    return value[:3] + "•" * max(0, len(value) - 5) + value[-2:]


def encode_cursor(occurred_at: str, purchase_id: str) -> str:
    """The position after the last purchase of a history page, opaque to the client."""
    raw = json.dumps([occurred_at, purchase_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str]:
    """The position ``encode_cursor`` gave out; InvalidInput for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        occurred_at, purchase_id = json.loads(raw)
        if not isinstance(occurred_at, str) or not isinstance(purchase_id, str):
            raise ValueError
        return occurred_at, purchase_id
    except (ValueError, TypeError, json.JSONDecodeError) as exc:
        raise InvalidInput("cursor is not one this API gave out", field="cursor") from exc


def new_card_number() -> str:
    """A printable card number for a member enrolled in the store without a card."""
    return "PC" + "".join(secrets.choice("0123456789") for _ in range(12))
