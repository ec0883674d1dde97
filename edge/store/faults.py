"""Named fault points: make a crash window testable without a debugger.

``PASSERELLE_FAULT=name`` (optionally ``name:N`` to fire on the N-th pass) makes the process
SIGKILL itself when it reaches ``point(name)``. Unset, a call is one dict lookup.
Points: before_sale_commit, after_sale_commit, after_puback_before_mark,
after_apply_before_commit, after_apply_before_ack, print_after_send_before_done.
"""

from __future__ import annotations

import os
import signal
import time

_SPEC = os.environ.get("PASSERELLE_FAULT", "")
_NAME, _, _NTH = _SPEC.partition(":")
_COUNT = {"n": 0}
# The process whose crash a ``parent`` point stands for, when it is not this one's parent (an
# applier started through a fork server: sync/receiver.py). 0: the parent.
_PARENT = {"pid": 0}


def set_parent(pid: int) -> None:
    """Name the process that a ``parent`` point kills (see ``point``)."""
    _PARENT["pid"] = pid


def point(name: str, *, parent: bool = False, linger: float = 0.0) -> None:
    """``parent``: the point is in a helper process (the inbox applier) whose crash stands for
    the whole edge's, so the process that started it is killed first. ``linger``: seconds
    the rest of the edge goes on before the kill (what it would wrongly send meanwhile, a
    PUBACK say, then reaches the broker)."""
    if not _NAME or name != _NAME:
        return
    _COUNT["n"] += 1
    if _COUNT["n"] >= int(_NTH or 1):
        time.sleep(linger)
        if parent:
            os.kill(_PARENT["pid"] or os.getppid(), signal.SIGKILL)
        os.kill(os.getpid(), signal.SIGKILL)
