"""The fleet view: every store of the chain as the online store sees it, for retail IT.

It reads only what the online store already has: each store's retained status (kept here by
``record_status`` as it arrives, contract 1.1's optional fields included), the up-streams it
applied, the down-streams it wrote, its dead letters. It never asks a store box anything: a
box that is cut off cannot answer, and that is exactly the box retail IT is looking for.

- link state: the store's status says online, and it is recent (an edge re-publishes at least
  every 60 s; a status older than ``STALE_AFTER`` means the link is gone without its will);
- behind: the online store has not applied everything the store announced, or holds events
  after a hole, or the store has not applied everything we wrote for it or for the chain, or
  it still has events to send;
- filters: ``offline`` for more than ``minutes`` (10 by default), ``behind``.
"""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, abort, render_template, request

from online_store import streams
from sync import contract

STALE_AFTER = 150.0  # seconds without a status: the same judgement as the edge's (CONTRACT.md)
RECENT_EVENTS = 50


def record_status(
    conn: sqlite3.Connection, store_id: str, status: dict[str, Any], now: float
) -> None:
    """Keep a store's latest status (caller holds the write lock); note when it flipped.

    A last will carries only the 1.0 fields (it was set at connect): the optional fields of
    the previous status (versions, last sale...) are kept under it, the last known values.
    """
    online = 1 if status.get("online") else 0
    before = conn.execute(
        "SELECT payload FROM store_status WHERE store_id = ?", (store_id,)
    ).fetchone()
    if before is not None:
        status = json.loads(before[0]) | status
    conn.execute(
        "INSERT INTO store_status (store_id, online, status_time, received_at, changed_at, "
        "payload) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (store_id) DO UPDATE SET "
        "changed_at = CASE WHEN store_status.online = excluded.online "
        "THEN store_status.changed_at ELSE excluded.changed_at END, "
        "online = excluded.online, status_time = excluded.status_time, "
        "received_at = excluded.received_at, payload = excluded.payload",
        (store_id, online, str(status.get("time")), now, now, json.dumps(status)),
    )


def count_duplicate(conn: sqlite3.Connection, store_id: str) -> None:
    """One more duplicate up-event of ``store_id`` dropped (caller holds the write lock)."""
    conn.execute(
        "INSERT INTO up_duplicates (store_id, duplicates) VALUES (?, 1) "
        "ON CONFLICT (store_id) DO UPDATE SET duplicates = up_duplicates.duplicates + 1",
        (store_id,),
    )


def _epoch(iso: str | None) -> float | None:
    if not iso:
        return None
    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def stores(conn: sqlite3.Connection, store_ids: list[str], now: float) -> list[dict[str, Any]]:
    """One row per store: link, sequences both ways, backlogs, dead letters, versions."""
    status = {r["store_id"]: r for r in conn.execute("SELECT * FROM store_status")}
    up = {r["store_id"]: r for r in conn.execute("SELECT * FROM up_streams")}
    dups = dict(conn.execute("SELECT store_id, duplicates FROM up_duplicates").fetchall())
    held = dict(
        conn.execute("SELECT store_id, COUNT(*) FROM pending_up GROUP BY store_id").fetchall()
    )
    down = dict(conn.execute("SELECT source, last_sequence FROM streams").fetchall())
    chain_last = int(down.get(streams.CHAIN, 0))
    dead: dict[str, int] = {}
    for topic, n in conn.execute("SELECT topic, COUNT(*) FROM dead_letters GROUP BY topic"):
        parts = str(topic).split("/stores/", 1)
        if len(parts) == 2:
            sid = parts[1].split("/", 1)[0]
            dead[sid] = dead.get(sid, 0) + int(n)
    last_sale = dict(
        conn.execute(
            "SELECT store_id, MAX(occurred_at) FROM purchases WHERE channel = 'store' "
            "GROUP BY store_id"
        ).fetchall()
    )
    rows = []
    for sid in store_ids:
        st, u = status.get(sid), up.get(sid)
        payload: dict[str, Any] = json.loads(st["payload"]) if st else {}
        heard = float(st["received_at"]) if st else None
        online = bool(st and st["online"] and heard is not None and now - heard <= STALE_AFTER)
        since = float(st["changed_at"]) if st and st["online"] else heard
        applied_up = int(u["last_sequence"]) if u else 0
        announced = max(
            int(u["announced_sequence"]) if u else 0, int(payload.get("last_sequence") or 0)
        )
        store_down = int(down.get(contract.store_down_source(sid), 0))
        backlog_down = None
        if "applied_store" in payload:
            backlog_down = max(0, store_down - int(payload["applied_store"])) + max(
                0, chain_last - int(payload.get("applied_chain") or 0)
            )
        backlog_up = max(0, announced - applied_up) + int(payload.get("backlog_up") or 0)
        row = {
            "store_id": sid,
            "online": online,
            "known": st is not None,
            "offline_for": None if online or since is None else now - since,
            "status_age": None if heard is None else now - heard,
            "up_applied": applied_up,
            "up_announced": announced,
            "up_held": int(held.get(sid, 0)),
            "down_last": store_down,
            "applied_store": payload.get("applied_store"),
            "applied_chain": payload.get("applied_chain"),
            "backlog_up": backlog_up,
            "backlog_down": backlog_down,
            "dead_letters": dead.get(sid, 0),
            "store_dead_letters": payload.get("dead_letters"),
            "duplicates": int(dups.get(sid, 0)),
            "last_sale_at": payload.get("last_sale_at") or last_sale.get(sid),
            "software_version": payload.get("software_version"),
            "contract_version": payload.get("contract_version"),
        }
        row["behind"] = bool(backlog_up or row["up_held"] or backlog_down)
        rows.append(row)
    return rows


