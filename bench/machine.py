"""The machine a run measured on, and how busy it was.

Figures from a 2-core box shared with other work mean little without the box: the results
record its CPU, memory and the versions of everything under test, and each HTTP run records
the load average before it, to tell a slow server from a busy machine.
"""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from bench import load
from tests.support.broker import mosquitto_binary


def describe() -> dict[str, Any]:
    """CPU, cores, memory, kernel and the versions of Python, SQLite, Mosquitto and wrk."""
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


def loadavg() -> float:
    """The 1-minute load average, recorded before a measured run."""
    return float(Path("/proc/loadavg").read_text().split()[0])
