"""Phase: outbox drain, the up-events a store has waiting after an outage.

The events are written into the edge's outbox as its own code writes them
(``outbox.append`` in a write transaction), then ``passerelle worker sync`` is started and
timed until none is left unsent. The baseline is a bare paho publisher sending the very same
payloads, QoS 1, until the broker acknowledged them all.
"""

from __future__ import annotations

import json
import random
import sqlite3
import time
from typing import Any

from bench import events, mqtt
from bench.console import say
from bench.edge_api import db, outbox
from bench.session import Session
from bench.sync_runs import NOT_MEASURED, rates, run_bare_paho, run_sync_worker

SOURCE = "/stores/S001"
UNSENT = "SELECT COUNT(*) FROM outbox WHERE source = '/stores/S001' AND sent_at IS NULL"


def fill_outbox(s: Session, conn: sqlite3.Connection, n: int) -> list[tuple[str, str]]:
    """``n`` up-events appended to the outbox (5,000 per transaction), returned as the
    (topic, payload) pairs the baseline publishes, so that both sides send the same bytes."""
    rng = random.Random(11)
    members = s.members()
    types, weights = list(events.UP_MIX), list(events.UP_MIX.values())
    msgs: list[tuple[str, str]] = []
    now = db.now_iso()
    for start in range(0, n, 5000):
        with db.write(conn):
            for k in range(start, min(n, start + 5000)):
                type_ = rng.choices(types, weights)[0]
                card, cid = members[rng.randrange(len(members))]
                data = events.up_data(type_, k, cid, now, rng)
                ev = outbox.append(conn, SOURCE, type_, data)
                msgs.append(
                    (
                        f"{mqtt.PREFIX}/stores/S001/up/{type_}",
                        json.dumps(ev.envelope(), separators=(",", ":")),
                    )
                )
    return msgs


def measure(s: Session) -> dict[str, Any]:
    """The ``drain`` section: both sides' rates, and how many events the edge left unsent
    (none, for the figure to count)."""
    if not s.sync:
        return dict(NOT_MEASURED)
    n = s.cfg.events
    say(f"outbox drain: {n:,} up-events waiting")
    conn = db.connect(s.work)
    try:
        t = time.monotonic()
        msgs = fill_outbox(s, conn, n)
        write_s = time.monotonic() - t
        payloads = s.tmp / "up.jsonl"
        payloads.write_text("".join(json.dumps(m) + "\n" for m in msgs))
        del msgs
        say("outbox drain: bare paho publisher")
        broker0 = s.broker_cpu_s()
        base_s, base_cpu = run_bare_paho(
            "publish", "--port", str(s.broker.port), "--file", str(payloads)
        )
        base_broker = s.broker_cpu_s() - broker0
        say("outbox drain: passerelle worker sync")
        edge = run_sync_worker(s, conn, UNSENT, 0, rising=False)
        left = conn.execute(UNSENT).fetchone()[0]
    finally:
        conn.close()
    return {
        "events": n,
        "written_in_s": round(write_s, 2),
        **rates(n, edge, base_s, base_cpu, base_broker),
        "edge_left_unsent": left,
        "how": "both from process spawn: the edge's `passerelle worker sync` until no row "
        "of its outbox is without sent_at (set after each PUBACK); the baseline (paho "
        "defaults, 20 in flight) until every PUBACK arrived",
    }
