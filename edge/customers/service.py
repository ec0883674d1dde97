"""Writes of the customers area: enrolment in the store, the one purchase history, and the
down-events that keep the store's copy of a customer in step with the online store.

``enroll`` is an operation of its own and opens its write transaction; ``insert_purchase``,
``apply_upserted`` and ``apply_erased`` are steps of a larger write (a sale, a down-event)
whose caller holds the transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from edge.actor import Actor
from edge.customers.rules import new_card_number, profile_changes
from edge.customers.views import detail, find
from edge.errors import Conflict
from edge.store import audit, outbox, privacy
from edge.store.db import now_iso, write
from edge.store.ids import new_id


def insert_purchase(conn: sqlite3.Connection, p: Mapping[str, Any], origin: str) -> bool:
    """Add a purchase to the one history once; False if its id is already there (the chain's
    echo of our own sale, or a duplicate delivery)."""
    cur = conn.execute(
        "INSERT OR IGNORE INTO purchases (purchase_id, customer_id, channel, store_id, "
        "occurred_at, currency, total, points_earned, origin, recorded_at, order_id, fulfilment) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            p["purchase_id"],
            p.get("customer_id"),
            p["channel"],
            p.get("store_id"),
            p["occurred_at"],
            p["currency"],
            p["total"],
            p.get("points_earned", 0),
            origin,
            now_iso(),
            p.get("order_id"),  # contract 1.1: a web order's purchase names its order
            p.get("fulfilment"),
        ),
    )
    if cur.rowcount != 1:
        return False
    conn.executemany(
        "INSERT INTO purchase_lines (purchase_id, line_no, sku, name, qty, unit_price) "
        "VALUES (?,?,?,?,?,?)",
        [
            (p["purchase_id"], i, ln["sku"], ln["name"], ln["qty"], ln["unit_price"])
            for i, ln in enumerate(p["lines"], start=1)
        ],
    )
    return True


def enroll(
    conn: sqlite3.Connection, data: Mapping[str, Any], *, source: str, store_id: str
) -> dict[str, Any]:
    """Create a member in the store and announce it (``customer.enrolled``), in one write
    transaction of its own: the member and the event are written together or not at all."""
    with write(conn):
        card = data.get("loyalty_card") or new_card_number()
        if conn.execute("SELECT 1 FROM customers WHERE loyalty_card = ?", (card,)).fetchone():
            raise Conflict(
                "this loyalty card belongs to another member",
                field="loyalty_card",
                code="card_taken",
            )
        customer_id = new_id()
        stamp = now_iso()
        conn.execute(
            "INSERT INTO customers (customer_id, loyalty_card, first_name, last_name, email, "
            "phone, tier, locale, version, origin, created_at, updated_at) "
            "VALUES (?,?,?,?,?,?,'standard',?,0,'store',?,?)",
            (
                customer_id,
                card,
                data["first_name"],
                data["last_name"],
                data.get("email"),
                data.get("phone"),
                data.get("locale", "fr"),
                stamp,
                stamp,
            ),
        )
        outbox.append(
            conn,
            source,
            "customer.enrolled",
            {
                "customer_id": customer_id,
                "loyalty_card": card,
                "first_name": data["first_name"],
                "last_name": data["last_name"],
                "email": data.get("email"),
                "phone": data.get("phone"),
                "locale": data.get("locale", "fr"),
            },
        )
        row = conn.execute(
            "SELECT * FROM customers WHERE customer_id = ?", (customer_id,)
        ).fetchone()
        return detail(conn, row)


def apply_upserted(conn: sqlite3.Connection, d: Mapping[str, Any]) -> bool:
    """``customer.upserted``: apply only a newer version; an erased person stays erased."""
    row = conn.execute(
        "SELECT version, erased_at FROM customers WHERE customer_id = ?", (d["customer_id"],)
    ).fetchone()
    if row is not None and (row["erased_at"] or int(d["version"]) <= row["version"]):
        return False
    stamp = now_iso()
    # A card may move from one customer to another (merge on the web): free it first.
    conn.execute(
        "UPDATE customers SET loyalty_card = NULL WHERE loyalty_card = ? AND customer_id != ?",
        (d.get("loyalty_card"), d["customer_id"]),
    )
    # 1.1: consents travel with the record; a 1.0 publisher sends none (keep what we had).
    consents = d.get("consents") or {}
    conn.execute(
        "INSERT INTO customers (customer_id, loyalty_card, first_name, last_name, email, phone, "
        "tier, locale, version, origin, created_at, updated_at, consent_email, consent_sms, "
        "consents_updated_at) "
        "VALUES (?,?,?,?,?,?,?,?,?,'web',?,?,?,?,?) ON CONFLICT (customer_id) DO UPDATE SET "
        "loyalty_card=excluded.loyalty_card, first_name=excluded.first_name, "
        "last_name=excluded.last_name, email=excluded.email, phone=excluded.phone, "
        "tier=excluded.tier, locale=excluded.locale, version=excluded.version, "
        "updated_at=excluded.updated_at, "
        "consent_email=COALESCE(excluded.consent_email, customers.consent_email), "
        "consent_sms=COALESCE(excluded.consent_sms, customers.consent_sms), "
        "consents_updated_at=COALESCE(excluded.consents_updated_at, customers.consents_updated_at)",
        (
            d["customer_id"],
            d.get("loyalty_card"),
            d.get("first_name"),
            d.get("last_name"),
            d.get("email"),
            d.get("phone"),
            d.get("tier") or "standard",
            d.get("locale") or "fr",
            int(d["version"]),
            stamp,
            stamp,
            int(consents["email"]) if "email" in consents else None,
            int(consents["sms"]) if "sms" in consents else None,
            consents.get("updated_at"),
        ),
    )
    return True


@dataclass(frozen=True)
class ProfileUpdate:
    """What a member asked to change at the till or the kiosk: only the fields they touched
    (``changes``: ``email``, ``phone``, ``locale``, names, ``consents`` {email, sms})."""

    customer_id: str
    changes: Mapping[str, Any]


def update_profile(
    conn: sqlite3.Connection,
    actor: Actor,
    command: ProfileUpdate,
    *,
    source: str,
    locale: str,
) -> dict[str, Any]:
    """Correct a member's details or consents here and tell the online store
    (``customer.updated`` with the version we had), in one write transaction.

    The store's copy shows the change at once; the online store owns the record and answers
    with a new ``customer.upserted``, which replaces ours: a change made here while the link
    was down never overrides a newer one made on the web (the online store's version decides).
    """
    with write(conn):
        row = find(conn, customer_id=command.customer_id)
        changes = profile_changes(dict(row), command.changes, locale=locale, at=now_iso())
        if changes:
            sets = {k: v for k, v in changes.items() if k != "consents"}
            for channel, value in changes.get("consents", {}).items():
                if channel != "updated_at":
                    sets[f"consent_{channel}"] = int(value)
            if "consents" in changes:
                sets["consents_updated_at"] = changes["consents"]["updated_at"]
            assignments = ", ".join(f"{k} = ?" for k in sets)
            conn.execute(
                f"UPDATE customers SET {assignments}, updated_at = ? "  # noqa: S608 - fixed names
                "WHERE customer_id = ?",
                (*sets.values(), now_iso(), row["customer_id"]),
            )
            outbox.append(
                conn,
                source,
                "customer.updated",
                {
                    "customer_id": row["customer_id"],
                    "base_version": int(row["version"]),
                    "changes": changes,
                },
            )
            audit.record(
                conn,
                actor=actor.name,
                role=actor.role,
                action="customer.updated",
                target=row["customer_id"],
                detail={"fields": sorted(changes)},
            )
        return detail(conn, find(conn, customer_id=row["customer_id"]))


def apply_erased(conn: sqlite3.Connection, d: Mapping[str, Any]) -> bool:
    """``customer.erased`` (GDPR): personal data goes; purchases and points stay, anonymous.

    A row is kept as a tombstone (no personal field) so that an older ``customer.upserted``
    delivered late cannot bring the person back. Every other trace of the person (the
    ``customer.enrolled`` outbox row, stored responses, print data, search indexes) is
    scrubbed in the same transaction (``edge.privacy``).
    """
    stamp = now_iso()
    row = conn.execute(
        "SELECT * FROM customers WHERE customer_id = ?", (d["customer_id"],)
    ).fetchone()
    if row is not None:
        privacy.erase_traces(
            conn,
            privacy.Identity(
                customer_id=row["customer_id"],
                card=row["loyalty_card"],
                email=row["email"],
                phone=row["phone"],
                first_name=row["first_name"],
                last_name=row["last_name"],
            ),
        )
    conn.execute(
        "INSERT INTO customers (customer_id, tier, locale, version, origin, erased_at, "
        "created_at, updated_at) VALUES (?, 'standard', 'fr', 0, 'web', ?, ?, ?) "
        "ON CONFLICT (customer_id) DO UPDATE SET loyalty_card = NULL, first_name = NULL, "
        "last_name = NULL, email = NULL, phone = NULL, erased_at = excluded.erased_at, "
        "updated_at = excluded.updated_at",
        (d["customer_id"], stamp, stamp, stamp),
    )
    return True
