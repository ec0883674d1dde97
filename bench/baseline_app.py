"""The bare stack, for the baselines: a minimal Flask app doing the same SQL as Passerelle.

It answers the same URLs as the edge, so the same load scripts drive both, and it runs under
the same gunicorn command (workers, threads, worker class, access log). It keeps what any
minimal Flask + SQLite app has (``jsonify``, a view per URL) and leaves out everything
Passerelle adds on top: authentication, request validation, the operation wrapper, rate
limits, metrics, masking, the loyalty rules.

It keeps **one SQLite connection per server thread**, opened on its first request and reused
by every later request of that thread, as Passerelle does (``edge.web.context.get_db``). An
earlier version opened a new connection per request (flaskr's ``get_db`` on ``g``), which
costs about as much as the lookup's query itself and so flattered the product: a fair
baseline pays for the same things the product pays for and nothing more.

The sale does the same reads and writes (catalogue prices, member, balance, purchase, lines,
sale, ledger entry, outbox rows, idempotency record) in one ``BEGIN IMMEDIATE`` transaction
with ``synchronous=FULL`` (the same durability).

The database is named by ``BENCH_DB_PATH``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Flask, jsonify, request

app = Flask("baseline")
DB_PATH = os.environ.get("BENCH_DB_PATH", "dataset.db")
_threads = threading.local()


def get_db() -> sqlite3.Connection:
    """The server thread's own connection, opened once and kept (the product does the same):
    per-request opening would charge the baseline a cost the product does not pay."""
    conn: sqlite3.Connection | None = getattr(_threads, "conn", None)
    if conn is None:
        conn = sqlite3.connect(DB_PATH, isolation_level=None, timeout=10)
        conn.row_factory = sqlite3.Row
        _threads.conn = conn
    return conn


def now() -> str:
    """The edge's timestamp format, so that both write the same bytes."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@app.get("/api/v1/customers/lookup")
def lookup() -> Any:
    """The member by card with their balance: the same reads as the edge's lookup."""
    conn = get_db()
    row = conn.execute(
        "SELECT * FROM customers WHERE loyalty_card = ? AND erased_at IS NULL",
        (request.args.get("card", ""),),
    ).fetchone()
    if row is None:
        return jsonify({"error": "not found"}), 404
    balance = conn.execute(
        "SELECT COALESCE(SUM(points), 0) FROM loyalty_entries WHERE customer_id = ?",
        (row["customer_id"],),
    ).fetchone()[0]
    return jsonify(
        {
            "customer_id": row["customer_id"],
            "first_name": row["first_name"],
            "last_name": row["last_name"],
            "tier": row["tier"],
            "points_balance": balance,
            "locale": row["locale"],
        }
    )


@app.get("/api/v1/customers/<customer_id>/history")
def history(customer_id: str) -> Any:
    """The first page of a member's purchases with their lines: the edge's same query."""
    conn = get_db()
    rows = conn.execute(
        "SELECT * FROM purchases WHERE customer_id = ? "
        "ORDER BY occurred_at DESC, purchase_id DESC LIMIT 21",
        (customer_id,),
    ).fetchall()
    rows = rows[:20]
    lines: dict[str, list[dict[str, Any]]] = {r["purchase_id"]: [] for r in rows}
    if rows:
        for ln in conn.execute(
            "SELECT purchase_id, sku, name, qty, unit_price FROM purchase_lines "
            f"WHERE purchase_id IN ({','.join('?' * len(rows))}) ORDER BY purchase_id, line_no",
            list(lines),
        ):
            lines[ln["purchase_id"]].append(
                {"sku": ln["sku"], "name": ln["name"], "qty": ln["qty"], "unit_price": ln[4]}
            )
    return jsonify(
        {
            "items": [
                {
                    "purchase_id": r["purchase_id"],
                    "channel": r["channel"],
                    "store_id": r["store_id"],
                    "occurred_at": r["occurred_at"],
                    "currency": r["currency"],
                    "total": r["total"],
                    "lines": lines[r["purchase_id"]],
                    "points_earned": r["points_earned"],
                }
                for r in rows
            ]
        }
    )


