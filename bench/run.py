"""``python -m bench``: the whole benchmark harness, every figure next to a baseline measured in
the same run on the same machine (so that ratios mean something on a noisy, shared box).

Phases, in order:
 1. data set: the cached chain-sized database (``bench.dataset``), copied to a working file so
    the writes of a run never touch the cache (``bench.session``);
 2. footprint I: cold start of ``passerelle run`` to systemd's READY=1 (``bench.cold_start``);
 3. choice of load generator: wrk and Python threads, each on the baseline for a few seconds
    (``bench.http_runs``);
 4. loyalty lookup + first history page, 8 clients: the edge, then the bare Flask app;
    footprint II: RSS of every process right after (``bench.lookup``);
 5. store sale, 4 tills: the edge (with the time until the broker acknowledged each
    ``sale.recorded``), then the bare app doing the same SQL (``bench.sale``);
 5b. stock on a sale: the same sales on the edge with stock, then restarted without it
    (``stock_on_sale = false``), side by side (``bench.stock_sale``);
 6. catch-up: down-events queued on Mosquitto while the edge is stopped, applied after start,
    against a bare paho subscriber counting the same messages (``bench.catchup``);
 7. outbox drain: up-events waiting in the outbox, published after start, against a bare paho
    publisher of the same payloads (``bench.drain``).
Results go to ``bench/results/latest.json`` and a dated copy, and a table is printed.

This module only runs the phases in order and writes what they return; each phase is its own
module, so that one can be read (or changed) without the others.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import catchup, cold_start, drain, lookup, machine, options, report, sale, stock_sale
from bench.edge_api import sync_available
from bench.figures import figures
from bench.http_runs import choose_tool
from bench.options import PHASES, Config
from bench.procs import RAISED
from bench.session import Session, prepare


def run(cfg: Config) -> Path:
    """Every phase ``cfg`` asks for, then the results written and the table printed.

    The data set and the cold start always run: the cold start leaves the edge running, and
    its sync worker makes the MQTT session the catch-up queues events for. The HTTP servers
    are stopped before the MQTT phases, which then have the cores alone. On an error the
    servers and the broker are stopped and nothing is written."""
    t0 = time.monotonic()
    res: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "mode": cfg.mode,
        "machine": machine.describe(),
        "config": options.recorded(cfg),
        "settings_changed": {k: {"value": v, "why": why} for k, (v, why) in RAISED.items()},
    }
    sync = sync_available()
    s: Session | None = None
    try:
        s = prepare(cfg, res, sync=sync)
        res["cold_start"] = cold_start.measure(s)
        phases = cfg.phases
        if {"lookup", "sale", "stock"} & set(phases):
            res["load_generator"] = choose_tool(s)
            tool = res["load_generator"]["chosen"]
            if "lookup" in phases:
                res["lookup"] = lookup.measure(s, tool)
            if "sale" in phases:
                res["sale"] = sale.measure(s, tool)
            if "stock" in phases:
                res["stock"] = stock_sale.measure(s, tool)
        s.stop_servers()
        if "catchup" in phases:
            res["catchup"] = catchup.measure(s)
        if "drain" in phases:
            res["drain"] = drain.measure(s)
    finally:
        if s is not None:
            s.stop_servers()
            s.broker.stop()
    res["duration_s"] = round(time.monotonic() - t0, 1)
    path = write(res, cfg)
    print()
    print(report.machine_line(res))
    print(report.text_table(res))
    print(f"\nresults: {path}")
    return path


def write(res: dict[str, Any], cfg: Config) -> Path:
    """The figures added, then ``latest.json`` (committed: the docs' benchmarks page is built
    from it) and a dated copy (kept locally, to compare runs)."""
    res["figures"] = figures(res)
    out = cfg.out_dir
    out.mkdir(parents=True, exist_ok=True)
    text = json.dumps(res, indent=2, default=str) + "\n"
    latest = out / "latest.json"
    latest.write_text(text)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%M%SZ")
    (out / f"{stamp}-{cfg.mode}.json").write_text(text)
    return latest


def parser() -> argparse.ArgumentParser:
    """The command line of ``python -m bench`` (``scripts/bench.sh`` passes its own through)."""
    ap = argparse.ArgumentParser(
        prog="python -m bench", description=(__doc__ or "").splitlines()[0]
    )
    ap.add_argument("--quick", action="store_true", help="tiny data and 1 s phases (smoke test)")
    ap.add_argument("--out", type=Path, help="results folder (default bench/results)")
    ap.add_argument("--data", type=Path, help="data set cache folder (default var/bench)")
    ap.add_argument("--tool", choices=["wrk", "python"], help="force the load generator")
    ap.add_argument("--seconds", type=float, help="length of each HTTP phase")
    ap.add_argument("--events", type=int, help="events for catch-up and drain")
    ap.add_argument(
        "--broker-inflight",
        type=int,
        help="Mosquitto's max_inflight_messages (default: Mosquitto's own, 20)",
    )
    ap.add_argument(
        "--phases",
        help=f"comma-separated phases to run (default all: {','.join(PHASES)}); the data set "
        "and the cold start always run (the cold start makes the edge's MQTT session)",
    )
    return ap


def config(argv: list[str] | None = None) -> Config:
    """The run's settings from the command line: the full run's, or the quick run's, with
    each option given replacing its default. An unknown phase is refused before anything
    starts, rather than silently skipped."""
    ap = parser()
    a = ap.parse_args(argv)
    cfg = Config()
    if a.quick:
        cfg = options.quick(cfg)
    if a.out:
        cfg.out_dir = a.out
    if a.data:
        cfg.data_dir = a.data
    if a.tool:
        cfg.tool = a.tool
    if a.seconds:
        cfg.seconds = a.seconds
    if a.events:
        cfg.events = a.events
    if a.phases:
        chosen = tuple(p.strip() for p in a.phases.split(",") if p.strip())
        unknown = sorted(set(chosen) - set(PHASES))
        if unknown:
            ap.error(f"--phases: unknown {', '.join(unknown)} (choose from {', '.join(PHASES)})")
        cfg.phases = chosen
    if a.broker_inflight:
        cfg.broker_inflight = a.broker_inflight
    return cfg


def main(argv: list[str] | None = None) -> int:
    """``python -m bench [options]``: one run, 0 when it finished."""
    run(config(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
