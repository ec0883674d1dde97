"""Screen sessions for API tests without a browser: what a PIN login or a kiosk pairing puts
in the session cookie (``edge.web.sessions``), written through Flask's test client."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from flask_wtf.csrf import generate_csrf


def staff_session(
    app: Any, client: Any, conn: sqlite3.Connection, staff_id: str, screen: str = "staff"
) -> dict[str, str]:
    """Log ``staff_id`` in on ``screen``; returns the headers a screen's API call sends."""
    epoch = conn.execute(
        "SELECT session_epoch FROM staff WHERE staff_id = ?", (staff_id,)
    ).fetchone()[0]
    now = time.time()
    slot = {"s": staff_id, "v": epoch, "at": now, "seen": now}
    return _with_slot(app, client, screen, slot)


def kiosk_session(
    app: Any, client: Any, conn: sqlite3.Connection, token_name: str
) -> dict[str, str]:
    epoch = conn.execute(
        "SELECT session_epoch FROM api_tokens WHERE name = ?", (token_name,)
    ).fetchone()[0]
    return _with_slot(app, client, "kiosk", {"t": token_name, "v": epoch, "at": time.time()})


def _with_slot(app: Any, client: Any, screen: str, slot: dict[str, Any]) -> dict[str, str]:
    with app.test_request_context():
        from flask import session

        token = generate_csrf()
        raw = session["csrf_token"]
    with client.session_transaction() as sess:
        slots = dict(sess.get("screens") or {})
        slots[screen] = slot
        sess["screens"] = slots
        sess.setdefault("csrf_token", raw)
        if sess["csrf_token"] != raw:
            sess["csrf_token"] = raw
    return {"X-CSRFToken": token, "X-Screen": screen}
