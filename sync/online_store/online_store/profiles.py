"""Merging a store's ``customer.updated`` into the one customer record (contract 1.1).

The online store owns the record. A store sends what a member changed at the till or the
kiosk with the version it had (``base_version``); here each changed field is kept unless the
web changed that same field after ``base_version`` (``consents.field_versions``): an offline
change at the till never overrides a newer web change, and does not lose to an unrelated one.
What was kept makes a new version, published as ``customer.upserted``; the store applies it
like any other. Runs inside the caller's write transaction (the consumer's).
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

from online_store import consents, shop, streams
from online_store.db import now_iso

log = logging.getLogger("passerelle.online_store")
FIELDS = ("email", "phone", "locale", "first_name", "last_name")


def merge(
    base_version: int, changes: dict[str, Any], versions: dict[str, int]
) -> tuple[dict[str, Any], dict[str, bool], list[str]]:
    """Pure: which of a store's changes to keep → (fields, consents, dropped field names)."""
    fields: dict[str, Any] = {}
    wanted: dict[str, bool] = {}
    dropped: list[str] = []
    for name in FIELDS:
        if name in changes:
            if versions.get(name, 0) > base_version:
                dropped.append(name)
            else:
                fields[name] = changes[name]
    for channel, value in (changes.get("consents") or {}).items():
        if channel not in consents.CHANNELS:
            continue  # updated_at travels with them
        if versions.get(f"consents.{channel}", 0) > base_version:
            dropped.append(f"consents.{channel}")
        else:
            wanted[channel] = bool(value)
    return fields, wanted, dropped


def apply_updated(conn: sqlite3.Connection, store_id: str, d: dict[str, Any]) -> bool:
    """``customer.updated`` from a store: merge, then publish the new version (if anything
    was kept); False when every change lost to a newer web change."""
    row = shop.customer(conn, d["customer_id"])
    changes = d["changes"]
    fields, wanted, dropped = merge(
        int(d["base_version"]), changes, consents.field_versions(conn, row["customer_id"])
    )
    if dropped:
        log.info(
            "customer.updated from %s on version %s: %s changed on the web since, kept",
            store_id,
            d["base_version"],
            ", ".join(dropped),
        )
    current = consents.of(conn, row["customer_id"])
    wanted = {c: v for c, v in wanted.items() if current[c] != v}
    fields = {k: v for k, v in fields.items() if row[k] != v}
    if not fields and not wanted:
        return False
    version = int(row["version"]) + 1
    sets = ", ".join(f"{k} = ?" for k in fields)
    conn.execute(
        f"UPDATE customers SET version = ?{', ' + sets if sets else ''} "  # noqa: S608
        "WHERE customer_id = ?",
        (version, *fields.values(), row["customer_id"]),
    )
    if wanted:
        at = (changes.get("consents") or {}).get("updated_at") or now_iso()
        consents.store(conn, row["customer_id"], wanted, at)
    consents.touch(conn, row["customer_id"], [*fields, *(f"consents.{c}" for c in wanted)], version)
    publish(conn, row["customer_id"])
    return True


def publish(conn: sqlite3.Connection, customer_id: str) -> dict[str, Any]:
    """Announce the customer's current record (after a change the caller made)."""
    data = shop._customer_data(shop.customer(conn, customer_id), conn)
    streams.append(conn, streams.CHAIN, "customer.upserted", data)
    return data


def set_consents(
    conn: sqlite3.Connection, customer_id: str, wanted: dict[str, bool]
) -> dict[str, Any] | None:
    """A consent change made on the web (landing page, account page, STOP): a new version."""
    row = shop.customer(conn, customer_id)
    current = consents.of(conn, customer_id)
    wanted = {c: v for c, v in wanted.items() if c in consents.CHANNELS and current[c] != v}
    if not wanted:
        return None
    version = int(row["version"]) + 1
    conn.execute("UPDATE customers SET version = ? WHERE customer_id = ?", (version, customer_id))
    consents.store(conn, customer_id, wanted, now_iso())
    consents.touch(conn, customer_id, [f"consents.{c}" for c in wanted], version)
    return publish(conn, customer_id)
