"""The parts of a chain run: its options and result, the online-store instances as processes,
the CPU and memory sampler, the web orders, and the asyncio loop of the simulated stores.

``bench/chain/run.py`` puts them together; ``bench/chain/counting.py`` counts the outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import requests

from bench.chain import brokers as brokers_mod
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
