"""The end of a chain run: the drain (until every event is where it belongs) and the counts
per store (sent, received, applied, duplicates, lost, applied twice, lags), saved as JSON.
"""

from __future__ import annotations

import json
import random
import sqlite3
import time
from pathlib import Path

from bench.chain import edges
from bench.chain.parts import Loop, OnlineStoreProcs, RunResult, Sampler
from bench.chain.simstore import SimStore
from sync import contract


def _done(
    sims: list[SimStore], real: list[edges.RealEdge], conn: sqlite3.Connection
) -> tuple[bool, int]:
    """Everything sent was applied in order, and every store has every down-event."""
    up = dict(conn.execute("SELECT store_id, last_sequence FROM up_streams").fetchall())
    down = dict(conn.execute("SELECT source, last_sequence FROM streams").fetchall())
    chain = int(down.get(contract.CHAIN_SOURCE, 0))
    missing = 0
    for s in sims:
        missing += max(0, s.counts.sent - int(up.get(s.store_id, 0)))
        mine = int(down.get(contract.store_down_source(s.store_id), 0))
        missing += max(0, mine - s.down_last.get(contract.store_down_source(s.store_id), 0))
        missing += max(0, chain - s.down_last.get(contract.CHAIN_SOURCE, 0))
    for e in real:
        st = e.state()
        missing += max(0, st["sent"] - int(up.get(e.store_id, 0)))
        mine = int(down.get(contract.store_down_source(e.store_id), 0))
        missing += max(0, mine - st["applied_store"]) + max(0, chain - st["applied_chain"])
    return missing == 0, missing


def drain(
    sims: list[SimStore],
    real: list[edges.RealEdge],
    online: OnlineStoreProcs,
    conn: sqlite3.Connection,
    timeout: float,
    loop: Loop,
    sampler: Sampler,
    pids: dict[str, int],
    result: RunResult,
    t0: float,
) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ok, missing = _done(sims, real, conn)
        cpu, rss = sampler.measure(pids)
        result.samples.append(
            {
                "t": time.time() - t0,
                "applied_up": conn.execute("SELECT COUNT(*) FROM received").fetchone()[0],
                "published_down": conn.execute(
                    "SELECT COUNT(*) FROM events WHERE published_at IS NOT NULL"
                ).fetchone()[0],
                "cpu": cpu,
                "rss": rss,
                "connected": sum(s.connected for s in sims),
                "missing": missing,
            }
        )
        if ok:
            return True
        time.sleep(1.0)
    return False


