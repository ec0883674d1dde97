"""gunicorn's settings for the edge's API (``gunicorn -c python:edge.web.gunicorn_conf``).

What the command line cannot say:
- the master's logging is the edge's one format (``edge.system.logs``), so gunicorn's own
  lines and its access log read like the app's;
- the app is loaded once, in the master, before the workers fork (``preload_app``), and the
  objects it made are then frozen out of the garbage collector (``gc.freeze``). The workers
  share those pages with the master instead of each importing and building its own copy:
  the API's processes held three copies of Flask, pydantic, the models and the routes (about
  60 MB each); a collection would also write to every object's header and so copy the page
  it is on into the worker, and a full collection over the app's 80,000 objects took tens of
  milliseconds of a request's time. The workers still open their own SQLite connections
  (one per server thread, on first use: ``edge.web.context.get_db``), never the master's;
- Prometheus multiprocess mode: before the app is loaded, the master points
  ``PROMETHEUS_MULTIPROC_DIR`` at a fresh folder (unless the operator set one); each worker
  writes its counters there, ``/metrics`` adds them up whichever worker answers the scrape,
  and a worker that exits is marked dead so its gauges go and its counts stay. It is set
  when this file is read, since the preloaded app imports ``prometheus_client``, which reads
  the variable once, at import;
- each worker hands the interpreter lock over every 1 ms rather than 5 (``post_fork``);
- each worker gets a slot in the table of connection counts the workers share
  (``pre_fork``, freed at ``child_exit``), so that the next connection goes to the worker
  holding the fewest (``edge.web.worker_shares``).
"""

from __future__ import annotations

import ctypes
import gc
import os
import shutil
import sys
import tempfile
from typing import Any

from edge.config import load_settings
from edge.system import logs
from edge.web.worker_shares import SHARES

_settings = load_settings()
logconfig_dict = logs.logconfig_dict(_settings.log_level, _settings.log_format)
preload_app = True
# the access log's fields computed only when its format reads them (edge.web.access_log)
logger_class = "edge.web.access_log.AccessLogger"
_made: list[str] = []

if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _folder = tempfile.mkdtemp(prefix="passerelle-metrics-")
    _made.append(_folder)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _folder


def when_ready(_server: Any) -> None:
    """The app is loaded (preload) and the workers are not forked yet: what exists now lives
    as long as the process, so the collector is told to leave it alone from here on; and
    glibc's malloc is held to two arenas, which the forked workers inherit."""
    gc.collect()
    gc.freeze()
    _fewer_malloc_arenas()


def _fewer_malloc_arenas(arenas: int = 2) -> None:
    """glibc gives each new thread that allocates its own malloc arena (up to 8 per core),
    and memory freed in one is kept there for that thread: SQLite's page caches and the
    answers of four server threads then hold their peaks separately. Two arenas for the
    API's threads (``M_ARENA_MAX``; ``MALLOC_ARENA_MAX`` in the environment says the same
    but must be set before the process starts). Not glibc (musl): nothing to do."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(M_ARENA_MAX, arenas)
    except (OSError, AttributeError):
        pass


M_ARENA_MAX = -8  # glibc's malloc.h


def pre_fork(_server: Any, worker: Any) -> None:
    """The worker's slot in the shared connection counts (``edge.web.worker_shares``)."""
    worker.share_slot = SHARES.claim()


def child_exit(_server: Any, worker: Any) -> None:
    SHARES.free(getattr(worker, "share_slot", None))
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def on_exit(_server: Any) -> None:
    for folder in _made:
        shutil.rmtree(folder, ignore_errors=True)


# How long a thread may keep the interpreter lock while another waits for it (CPython's
# default: 5 ms). A server thread whose SQLite call or socket read has returned waits for the
# lock behind a thread running Python; with 5 ms that wait is the tail of a 0.5 ms request.
# Set in each worker (post_fork), and so for the bare app too, which runs under this file.
SWITCH_INTERVAL_S = 0.001


def post_fork(_server: Any, _worker: Any) -> None:
    sys.setswitchinterval(SWITCH_INTERVAL_S)
