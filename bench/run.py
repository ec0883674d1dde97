"""``python -m bench``: the whole benchmark harness, every figure next to a baseline measured in
the same run on the same machine (so that ratios mean something on a noisy, shared box).

Phases, in order:
 1. data set: the cached chain-sized database (``bench.dataset``), copied to a working file so
    the writes of a run never touch the cache;
 2. footprint I: cold start of ``passerelle run`` to systemd's READY=1;
 3. choice of load generator: wrk and Python threads, each on the baseline for a few seconds;
 4. loyalty lookup + first history page, 16 clients: the edge, then the bare Flask app;
    footprint II: RSS of every process right after;
 5. store sale, 16 clients: the edge (with the time until the broker acknowledged each
    ``sale.recorded``), then the bare app doing the same SQL;
 6. catch-up: down-events queued on Mosquitto while the edge is stopped, applied after start,
    against a bare paho subscriber counting the same messages;
 7. outbox drain: up-events waiting in the outbox, published after start, against a bare paho
    publisher of the same payloads.
Results go to ``bench/results/latest.json`` and a dated copy, and a table is printed.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import dataset, load, mqtt, procs, report
from edge.staff import service as auth
from edge.store import db, outbox
from edge.store.ids import new_id
from tests.support.broker import free_port, mosquitto_binary

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


PHASES = ("lookup", "sale", "catchup", "drain")


@dataclass
class Config:
    mode: str = "full"
    params: dataset.Params = field(default_factory=dataset.Params)
    seconds: float = 20.0
    warmup: float = 3.0
    clients: int = 16
    calibrate_seconds: float = 5.0
    single_seconds: float = 5.0
    events: int = 100_000
    cold_starts: int = 3
    data_dir: Path = ROOT / "var" / "bench"
    out_dir: Path = RESULTS
    tool: str | None = None
    broker_inflight: int | None = None
    phases: tuple[str, ...] = PHASES


QUICK = dict(
    mode="quick",
    params=dataset.Params(customers=1000, purchase_lines=10_000, products=500),
    seconds=1.0,
    warmup=0.5,
    calibrate_seconds=1.0,
    single_seconds=1.0,
    events=1000,
    cold_starts=1,
)


def say(msg: str) -> None:
    print(f"==> {msg}", file=sys.stderr, flush=True)


def sync_available() -> bool:
    """The sync worker of *this* checkout (not one an editable install of another finds)."""
    try:
        spec = importlib.util.find_spec("sync.worker")
    except ModuleNotFoundError:
        return False
    return spec is not None and str(spec.origin or "").startswith(str(ROOT) + os.sep)


def machine() -> dict[str, Any]:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    try:
        mosq = subprocess.run(
            [mosquitto_binary(), "-h"], capture_output=True, text=True
        ).stdout.splitlines()[0]
    except (OSError, IndexError):
        mosq = "?"
    wrk = "absent"
    if load.wrk_available():
        out = subprocess.run(["wrk", "--version"], capture_output=True, text=True)
        wrk = (out.stdout or out.stderr).split(" Copyright")[0].strip()
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gb": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "mosquitto": mosq,
        "wrk": wrk,
    }


def children_cpu_since(before: os.times_result) -> float:
    """CPU seconds used by children reaped since ``before`` (user + system)."""
    now = os.times()
    return (now.children_user - before.children_user) + (
        now.children_system - before.children_system
    )


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


def loadavg() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def ms_between(a: str, b: str) -> float:
    fa = datetime.fromisoformat(a.replace("Z", "+00:00"))
    fb = datetime.fromisoformat(b.replace("Z", "+00:00"))
    return (fb - fa).total_seconds() * 1000


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(q / 100 * (len(values) - 1))))]


class Bench:
    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.t0 = time.monotonic()
        self.res: dict[str, Any] = {
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "mode": cfg.mode,
            "machine": machine(),
            "config": {
                k: (str(v) if isinstance(v, Path) else v)
                for k, v in asdict(cfg).items()
                if k not in ("data_dir", "out_dir")
            },
        }
        self.tmp = cfg.data_dir / f"run-{cfg.mode}"
        self.logs = self.tmp / "logs"
        self.work = self.tmp / "work.db"
        self.edge: procs.Proc | None = None
        self.baseline: procs.Proc | None = None
        self.broker: mqtt.Broker | None = None
        self.sync = sync_available()

    # -- set-up ------------------------------------------------------------------------------

    def prepare(self) -> None:
        say(f"data set ({self.cfg.params})")
        cache = dataset.cache_dir(self.cfg.data_dir, self.cfg.params)
        ds = dataset.ensure(cache, self.cfg.params, quiet=self.cfg.mode == "quick")
        self.res["dataset"] = ds
        self.sample = cache / "sample.txt"
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.logs.mkdir(parents=True)
        t = time.monotonic()
        shutil.copyfile(str(ds["path"]), self.work)
        # The copy leaves gigabytes of dirty pages that the kernel writes back for a minute:
        # done now, so that no phase (and no baseline) runs against that writeback.
        os.sync()
        self.res["dataset"]["copy_seconds"] = round(time.monotonic() - t, 1)
        conn = db.open_database(self.work)
        try:
            self.kiosk = auth.create_token(conn, name="bench-kiosk", role="kiosk")
            self.pos = auth.create_token(conn, name="bench-pos", role="pos")
        finally:
            conn.close()
        self.broker = mqtt.start_broker(self.tmp / "broker", self.cfg.broker_inflight)
        self.edge_port, self.base_port = free_port(), free_port()
        self.settings = procs.edge_settings(self.work, self.edge_port, self.broker.url)

    def start_edge(self) -> procs.Proc:
        return procs.start_edge(self.settings, self.logs / "edge.log")

    # -- footprint I: cold start -------------------------------------------------------------

    def cold_start(self) -> None:
        say("cold start of passerelle run (spawn to READY=1)")
        times = []
        for _ in range(self.cfg.cold_starts - 1):
            p = self.start_edge()
            times.append(p.ready_after)
            p.stop()
        self.edge = self.start_edge()
        times.append(self.edge.ready_after)
        self.baseline = procs.start_baseline(self.work, self.base_port, self.logs / "base.log")
        self.res["cold_start"] = {
            "edge_ready_s": [round(t, 3) for t in times if t is not None],
            "edge_median_s": round(statistics.median([t for t in times if t is not None]), 3),
            "baseline_first_answer_s": round(self.baseline.ready_after or 0, 3),
            "note": "page cache warm (the file was just copied); the edge's time is spawn of "
            "`passerelle run` to its READY=1 on NOTIFY_SOCKET, the baseline's spawn of the same "
            "gunicorn command to its first /healthz answer",
        }

    # -- load generator ----------------------------------------------------------------------

    def http(
        self,
        tool: str,
        kind: str,
        port: int,
        seconds: float,
        server: procs.Proc | None = None,
        clients: int | None = None,
    ) -> dict[str, Any]:
        """One load run; with ``server``, also the CPU it used and what the rest of the machine
        (other users of the shared box) used meanwhile, to tell a slow server from a busy box."""
        busy0 = procs.machine_busy_s()
        srv0 = procs.tree_cpu_s(server.pid) if server else 0.0
        res = self._http(tool, kind, port, seconds, clients or self.cfg.clients)
        if server is not None:
            srv = procs.tree_cpu_s(server.pid) - srv0
            busy = procs.machine_busy_s() - busy0
            res["server_cpu_s"] = round(srv, 2)
            res["server_cpu_ms_per_request"] = (
                1000 * srv / res["requests"] if res["requests"] else None
            )
            res["other_cpu_s"] = round(max(0.0, busy - srv - res["client_cpu_s"]), 2)
            cores = os.cpu_count() or 1
            res["other_cpu_share"] = round(res["other_cpu_s"] / (cores * res["seconds"]), 2)
        return res

    def _http(
        self, tool: str, kind: str, port: int, seconds: float, clients: int
    ) -> dict[str, Any]:
        return load.run(
            tool,
            kind,
            f"http://127.0.0.1:{port}",
            seconds=seconds,
            clients=clients,
            sample=self.sample,
            token=self.kiosk if kind == "lookup" else self.pos,
            products=self.cfg.params.products,
        )

    def choose_tool(self) -> str:
        say("load generator: wrk vs Python threads on the baseline")
        s = self.cfg.calibrate_seconds
        candidates: dict[str, Any] = {}
        if load.wrk_available():
            candidates["wrk"] = self.http("wrk", "lookup", self.base_port, s, self.baseline)
        candidates["python-threads"] = self.http(
            "python", "lookup", self.base_port, s, self.baseline
        )
        chosen = self.cfg.tool or min(
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
        self.res["load_generator"] = {"chosen": chosen, "candidates": candidates, "why": why}
        return chosen

    # -- 4. lookup ---------------------------------------------------------------------------

    def lookup(self, tool: str) -> None:
        assert self.edge is not None and self.baseline is not None
        out: dict[str, Any] = {}
        for name, port in (("edge", self.edge_port), ("baseline", self.base_port)):
            say(f"lookup + history, {self.cfg.clients} clients, {self.cfg.seconds:.0f} s: {name}")
            server = self.edge if name == "edge" else self.baseline
            self.http(tool, "lookup", port, self.cfg.warmup)
            la = loadavg()
            out[name] = self.http(tool, "lookup", port, self.cfg.seconds, server)
            out[name]["loadavg_before"] = la
        for name, port in (("edge", self.edge_port), ("baseline", self.base_port)):
            say(f"lookup + history, 1 client, {self.cfg.single_seconds:.0f} s: {name}")
            server = self.edge if name == "edge" else self.baseline
            out[f"{name}_1client"] = self.http(
                tool, "lookup", port, self.cfg.single_seconds, server, clients=1
            )
        out["footprint"] = {
            "edge": procs.footprint(self.edge.pid),
            "baseline": procs.footprint(self.baseline.pid),
            "broker": procs.footprint(self.broker.proc.pid)
            if self.broker and self.broker.proc
            else [],
        }
        self.res["lookup"] = out

    # -- 5. sale -----------------------------------------------------------------------------

    def sale(self, tool: str) -> None:
        assert self.edge is not None and self.baseline is not None
        out: dict[str, Any] = {}
        conn = db.connect(self.work)
        try:
            source = "/stores/S001"
            last = outbox.last_sequence(conn, source)
            for name, port in (("edge", self.edge_port), ("baseline", self.base_port)):
                say(f"store sale, {self.cfg.clients} clients, {self.cfg.seconds:.0f} s: {name}")
                self.http(tool, "sale", port, self.cfg.warmup)
                if name == "edge":
                    last = outbox.last_sequence(conn, source)
                server = self.edge if name == "edge" else self.baseline
                out[name] = self.http(tool, "sale", port, self.cfg.seconds, server)
            with db.write(conn):
                conn.execute("DELETE FROM outbox WHERE source = '/baseline'")
                conn.execute("DELETE FROM outbox_streams WHERE source = '/baseline'")
            out["to_broker"] = self.sale_to_broker(conn, source, last)
        finally:
            conn.close()
        self.res["sale"] = out

    def sale_to_broker(self, conn: sqlite3.Connection, source: str, after: int) -> dict[str, Any]:
        """created_at (the sale's commit) to sent_at (set once the broker's PUBACK arrived)."""
        if not self.sync:
            return {"note": "not measured: the sync worker (sync.worker) is not on this branch"}
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            left = conn.execute(
                "SELECT COUNT(*) FROM outbox WHERE source = ? AND sequence > ? AND sent_at IS NULL",
                (source, after),
            ).fetchone()[0]
            if left == 0:
                break
            time.sleep(0.2)
        rows = conn.execute(
            "SELECT created_at, sent_at FROM outbox WHERE source = ? AND sequence > ? "
            "AND type = 'sale.recorded'",
            (source, after),
        ).fetchall()
        delays = [ms_between(r[0], r[1]) for r in rows if r[1]]
        return {
            "events": len(rows),
            "acknowledged": len(delays),
            "p50_ms": pct(delays, 50),
            "p99_ms": pct(delays, 99),
            "max_ms": max(delays) if delays else None,
            "how": "outbox.created_at (in the sale's transaction) to outbox.sent_at (written "
            "by the sync worker after the broker's PUBACK), millisecond timestamps",
        }

    def stop_servers(self) -> None:
        for p in (self.edge, self.baseline):
            if p is not None:
                p.stop()
        self.edge = self.baseline = None

    # -- 6. catch-up -------------------------------------------------------------------------

    def members(self) -> list[tuple[str, str]]:
        return [
            (a, b) for a, b in (ln.split()[:2] for ln in self.sample.read_text().splitlines() if ln)
        ]

    def catchup(self) -> None:
        if not self.sync:
            self.res["catchup"] = {"note": "not measured: sync.worker is not on this branch"}
            return
        from edge import handlers

        assert self.broker is not None
        n = self.cfg.events
        say(f"catch-up: {n:,} down-events queued while the edge is stopped")
        with_orders = "order.placed" in handlers.HANDLERS
        events = list(
            mqtt.down_events(n, self.members(), self.cfg.params.products, with_orders=with_orders)
        )
        mix: dict[str, int] = {}
        for _t, _p, type_ in events:
            mix[type_] = mix.get(type_, 0) + 1
        # Two bare subscribers' sessions get the same queue: one runs before the edge, one
        # after, and the baseline is their mean, so that a box whose speed drifts during the
        # phase (it moved by 15 % between runs) does not tilt the ratio either way.
        base_ids = [f"bench-baseline-{uuid.uuid4().hex[:6]}" for _ in range(2)]
        for base_id in base_ids:
            mqtt.register_session("127.0.0.1", self.broker.port, base_id, mqtt.down_filters())
        # The edge's own session was made by its sync worker during the HTTP phases.
        t = time.monotonic()
        mqtt.publish_all("127.0.0.1", self.broker.port, [(tp, pl) for tp, pl, _ in events])
        publish_s = time.monotonic() - t
        from sync.mqtt import RECEIVE_MAXIMUM

        port = self.broker.port

        def bare(base_id: str) -> tuple[float, float, float]:
            say("catch-up: bare paho subscriber")
            broker0 = self.broker_cpu_s()
            base_s, base_cpu = run_bare_paho(
                "subscribe",
                "--port",
                str(port),
                "--client-id",
                base_id,
                "--count",
                str(n),
                "--receive-maximum",
                str(RECEIVE_MAXIMUM),
            )
            return base_s, base_cpu, self.broker_cpu_s() - broker0

        before_edge = bare(base_ids[0])
        say("catch-up: passerelle worker sync")
        conn = db.connect(self.work)
        try:
            before = conn.execute("SELECT COUNT(*) FROM inbox").fetchone()[0]
            dead0 = conn.execute("SELECT COUNT(*) FROM dead_letters").fetchone()[0]
            edge = self.run_sync_worker(conn, "SELECT COUNT(*) FROM inbox", before + n, rising=True)
            dead = conn.execute("SELECT COUNT(*) FROM dead_letters").fetchone()[0] - dead0
            applied = conn.execute("SELECT COUNT(*) FROM inbox").fetchone()[0] - before
        finally:
            conn.close()
        after_edge = bare(base_ids[1])
        base_s, base_cpu, base_broker = (
            (a + b) / 2 for a, b in zip(before_edge, after_edge, strict=True)
        )
        self.res["catchup"] = {
            "events": n,
            "mix": mix,
            "published_in_s": round(publish_s, 2),
            **rates(n, edge, base_s, base_cpu, base_broker),
            "baseline_runs_s": [round(before_edge[0], 2), round(after_edge[0], 2)],
            "edge_recorded": applied,
            "edge_dead_letters": dead,
            "broker": f"max_queued_messages {mqtt.QUEUE_LIMIT}, max_queued_bytes 0, "
            f"max_inflight_messages {self.cfg.broker_inflight or '20 (default)'}, "
            "persistence false",
            "receive_maximum": RECEIVE_MAXIMUM,
            "how": "both from process spawn: the edge's `passerelle worker sync` until the inbox "
            "holds every event (applied, ignored or dead-lettered, each committed before its "
            "ack); the baseline until it counted every message, once before the edge and once "
            "after (the mean is the baseline)",
        }

    def broker_cpu_s(self) -> float:
        assert self.broker is not None and self.broker.proc is not None
        return procs.cpu_s(self.broker.proc.pid)

    def run_sync_worker(
        self, conn: sqlite3.Connection, sql: str, target: int, *, rising: bool
    ) -> dict[str, Any]:
        """``passerelle worker sync`` from its spawn until ``sql`` counts ``target``: the
        seconds (None if it never did), its CPU and its processes' memory, then stopped."""
        broker0 = self.broker_cpu_s()
        t = time.monotonic()
        proc = procs.start_edge(self.settings, self.logs / "sync.log", args=("worker", "sync"))
        try:
            seconds = self.wait_count(conn, sql, target, t, timeout=600, rising=rising)
            return {
                "seconds": seconds,
                "cpu_s": procs.tree_cpu_s(proc.pid),
                "processes": procs.footprint(proc.pid),
                "broker_cpu_s": self.broker_cpu_s() - broker0,
            }
        finally:
            proc.stop()

    def wait_count(
        self,
        conn: sqlite3.Connection,
        sql: str,
        target: int,
        t0: float,
        *,
        timeout: float,
        rising: bool,
    ) -> float | None:
        deadline = t0 + timeout
        while time.monotonic() < deadline:
            value = conn.execute(sql).fetchone()[0]
            if (value >= target) if rising else (value <= target):
                return time.monotonic() - t0
            time.sleep(0.05)
        return None

    # -- 7. outbox drain ---------------------------------------------------------------------

    def up_events(self, conn: sqlite3.Connection, n: int) -> list[tuple[str, str]]:
        rng = random.Random(11)
        members = self.members()
        source = "/stores/S001"
        mix = {"sale.recorded": 0.45, "loyalty.entry": 0.40, "customer.enrolled": 0.05}
        mix["pickup.updated"] = 0.10
        types, weights = list(mix), list(mix.values())
        msgs: list[tuple[str, str]] = []
        now = db.now_iso()
        for start in range(0, n, 5000):
            with db.write(conn):
                for k in range(start, min(n, start + 5000)):
                    type_ = rng.choices(types, weights)[0]
                    card, cid = members[rng.randrange(len(members))]
                    data = self.up_data(type_, k, cid, now, rng)
                    ev = outbox.append(conn, source, type_, data)
                    msgs.append(
                        (
                            f"{mqtt.PREFIX}/stores/S001/up/{type_}",
                            json.dumps(ev.envelope(), separators=(",", ":")),
                        )
                    )
        return msgs

    @staticmethod
    def up_data(type_: str, k: int, cid: str, now: str, rng: random.Random) -> dict[str, Any]:
        if type_ == "sale.recorded":
            lines = [
                {
                    "sku": f"SKU-{rng.randint(1, 500):06d}",
                    "name": "Product",
                    "qty": 1,
                    "unit_price": 450,
                }
                for _ in range(rng.randint(1, 4))
            ]
            total = 450 * len(lines)
            return {
                "sale_id": new_id(),
                "terminal_id": "pos-1",
                "cashier_id": "bench",
                "customer_id": cid,
                "occurred_at": now,
                "currency": "EUR",
                "total": total,
                "lines": lines,
                "discount": 0,
                "coupons": [],
                "points_earned": total // 100,
                "points_redeemed": 0,
            }
        if type_ == "loyalty.entry":
            return {
                "entry_id": new_id(),
                "customer_id": cid,
                "points": 4,
                "reason": "purchase",
                "ref": new_id(),
                "channel": "store",
                "store_id": "S001",
                "occurred_at": now,
            }
        if type_ == "customer.enrolled":
            return {
                "customer_id": new_id(),
                "loyalty_card": f"PC{k:012d}",
                "first_name": "Camille",
                "last_name": "Martin",
                "email": None,
                "phone": None,
                "locale": "fr",
            }
        return {
            "order_id": new_id(),
            "status": "collected",
            "checked_in_at": now,
            "staff_id": "st-bench",
            "occurred_at": now,
        }

    def drain(self) -> None:
        if not self.sync:
            self.res["drain"] = {"note": "not measured: sync.worker is not on this branch"}
            return
        assert self.broker is not None
        n = self.cfg.events
        say(f"outbox drain: {n:,} up-events waiting")
        conn = db.connect(self.work)
        try:
            t = time.monotonic()
            msgs = self.up_events(conn, n)
            write_s = time.monotonic() - t
            payloads = self.tmp / "up.jsonl"
            payloads.write_text("".join(json.dumps(m) + "\n" for m in msgs))
            del msgs
            say("outbox drain: bare paho publisher")
            broker0 = self.broker_cpu_s()
            base_s, base_cpu = run_bare_paho(
                "publish", "--port", str(self.broker.port), "--file", str(payloads)
            )
            base_broker = self.broker_cpu_s() - broker0
            say("outbox drain: passerelle worker sync")
            unsent = "SELECT COUNT(*) FROM outbox WHERE source = '/stores/S001' AND sent_at IS NULL"
            edge = self.run_sync_worker(conn, unsent, 0, rising=False)
            left = conn.execute(unsent).fetchone()[0]
        finally:
            conn.close()
        self.res["drain"] = {
            "events": n,
            "written_in_s": round(write_s, 2),
            **rates(n, edge, base_s, base_cpu, base_broker),
            "edge_left_unsent": left,
            "how": "both from process spawn: the edge's `passerelle worker sync` until no row "
            "of its outbox is without sent_at (set after each PUBACK); the baseline (paho "
            "defaults, 20 in flight) until every PUBACK arrived",
        }

    # -- results -----------------------------------------------------------------------------

    def figures(self) -> list[dict[str, Any]]:
        r = self.res
        f: list[dict[str, Any]] = []

        def add(
            name: str,
            value: Any,
            unit: str,
            baseline: Any = None,
            target: str | None = None,
            met: bool | None = None,
            ratio: float | None = None,
            note: str | None = None,
        ) -> None:
            if ratio is None and isinstance(value, int | float) and baseline and "%" not in unit:
                ratio = value / baseline
            f.append(
                {
                    "name": name,
                    "value": value,
                    "unit": unit,
                    "baseline": baseline,
                    "ratio": ratio,
                    "target": target,
                    "met": met,
                    "note": note,
                }
            )

        ds = r["dataset"]
        gen = ds.get("seconds")
        add(
            "data set generation" + (" (cached this run)" if ds.get("cached") else ""),
            gen,
            "s",
            target="≤ 300 s",
            met=gen <= 300 if gen is not None else None,
        )
        lk = r.get("lookup", {})
        if lk:
            e, b = lk["edge"], lk["baseline"]
            add(
                "lookup+history throughput",
                e["rps"],
                "req/s",
                b["rps"],
                "≥ 0.8× baseline",
                e["rps"] >= 0.8 * b["rps"],
            )
            add("lookup+history p50", e["p50_ms"], "ms", b["p50_ms"])
            add("lookup+history p99", e["p99_ms"], "ms", b["p99_ms"], "≤ 5 ms", e["p99_ms"] <= 5)
            add("lookup+history max", e["max_ms"], "ms", b["max_ms"])
            add(
                "lookup+history server CPU per request",
                e.get("server_cpu_ms_per_request"),
                "ms",
                b.get("server_cpu_ms_per_request"),
            )
            if "edge_1client" in lk:
                e1, b1 = lk["edge_1client"], lk["baseline_1client"]
                add("lookup+history p50, 1 client", e1["p50_ms"], "ms", b1["p50_ms"])
                add(
                    "lookup+history p99, 1 client",
                    e1["p99_ms"],
                    "ms",
                    b1["p99_ms"],
                    "≤ 5 ms",
                    e1["p99_ms"] <= 5,
                )
            add(
                "other work on the box during lookup",
                round(100 * e.get("other_cpu_share", 0)),
                "% of cores",
                round(100 * b.get("other_cpu_share", 0)),
            )
            add("lookup+history errors", e["errors"], "", b["errors"], "0", e["errors"] == 0)
        sl = r.get("sale", {})
        if sl:
            e, b = sl["edge"], sl["baseline"]
            add("sale throughput", e["rps"], "req/s", b["rps"])
            add("sale p50", e["p50_ms"], "ms", b["p50_ms"])
            add("sale p99", e["p99_ms"], "ms", b["p99_ms"], "≤ 20 ms", e["p99_ms"] <= 20)
            add(
                "sale server CPU per request",
                e.get("server_cpu_ms_per_request"),
                "ms",
                b.get("server_cpu_ms_per_request"),
            )
            add("sale errors", e["errors"], "", b["errors"], "0", e["errors"] == 0)
            tb = sl.get("to_broker", {})
            if tb.get("p99_ms") is not None:
                add("sale → broker ack p50", tb["p50_ms"], "ms")
                add(
                    "sale → broker ack p99",
                    tb["p99_ms"],
                    "ms",
                    None,
                    "≤ 100 ms",
                    tb["p99_ms"] <= 100,
                )
            else:
                add(
                    "sale → broker ack p99",
                    None,
                    "ms",
                    target="≤ 100 ms",
                    note=tb.get("note", "not measured"),
                )
        for key, label in (("catchup", "catch-up"), ("drain", "outbox drain")):
            c = r.get(key, {})
            if c.get("edge_rate") and c.get("baseline_rate"):
                add(
                    f"{label} rate ({c['events']:,} events)",
                    c["edge_rate"],
                    "events/s",
                    c["baseline_rate"],
                    "≥ 0.5× baseline",
                    c["edge_rate"] >= 0.5 * c["baseline_rate"],
                )
                add(
                    f"{label} CPU per event (with start-up)",
                    c.get("edge_cpu_ms_per_event"),
                    "ms",
                    c.get("baseline_cpu_ms_per_event"),
                )
                runs = c.get("baseline_runs_s")
                if runs:
                    add(
                        f"{label} bare subscriber, before / after the edge",
                        " / ".join(f"{c['events'] / r:,.0f}" for r in runs),
                        "events/s",
                    )
                for p in c.get("edge_processes", []):
                    if p.get("cpu_s"):
                        add(f"  of which {p['role']}", 1000 * p["cpu_s"] / c["events"], "ms")
                if "broker_cpu_ms_per_event" in c:
                    add(
                        f"{label} Mosquitto CPU per event",
                        c["broker_cpu_ms_per_event"],
                        "ms",
                        c["baseline_broker_cpu_ms_per_event"],
                    )
            else:
                add(
                    f"{label} rate",
                    None,
                    "events/s",
                    target="≥ 0.5× baseline",
                    note=c.get("note", "did not finish"),
                )
        for p in r.get("catchup", {}).get("edge_processes", []):
            add(
                f"peak RSS during catch-up, {p['role']}",
                p["peak_rss_mb"],
                "MB",
                target="≤ 120 MB",
                met=p["peak_rss_mb"] <= 120,
            )
        fp = lk.get("footprint", {}) if lk else {}
        for p in fp.get("edge", []):
            add(f"RSS {p['role']}", p["rss_mb"], "MB", target="≤ 120 MB", met=p["rss_mb"] <= 120)
        base_rss = [p["rss_mb"] for p in fp.get("baseline", [])]
        if base_rss:
            add("RSS baseline processes (max)", max(base_rss), "MB")
        cs = r.get("cold_start", {})
        if cs:
            add(
                "cold start to ready",
                cs["edge_median_s"],
                "s",
                cs["baseline_first_answer_s"],
                "≤ 2 s",
                cs["edge_median_s"] <= 2,
            )
        lines = ds["rows"]["purchase_lines"]
        if lines:
            add(
                "database size per million purchase lines",
                round(ds["bytes"] / 1e6 / (lines / 1e6), 1),
                "MB",
            )
        return f

    def write(self) -> Path:
        self.res["duration_s"] = round(time.monotonic() - self.t0, 1)
        self.res["figures"] = self.figures()
        out = self.cfg.out_dir
        out.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.res, indent=2, default=str) + "\n"
        latest = out / "latest.json"
        latest.write_text(text)
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%M%SZ")
        (out / f"{stamp}-{self.cfg.mode}.json").write_text(text)
        return latest

    def run(self) -> Path:
        try:
            self.prepare()
            self.cold_start()
            phases = self.cfg.phases
            if "lookup" in phases or "sale" in phases:
                tool = self.choose_tool()
                if "lookup" in phases:
                    self.lookup(tool)
                if "sale" in phases:
                    self.sale(tool)
            self.stop_servers()
            if "catchup" in phases:
                self.catchup()
            if "drain" in phases:
                self.drain()
        finally:
            self.stop_servers()
            if self.broker is not None:
                self.broker.stop()
        path = self.write()
        print()
        print(report.machine_line(self.res))
        print(report.text_table(self.res))
        print(f"\nresults: {path}")
        return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
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
    a = ap.parse_args(argv)
    cfg = Config()
    if a.quick:
        cfg = replace(cfg, **QUICK)  # type: ignore[arg-type]
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
    Bench(cfg).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
