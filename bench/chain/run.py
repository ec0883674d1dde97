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
import json
import random
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import requests
from online_store.auth import store_token

from bench.chain import brokers as brokers_mod
from bench.chain import edges
from bench.chain.proxy import CuttableProxy
from bench.chain.simstore import SimStore, daily_curve
from sync import contract

PREFIX = contract.DEFAULT_PREFIX
TOKEN = "chain-run-token"
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Options:
    """What one run does (``python -m bench.chain --help`` says the same)."""

    stores: int = 500
    real_edges: int = 2
    duration: float = 180.0  # seconds of load (one shop day, squeezed)
    rate: float = 0.01  # mean up-events per second per simulated store
    order_rate: float = 2.0  # web orders per second, over every store
    kill_at: float = 0.3  # fraction of the run when a broker node is SIGKILLed
    down_for: float = 10.0  # seconds before it is restarted
    cut_at: float = 0.55  # fraction of the run when the last real edge is cut off
    cut_for: float = 30.0  # seconds it stays cut off
    drain_timeout: float = 180.0
    instances: int = 2  # online-store instances
    seed: int = 20
    faults: bool = True
    screenshot: Path | None = None  # the fleet page while the edge is cut off (Chromium)
    status_interval: float = 30.0  # the stores' retained status (the contract: 60 s at most)
    replay_retry: float = 30.0  # the online store asks again for a replay after this


def quick_options() -> Options:
    """The short version (CI's test, ``--quick``): 10 stores on one Mosquitto, killed once."""
    return Options(
        stores=10,
        real_edges=0,
        duration=6,
        rate=0.5,
        order_rate=1.0,
        kill_at=0.3,
        down_for=2,
        drain_timeout=90,  # a loaded CI machine is slow; a passing run drains in seconds
        instances=2,
        status_interval=3,
        replay_retry=4,
    )


@dataclass
class Sample:
    t: float
    applied_up: int
    published_down: int
    cpu: dict[str, float]
    rss: dict[str, int]


@dataclass
class RunResult:
    broker: str
    protocol: str
    options: dict[str, Any]
    nodes: int
    per_store: list[dict[str, Any]] = field(default_factory=list)
    totals: dict[str, Any] = field(default_factory=dict)
    samples: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)  # faults, with times
    up_lags: list[float] = field(default_factory=list)
    order_lags: list[float] = field(default_factory=list)
    chain_lags: list[float] = field(default_factory=list)
    reconnects: list[float] = field(default_factory=list)


def store_ids(n: int) -> list[str]:
    return [f"S{i:04d}" for i in range(1, n + 1)]


def rotated(urls: list[str], k: int) -> list[str]:
    """Client k's broker list: it starts at node k mod n, and the next it tries after a loss
    alternates between the two directions, so that the clients of a node that dies split
    over the others rather than all land on one (with the edge's failover, which moves to the
    next URL, a plain rotation sent a killed node's 170 stores to one node at once)."""
    n = len(urls)
    if n <= 2:
        return urls[k % n :] + urls[: k % n]
    first = k % n
    rest = [urls[(first + i) % n] for i in range(1, n)]
    return [urls[first], *(rest if (k // n) % 2 == 0 else rest[::-1])]


class OnlineStoreProcs:
    """The online-store instances (``python -m online_store``) sharing one database."""

    def __init__(
        self, workdir: Path, urls: list[str], protocol: str, stores: list[str], opts: Options
    ) -> None:
        n = opts.instances
        self.db = workdir / "online.db"
        self.procs: list[subprocess.Popen[bytes]] = []
        self.ports = [brokers_mod.free_port() for _ in range(n)]
        self.stores = stores
        self.args = []
        for k in range(n):
            self.args.append(
                [
                    sys.executable,
                    "-m",
                    "online_store",
                    "--db",
                    str(self.db),
                    "--port",
                    str(self.ports[k]),
                    "--mqtt-url",
                    ",".join(rotated(urls, k)),
                    "--token",
                    TOKEN,
                    "--stores",
                    ",".join(stores),
                    "--mqtt-protocol",
                    protocol,
                    "--partition",
                    f"{k + 1}/{n}",
                    "--instance",
                    f"chain-{k + 1}",
                    "--no-demo-data",
                    "--replay-retry",
                    str(opts.replay_retry),
                ]
            )
        self.logs = [workdir / f"online-{k + 1}.log" for k in range(n)]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports[0]}"

    def start(self) -> None:
        from online_store import db

        conn = db.connect(self.db)
        db.create_schema(conn)  # once, before two processes race to create it
        conn.close()
        for args, log in zip(self.args, self.logs, strict=True):
            with log.open("ab") as out:
                self.procs.append(
                    subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
                )
        for port in self.ports:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).ok:
                        break
                except requests.RequestException:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"online store on {port} did not start; see {self.logs}")
                time.sleep(0.2)

    def pids(self) -> dict[str, int]:
        return {f"online-{k + 1}": p.pid for k, p in enumerate(self.procs) if p.poll() is None}

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


