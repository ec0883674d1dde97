"""The lookup path's Python work, measured in process: ``python -m bench.inprocess [--bare]``.

The WSGI app is called directly (no gunicorn, no sockets, no access log) with what a kiosk
sends, a card lookup then the first page of that member's history, over the members of the
flame graphs' small data set (20,000 members, made once, cached in ``var/bench/``). Each of
five runs reports the CPU time per request; the best of them is the figure (the others show
how much the box moved). ``--bare`` measures ``bench/baseline_app.py`` the same way.

Much steadier than the HTTP benchmark on a shared box, it shows a change of a few
microseconds; what it leaves out (gunicorn, the access log, the kernel) the benchmark's
``server CPU per request`` has. Hold the heavy lock while it runs.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from werkzeug.test import create_environ

from bench import dataset
from bench.edge_api import create_app, kiosk_copy

ROOT = Path(__file__).resolve().parents[1]
PARAMS = dataset.Params(customers=20_000, purchase_lines=200_000, products=2_000)

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def environ(path: str, query: str, token: str) -> dict[str, Any]:
    """A kiosk's GET as the WSGI server hands it over (werkzeug's own builder)."""
    return create_environ(
        path,
        query_string=query,
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        environ_base={"REMOTE_ADDR": "127.0.0.1"},  # the rate limiter counts per address
    )


def kiosk_pairs(app: WsgiApp, pairs: list[tuple[str, str]], token: str, n: int) -> float:
    """``n`` card lookups, each followed by its member's first history page: the CPU seconds
    of the app's calls alone (the requests' environs are built before the clock starts)."""
    status: list[str] = []

    def start_response(st: str, _headers: Any, _exc: Any = None) -> None:
        status[:] = [st]

    rnd = random.Random(1)
    requests = []
    for _ in range(n):
        card, customer_id = rnd.choice(pairs)
        requests.append(environ("/api/v1/customers/lookup", f"card={card}", token))
        requests.append(environ(f"/api/v1/customers/{customer_id}/history", f"card={card}", token))
    t0 = time.process_time()
    for env in requests:
        b"".join(app(env, start_response))
        if not status[0].startswith("200"):
            raise RuntimeError(f"{env['PATH_INFO']}: {status[0]}")
    return time.process_time() - t0


def build(work: Path, bare: bool) -> WsgiApp:
    if bare:
        os.environ["BENCH_DB_PATH"] = str(work)
        from bench.baseline_app import app as bare_app

        return bare_app
    # the kiosk's limit raised as the benchmark raises it (bench.procs.RAISED): still counted
    return create_app({"db_path": str(work), "rate_limit_lookup": "1000000/second"})


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--bare", action="store_true", help="the bare app (bench/baseline_app.py)")
    ap.add_argument("--pairs", type=int, default=2000, help="lookup + history pairs per run")
    a = ap.parse_args(argv)
    ds = dataset.ensure(dataset.cache_dir(ROOT / "var" / "bench", PARAMS), PARAMS, quiet=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "work.db"
        token = kiosk_copy(Path(str(ds["path"])), work)
        sample = Path(str(ds["path"])).with_name("sample.txt").read_text().splitlines()
        pairs = [(p[0], p[1]) for p in (line.split() for line in sample) if len(p) >= 2]
        app = build(work, a.bare)
        kiosk_pairs(app, pairs, token, 500)  # warm-up: connections, caches, statements
        runs = []
        for _ in range(5):
            runs.append(kiosk_pairs(app, pairs, token, a.pairs) / (2 * a.pairs) * 1000)
    side = "bare app" if a.bare else "edge"
    print(
        f"{side}: CPU per request {min(runs):.4f} ms (runs: {' '.join(f'{r:.4f}' for r in runs)})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
