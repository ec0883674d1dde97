"""HTTP load generators: ``wrk`` (compiled, event-driven, Lua-scripted) and Python threads.

Both run as a child process, so the CPU each one burns can be read from the kernel
(``os.wait4``'s resource usage) and compared: on a 2-core box the load generator competes with
the server for the same cores, and the one that burns less CPU per request leaves more to the
server. ``bench.http_runs`` measures both on the baseline app and picks.

Both keep one keep-alive connection per simulated client and run closed loops (a client sends
its next request when the previous answer arrived), so throughput and latency describe the
same simulated clients.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import shutil
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, NamedTuple

LUA = Path(__file__).resolve().parent / "lua"


def wrk_available() -> bool:
    """wrk is optional (scripts/bench.sh installs it only as root): Python threads stand in."""
    return shutil.which("wrk") is not None


def _run_child(cmd: list[str], timeout: float) -> tuple[str, float, float]:
    """Run a child; return (stdout, wall seconds, CPU seconds it used: user + system)."""
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise RuntimeError(f"load generator did not finish in {timeout:.0f} s: {err}") from None
    wall = time.monotonic() - t0
    # communicate() reaped the child; its CPU time is in the children's rusage delta, which
    # the caller reads around the call (see measure()).
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({proc.returncode}): {err.strip()[-500:]}")
    return out, wall, 0.0


def children_cpu_since(before: os.times_result) -> float:
    """CPU seconds used by children reaped since ``before`` (user + system)."""
    now = os.times()
    return (now.children_user - before.children_user) + (
        now.children_system - before.children_system
    )


def measure(cmd: list[str], timeout: float) -> tuple[str, float, float]:
    """Run a child to its end: (stdout, wall seconds, the CPU seconds it used)."""
    before = os.times()
    out, wall, _ = _run_child(cmd, timeout)
    return out, wall, children_cpu_since(before)


class LoadRun(NamedTuple):
    """One load run, described the same way to both generators: ``kind`` is ``lookup`` or
    ``sale``, ``sample`` the data set's members, ``products`` the catalogue's size."""

    kind: str
    base_url: str
    seconds: float
    clients: int
    sample: Path
    token: str
    products: int
    cpus: str | None = None  # wrk only: the cores it may run on (``taskset -c``)


def run_wrk(r: LoadRun) -> dict[str, Any]:
    """wrk with the run's Lua script; one connection per wrk thread (see lookup.lua)."""
    script = LUA / f"{r.kind}.lua"
    args = [str(r.sample), r.token] + ([str(r.products)] if r.kind == "sale" else [])
    cmd = [
        "wrk",
        f"-t{r.clients}",
        f"-c{r.clients}",
        f"-d{max(1, round(r.seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        r.base_url,
        "--",
        *args,
    ]
    if r.cpus is not None:
        cmd = ["taskset", "-c", r.cpus, *cmd]
    out, wall, cpu = measure(cmd, timeout=r.seconds + 60)
    m = re.search(r"WRK_JSON (\{.*\})", out)
    if not m:
        raise RuntimeError(f"wrk printed no result: {out[-1000:]}")
    raw = json.loads(m.group(1))
    dur = raw["duration_us"] / 1e6
    res = {
        "tool": "wrk",
        "requests": raw["requests"],
        "seconds": round(dur, 2),
        "rps": raw["requests"] / dur if dur else 0.0,
        "p50_ms": raw["p50_us"] / 1000,
        "p90_ms": raw["p90_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "max_ms": raw["max_us"] / 1000,
        "errors": raw["errors"] + raw.get("failures", 0),
        # What went wrong, when anything did: wrk's own counts by kind, and the first
        # unexpected statuses each connection saw (an error that says only "5" says nothing).
        "error_kinds": {k: raw[k] for k in ("connect", "read", "write", "timeout", "failures")},
        "bad_statuses": [int(v) for v in raw.get("bad_statuses", "").split()],
        "client_cpu_s": round(cpu, 2),
    }
    for key in ("lookups", "histories", "not_found", "created"):
        if key in raw:
            res[key] = raw[key]
    res["client_cpu_ms_per_request"] = 1000 * cpu / raw["requests"] if raw["requests"] else None
    return res


def run_python(r: LoadRun) -> dict[str, Any]:
    """The Python-threads generator below, as its own process (``python -m bench.load``)."""
    cmd = [
        sys.executable,
        "-m",
        "bench.load",
        r.kind,
        r.base_url,
        "--seconds",
        str(r.seconds),
        "--clients",
        str(r.clients),
        "--sample",
        str(r.sample),
        "--token",
        r.token,
        "--products",
        str(r.products),
    ]
    out, wall, cpu = measure(cmd, timeout=r.seconds + 60)
    res: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    res["client_cpu_s"] = round(cpu, 2)
    res["client_cpu_ms_per_request"] = 1000 * cpu / res["requests"] if res["requests"] else None
    return res


def run(tool: str, r: LoadRun) -> dict[str, Any]:
    """One run with ``tool`` (``wrk`` or ``python``)."""
    return run_wrk(r) if tool == "wrk" else run_python(r)


# -- the Python-threads generator (its own process) -------------------------------------------


def percentile(sorted_values: list[float], q: float) -> float:
    """The ``q``-th percentile of sorted values by nearest rank (0 for none)."""
    if not sorted_values:
        return 0.0
    k = min(len(sorted_values) - 1, max(0, round(q / 100 * (len(sorted_values) - 1))))
    return sorted_values[k]


def _client(
    kind: str,
    host: str,
    port: int,
    deadline: float,
    cards: list[tuple[str, str]],
    token: str,
    products: int,
    seed: int,
    out: list[float],
    errors: list[int],
) -> None:
    """One simulated client's closed loop until ``deadline``: latencies into ``out``, failed
    statuses (0 for a broken connection, which is then reopened) into ``errors``."""
    rng = random.Random(seed)
    conn = http.client.HTTPConnection(host, port, timeout=10)
    auth = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    def call(
        method: str, path: str, body: str | None = None, extra: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        t = time.perf_counter()
        conn.request(method, path, body=body, headers={**auth, **(extra or {})})
        resp = conn.getresponse()
        data = resp.read()
        out.append(time.perf_counter() - t)
        return resp.status, data

    n = 0
    while time.monotonic() < deadline:
        n += 1
        try:
            if kind == "lookup":
                card, _ = cards[rng.randrange(len(cards))]
                status, data = call("GET", f"/api/v1/customers/lookup?card={card}")
                if status != 200:
                    errors.append(status)
                    continue
                cid = json.loads(data)["customer_id"]
                status, _ = call("GET", f"/api/v1/customers/{cid}/history?card={card}")
                if status != 200:
                    errors.append(status)
            else:
                lines = [
                    {"sku": f"SKU-{rng.randint(1, products):06d}", "qty": rng.randint(1, 2)}
                    for _ in range(rng.randint(1, 4))
                ]
                body: dict[str, Any] = {"terminal_id": f"pos-{seed}", "currency": "EUR"}
                if rng.random() < 0.7:
                    body["customer_id"] = cards[rng.randrange(len(cards))][1]
                body["lines"] = lines
                status, _ = call(
                    "POST",
                    "/api/v1/sales",
                    json.dumps(body),
                    {"Content-Type": "application/json", "Idempotency-Key": str(uuid.uuid4())},
                )
                if status != 201:
                    errors.append(status)
        except (OSError, http.client.HTTPException):
            errors.append(0)
            conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.close()


def python_main(argv: list[str] | None = None) -> int:
    """``python -m bench.load``: the threads, then one JSON line of results on stdout."""
    ap = argparse.ArgumentParser(description="Python-threads HTTP load generator")
    ap.add_argument("kind", choices=["lookup", "sale"])
    ap.add_argument("base_url")
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--sample", type=Path, required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--products", type=int, default=1000)
    a = ap.parse_args(argv)
    m = re.match(r"http://([^:/]+):(\d+)", a.base_url)
    if not m:
        raise SystemExit("base_url must be http://host:port")
    cards = [tuple(line.split()[:2]) for line in a.sample.read_text().splitlines() if line]
    t0 = time.monotonic()
    deadline = t0 + a.seconds
    lat: list[list[float]] = [[] for _ in range(a.clients)]
    errs: list[list[int]] = [[] for _ in range(a.clients)]
    threads = [
        threading.Thread(
            target=_client,
            args=(
                a.kind,
                m.group(1),
                int(m.group(2)),
                deadline,
                cards,
                a.token,
                a.products,
                i + 1,
                lat[i],
                errs[i],
            ),
        )
        for i in range(a.clients)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    values = sorted(v for chunk in lat for v in chunk)
    print(
        json.dumps(
            {
                "tool": "python-threads",
                "requests": len(values),
                "seconds": round(elapsed, 2),
                "rps": len(values) / elapsed,
                "p50_ms": percentile(values, 50) * 1000,
                "p90_ms": percentile(values, 90) * 1000,
                "p99_ms": percentile(values, 99) * 1000,
                "max_ms": (values[-1] if values else 0.0) * 1000,
                "errors": sum(len(e) for e in errs),
                "bad_statuses": [v for e in errs for v in e][:20],
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(python_main())
