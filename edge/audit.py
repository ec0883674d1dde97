"""The audit log: who did what and when, for every staff action. Append-only (the table's
triggers refuse updates and deletes), written in the transaction of the action itself."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from edge.db import now_iso


def record(
    conn: sqlite3.Connection,
    *,
    actor: str,
    role: str | None,
    action: str,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    conn.execute(
        "INSERT INTO audit_log (at, actor, role, action, target, detail) VALUES (?,?,?,?,?,?)",
        (now_iso(), actor, role, action, target, json.dumps(detail or {}, ensure_ascii=False)),
    )


def entries(
    conn: sqlite3.Connection, *, limit: int = 100, before: int | None = None
) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT * FROM audit_log WHERE (? IS NULL OR audit_id < ?) ORDER BY audit_id DESC LIMIT ?",
        (before, before, limit),
    ).fetchall()
    return [dict(r) | {"detail": json.loads(r["detail"] or "{}")} for r in rows]