class Sampler:
    """CPU and memory of the broker processes (and the online store), once a second."""

    def __init__(self) -> None:
        self._procs: dict[int, psutil.Process] = {}

    def measure(self, pids: dict[str, int]) -> tuple[dict[str, float], dict[str, int]]:
        cpu, rss = {}, {}
        for name, pid in pids.items():
            try:
                p = self._procs.get(pid)
                if p is None:
                    p = self._procs[pid] = psutil.Process(pid)
                    p.cpu_percent(None)
                cpu[name] = p.cpu_percent(None)
                rss[name] = p.memory_info().rss
            except psutil.Error:
                continue
        return cpu, rss


def place_orders(
    db_path: Path,
    stores: list[str],
    customer_id: str,
    n: int,
    rng: random.Random,
    real: list[str] | None = None,
) -> None:
    """``n`` web click-and-collect orders, as the shop's checkout takes them."""
    from online_store import checkout, db, shop

    conn = db.connect(db_path)
    try:
        for _ in range(n):
            # one transaction each: the shop refuses an order for goods a store has not got
            # (its stock.changed said so), and that refusal must not undo the others
            with contextlib.suppress(shop.ShopError), db.write(conn):
                # a tenth go to the real edges, so that their boards have orders to measure
                at = rng.choice(real) if real and rng.random() < 0.1 else rng.choice(stores)
                checkout.place_order(conn, customer_id, at, {"SKU-MUG": 1}, stores=stores)
    finally:
        conn.close()


def seed_online(db_path: Path) -> str:
    """The catalogue and one web customer, written before the instances publish."""
    from online_store import db, shop

    conn = db.connect(db_path)
    db.create_schema(conn)  # once, before several processes race to create it
    try:
        with db.write(conn):
            shop.publish_catalogue(conn)
            member = shop.upsert_customer(
                conn,
                {"first_name": "Chain", "last_name": "Run", "email": "chain@example.org"},
                None,
            )
        return str(member["customer_id"])
    finally:
        conn.close()


