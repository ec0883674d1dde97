"""Footprint I: how long ``passerelle run`` takes from spawn to systemd's ``READY=1``.

A store box restarts the service after an upgrade or a crash, and kiosks wait meanwhile; the
target is 1.5 s. Footprint at rest: the memory of every process of the edge a few seconds
after it became ready, before any request (the lookup phase reads it again after its run).
The baseline's figure is the same gunicorn command line serving the bare app, to its first
``/healthz`` answer. The last edge started here is left running, with the
baseline, for the HTTP phases: its sync worker also makes the edge's MQTT session, which the
catch-up needs.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from bench import procs
from bench.console import say
from bench.session import Session

REST_S = 3.0


def measure(s: Session) -> dict[str, Any]:
    """``cold_starts`` spawns of the edge (the last kept running as ``s.edge``) and one of the
    baseline (kept as ``s.baseline``)."""
    say("cold start of passerelle run (spawn to READY=1)")
    times: list[float | None] = []
    cpu: list[float] = []  # CPU seconds the edge's processes used until READY=1
    for _ in range(s.cfg.cold_starts - 1):
        p = s.start_edge()
        times.append(p.ready_after)
        cpu.append(round(procs.tree_cpu_s(p.pid), 2))
        p.stop()
    s.edge = s.start_edge()
    times.append(s.edge.ready_after)
    cpu.append(round(procs.tree_cpu_s(s.edge.pid), 2))
    s.baseline = procs.start_baseline(s.work, s.base_port, s.logs / "base.log")
    time.sleep(REST_S)  # the sync worker connected, every process started
    at_rest = procs.footprint(s.edge.pid)
    base_rest = procs.footprint(s.baseline.pid)
    return {
        "at_rest": {
            "edge": at_rest,
            "edge_pss_mb": procs.total_mb(at_rest, "pss_mb"),
            "edge_rss_mb": procs.total_mb(at_rest, "rss_mb"),
            "baseline_pss_mb": procs.total_mb(base_rest, "pss_mb"),
            "after_s": REST_S,
        },
        "edge_ready_s": [round(t, 3) for t in times if t is not None],
        # what the start costs whatever else runs on the box: on 2 free cores the wall time
        # cannot be less than half of it
        "edge_cpu_s": cpu,
        "edge_median_s": round(statistics.median([t for t in times if t is not None]), 3),
        "baseline_first_answer_s": round(s.baseline.ready_after or 0, 3),
        "note": "page cache warm (the file was just copied); the edge's time is spawn of "
        "`passerelle run` to its READY=1 on NOTIFY_SOCKET, the baseline's spawn of the same "
        "gunicorn command to its first /healthz answer",
    }
