"""Run the edge (or another part) as a real process, as systemd would, so tests can SIGKILL it.

Subprocesses import the code of this checkout (PYTHONPATH=repo root), never another install.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def env(**settings: object) -> dict[str, str]:
    """The environment of a child process: this checkout first, PASSERELLE_<KEY> settings."""
    out = {k: v for k, v in os.environ.items() if not k.startswith("PASSERELLE_")}
    out["PYTHONPATH"] = str(ROOT) + os.pathsep + out.get("PYTHONPATH", "")
    out["PYTHONUNBUFFERED"] = "1"
    for key, value in settings.items():
        out[f"PASSERELLE_{key.upper()}"] = str(value)
    return out


def passerelle(*args: str) -> list[str]:
    return [sys.executable, "-m", "edge.cli", *args]


def start(args: list[str], environ: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    fh = open(log, "ab")  # noqa: SIM115 - the child owns it for its life
    return subprocess.Popen(
        args, env=environ, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True
    )
