"""Progress lines for the person watching a run.

On stderr, flushed at once: stdout carries the results table (and is what the test suite
reads), and a phase can take minutes, so each one says what it is doing when it starts.
"""

from __future__ import annotations

import sys


def say(msg: str) -> None:
    """One ``==> …`` progress line on stderr."""
    print(f"==> {msg}", file=sys.stderr, flush=True)
