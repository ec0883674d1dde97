"""The processes under test: the edge as production runs it, and the bare baseline app.

The edge is started as the systemd unit starts it (``passerelle run``: the supervisor, its
gunicorn child with ``edge.runner.gunicorn_command``'s workers and threads, and the sync and
print workers as threads), and its readiness is the ``READY=1`` it sends to systemd, caught on
our own ``NOTIFY_SOCKET``. The baseline runs under the very same gunicorn command line, only
the WSGI app changed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from bench.edge_api import EDGE_CLI_MODULE, EDGE_WSGI_APP, Settings, gunicorn_command

ROOT = Path(__file__).resolve().parents[1]


def child_env(root: Path = ROOT, **settings: object) -> dict[str, str]:
    """This checkout's code first (or ``root``'s); PASSERELLE_* from ``settings`` only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PASSERELLE_")}
    env["PYTHONPATH"] = str(root) + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("NOTIFY_SOCKET", None)
    for key, value in settings.items():
        if value is not None:
            env[f"PASSERELLE_{key.upper()}"] = str(value)
    return env


# ``python -m edge.cli`` that imports this checkout only. An editable install of *another*
# checkout (a shared virtual environment) registers a meta-path finder that answers for any
# module this checkout lacks (``sync.worker`` before the sync worker is merged, say) with that
# other checkout's file; the supervisor would then run a mix of two trees. Dropping that
# finder makes a missing module missing, which ``edge.runner`` reports and skips.
EDGE_CLI = (
    "import runpy, sys; "
    "sys.meta_path[:] = [f for f in sys.meta_path "
    "if 'Editable' not in getattr(f, '__name__', type(f).__name__)]; "
    f"runpy.run_module({EDGE_CLI_MODULE!r}, run_name='__main__', alter_sys=True)"
)


def edge_settings(db_path: Path, port: int, mqtt_url: str) -> dict[str, Any]:
    """The edge's settings for a run (passed as PASSERELLE_* variables, as systemd would)."""
    return {
        "db_path": db_path,
        "http_port": port,
        "http_host": "127.0.0.1",
        "mqtt_url": mqtt_url,
        "store_id": "S001",
        "secret_key": "bench-only-session-key",
        "log_level": "WARNING",
        **{key: value for key, (value, _why) in RAISED.items()},
    }


# The settings a run changes from what a store box gets, each through its documented setting
# (docs: configuration), and why; the results record them (``settings_changed``) and the
# report prints them, so no figure hides a lifted limit. Everything else is the default.
RAISED: dict[str, tuple[str, str]] = {
    "rate_limit_lookup": (
        "1000000/second",
        "the kiosk's lookup limit (30/minute per terminal and per address) guards a store "
        "against card guessing; the throughput phases send thousands a second from one "
        "token and one address, so it is raised for the whole run; the limiter still counts "
        "every lookup (its cost is measured), it only never refuses",
    ),
}


