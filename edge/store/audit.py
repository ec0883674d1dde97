"""The audit log: who did what and when, for every staff action (token creation, points
redemption, handover, cancellation, unlock, reprint). Append-only (the table's triggers
refuse updates and deletes), written in the transaction of the action itself, readable by
the admin role only (``GET /api/v1/audit``)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from edge.store.db import now_iso

# Keys that would put a person's data into a log nobody may ever erase: dropped from details.
PERSONAL_KEYS = frozenset(
    {"loyalty_card", "card", "first_name", "last_name", "customer_name", "email", "phone"}
)


def _without_personal(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_personal(v) for k, v in value.items() if k not in PERSONAL_KEYS}
    if isinstance(value, list):
        return [_without_personal(v) for v in value]
    return value


def record(
    conn: sqlite3.Connection,
    *,
    actor: str,
    role: str | None,
    action: str,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one entry. The log is append-only, so it can never be scrubbed when a customer
    is erased: details carry ids and amounts, and personal fields are dropped here."""
    detail = _without_personal(detail or {})
    conn.execute(
        "INSERT INTO audit_log (at, actor, role, action, target, detail) VALUES (?,?,?,?,?,?)",
        (now_iso(), actor, role, action, target, json.dumps(detail, ensure_ascii=False)),
    )


def entries(
    conn: sqlite3.Connection, *, limit: int = 100, before: int | None = None
) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT * FROM audit_log WHERE (? IS NULL OR audit_id < ?) ORDER BY audit_id DESC LIMIT ?",
        (before, before, limit),
    ).fetchall()
    return [dict(r) | {"detail": json.loads(r["detail"] or "{}")} for r in rows]
