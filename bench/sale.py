"""Phase: store sales, and how long each one takes to reach the broker.

POS terminals record sales (1 to 4 lines, most with a member) with 4 tills, on the edge and
then on the bare app doing the same SQL. For the edge, the time that matters to the online
store is also measured: from the sale's commit (``outbox.created_at``) to the broker's PUBACK
of its ``sale.recorded`` (``outbox.sent_at``, written by the sync worker).
"""

from __future__ import annotations

import sqlite3
import time
from datetime import datetime
from typing import Any

from bench import load
from bench.console import say
from bench.edge_api import db, outbox
from bench.http_runs import http
from bench.session import Session

SOURCE = "/stores/S001"


def measure(s: Session, tool: str) -> dict[str, Any]:
    """The ``sale`` section: each side after a warm-up, then ``to_broker`` for the sales the
    edge recorded in its measured run. The baseline's outbox rows are deleted first: they
    would otherwise be published as if they were the store's."""
    assert s.edge is not None and s.baseline is not None
    cfg = s.cfg
    out: dict[str, Any] = {}
    conn = db.connect(s.work)
    try:
        last = outbox.last_sequence(conn, SOURCE)
        sides = (("edge", s.edge_port, s.edge), ("baseline", s.base_port, s.baseline))
        for name, port, server in sides:
            say(f"store sale, {cfg.tills} tills, {cfg.seconds:.0f} s: {name}")
            http(s, tool, "sale", port, cfg.warmup, clients=cfg.tills)
            if name == "edge":
                last = outbox.last_sequence(conn, SOURCE)
            out[name] = http(s, tool, "sale", port, cfg.seconds, server, clients=cfg.tills)
        with db.write(conn):
            conn.execute("DELETE FROM outbox WHERE source = '/baseline'")
            conn.execute("DELETE FROM outbox_streams WHERE source = '/baseline'")
        out["to_broker"] = to_broker(s, conn, SOURCE, last)
    finally:
        conn.close()
    return out


def to_broker(s: Session, conn: sqlite3.Connection, source: str, after: int) -> dict[str, Any]:
    """created_at (the sale's commit) to sent_at (set once the broker's PUBACK arrived), for
    the ``sale.recorded`` events of ``source`` after sequence ``after``; it waits (up to 2
    minutes) for the sync worker to have sent them all."""
    if not s.sync:
        return {"note": "not measured: the sync worker (sync.worker) is not on this branch"}
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        left = conn.execute(
            "SELECT COUNT(*) FROM outbox WHERE source = ? AND sequence > ? AND sent_at IS NULL",
            (source, after),
        ).fetchone()[0]
        if left == 0:
            break
        time.sleep(0.2)
    rows = conn.execute(
        "SELECT created_at, sent_at FROM outbox WHERE source = ? AND sequence > ? "
        "AND type = 'sale.recorded'",
        (source, after),
    ).fetchall()
    delays = [ms_between(r[0], r[1]) for r in rows if r[1]]
    return {
        "events": len(rows),
        "acknowledged": len(delays),
        "p50_ms": pct(delays, 50),
        "p99_ms": pct(delays, 99),
        "max_ms": max(delays) if delays else None,
        "how": "outbox.created_at (in the sale's transaction) to outbox.sent_at (written "
        "by the sync worker after the broker's PUBACK), millisecond timestamps",
    }


def ms_between(a: str, b: str) -> float:
    """Milliseconds from one of the outbox's ISO timestamps (``…Z``) to another."""
    fa = datetime.fromisoformat(a.replace("Z", "+00:00"))
    fb = datetime.fromisoformat(b.replace("Z", "+00:00"))
    return (fb - fa).total_seconds() * 1000


def pct(values: list[float], q: float) -> float | None:
    """The ``q``-th percentile (None for no values), by the same rank as the HTTP latencies
    of ``bench.load``, so that the two read alike."""
    return load.percentile(sorted(values), q) if values else None