def select(rows: list[dict[str, Any]], which: str, minutes: float) -> list[dict[str, Any]]:
    """The filter of the page: ``all``, ``offline`` (longer than ``minutes``), ``behind``."""
    if which == "offline":
        return [
            r
            for r in rows
            if not r["online"] and (r["offline_for"] is None or r["offline_for"] >= minutes * 60)
        ]
    if which == "behind":
        return [r for r in rows if r["behind"]]
    return rows


def recent(conn: sqlite3.Connection, store_id: str, limit: int = RECENT_EVENTS) -> dict[str, Any]:
    """A store's recent events both ways, and its dead letters."""
    up = conn.execute(
        "SELECT sequence, id, type, received_at FROM received WHERE source = ? "
        "ORDER BY sequence DESC LIMIT ?",
        (contract.up_source(store_id), limit),
    ).fetchall()
    down = conn.execute(
        "SELECT sequence, id, type, time, published_at FROM events WHERE source = ? "
        "ORDER BY sequence DESC LIMIT ?",
        (contract.store_down_source(store_id), limit),
    ).fetchall()
    dead = conn.execute(
        "SELECT topic, reason, received_at FROM dead_letters WHERE topic LIKE ? "
        "ORDER BY id DESC LIMIT ?",
        (f"%/stores/{store_id}/%", limit),
    ).fetchall()
    return {
        "up": [dict(r) for r in up],
        "down": [dict(r) for r in down],
        "dead": [dict(r) for r in dead],
    }


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    s = int(seconds)
    if s < 120:
        return f"{s} s"
    if s < 7200:
        return f"{s // 60} min"
    return f"{s // 3600} h {s % 3600 // 60:02d}"


def blueprint(store: Any) -> Blueprint:
    """``/fleet`` (the list, ``?show=offline&minutes=10`` or ``?show=behind``; ``partial=1``
    returns the table alone, which the page fetches every few seconds) and
    ``/fleet/<store_id>`` (one store and its recent events)."""
    bp = Blueprint("fleet", __name__)

    @bp.get("/fleet")
    def fleet() -> str:
        which = request.args.get("show", "all")
        if which not in ("all", "offline", "behind"):
            abort(400, "show must be all, offline or behind")
        try:
            minutes = float(request.args.get("minutes", "10"))
        except ValueError:
            abort(400, "minutes must be a number")
        if not 0 <= minutes <= 10_000:
            abort(400, "minutes must be 0 to 10000")
        now = time.time()
        with store.connection() as conn:
            rows = stores(conn, store.stores, now)
        shown = select(rows, which, minutes)
        summary = {
            "stores": len(rows),
            "online": sum(r["online"] for r in rows),
            "behind": sum(r["behind"] for r in rows),
            "dead_letters": sum(r["dead_letters"] for r in rows),
        }
        template = "_fleet_table.html" if request.args.get("partial") else "fleet.html"
        return render_template(
            template,
            rows=shown,
            summary=summary,
            show=which,
            minutes=minutes,
            age=_age,
            now=datetime.now(UTC).strftime("%H:%M:%S"),
        )

    @bp.get("/fleet/<store_id>")
    def fleet_store(store_id: str) -> str:
        if store_id not in store.stores:
            abort(404)
        now = time.time()
        with store.connection() as conn:
            row = stores(conn, [store_id], now)[0]
            events = recent(conn, store_id)
        return render_template("fleet_store.html", row=row, events=events, age=_age)

    return bp
