"""The print queue's one entry point for the rest of the edge.

Sales, pickups and the screens call ``enqueue`` inside their own write transaction, so a
receipt is queued if and only if the sale is recorded. The print worker does the rest.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from edge.db import now_iso

DOCUMENTS = ("sale_receipt", "pickup_slip", "handover_receipt", "loyalty_ticket", "test_page")


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