@app.post("/api/v1/sales")
def sale() -> Any:
    """A sale with the same reads and writes as the edge's, in one write transaction."""
    body = request.get_json()
    conn = get_db()
    conn.execute("PRAGMA synchronous=FULL")
    sale_id, at = str(uuid.uuid4()), now()
    conn.execute("BEGIN IMMEDIATE")
    try:
        lines = []
        for ln in body["lines"]:
            p = conn.execute(
                "SELECT name, price FROM products WHERE sku = ? AND active = 1", (ln["sku"],)
            ).fetchone()
            lines.append((ln["sku"], p["name"], ln["qty"], p["price"]))
        total = sum(qty * price for _sku, _name, qty, price in lines)
        cid = body.get("customer_id")
        if cid:
            conn.execute(
                "SELECT * FROM customers WHERE customer_id = ? AND erased_at IS NULL", (cid,)
            ).fetchone()
            conn.execute(
                "SELECT COALESCE(SUM(points), 0) FROM loyalty_entries WHERE customer_id = ?",
                (cid,),
            ).fetchone()
        points = total // 100 if cid else 0
        conn.execute(
            "INSERT INTO purchases (purchase_id, customer_id, channel, store_id, occurred_at, "
            "currency, total, points_earned, origin, recorded_at) "
            "VALUES (?,?,'store','S001',?,'EUR',?,?,'local',?)",
            (sale_id, cid, at, total, points, at),
        )
        conn.executemany(
            "INSERT INTO purchase_lines (purchase_id, line_no, sku, name, qty, unit_price) "
            "VALUES (?,?,?,?,?,?)",
            [(sale_id, i, *ln) for i, ln in enumerate(lines, start=1)],
        )
        conn.execute(
            "INSERT INTO sales (sale_id, terminal_id, customer_id, occurred_at, currency, "
            "subtotal, total, points_earned) VALUES (?,?,?,?,'EUR',?,?,?)",
            (sale_id, body["terminal_id"], cid, at, total, total, points),
        )
        events = [("sale.recorded", {"sale_id": sale_id, "total": total, "lines": lines})]
        if points:
            entry_id = str(uuid.uuid4())
            conn.execute(
                "INSERT INTO loyalty_entries (entry_id, customer_id, points, reason, ref, "
                "channel, store_id, occurred_at, origin, recorded_at) "
                "VALUES (?,?,?,'purchase',?,'store','S001',?,'local',?)",
                (entry_id, cid, points, sale_id, at, at),
            )
            events.append(("loyalty.entry", {"entry_id": entry_id, "points": points}))
        for type_, data in events:
            seq = conn.execute(
                "INSERT INTO outbox_streams (source, last_sequence) VALUES ('/baseline', 1) "
                "ON CONFLICT (source) DO UPDATE SET last_sequence = last_sequence + 1 "
                "RETURNING last_sequence"
            ).fetchone()[0]
            conn.execute(
                "INSERT INTO outbox (source, sequence, id, type, time, data, created_at) "
                "VALUES ('/baseline', ?, ?, ?, ?, ?, ?)",
                (seq, str(uuid.uuid4()), type_, at, json.dumps(data), at),
            )
        conn.execute(
            "INSERT INTO idempotency_keys (scope, key, request_hash, status, response, "
            "created_at) VALUES ('baseline', ?, '', 201, '{}', ?)",
            (request.headers.get("Idempotency-Key", sale_id), at),
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return jsonify({"sale_id": sale_id, "total": total}), 201


@app.get("/healthz")
def healthz() -> Any:
    """What the harness polls to know the baseline is up (its 'cold start')."""
    return jsonify({"status": "ok"})
