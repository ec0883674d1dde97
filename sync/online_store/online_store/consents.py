"""Consent per channel and the version in which each customer field last changed.

The online store owns the customer record (CONTRACT.md 1.1). Two facts make a store's
offline change safe to merge: what the member consented to, per channel, with when; and, per
field, the customer version that last changed it, so that a ``customer.updated`` built on an
older ``base_version`` loses to a newer web change of the same field and wins elsewhere.
Every function runs inside the caller's ``db.write(conn)``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

CHANNELS = ("email", "sms")


def of(conn: sqlite3.Connection, customer_id: str) -> dict[str, Any]:
    """The contract's ``consents`` object; no record means no consent to anything."""
    row = conn.execute(
        "SELECT email, sms, updated_at FROM customer_consents WHERE customer_id = ?",
        (customer_id,),
    ).fetchone()
    if row is None:
        return {"email": False, "sms": False, "updated_at": None}
    return {"email": bool(row[0]), "sms": bool(row[1]), "updated_at": row[2]}


def allows(conn: sqlite3.Connection, customer_id: str | None, channel: str) -> bool:
    """May a marketing message (a coupon, a campaign text) go to this member on ``channel``?"""
    if customer_id is None or channel not in CHANNELS:
        return False
    return bool(of(conn, customer_id)[channel])


def store(
    conn: sqlite3.Connection, customer_id: str, changes: dict[str, bool], updated_at: str
) -> None:
    """Set some channels' consent (the others keep theirs)."""
    current = of(conn, customer_id)
    merged = {c: bool(changes.get(c, current[c])) for c in CHANNELS}
    conn.execute(
        "INSERT INTO customer_consents (customer_id, email, sms, updated_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (customer_id) DO UPDATE SET email = excluded.email, sms = excluded.sms, "
        "updated_at = excluded.updated_at",
        (customer_id, int(merged["email"]), int(merged["sms"]), updated_at),
    )


def field_versions(conn: sqlite3.Connection, customer_id: str) -> dict[str, int]:
    rows = conn.execute(
        "SELECT field, version FROM customer_field_versions WHERE customer_id = ?", (customer_id,)
    ).fetchall()
    return {r[0]: int(r[1]) for r in rows}


def touch(conn: sqlite3.Connection, customer_id: str, fields: Iterable[str], version: int) -> None:
    """Record that ``fields`` (``email``, ``consents.sms``...) changed in ``version``."""
    for field in fields:
        conn.execute(
            "INSERT INTO customer_field_versions (customer_id, field, version) VALUES (?, ?, ?) "
            "ON CONFLICT (customer_id, field) DO UPDATE SET version = excluded.version",
            (customer_id, field, version),
        )
