"""Phase: loyalty lookup + first history page, then footprint II (memory right after).

What a kiosk does when a card is scanned: ``GET /customers/lookup?card=`` then the first page
of that member's history, with 8 clients and then 1, on the edge and on the bare Flask app
doing the same SQL on the same file under the same gunicorn command line. The memory of every
process is read right after, when the edge has served its heaviest reads.

On a shared box the speed available moves during a run, so the two sides alternate in rounds
(edge, baseline, then baseline, edge: a drift in the box's speed then weighs on both alike);
each round's ratio is kept, and the figures are the rounds together. Four short rounds rather
than two long ones: the other jobs of a shared box come and go within seconds.

The tail at 8 clients is then taken apart with the same load generator: each side with 1 and
2 clients (where a request seldom waits behind another), and with wrk held to one core.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

from bench import load, procs, profile
from bench.console import say
from bench.http_runs import http
from bench.machine import loadavg
from bench.session import Session

ROUNDS = 4  # edge, baseline, baseline, edge, edge, baseline, baseline, edge


def measure(s: Session, tool: str) -> dict[str, Any]:
    """The ``lookup`` section: each side with ``clients`` clients (after a warm-up), each with one
    client, and the resident memory of the edge's, the baseline's and the broker's processes.
    """
    assert s.edge is not None and s.baseline is not None
    cfg = s.cfg
    sides = (("edge", s.edge_port, s.edge), ("baseline", s.base_port, s.baseline))
    out: dict[str, Any] = {}
    for name, port, _server in sides:
        say(f"lookup + history, warm-up: {name}")
        http(s, tool, "lookup", port, cfg.warmup)
    runs: dict[str, list[dict[str, Any]]] = {"edge": [], "baseline": []}
    part = cfg.seconds / ROUNDS
    for i in range(ROUNDS):
        for name, port, server in sides if i % 2 == 0 else sides[::-1]:
            say(f"lookup + history, {cfg.clients} clients, {part:.0f} s: {name}")
            la = loadavg()
            runs[name].append(http(s, tool, "lookup", port, part, server))
            runs[name][-1]["loadavg_before"] = la
    for name, _port, _server in sides:
        out[name] = combined(runs[name])
    out["rounds"] = [
        {
            "edge_rps": e["rps"],
            "baseline_rps": b["rps"],
            "ratio": e["rps"] / b["rps"],
            "edge_p99_ms": e["p99_ms"],
            "baseline_p99_ms": b["p99_ms"],
            "edge_worker_cpu_split": e.get("worker_cpu_split"),
            "baseline_worker_cpu_split": b.get("worker_cpu_split"),
        }
        for e, b in zip(runs["edge"], runs["baseline"], strict=True)
        if b["rps"]
    ]
    for clients in (1, 2):
        for name, port, server in sides:
            say(f"lookup + history, {clients} client(s), {cfg.single_seconds:.0f} s: {name}")
            out[f"{name}_{clients}client"] = http(
                s, tool, "lookup", port, cfg.single_seconds, server, clients=clients
            )
    if tool == "wrk" and shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        # the load generator held to one core: how much of the tail at 8 clients is wrk's
        # own threads preempting the servers' (the servers keep every core)
        for name, port, server in sides:
            say(f"lookup + history, {cfg.clients} clients, wrk on one core: {name}")
            out[f"{name}_wrk_one_core"] = http(
                s, tool, "lookup", port, cfg.single_seconds, server, cpus="0"
            )
    edge, base = procs.footprint(s.edge.pid), procs.footprint(s.baseline.pid)
    out["footprint"] = {
        "edge": edge,
        "baseline": base,
        "broker": procs.footprint(s.broker.proc.pid) if s.broker.proc else [],
        "edge_pss_mb": procs.total_mb(edge, "pss_mb"),
        "edge_rss_mb": procs.total_mb(edge, "rss_mb"),
        "baseline_pss_mb": procs.total_mb(base, "pss_mb"),
        "baseline_rss_mb": procs.total_mb(base, "rss_mb"),
    }
    if cfg.profile_seconds:
        out["breakdown"] = breakdown(s, tool)
    return out


def combined(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Several runs of one side as one: requests, seconds, CPU and errors added up, req/s
    over the whole, each latency percentile the mean of the runs' (the worst for ``max``)."""
    out = dict(runs[-1])
    for key in ("requests", "seconds", "errors", "client_cpu_s", "server_cpu_s", "other_cpu_s"):
        if all(key in r for r in runs):
            out[key] = round(sum(r[key] for r in runs), 2)
    out["requests"] = int(out["requests"])
    if all("error_kinds" in r for r in runs):
        out["error_kinds"] = {
            k: sum(r["error_kinds"][k] for r in runs) for k in runs[0]["error_kinds"]
        }
    if all("bad_statuses" in r for r in runs):
        out["bad_statuses"] = [v for r in runs for v in r["bad_statuses"]]
    out["rps"] = out["requests"] / out["seconds"] if out["seconds"] else 0.0
    for key in ("p50_ms", "p90_ms", "p99_ms"):
        out[key] = round(sum(r[key] for r in runs) / len(runs), 3)
    out["max_ms"] = max(r["max_ms"] for r in runs)
    if out.get("server_cpu_s") is not None and out["requests"]:
        out["server_cpu_ms_per_request"] = 1000 * out["server_cpu_s"] / out["requests"]
    if "other_cpu_share" in out:
        out["other_cpu_share"] = round(sum(r["other_cpu_share"] for r in runs) / len(runs), 2)
    out["runs"] = len(runs)
    return out


def breakdown(s: Session, tool: str) -> dict[str, Any]:
    """Where each side's server CPU per request goes (``bench.profile``): py-spy on the
    workers under the same load, after the measured runs (sampling slows a server a little,
    so it never runs during them)."""
    assert s.edge is not None and s.baseline is not None
    out: dict[str, Any] = {}
    for name, port, pid in (
        ("edge", s.edge_port, profile.gunicorn_master(s.edge.pid)),
        ("baseline", s.base_port, s.baseline.pid),
    ):
        say(f"lookup + history, {s.cfg.clients} clients, profiled: {name}")
        raw = s.logs / f"lookup-{name}.raw"
        run = load.LoadRun(
            "lookup",
            f"http://127.0.0.1:{port}",
            s.cfg.profile_seconds,
            s.cfg.clients,
            s.sample,
            s.kiosk,
            s.cfg.params.products,
        )
        res = profile.profiled_load(pid, run, raw, "raw", tool)
        out[name] = profile.breakdown(raw, res["sampled_cpu_s"], res["sampled_requests"])
    out["how"] = (
        "py-spy --gil on the gunicorn workers under the same load: each sample is charged to "
        "the part of the request its innermost recognised frame belongs to (bench.profile."
        "PARTS); the Python parts share the sampled CPU by their samples, the rest of the "
        "workers' CPU (from /proc) ran outside the GIL (SQLite, sockets, kernel)"
    )
    return out
