"""``passerelle run``: the whole edge on one box, supervised by one process.

The API runs under gunicorn in a child process (several workers, so one slow request never
stalls the till); the sync worker and the print worker run as threads of this process. They
meet only in the database. This process tells systemd it is ready once the database is
migrated and the HTTP port answers, feeds the watchdog while every part is alive, and on
SIGTERM stops the workers (which publish their offline status) and the API.
"""

from __future__ import annotations

import importlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from edge.config import Settings
from edge.store import db

log = logging.getLogger("passerelle.run")

# (name, "module:function") of the background workers; each takes (settings, stop_event).
# How often the main loop looks at the signals noted by the handler.
SIGNAL_POLL = 0.2
# How often the start looks whether the API answers: READY=1 comes at most this late.
READY_POLL = 0.02

WORKERS: list[tuple[str, str]] = [
    ("sync", "sync.worker:run"),
    ("print", "edge.printing.worker:run"),
    ("jobs", "edge.system.jobs:run"),
]


def gunicorn_command(settings: Settings) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"{settings.http_host}:{settings.http_port}",
        "--workers",
        str(settings.http_workers),
        "--threads",
        str(settings.http_threads),
        "--worker-class",
        "edge.web.worker.ThreadWorker",  # gthread, with idle connections off the threads
        "--keep-alive",
        str(settings.http_keepalive),
        "--graceful-timeout",
        "10",
        # gunicorn 27 opens a control socket in $HOME by default: nothing here uses it, and
        # the hardened unit (ProtectHome) forbids it.
        "--no-control-socket",
        "--access-logfile",
        "-",
        "--access-logformat",
        '%(h)s "%(m)s %(U)s" %(s)s %(L)ss rid=%({x-request-id}o)s',  # no query strings: no PII
        "--config",
        "python:edge.web.gunicorn_conf",  # the one log format; metrics from every worker
        *tls_arguments(settings),
        "edge.web.wsgi:app",
    ]


def tls_arguments(settings: Settings) -> list[str]:
    """HTTPS served by gunicorn itself when a certificate is configured (issue 19)."""
    if not settings.tls:
        return []
    return ["--certfile", str(settings.tls_cert_file), "--keyfile", str(settings.tls_key_file)]


def _get_ok(url: str) -> bool:
    """Whether our own API answers 200: its certificate is ours, on our own address, with
    nothing to verify it against here (and ``0.0.0.0`` is in no certificate)."""
    import warnings

    import requests  # here, not at the top: 80 ms of imports, after gunicorn's spawn

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bool(requests.get(url, timeout=1, verify=False).status_code == 200)  # noqa: S501


def api_banner(settings: Settings) -> str:
    """Where the API listens, and whether the network can reach it: said at every start."""
    reach = (
        "loopback only"
        if settings.http_host in ("127.0.0.1", "::1", "localhost")
        else "reachable from the network"
    )
    scheme = "https" if settings.tls else "http"
    return f"API on {scheme}://{settings.http_host}:{settings.http_port} ({reach})"


def _worker_module(spec: str) -> ModuleType | None:
    """The module of a worker spec (``module:function``), or None when that module (or its
    package) is not installed on this box; an import error inside it is raised."""
    module_name = spec.partition(":")[0]
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            return None
        raise


def load_worker(spec: str) -> Callable[[Settings, threading.Event], None] | None:
    module = _worker_module(spec)
    if module is None:
        return None
    fn: Callable[[Settings, threading.Event], None] = getattr(module, spec.partition(":")[2])
    return fn


def load_hook(spec: str, name: str) -> Callable[[Settings], None] | None:
    """A worker module's optional function ``name`` (e.g. ``sync.worker:prefork``)."""
    module = _worker_module(spec)
    hook: Callable[[Settings], None] | None = getattr(module, name, None) if module else None
    return hook


