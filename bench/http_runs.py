"""Measured HTTP runs, and the choice of the load generator that makes them.

Each run is the load generator (``bench.load``) against one server for a fixed time. With the
server's process given, it also records the CPU the server used and what the rest of the box
used meanwhile: on a shared 2-core machine a slower figure is as often a busy neighbour as a
slower server, and these two numbers tell which.
"""

from __future__ import annotations

import os
from typing import Any

from bench import load, procs
from bench.console import say
from bench.session import Session


def http(
    s: Session,
    tool: str,
    kind: str,
    port: int,
    seconds: float,
    server: procs.Proc | None = None,
    clients: int | None = None,
    cpus: str | None = None,
) -> dict[str, Any]:
    """One load run of ``kind`` (``lookup`` or ``sale``) on ``port``; with ``server``, also
    the CPU it used and what the rest of the machine (other users of the shared box) used
    meanwhile, to tell a slow server from a busy box."""
    workers = gunicorn_workers(server.pid) if server else []
    busy0 = procs.machine_busy_s()
    srv0 = procs.tree_cpu_s(server.pid) if server else 0.0
    work0 = [procs.cpu_s(p) for p in workers]
    run = load.LoadRun(
        kind=kind,
        base_url=f"http://127.0.0.1:{port}",
        seconds=seconds,
        clients=clients or s.cfg.clients,
        sample=s.sample,
        token=s.kiosk if kind == "lookup" else s.pos,
        products=s.cfg.params.products,
        cpus=cpus,
    )
    res = load.run(tool, run)
    if server is not None:
        srv = procs.tree_cpu_s(server.pid) - srv0
        busy = procs.machine_busy_s() - busy0
        res["server_cpu_s"] = round(srv, 2)
        res["server_cpu_ms_per_request"] = 1000 * srv / res["requests"] if res["requests"] else None
        res["other_cpu_s"] = round(max(0.0, busy - srv - res["client_cpu_s"]), 2)
        cores = os.cpu_count() or 1
        res["other_cpu_share"] = round(res["other_cpu_s"] / (cores * res["seconds"]), 2)
        used = [procs.cpu_s(p) - c for p, c in zip(workers, work0, strict=True)]
        # how the load spread over the gunicorn workers (each keeps the connections it
        # accepted): an even split is 1/workers each
        res["worker_cpu_split"] = sorted(round(u / sum(used), 2) for u in used) if any(used) else []
    return res


def gunicorn_workers(pid: int) -> list[int]:
    """The gunicorn workers in ``pid``'s process tree."""
    return [
        p for p in procs.tree(pid) if (d := procs.describe(p)) and d["role"] == "gunicorn worker"
    ]


def choose_tool(s: Session) -> dict[str, Any]:
    """wrk and Python threads, each on the baseline for a few seconds; the one that burns
    less CPU per request is ``chosen`` (unless ``--tool`` forced one), with the reason why."""
    say("load generator: wrk vs Python threads on the baseline")
    secs = s.cfg.calibrate_seconds
    candidates: dict[str, Any] = {}
    if load.wrk_available():
        candidates["wrk"] = http(s, "wrk", "lookup", s.base_port, secs, s.baseline)
    candidates["python-threads"] = http(s, "python", "lookup", s.base_port, secs, s.baseline)
    chosen = s.cfg.tool or min(
        candidates, key=lambda k: candidates[k]["client_cpu_ms_per_request"] or 1e9
    )
    chosen = "wrk" if chosen == "wrk" else "python"
    why = (
        "the generator that burns less CPU per request wins: on 2 shared cores every "
        "millisecond the client uses is taken from the server (its req/s is also shown, "
        "but on a box shared with other work it moves with their load)"
    )
    if "wrk" in candidates:
        w, p = candidates["wrk"], candidates["python-threads"]
        why += (
            f" (wrk {w['rps']:.0f} req/s using {w['client_cpu_ms_per_request']:.3f} ms CPU "
            f"per request, Python threads {p['rps']:.0f} req/s using "
            f"{p['client_cpu_ms_per_request']:.3f} ms)"
        )
    else:
        why = "wrk is not installed: Python threads, which share the cores with the server"
    return {"chosen": chosen, "candidates": candidates, "why": why}