@dataclass
class Proc:
    """A started server: its process, log and how long it took to be ready."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    started: float
    ready_after: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        """The process id, where the footprint and CPU accounting start from."""
        return self.popen.pid

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM (what systemd sends), then SIGKILL of our own process group if it hangs."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)  # stray children of our own group


class NotifySocket:
    """A stand-in for systemd's notify socket: records when READY=1 arrives."""

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="bench-notify-")
        self.path = os.path.join(self.dir, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)

    def wait_ready(self, timeout: float) -> float | None:
        """The monotonic time READY=1 arrived, or None after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            self.sock.settimeout(left)
            try:
                msg = self.sock.recv(4096).decode()
            except TimeoutError:
                return None
            if "READY=1" in msg.split("\n"):
                return time.monotonic()
        return None

    def close(self) -> None:
        """Remove the socket and its folder."""
        self.sock.close()
        Path(self.path).unlink(missing_ok=True)
        os.rmdir(self.dir)


def start_edge(
    settings: dict[str, Any],
    log: Path,
    *,
    args: tuple[str, ...] = ("run",),
    timeout: float = 60,
    root: Path = ROOT,
) -> Proc:
    """``passerelle run`` (or another command) of this checkout, or of the one at ``root``
    (``make flamegraphs`` runs an earlier commit's); waits for READY=1 when it is ``run``."""
    notify = NotifySocket()
    env = child_env(root, **settings)
    env["NOTIFY_SOCKET"] = notify.path
    fh = open(log, "ab")  # noqa: SIM115 - the child owns it for its life
    t0 = time.monotonic()
    popen = subprocess.Popen(
        [sys.executable, "-c", EDGE_CLI, *args],
        env=env,
        cwd=root,
        stdout=fh,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    fh.close()
    proc = Proc("edge", popen, log, t0)
    try:
        if args[0] == "run":
            at = notify.wait_ready(timeout)
            if at is None:
                proc.stop()
                raise RuntimeError(f"the edge did not become ready; see {log}")
            proc.ready_after = at - t0
    finally:
        notify.close()
    return proc


def start_baseline(db_path: Path, port: int, log: Path, timeout: float = 30) -> Proc:
    """The minimal app under the edge's own gunicorn command line (same workers, threads)."""
    settings = Settings(http_port=port, http_host="127.0.0.1", db_path=db_path)
    cmd = gunicorn_command(settings)
    cmd[cmd.index(EDGE_WSGI_APP)] = "bench.baseline_app:app"
    env = child_env()
    env["BENCH_DB_PATH"] = str(db_path)
    fh = open(log, "ab")  # noqa: SIM115
    t0 = time.monotonic()
    popen = subprocess.Popen(
        cmd, env=env, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True
    )
    fh.close()
    proc = Proc("baseline", popen, log, t0)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if popen.poll() is not None:
            raise RuntimeError(f"the baseline app died; see {log}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                proc.ready_after = time.monotonic() - t0
                return proc
        except requests.RequestException:
            pass
        time.sleep(0.05)
    proc.stop()
    raise RuntimeError(f"the baseline app did not answer; see {log}")


# -- footprint --------------------------------------------------------------------------------


def children(pid: int) -> list[int]:
    """The direct children of ``pid`` (of all its threads), from /proc."""
    out: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            text = Path(f"/proc/{pid}/task/{task}/children").read_text().split()
            out += [int(c) for c in text]
    except (FileNotFoundError, ProcessLookupError):
        pass
    return out


def tree(pid: int) -> list[int]:
    """``pid`` and all its live descendants, parents first."""
    pids, todo = [], [pid]
    while todo:
        p = todo.pop(0)
        pids.append(p)
        todo += children(p)
    return pids


def describe(pid: int) -> dict[str, Any] | None:
    """One process's role, memory (now and peak), threads and CPU; None once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    rss_kb = int(fields.get("VmRSS", "0 kB").split()[0])
    hwm_kb = int(fields.get("VmHWM", "0 kB").split()[0])
    args = [a.decode(errors="replace") for a in cmdline if a]
    comm = fields.get("Name", "").strip()  # a forked process keeps its parent's cmdline
    if comm == "inbox-applier":
        role = "inbox applier"  # sync/applier.py, forked by the sync worker
    elif "gunicorn" in " ".join(args):
        role = "gunicorn worker" if children(pid) == [] and pid != 0 else "gunicorn master"
    elif "multiprocessing.spawn" in " ".join(args):
        role = "inbox applier"  # sync/applier.py, spawned by the sync worker
    elif "multiprocessing.resource_tracker" in " ".join(args):
        role = "multiprocessing resource tracker"  # started with the applier, by spawn
    elif EDGE_CLI in args:
        role = "passerelle " + " ".join(args[args.index(EDGE_CLI) + 1 :])
    else:
        role = " ".join(args)[:60]
    return {
        "pid": pid,
        "role": role,
        "rss_mb": round(rss_kb / 1024, 1),
        "pss_mb": _smaps_mb(pid, "Pss"),
        "peak_rss_mb": round(hwm_kb / 1024, 1),
        "threads": int(fields.get("Threads", "0").strip() or 0),
        "cpu_s": cpu_s(pid),
    }


def _smaps_mb(pid: int, key: str) -> float | None:
    """One field of /proc/PID/smaps_rollup in MB: ``Pss`` is the process's fair share of
    the memory it shares with others (a page shared by three processes counts a third in
    each), so the PSS of every process of the box adds up to what the box really uses,
    where their RSS counts the pages gunicorn's workers share with their master again in
    each of them. None where the kernel does not say (or the process is gone)."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    for line in text.splitlines():
        if line.startswith(key + ":"):
            return round(int(line.split()[1]) / 1024, 1)
    return None


def total_mb(processes: list[dict[str, Any]], key: str) -> float | None:
    """The sum of ``key`` (``pss_mb``, ``rss_mb``) over processes (None if one lacks it)."""
    values = [p.get(key) for p in processes]
    if not values or any(v is None for v in values):
        return None
    return round(sum(v for v in values if v is not None), 1)


def footprint(pid: int) -> list[dict[str, Any]]:
    """``describe`` for every process of the tree: the edge is several processes, and its
    memory target is per process."""
    return [d for p in tree(pid) if (d := describe(p)) is not None]


# -- CPU accounting ---------------------------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK")


def machine_busy_s() -> float:
    """CPU seconds the whole machine spent busy (all cores, every process) since boot."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / TICK


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) used so far by one process (0 once it is gone)."""
    try:
        parts = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(parts[11]) + int(parts[12])) / TICK


def tree_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) used so far by a process and its live descendants."""
    return sum(cpu_s(p) for p in tree(pid))
