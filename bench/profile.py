"""Where a lookup's server time goes: py-spy samples the gunicorn workers under load.

Two uses:
- the lookup phase of ``make bench`` profiles the edge and the bare app for a few seconds each,
  after their measured runs (sampling costs the server a little, so never during them), and
  turns the samples into a per-request cost breakdown: each sample is charged to one part of
  the request (``PARTS``), and a part's share of the samples times the server CPU per request
  is its cost in milliseconds;
- ``make flamegraphs`` (``python -m bench.profile``) writes the flame graphs of the docs'
  performance page, on a small data set, for this checkout and for another (``--tree``, a
  checkout of an earlier commit: the "before" graph).

py-spy reads the workers' memory from outside (ptrace): the code measured is the code that
runs, with no profiler hooks inside it.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench import dataset, load, mqtt, procs
from bench.console import say
from bench.edge_api import kiosk_copy
from tests.support.broker import free_port

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "performance"

# (part, test on one frame "function (file)"), tried from the innermost frame outwards; the
# first frame that matches names the sample's part. Frames of general-purpose modules
# (threading, contextlib, functools, typing...) match nothing and are passed over.
PARTS: list[tuple[str, tuple[str, ...]]] = [
    ("rate limiter", ("flask_limiter/", "limits/", "edge/web/limits.py")),
    ("token check", ("principal_for_token", "token_principal", "hash_token", "same_hash")),
    ("metrics", ("prometheus_client/", "_count (edge/web/app.py", "_start (edge/web/app.py")),
    ("logging", ("logging/", "edge/system/logs.py", "structlog/")),
    ("pydantic validation", ("pydantic/", "parse_query", "model_validate")),
    ("JSON encoding", ("json/", "orjson", "jsonify", "render (edge/web/routing.py")),
    (
        "SQL and read model",
        ("edge/customers/views.py", "edge/loyalty/views.py", "baseline_app.py", "sqlite3/"),
    ),
    # the edge's gunicorn worker class (gthread's, deferring idle connections) is gunicorn's part
    ("gunicorn (HTTP, sockets, access log)", ("edge/web/worker.py",)),
    ("access checks", ("edge/web/access.py", "member_in_front", "authenticate", "edge/web/")),
    ("Flask and Werkzeug", ("flask/", "werkzeug/")),
    ("gunicorn (HTTP, sockets, access log)", ("gunicorn/",)),
]
OTHER = "other"
OFF_GIL = "outside the GIL (SQLite, sockets, kernel)"
RATE = 250  # samples a second


def part_of(stack: str) -> str:
    """The part a sample (py-spy's ``raw`` line: frames root first, ``;``-separated) goes to."""
    for frame in reversed(stack.split(";")):
        for part, needles in PARTS:
            if any(n in frame for n in needles):
                return part
    return OTHER


def record(pid: int, seconds: float, out: Path, fmt: str = "raw", rate: int = RATE) -> Path:
    """py-spy on ``pid`` and its children (the gunicorn master: its workers) for ``seconds``."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    cmd = [spy, "record", "--pid", str(pid), "--subprocesses", "--nolineno", "--nonblocking"]
    cmd += ["--gil"]  # only the thread holding the GIL: Python's CPU, not threads waiting
    cmd += ["--rate", str(rate), "--duration", str(max(1, round(seconds)))]
    cmd += ["--format", fmt, "--output", str(out)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=seconds + 60)
    return out


def breakdown(raw: Path, cpu_s: float, requests: float) -> dict[str, Any]:
    """The server CPU per request, split into parts.

    py-spy samples only the thread that holds the GIL, so the samples measure the Python
    work: ``RATE`` samples are one second of it. The rest of the CPU the workers used
    (``cpu_s``, from /proc, over the sampled window with its ``requests``) ran without the
    GIL: SQLite, sockets, the kernel. On a busy box a worker also holds the GIL while the
    kernel has it off the core, so the Python time read from the samples can exceed the CPU
    it used: the parts are then the samples' shares of that CPU, and ``python_share`` says 1.
    """
    counts: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if stack and n.isdigit():
            counts[part_of(stack)] += int(n)
    total = sum(counts.values()) or 1
    python_s = min(total / RATE, cpu_s)
    per_req = 1000 / requests if requests else 0.0
    parts: dict[str, float] = {
        part: round(n / total * python_s * per_req, 3) for part, n in counts.most_common()
    }
    parts[OFF_GIL] = round((cpu_s - python_s) * per_req, 3)
    return {
        "samples": total,
        "cpu_ms_per_request": round(cpu_s * per_req, 3),
        "python_share": round(python_s / cpu_s, 2) if cpu_s else None,
        "ms_per_request": parts,
    }


def gunicorn_master(edge_pid: int) -> int:
    """The gunicorn master under ``passerelle run`` (or the pid itself: the bare app)."""
    for pid in procs.tree(edge_pid):
        d = procs.describe(pid)
        if d and d["role"] == "gunicorn master":
            return pid
    return edge_pid


def profiled_load(
    pid: int, run: load.LoadRun, out: Path, fmt: str = "raw", tool: str = "wrk"
) -> dict[str, Any]:
    """py-spy on ``pid``'s tree for ``run.seconds - 2`` s in the middle of a load run; the
    load's figures, with the server CPU and the requests of the sampled window."""
    result: dict[str, Any] = {}
    loader = threading.Thread(target=lambda: result.update(load.run(tool, run)))
    loader.start()
    time.sleep(1)
    seconds = max(1.0, round(run.seconds - 2))
    cpu0, t0 = procs.tree_cpu_s(pid), time.monotonic()
    record(pid, seconds, out, fmt)
    cpu, wall = procs.tree_cpu_s(pid) - cpu0, time.monotonic() - t0
    loader.join()
    result["sampled_cpu_s"] = cpu
    result["sampled_requests"] = result["rps"] * wall
    return result


def flamegraphs(label: str, tree: Path, seconds: float) -> None:
    """The flame graph of the lookup path for the code in ``tree``, written to
    ``docs/performance/lookup-<label>.svg``, with its breakdown beside it (``.txt``)."""
    params = dataset.Params(customers=20_000, purchase_lines=200_000, products=2_000)
    work_dir = ROOT / "var" / "bench" / "profile"
    ds = dataset.ensure(dataset.cache_dir(ROOT / "var" / "bench", params), params, quiet=True)
    shutil.rmtree(work_dir, ignore_errors=True)
    work_dir.mkdir(parents=True)
    work = work_dir / "work.db"
    token = kiosk_copy(Path(str(ds["path"])), work)
    broker = mqtt.start_broker(work_dir / "broker")
    port = free_port()
    settings = procs.edge_settings(work, port, broker.url)
    edge = procs.start_edge(settings, work_dir / "edge.log", root=tree)
    try:
        sample = Path(str(ds["path"])).with_name("sample.txt")
        run = load.LoadRun("lookup", f"http://127.0.0.1:{port}", 3, 8, sample, token, 2000)
        tool = "wrk" if load.wrk_available() else "python"
        load.run(tool, run)  # warm-up
        master = gunicorn_master(edge.pid)
        DOCS.mkdir(parents=True, exist_ok=True)
        svg = DOCS / f"lookup-{label}.svg"
        run = run._replace(seconds=seconds)
        say(f"profiling the lookup path ({label}, {tree}) for {seconds:.0f} s: flame graph")
        profiled_load(master, run, svg, "flamegraph", tool)
        say(f"profiling the lookup path ({label}) for {seconds:.0f} s: breakdown")
        raw = work_dir / "lookup.raw"
        res = profiled_load(master, run, raw, "raw", tool)
        parts = breakdown(raw, res["sampled_cpu_s"], res["sampled_requests"])
        lines = [
            f"{label}: {res['rps']:.0f} req/s under py-spy, {parts['samples']} samples, "
            f"{parts['cpu_ms_per_request']:.3f} ms of server CPU per request"
        ]
        lines += [f"{p:44s} {ms:6.3f} ms" for p, ms in parts["ms_per_request"].items()]
        (DOCS / f"lookup-{label}.txt").write_text("\n".join(lines) + "\n")
        print("\n".join(lines))
    finally:
        edge.stop()
        broker.stop()


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.profile [--label after] [--tree PATH]``."""
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--label", default="after", help="the graph's name: lookup-LABEL.svg")
    ap.add_argument("--tree", type=Path, default=ROOT, help="the checkout whose edge to run")
    ap.add_argument("--seconds", type=float, default=10.0)
    a = ap.parse_args(argv)
    flamegraphs(a.label, a.tree.resolve(), a.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
