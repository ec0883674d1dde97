"""Footprint I: how long ``passerelle run`` takes from spawn to systemd's ``READY=1``.

A store box restarts the service after an upgrade or a crash, and kiosks wait meanwhile; the
target is 2 s. The baseline's figure is the same gunicorn command line serving the bare app,
to its first ``/healthz`` answer. The last edge started here is left running, with the
baseline, for the HTTP phases: its sync worker also makes the edge's MQTT session, which the
catch-up needs.
"""

from __future__ import annotations

import statistics
from typing import Any

from bench import procs
from bench.console import say
from bench.session import Session


def measure(s: Session) -> dict[str, Any]:
    """``cold_starts`` spawns of the edge (the last kept running as ``s.edge``) and one of the
    baseline (kept as ``s.baseline``)."""
    say("cold start of passerelle run (spawn to READY=1)")
    times: list[float | None] = []
    for _ in range(s.cfg.cold_starts - 1):
        p = s.start_edge()
        times.append(p.ready_after)
        p.stop()
    s.edge = s.start_edge()
    times.append(s.edge.ready_after)
    s.baseline = procs.start_baseline(s.work, s.base_port, s.logs / "base.log")
    return {
        "edge_ready_s": [round(t, 3) for t in times if t is not None],
        "edge_median_s": round(statistics.median([t for t in times if t is not None]), 3),
        "baseline_first_answer_s": round(s.baseline.ready_after or 0, 3),
        "note": "page cache warm (the file was just copied); the edge's time is spawn of "
        "`passerelle run` to its READY=1 on NOTIFY_SOCKET, the baseline's spawn of the same "
        "gunicorn command to its first /healthz answer",
    }
