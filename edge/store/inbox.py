"""The inbox's registry types: what a down-event handler is and what it is given.

Each area's ``handlers.py`` holds the handlers of its own event types; ``edge.handlers``
gathers them into the one table the sync consumer reads. A handler is a plain function that
runs inside the inbox's write transaction (together with the record of the event's
``(source, id)``).

A handler returns True when the event changed something, False when it was a no-op (an old
version, our own sale echoed back by the chain). Handlers never publish by themselves; where
the store must answer (a cancelled order already collected), they write an outbox row.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from edge.store import state


@dataclass(frozen=True)
class ApplyContext:
    """What a handler may need besides the event: this store's identity and up-stream."""

    store_id: str
    source: str  # this edge's up-source, for events the store must emit in answer
    event_id: str
    event_time: str | None = None


Handler = Callable[[sqlite3.Connection, Mapping[str, Any], ApplyContext], bool]

REPLAY_KEY = "replay_after"


def replay_requested(conn: sqlite3.Connection, d: Mapping[str, Any], ctx: ApplyContext) -> bool:
    """The online store missed some of our up-events: the sync worker publishes again every
    kept event after ``after``. Recorded durably here; the lowest pending request wins."""
    after = int(d["after"])
    current = state.get(conn, REPLAY_KEY)
    if current is not None and int(current) <= after:
        return False
    state.put(conn, REPLAY_KEY, after)
    return True
