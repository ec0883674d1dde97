"""Phase: catch-up, the down-events a store finds queued on the broker after an outage.

The edge is stopped while the events are published to its persistent MQTT session (made by
its sync worker during the HTTP phases), then ``passerelle worker sync`` is started and timed
until its inbox holds every event. The baseline is a bare paho subscriber counting the same
messages from its own persistent session, run once before the edge and once after.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from bench import events, mqtt
from bench.console import say
from bench.edge_api import db, handles_down_event, receive_maximum
from bench.session import Session
from bench.sync_runs import NOT_MEASURED, rates, run_bare_paho, run_sync_worker

# Where the edge's down-streams stand: the events are numbered from 1 after the last one
# applied on each stream, so the sum moves by n once each of the n events is applied (or
# dead-lettered: its number is used up) in order, committed.
POSITION = "SELECT COALESCE(SUM(last_sequence), 0) FROM inbox_streams"


def measure(s: Session) -> dict[str, Any]:
    """The ``catchup`` section: both sides' rates, the event mix, and what the edge recorded
    (every event must be in the inbox and none dead-lettered for the figure to count)."""
    if not s.sync:
        return dict(NOT_MEASURED)
    n = s.cfg.events
    say(f"catch-up: {n:,} down-events queued while the edge is stopped")
    with_orders = handles_down_event("order.placed")
    down = list(events.down_events(n, s.members(), s.cfg.params.products, with_orders=with_orders))
    mix: dict[str, int] = {}
    for _t, _p, type_ in down:
        mix[type_] = mix.get(type_, 0) + 1
    # Two bare subscribers' sessions get the same queue: one runs before the edge, one
    # after, and the baseline is their mean, so that a box whose speed drifts during the
    # phase (it moved by 15 % between runs) does not tilt the ratio either way.
    base_ids = [f"bench-baseline-{uuid.uuid4().hex[:6]}" for _ in range(2)]
    for base_id in base_ids:
        mqtt.register_session("127.0.0.1", s.broker.port, base_id, mqtt.down_filters())
    # The edge's own session was made by its sync worker during the HTTP phases.
    t = time.monotonic()
    mqtt.publish_all("127.0.0.1", s.broker.port, [(tp, pl) for tp, pl, _ in down])
    publish_s = time.monotonic() - t
    window = receive_maximum()

    def bare(base_id: str) -> tuple[float, float, float]:
        """One bare subscriber's run: (seconds, its CPU, Mosquitto's CPU meanwhile)."""
        say("catch-up: bare paho subscriber")
        broker0 = s.broker_cpu_s()
        base_s, base_cpu = run_bare_paho(
            "subscribe",
            "--port",
            str(s.broker.port),
            "--client-id",
            base_id,
            "--count",
            str(n),
            "--receive-maximum",
            str(window),
        )
        return base_s, base_cpu, s.broker_cpu_s() - broker0

    before_edge = bare(base_ids[0])
    say("catch-up: passerelle worker sync")
    conn = db.connect(s.work)
    try:
        before = conn.execute("SELECT COUNT(*) FROM inbox").fetchone()[0]
        dead0 = conn.execute("SELECT COUNT(*) FROM dead_letters").fetchone()[0]
        position = conn.execute(POSITION).fetchone()[0]
        # Polled on the streams' positions, which each batch's commit moves with its inbox
        # rows: a read of two rows, where counting the inbox read every row of it 20 times a
        # second (1.5 ms each on average, a read transaction in the WAL the applier writes).
        edge = run_sync_worker(s, conn, POSITION, position + n, rising=True)
        dead = conn.execute("SELECT COUNT(*) FROM dead_letters").fetchone()[0] - dead0
        applied = conn.execute("SELECT COUNT(*) FROM inbox").fetchone()[0] - before
    finally:
        conn.close()
    after_edge = bare(base_ids[1])
    base_s, base_cpu, base_broker = (
        (a + b) / 2 for a, b in zip(before_edge, after_edge, strict=True)
    )
    return {
        "events": n,
        "mix": mix,
        "published_in_s": round(publish_s, 2),
        **rates(n, edge, base_s, base_cpu, base_broker),
        "baseline_runs_s": [round(before_edge[0], 2), round(after_edge[0], 2)],
        "edge_recorded": applied,
        "edge_dead_letters": dead,
        "broker": f"max_queued_messages {mqtt.QUEUE_LIMIT}, max_queued_bytes 0, "
        f"max_inflight_messages {s.cfg.broker_inflight or '20 (default)'}, "
        "persistence false",
        "receive_maximum": window,
        "how": "both from process spawn: the edge's `passerelle worker sync` until its streams' "
        "positions have moved past every event (applied, ignored or dead-lettered, each "
        "committed before its ack; the inbox is counted afterwards: it must hold them all); "
        "the baseline until it counted every message, once before the edge and once "
        "after (the mean is the baseline)",
    }
