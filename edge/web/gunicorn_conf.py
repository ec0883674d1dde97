"""gunicorn's settings for the edge's API (``gunicorn -c python:edge.web.gunicorn_conf``).

What the command line cannot say:
- the master's logging is the edge's one format (``edge.system.logs``), so gunicorn's own
  lines and its access log read like the app's;
- Prometheus multiprocess mode: before the workers fork, the master points
  ``PROMETHEUS_MULTIPROC_DIR`` at a fresh folder (unless the operator set one); each worker
  writes its counters there, ``/metrics`` adds them up whichever worker answers the scrape,
  and a worker that exits is marked dead so its gauges go and its counts stay.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

from edge.config import load_settings
from edge.system import logs

_settings = load_settings()
logconfig_dict = logs.logconfig_dict(_settings.log_level, _settings.log_format)
_made: list[str] = []


def on_starting(_server: Any) -> None:
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        folder = tempfile.mkdtemp(prefix="passerelle-metrics-")
        _made.append(folder)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder


def child_exit(_server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def on_exit(_server: Any) -> None:
    for folder in _made:
        shutil.rmtree(folder, ignore_errors=True)
