"""What the catch-up and the drain share: the edge's sync worker and the bare paho process,
each run from its spawn to the end of its work, and the figures both phases report.

Both sides are separate processes timed from spawn, so each includes a Python start-up and a
connection to the broker; each is also charged the CPU Mosquitto spent while it ran, since an
edge that makes the broker work harder is slower for the whole store box.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from typing import Any

from bench import procs
from bench.load import children_cpu_since
from bench.options import ROOT
from bench.session import Session

# What catch-up and drain record on a branch without the sync worker (a copy each).
NOT_MEASURED = {"note": "not measured: sync.worker is not on this branch"}


def run_bare_paho(*args: str) -> tuple[float, float]:
    """Run the bare paho baseline (``bench.mqtt``) as its own process: (seconds, CPU seconds)."""
    t = time.monotonic()
    cpu0 = os.times()
    subprocess.run(
        [sys.executable, "-m", "bench.mqtt", *args],
        cwd=ROOT,
        env=procs.child_env(),
        check=True,
        capture_output=True,
    )
    return time.monotonic() - t, children_cpu_since(cpu0)


def run_sync_worker(
    s: Session, conn: sqlite3.Connection, sql: str, target: int, *, rising: bool
) -> dict[str, Any]:
    """``passerelle worker sync`` from its spawn until ``sql`` counts ``target``: the
    seconds (None if it never did), its CPU and its processes' memory, then stopped."""
    broker0 = s.broker_cpu_s()
    t = time.monotonic()
    proc = procs.start_edge(s.settings, s.logs / "sync.log", args=("worker", "sync"))
    try:
        seconds = wait_count(conn, sql, target, t, timeout=600, rising=rising)
        return {
            "seconds": seconds,
            "cpu_s": procs.tree_cpu_s(proc.pid),
            "processes": procs.footprint(proc.pid),
            "broker_cpu_s": s.broker_cpu_s() - broker0,
        }
    finally:
        proc.stop()


def wait_count(
    conn: sqlite3.Connection,
    sql: str,
    target: int,
    t0: float,
    *,
    timeout: float,
    rising: bool,
) -> float | None:
    """Seconds from ``t0`` until ``sql`` counts at least (``rising``) or at most ``target``,
    polled every 50 ms; None after ``timeout``. Polling the database, not the worker's logs,
    is what a store box's state really is: committed rows."""
    deadline = t0 + timeout
    while time.monotonic() < deadline:
        value = conn.execute(sql).fetchone()[0]
        if (value >= target) if rising else (value <= target):
            return time.monotonic() - t0
        time.sleep(0.05)
    return None


def rates(
    n: int, edge: dict[str, Any], base_s: float, base_cpu: float, base_broker_cpu: float
) -> dict[str, Any]:
    """The figures catch-up and drain share: the edge's run (``run_sync_worker``) and the bare
    paho baseline's, for ``n`` events, with what Mosquitto spent on each."""
    edge_s = edge["seconds"]
    return {
        "edge_s": round(edge_s, 2) if edge_s else None,
        "edge_rate": n / edge_s if edge_s else None,
        "edge_processes": edge["processes"],
        "baseline_s": round(base_s, 2),
        "baseline_rate": n / base_s,
        "edge_cpu_ms_per_event": 1000 * edge["cpu_s"] / n,
        "baseline_cpu_ms_per_event": 1000 * base_cpu / n,
        "broker_cpu_ms_per_event": 1000 * edge["broker_cpu_s"] / n,
        "baseline_broker_cpu_ms_per_event": 1000 * base_broker_cpu / n,
    }