@dataclass
class Supervisor:
    settings: Settings
    workers: list[tuple[str, str]] = field(default_factory=lambda: list(WORKERS))
    with_api: bool = True
    stop: threading.Event = field(default_factory=threading.Event)
    threads: dict[str, threading.Thread] = field(default_factory=dict)
    api: subprocess.Popen[bytes] | None = None
    failed: bool = False

    def start(self) -> None:
        conn = db.open_database(self.settings.db_path)
        conn.close()
        # python-escpos parses its printer profiles at import (0.6 s of every start) and
        # keeps the result in a pickle in ESCPOS_CAPABILITIES_PICKLE_DIR, by default a new
        # temporary folder per process (never found again, one more left behind each
        # time): beside the database instead, a folder only this service writes to.
        cache = Path(self.settings.db_path).parent / "cache"
        cache.mkdir(mode=0o700, exist_ok=True)
        os.environ.setdefault("ESCPOS_CAPABILITIES_PICKLE_DIR", str(cache))
        if self.with_api:
            # The API first: the kiosks wait for it (READY=1), and its start-up (gunicorn
            # loading the app) then overlaps with the workers' imports below instead of
            # waiting for them.
            env = dict(os.environ)
            self.api = subprocess.Popen(gunicorn_command(self.settings), env=env)
            log.info(api_banner(self.settings))
        # Before any thread of ours: a worker may fork a helper process here (the sync
        # worker's inbox applier), which must not inherit a lock another thread holds.
        for _name, spec in self.workers:
            hook = load_hook(spec, "prefork")
            if hook is not None:
                hook(self.settings)
        for name, spec in self.workers:
            fn = load_worker(spec)
            if fn is None:
                log.warning("worker %s (%s) is not installed; skipped", name, spec)
                continue
            t = threading.Thread(target=self._guard, args=(name, fn), name=name, daemon=True)
            t.start()
            self.threads[name] = t

    def _guard(self, name: str, fn: Callable[[Settings, threading.Event], None]) -> None:
        try:
            fn(self.settings, self.stop)
        except Exception:
            log.exception("worker %s died", name)
            self.failed = True
            self.stop.set()

    def wait_ready(
        self, timeout: float = 30.0, stopping: Callable[[], bool] = lambda: False
    ) -> bool:
        if not self.with_api:
            return True
        scheme = "https" if self.settings.tls else "http"
        url = f"{scheme}://{self.settings.http_host}:{self.settings.http_port}/healthz"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.stop.is_set() and not stopping():
            if self.api is not None and self.api.poll() is not None:
                return False
            try:
                if _get_ok(url):
                    return True
            except OSError:  # requests' errors are OSErrors: refused until gunicorn listens
                pass
            time.sleep(READY_POLL)
        return False

    def alive(self) -> bool:
        if self.api is not None and self.api.poll() is not None:
            return False
        return all(t.is_alive() for t in self.threads.values())

    def shutdown(self) -> None:
        self.stop.set()
        if self.api is not None and self.api.poll() is None:
            self.api.terminate()
            try:
                self.api.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.api.kill()
        for t in self.threads.values():
            t.join(timeout=15)


def run(
    settings: Settings, *, with_api: bool = True, workers: list[tuple[str, str]] | None = None
) -> int:
    import sdnotify

    notifier = sdnotify.SystemdNotifier()
    sup = Supervisor(
        settings, workers=workers if workers is not None else list(WORKERS), with_api=with_api
    )

    signals: list[int] = []

    def _term(signum: int, _frame: Any) -> None:
        # Only note it. The handler runs in the main thread between two bytecodes, possibly
        # inside Event.set() holding the event's lock (a second signal: Ctrl-C reaches the
        # whole process group, then a script sends SIGTERM), where set() again deadlocks.
        signals.append(signum)

    signal.signal(signal.SIGTERM, _term)
    signal.signal(signal.SIGINT, _term)
    sup.start()
    if not sup.wait_ready(stopping=lambda: bool(signals)):
        if signals:
            log.info("signal %s: stopping", signals[0])
        else:
            log.error("the API did not become ready")
        sup.shutdown()
        return 0 if signals and not sup.failed else 1
    notifier.notify("READY=1")
    notifier.notify(f"STATUS=serving store {settings.store_id}")
    log.info("ready: store %s", settings.store_id)
    watchdog_usec = int(os.environ.get("WATCHDOG_USEC", "0") or 0)
    interval = min(5.0, watchdog_usec / 2e6) if watchdog_usec else 5.0
    code = 0
    beat = time.monotonic()
    while not signals and not sup.stop.wait(SIGNAL_POLL):
        if not sup.alive():
            log.error("a part of the edge died; exiting so that systemd restarts it")
            code = 1
            break
        if time.monotonic() - beat >= interval:
            notifier.notify("WATCHDOG=1")
            beat = time.monotonic()
    if signals:
        log.info("signal %s: stopping", signals[0])
    notifier.notify("STOPPING=1")
    sup.shutdown()
    return 1 if sup.failed else code