class Loop:
    """The asyncio loop of the simulated stores and relays, in a thread of its own."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="chain-loop", daemon=True)
        self.thread.start()

    def call(self, fn: Any, *args: Any) -> Any:
        """Run ``fn(*args)`` on the loop and wait for it (coroutine functions too)."""

        async def wrapper() -> Any:
            result = fn(*args)
            if asyncio.iscoroutine(result):
                result = await result
            return result

        return asyncio.run_coroutine_threadsafe(wrapper(), self.loop).result(timeout=120)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


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
            pids = {**brokers.pids(), **online.pids()}
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
            {**brokers.pids(), **online.pids()},
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


def _done(
    sims: list[SimStore], real: list[edges.RealEdge], conn: sqlite3.Connection
) -> tuple[bool, int]:
    """Everything sent was applied in order, and every store has every down-event."""
    up = dict(conn.execute("SELECT store_id, last_sequence FROM up_streams").fetchall())
    down = dict(conn.execute("SELECT source, last_sequence FROM streams").fetchall())
    chain = int(down.get(contract.CHAIN_SOURCE, 0))
    missing = 0
    for s in sims:
        missing += max(0, s.counts.sent - int(up.get(s.store_id, 0)))
        mine = int(down.get(contract.store_down_source(s.store_id), 0))
        missing += max(0, mine - s.down_last.get(contract.store_down_source(s.store_id), 0))
        missing += max(0, chain - s.down_last.get(contract.CHAIN_SOURCE, 0))
    for e in real:
        st = e.state()
        missing += max(0, st["sent"] - int(up.get(e.store_id, 0)))
        mine = int(down.get(contract.store_down_source(e.store_id), 0))
        missing += max(0, mine - st["applied_store"]) + max(0, chain - st["applied_chain"])
    return missing == 0, missing


def drain(
    sims: list[SimStore],
    real: list[edges.RealEdge],
    online: OnlineStoreProcs,
    conn: sqlite3.Connection,
    timeout: float,
    loop: Loop,
    sampler: Sampler,
    pids: dict[str, int],
    result: RunResult,
    t0: float,
) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ok, missing = _done(sims, real, conn)
        cpu, rss = sampler.measure(pids)
        result.samples.append(
            {
                "t": time.time() - t0,
                "applied_up": conn.execute("SELECT COUNT(*) FROM received").fetchone()[0],
                "published_down": conn.execute(
                    "SELECT COUNT(*) FROM events WHERE published_at IS NOT NULL"
                ).fetchone()[0],
                "cpu": cpu,
                "rss": rss,
                "connected": sum(s.connected for s in sims),
                "missing": missing,
            }
        )
        if ok:
            return True
        time.sleep(1.0)
    return False


def count(
    result: RunResult,
    sims: list[SimStore],
    real: list[edges.RealEdge],
    online: OnlineStoreProcs,
    conn: sqlite3.Connection,
) -> None:
    """Per store: sent, received, applied, duplicates; lost and doubled; the lags."""
    conn.row_factory = sqlite3.Row
    received: dict[str, dict[int, tuple[str, str]]] = {}
    for r in conn.execute("SELECT source, id, sequence, received_at FROM received"):
        received.setdefault(r["source"].rsplit("/", 1)[1], {})[int(r["sequence"])] = (
            r["id"],
            r["received_at"],
        )
    up = {r["store_id"]: r for r in conn.execute("SELECT * FROM up_streams")}
    dups = dict(conn.execute("SELECT store_id, duplicates FROM up_duplicates").fetchall())
    doubled_purchases = conn.execute(
        "SELECT COUNT(*) FROM (SELECT json_extract(data, '$.purchase_id') p FROM events "
        "WHERE type = 'purchase.recorded' GROUP BY p HAVING COUNT(*) > 1)"
    ).fetchone()[0]
    orders_per_store = dict(
        conn.execute("SELECT store_id, COUNT(*) FROM orders GROUP BY store_id").fetchall()
    )
    dead = conn.execute("SELECT COUNT(*) FROM dead_letters").fetchone()[0]
    from bench.chain.simstore import _epoch

    for s in sims:
        got = received.get(s.store_id, {})
        lost = sum(1 for seq in range(1, s.counts.sent + 1) if seq not in got)
        for seq, (_, at) in got.items():
            created = s.counts.created_at.get(seq)
            if created is not None:
                result.up_lags.append(_epoch(at) - created)
        result.order_lags += s.counts.order_lag
        result.chain_lags += s.counts.down_lag
        result.reconnects += [b - a for a, b in s.counts.reconnects]
        result.per_store.append(
            {
                "store": s.store_id,
                "kind": "simulated",
                "sent": s.counts.sent,
                "received": len(got),
                "applied": int(up[s.store_id]["last_sequence"]) if s.store_id in up else 0,
                "duplicates_suppressed": int(dups.get(s.store_id, 0)),
                "lost": lost,
                "applied_twice": 0,
                "republished": s.counts.republished,
                "orders_placed": int(orders_per_store.get(s.store_id, 0)),
                "orders_received": s.counts.orders,
                "down_duplicates_suppressed": s.counts.down_duplicates,
                "down_backfilled": s.counts.backfilled,
                "sessions_lost": s.counts.sessions_lost,
            }
        )
    for e in real:
        st = e.state()
        got = received.get(e.store_id, {})
        ids = e.outbox_ids()
        lost = sum(1 for seq, _id in ids.items() if got.get(seq, ("",))[0] != _id)
        result.order_lags += e.order_lags(conn)
        result.per_store.append(
            {
                "store": e.store_id,
                "kind": "real edge",
                "sent": st["sent"],
                "received": len(got),
                "applied": int(up[e.store_id]["last_sequence"]) if e.store_id in up else 0,
                "duplicates_suppressed": int(dups.get(e.store_id, 0)),
                "lost": lost,
                "applied_twice": st["applied_twice"],
                "republished": 0,
                "orders_placed": int(orders_per_store.get(e.store_id, 0)),
                "orders_received": st["orders"],
                "down_duplicates_suppressed": st["inbox_duplicates"],
                "down_backfilled": st["backfilled"],
                "sessions_lost": 0,
            }
        )
    rows = result.per_store
    result.totals = {
        "stores": len(rows),
        "sent": sum(r["sent"] for r in rows),
        "received": sum(r["received"] for r in rows),
        "applied": sum(r["applied"] for r in rows),
        "duplicates_suppressed": sum(r["duplicates_suppressed"] for r in rows),
        "lost": sum(r["lost"] for r in rows),
        "applied_twice": sum(r["applied_twice"] for r in rows) + int(doubled_purchases),
        "orders_placed": sum(r["orders_placed"] for r in rows),
        "orders_received": sum(r["orders_received"] for r in rows),
        "orders_lost": sum(max(0, r["orders_placed"] - r["orders_received"]) for r in rows),
        "down_duplicates_suppressed": sum(r["down_duplicates_suppressed"] or 0 for r in rows),
        "down_backfilled": sum(r["down_backfilled"] for r in rows),
        "dead_letters": int(dead),
        "chain_events": int(
            conn.execute(
                "SELECT COALESCE(MAX(last_sequence), 0) FROM streams WHERE source = ?",
                (contract.CHAIN_SOURCE,),
            ).fetchone()[0]
        ),
    }


KEEP_LAGS = 20_000


def save(result: RunResult, path: Path) -> None:
    """The run as JSON; each list of lags cut to a random sample of ``KEEP_LAGS`` (rounded to
    the millisecond): the percentiles stay, the file stays small enough to keep in the repo."""
    data = dict(result.__dict__)
    rng = random.Random(0)
    for key in ("up_lags", "order_lags", "chain_lags", "reconnects"):
        values = data[key]
        if len(values) > KEEP_LAGS:
            values = rng.sample(values, KEEP_LAGS)
        data[key] = [round(v, 3) for v in values]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, separators=(",", ":"), default=str))
