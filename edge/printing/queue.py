"""The print queue's one entry point for the rest of the edge.

Sales, pickups and the screens call ``enqueue`` inside their own write transaction, so a
receipt is queued if and only if the sale is recorded. The print worker does the rest.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from typing import Any

from edge.errors import Conflict, NotFound
from edge.store.db import now_iso

DOCUMENTS = (
    "sale_receipt",
    "pickup_slip",
    "handover_receipt",
    "loyalty_ticket",
    "test_page",
    "return_receipt",
)


def enqueue(
    conn: sqlite3.Connection,
    *,
    document: str,
    data: dict[str, Any],
    ref: str | None = None,
    locale: str | None = None,
    printer_role: str = "receipts",
    open_drawer: bool = False,
    reprint_of: int | None = None,
    requested_by: str | None = None,
) -> int:
    """Save one print job; the caller holds the write transaction. Returns the job id."""
    if document not in DOCUMENTS:
        raise ValueError(f"unknown document {document!r}")
    if printer_role not in ROLES:
        raise ValueError(f"unknown printer role {printer_role!r} (one of {', '.join(ROLES)})")
    cur = conn.execute(
        "INSERT INTO print_jobs (document, printer_role, ref, locale, data, open_drawer, "
        "reprint_of, requested_by, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
        (
            document,
            printer_role,
            ref,
            locale,
            json.dumps(data, ensure_ascii=False),
            int(open_drawer),
            reprint_of,
            requested_by,
            now_iso(),
        ),
    )
    return int(cur.lastrowid or 0)


# -- reading and acting on the queue (API, CLI, /readyz, metrics) ----------------------------

STATUSES = ("queued", "printing", "waiting", "done", "failed")
ROLES = ("receipts", "pickup_slips", "tickets")


def job_dict(row: sqlite3.Row) -> dict[str, Any]:
    """A job as the API and the CLI show it (its data stays in the database)."""
    return {
        "job_id": row["job_id"],
        "document": row["document"],
        "printer_role": row["printer_role"],
        "printer": row["printer"],
        "ref": row["ref"],
        "locale": row["locale"],
        "status": row["status"],
        "attempts": row["attempts"],
        "last_error": row["last_error"],
        "next_try_at": row["next_try_at"],
        "open_drawer": bool(row["open_drawer"]),
        "reprint_of": row["reprint_of"],
        "requested_by": row["requested_by"],
        "interrupted": bool(row["interrupted"]),
        "created_at": row["created_at"],
        "done_at": row["done_at"],
    }


def get_job(conn: sqlite3.Connection, job_id: int) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM print_jobs WHERE job_id = ?", (job_id,)
    ).fetchone()
    return row


def list_jobs(
    conn: sqlite3.Connection, *, status: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Newest first; ``status`` filters (open jobs are what the staff screen watches)."""
    rows = conn.execute(
        "SELECT * FROM print_jobs WHERE (? IS NULL OR status = ?) ORDER BY job_id DESC LIMIT ?",
        (status, status, limit),
    ).fetchall()
    return [job_dict(r) for r in rows]


def retry(conn: sqlite3.Connection, job_id: int) -> dict[str, Any]:
    """Send a waiting or failed job now; the caller holds the write transaction.

    A done job is not printed again this way: that is a reprint, an explicit new job."""
    row = get_job(conn, job_id)
    if row is None:
        raise NotFound(f"no print job {job_id}", field="job_id")
    if row["status"] == "done":
        raise Conflict(
            f"print job {job_id} is already printed; ask for a reprint instead",
            code="already_printed",
        )
    if row["status"] == "printing":
        raise Conflict(f"print job {job_id} is being printed now", code="printing")
    conn.execute(
        "UPDATE print_jobs SET status = 'queued', next_try_at = NULL WHERE job_id = ?", (job_id,)
    )
    out = get_job(conn, job_id)
    assert out is not None
    return job_dict(out)


def _age(iso: str | None) -> float | None:
    if not iso:
        return None
    t = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return max(0.0, (datetime.now(UTC) - t).total_seconds())


def queue_status(conn: sqlite3.Connection) -> dict[str, Any]:
    """Counts per status, the oldest open job's age, and the printers that fail."""
    counts = dict.fromkeys(STATUSES, 0)
    for r in conn.execute("SELECT status, COUNT(*) FROM print_jobs GROUP BY status"):
        counts[r[0]] = r[1]
    oldest = conn.execute(
        "SELECT MIN(created_at) FROM print_jobs WHERE status IN ('queued', 'printing', 'waiting')"
    ).fetchone()[0]
    failing = [
        {"name": r["name"], "last_error": r["last_error"], "since": r["last_ok_at"]}
        for r in conn.execute("SELECT * FROM printer_state WHERE ok = 0 ORDER BY name")
    ]
    return {
        "jobs": counts,
        "open": counts["queued"] + counts["printing"] + counts["waiting"],
        "oldest_open_age_seconds": _age(oldest),
        "printers_failing": failing,
    }


def printer_states(conn: sqlite3.Connection) -> dict[str, dict[str, Any]]:
    return {r["name"]: dict(r) for r in conn.execute("SELECT * FROM printer_state")}
