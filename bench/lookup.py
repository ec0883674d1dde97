"""Phase: loyalty lookup + first history page, then footprint II (memory right after).

What a kiosk does when a card is scanned: ``GET /customers/lookup?card=`` then the first page
of that member's history, with 8 clients (the issue's 8 connections) and then 1, on the edge and then on the bare Flask
app doing the same SQL on the same file under the same gunicorn command line. The memory of
every process is read right after, when the edge has served its heaviest reads.
"""

from __future__ import annotations

from typing import Any

from bench import procs
from bench.console import say
from bench.http_runs import http
from bench.machine import loadavg
from bench.session import Session


def measure(s: Session, tool: str) -> dict[str, Any]:
    """The ``lookup`` section: each side with ``clients`` clients (after a warm-up), each with one
    client, and the resident memory of the edge's, the baseline's and the broker's processes.
    """
    assert s.edge is not None and s.baseline is not None
    cfg = s.cfg
    sides = (("edge", s.edge_port, s.edge), ("baseline", s.base_port, s.baseline))
    out: dict[str, Any] = {}
    for name, port, server in sides:
        say(f"lookup + history, {cfg.clients} clients, {cfg.seconds:.0f} s: {name}")
        http(s, tool, "lookup", port, cfg.warmup)
        la = loadavg()
        out[name] = http(s, tool, "lookup", port, cfg.seconds, server)
        out[name]["loadavg_before"] = la
    for name, port, server in sides:
        say(f"lookup + history, 1 client, {cfg.single_seconds:.0f} s: {name}")
        out[f"{name}_1client"] = http(
            s, tool, "lookup", port, cfg.single_seconds, server, clients=1
        )
    out["footprint"] = {
        "edge": procs.footprint(s.edge.pid),
        "baseline": procs.footprint(s.baseline.pid),
        "broker": procs.footprint(s.broker.proc.pid) if s.broker.proc else [],
    }
    return out