def count(
    result: RunResult,
    sims: list[SimStore],
    real: list[edges.RealEdge],
    online: OnlineStoreProcs,
    conn: sqlite3.Connection,
) -> None:
    """Per store: sent, received, applied, duplicates; lost and doubled; the lags."""
    conn.row_factory = sqlite3.Row
    received: dict[str, dict[int, tuple[str, str]]] = {}
    for r in conn.execute("SELECT source, id, sequence, received_at FROM received"):
        received.setdefault(r["source"].rsplit("/", 1)[1], {})[int(r["sequence"])] = (
            r["id"],
            r["received_at"],
        )
    up = {r["store_id"]: r for r in conn.execute("SELECT * FROM up_streams")}
    dups = dict(conn.execute("SELECT store_id, duplicates FROM up_duplicates").fetchall())
    doubled_purchases = conn.execute(
        "SELECT COUNT(*) FROM (SELECT json_extract(data, '$.purchase_id') p FROM events "
        "WHERE type = 'purchase.recorded' GROUP BY p HAVING COUNT(*) > 1)"
    ).fetchone()[0]
    orders_per_store = dict(
        conn.execute("SELECT store_id, COUNT(*) FROM orders GROUP BY store_id").fetchall()
    )
    dead = conn.execute("SELECT COUNT(*) FROM dead_letters").fetchone()[0]
    from bench.chain.downstream import _epoch

    for s in sims:
        got = received.get(s.store_id, {})
        lost = sum(1 for seq in range(1, s.counts.sent + 1) if seq not in got)
        for seq, (_, at) in got.items():
            created = s.counts.created_at.get(seq)
            if created is not None:
                result.up_lags.append(_epoch(at) - created)
        result.order_lags += s.counts.order_lag
        result.chain_lags += s.counts.down_lag
        result.reconnects += [b - a for a, b in s.counts.reconnects]
        result.per_store.append(
            {
                "store": s.store_id,
                "kind": "simulated",
                "sent": s.counts.sent,
                "received": len(got),
                "applied": int(up[s.store_id]["last_sequence"]) if s.store_id in up else 0,
                "duplicates_suppressed": int(dups.get(s.store_id, 0)),
                "lost": lost,
                "applied_twice": 0,
                "republished": s.counts.republished,
                "orders_placed": int(orders_per_store.get(s.store_id, 0)),
                "orders_received": s.counts.orders,
                "down_duplicates_suppressed": s.counts.down_duplicates,
                "down_backfilled": s.counts.backfilled,
                "sessions_lost": s.counts.sessions_lost,
            }
        )
    for e in real:
        st = e.state()
        got = received.get(e.store_id, {})
        ids = e.outbox_ids()
        lost = sum(1 for seq, _id in ids.items() if got.get(seq, ("",))[0] != _id)
        result.order_lags += e.order_lags(conn)
        result.per_store.append(
            {
                "store": e.store_id,
                "kind": "real edge",
                "sent": st["sent"],
                "received": len(got),
                "applied": int(up[e.store_id]["last_sequence"]) if e.store_id in up else 0,
                "duplicates_suppressed": int(dups.get(e.store_id, 0)),
                "lost": lost,
                "applied_twice": st["applied_twice"],
                "republished": 0,
                "orders_placed": int(orders_per_store.get(e.store_id, 0)),
                "orders_received": st["orders"],
                "down_duplicates_suppressed": st["inbox_duplicates"],
                "down_backfilled": st["backfilled"],
                "sessions_lost": 0,
            }
        )
    rows = result.per_store
    result.totals = {
        "stores": len(rows),
        "sent": sum(r["sent"] for r in rows),
        "received": sum(r["received"] for r in rows),
        "applied": sum(r["applied"] for r in rows),
        "duplicates_suppressed": sum(r["duplicates_suppressed"] for r in rows),
        "lost": sum(r["lost"] for r in rows),
        "applied_twice": sum(r["applied_twice"] for r in rows) + int(doubled_purchases),
        "orders_placed": sum(r["orders_placed"] for r in rows),
        "orders_received": sum(r["orders_received"] for r in rows),
        "orders_lost": sum(max(0, r["orders_placed"] - r["orders_received"]) for r in rows),
        "down_duplicates_suppressed": sum(r["down_duplicates_suppressed"] or 0 for r in rows),
        "down_backfilled": sum(r["down_backfilled"] for r in rows),
        "dead_letters": int(dead),
        "chain_events": int(
            conn.execute(
                "SELECT COALESCE(MAX(last_sequence), 0) FROM streams WHERE source = ?",
                (contract.CHAIN_SOURCE,),
            ).fetchone()[0]
        ),
    }


KEEP_LAGS = 20_000


def save(result: RunResult, path: Path) -> None:
    """The run as JSON; each list of lags cut to a random sample of ``KEEP_LAGS`` (rounded to
    the millisecond): the percentiles stay, the file stays small enough to keep in the repo."""
    data = dict(result.__dict__)
    rng = random.Random(0)
    for key in ("up_lags", "order_lags", "chain_lags", "reconnects"):
        values = data[key]
        if len(values) > KEEP_LAGS:
            values = rng.sample(values, KEEP_LAGS)
        data[key] = [round(v, 3) for v in values]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, separators=(",", ":"), default=str))
