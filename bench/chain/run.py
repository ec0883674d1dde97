"""One chain run against one broker set: N simulated stores, real edges, faults, the counts.

The steps (``run_chain``):

1. the brokers (a 3-node NATS cluster, or one Mosquitto) on free ports;
2. two online-store instances on one database (MQTT 5: one shared subscription; 3.1.1: the
   stores partitioned between them), each on a different broker node;
3. the real edges (``passerelle run``, as systemd starts it), the last one behind relays that
   can be cut; each gets the broker URL list, rotated so that stores spread over the nodes;
4. the simulated stores, on one asyncio loop;
5. the load: sales (a daily curve squeezed into the run), web orders for every store, pickups
   moved along by the stores; one broker node SIGKILLed and restarted; one real edge cut off;
6. the drain: until every event is where it belongs, or a timeout;
7. the counts, per store and in total, and the figures (``bench/chain/report.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from online_store.auth import store_token

from bench.chain import brokers as brokers_mod
from bench.chain import edges
from bench.chain.counting import KEEP_LAGS, count, drain, save
from bench.chain.parts import (
    PREFIX,
    ROOT,
    TOKEN,
    Loop,
    OnlineStoreProcs,
    Options,
    RunResult,
    Sample,
    Sampler,
    place_orders,
    quick_options,
    rotated,
    seed_online,
    store_ids,
)
from bench.chain.proxy import CuttableProxy
from bench.chain.simstore import SimStore, daily_curve

__all__ = [  # the names this module had before its parts moved out
    "KEEP_LAGS",
    "PREFIX",
    "ROOT",
    "TOKEN",
    "Loop",
    "OnlineStoreProcs",
    "Options",
    "RunResult",
    "Sample",
    "Sampler",
    "count",
    "drain",
    "place_orders",
    "quick_options",
    "rotated",
    "run_chain",
    "save",
    "seed_online",
    "store_ids",
]


def run_chain(kind: str, workdir: Path, opts: Options, log: Any = print) -> RunResult:
    """One full run against ``kind`` (``nats`` or ``mosquitto``)."""
    workdir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(opts.seed)
    brokers: brokers_mod.Brokers = (
        brokers_mod.NatsCluster(workdir / "nats")
        if kind == "nats"
        else brokers_mod.Mosquitto(workdir / "mosquitto")
    )
    sims_ids = store_ids(opts.stores)
    real_ids = [f"R{i:03d}" for i in range(1, opts.real_edges + 1)]
    all_ids = sims_ids + real_ids
    result = RunResult(kind, brokers.protocol, opts.__dict__.copy(), len(brokers.nodes))
    loop = Loop()
    online: OnlineStoreProcs | None = None
    real: list[edges.RealEdge] = []
    proxies: list[CuttableProxy] = []
    sims: list[SimStore] = []
    t0 = time.time()

    def mark(what: str) -> None:
        result.events.append({"t": time.time() - t0, "what": what})
        log(f"[{kind} {time.time() - t0:6.1f}s] {what}")

    try:
        brokers.start()
        brokers.wait_ready()
        mark(f"{len(brokers.nodes)} broker node(s) up: {', '.join(brokers.urls)}")
        online = OnlineStoreProcs(workdir, brokers.urls, brokers.protocol, all_ids, opts)
        customer = seed_online(online.db)
        online.start()
        mark(f"{opts.instances} online-store instances up")
        # the real edges; the last one reaches the brokers through relays that can be cut
        for k, sid in enumerate(real_ids):
            urls = rotated(brokers.urls, k)
            if k == len(real_ids) - 1 and opts.faults:
                proxies = [loop.call(CuttableProxy(brokers_mod_port(u)).start) for u in urls]
                urls = [p.url for p in proxies]
            real.append(
                edges.RealEdge(
                    sid, workdir / sid, urls, brokers.protocol, online.url, store_token(TOKEN, sid)
                ).start()
            )
        mark(f"{len(real)} real edges up")
        # the simulated stores
        for k, sid in enumerate(sims_ids):
            sims.append(
                SimStore(
                    sid,
                    rotated(brokers.urls, k),
                    protocol=brokers.protocol,
                    prefix=PREFIX,
                    backfill_url=online.url,
                    token=store_token(TOKEN, sid),  # each store its own (issue 19)
                    loop=loop.loop,
                    rng=random.Random(opts.seed * 100_000 + k),
                    status_interval=opts.status_interval,
                )
            )
        ticker_stop = threading.Event()

        async def ticker() -> None:
            while not ticker_stop.is_set():
                now = time.time()
                for s in sims:
                    try:
                        s.tick(now)
                    except Exception as exc:  # one store's trouble must not stop the others
                        log(f"[{kind}] {s.store_id}: {exc!r}")
                await asyncio.sleep(0.5)

        asyncio.run_coroutine_threadsafe(ticker(), loop.loop)
        # a ramp, as a chain's stores open in the morning: the next batch once this one is
        # connected and subscribed (a broker creating thousands of queues at once times out)
        deadline = time.monotonic() + 300
        for i in range(0, len(sims), 25):
            batch = sims[i : i + 25]
            loop.call(lambda b: [s.start() for s in b], batch)
            ramp = time.monotonic() + 15
            while not all(s.subscribed for s in batch) and time.monotonic() < min(ramp, deadline):
                time.sleep(0.1)
        while sum(s.subscribed for s in sims) < len(sims) and time.monotonic() < deadline:
            time.sleep(0.5)
        ready = sum(s.subscribed for s in sims)
        mark(f"{ready} of {len(sims)} simulated stores connected and subscribed")

        sampler = Sampler()
        load_t0 = time.time()
        killed = restarted = cut = restored = False
        next_order = 0.0
        counts_conn = sqlite3.connect(online.db, timeout=30)
        while (elapsed := time.time() - load_t0) < opts.duration:
            frac = elapsed / opts.duration
            # up: each store's events in this second follow the day's curve
            lam = opts.rate * daily_curve(frac)
            picks = [s for s in sims if rng.random() < lam]
            movers = [s for s in sims if s.pickups and rng.random() < 0.2]
            loop.call(lambda a, b: ([s.sale() for s in a], [s.pickup() for s in b]), picks, movers)
            for e in real:
                if rng.random() < 0.7:
                    e.sale()
                e.move_pickups()
            # down: web orders for every store
            next_order += opts.order_rate
            n = int(next_order)
            next_order -= n
            if n:
                place_orders(online.db, all_ids, customer, n, rng, real_ids)
            # faults
            if opts.faults and not killed and frac >= opts.kill_at:
                brokers.kill(0)
                killed, kill_t = True, time.time()
                mark(f"SIGKILL broker node {brokers.nodes[0].name}")
            if killed and not restarted and time.time() - kill_t >= opts.down_for:
                brokers.restart(0)
                restarted = True
                mark(f"broker node {brokers.nodes[0].name} restarted")
            if opts.faults and proxies and not cut and frac >= opts.cut_at:
                loop.call(cut_all, proxies)
                cut, cut_t = True, time.time()
                mark(f"real edge {real_ids[-1]} cut off")
            if cut and not restored and opts.screenshot and time.time() - cut_t >= 20:
                fleet_screenshot(online.url, opts.screenshot)
                mark(f"fleet view saved to {opts.screenshot}")
                opts.screenshot = None
            if cut and not restored and time.time() - cut_t >= opts.cut_for:
                loop.call(restore_all, proxies)
                restored = True
                mark(f"real edge {real_ids[-1]} reconnected")
            # sample
            # the harness too: the simulated stores' loop shares the machine with the brokers
            pids = {**brokers.pids(), **online.pids(), "harness": os.getpid()}
            cpu, rss = sampler.measure(pids)
            applied = counts_conn.execute("SELECT COUNT(*) FROM received").fetchone()[0]
            published = counts_conn.execute(
                "SELECT COUNT(*) FROM events WHERE published_at IS NOT NULL"
            ).fetchone()[0]
            result.samples.append(
                {
                    "t": time.time() - t0,
                    "applied_up": applied,
                    "published_down": published,
                    "cpu": cpu,
                    "rss": rss,
                    "connected": sum(s.connected for s in sims),
                    **({"jetstream": brokers.jetstream()} if int(elapsed) % 5 == 0 else {}),
                }
            )
            time.sleep(max(0.0, 1.0 - (time.time() - load_t0 - elapsed)))
        if killed and not restarted:
            brokers.restart(0)
            mark(f"broker node {brokers.nodes[0].name} restarted")
        if cut and not restored:
            loop.call(restore_all, proxies)
            mark(f"real edge {real_ids[-1]} reconnected")
        mark("load stopped; draining")
        drained = drain(
            sims,
            real,
            online,
            counts_conn,
            opts.drain_timeout,
            loop,
            sampler,
            {**brokers.pids(), **online.pids(), "harness": os.getpid()},
            result,
            t0,
        )
        mark("drained" if drained else "drain timed out")
        ticker_stop.set()
        count(result, sims, real, online, counts_conn)
        counts_conn.close()
        return result
    finally:
        for s in sims:
            with contextlib.suppress(Exception):
                loop.call(s.stop)
        for e in real:
            with contextlib.suppress(Exception):
                e.stop()
        if online is not None:
            online.stop()
        for p in proxies:
            with contextlib.suppress(Exception):
                loop.call(p.close)
        brokers.stop()
        loop.stop()


def fleet_screenshot(url: str, path: Path) -> None:
    """The fleet page as retail IT sees it during the run (Debian's Chromium, Playwright)."""
    from playwright.sync_api import sync_playwright

    path.parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{url}/fleet", timeout=60_000)
        page.screenshot(path=str(path))
        browser.close()


def cut_all(proxies: list[CuttableProxy]) -> None:
    for p in proxies:
        p.cut()


def restore_all(proxies: list[CuttableProxy]) -> None:
    for p in proxies:
        p.restore()


def brokers_mod_port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])
