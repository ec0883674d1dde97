"""Every piece of the edge (and of its sync worker) that the benchmarks use, in one place.

Why one module: issue 15 moves the edge's modules into area packages (``edge.db`` to
``edge.store.db`` and so on). With every import of ``edge`` and ``sync`` here and nowhere
else in ``bench/``, following such a move is a change to this one file. The names the harness
passes to other processes as text (the WSGI app gunicorn loads, the CLI module the edge is run
from) are the same kind of dependency, so they live here too.

The bare baselines' child processes (``python -m bench.mqtt``, ``python -m bench.load``, the
gunicorn app ``bench.baseline_app``) must not import this module: they would pay for loading
the edge at start-up, inside the time and CPU they are measured by.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from edge.actor import Actor
from edge.config import Settings, load_settings
from edge.loyalty.rules import LoyaltyRules
from edge.sales import service as sales
from edge.sales.rules import NewSale, SaleLine
from edge.staff import service as auth
from edge.stock import service as stock
from edge.store import db, outbox
from edge.store.ids import new_id
from edge.system.runner import gunicorn_command

if TYPE_CHECKING:
    from sync import contract

__all__ = [
    "EDGE_CLI_MODULE",
    "EDGE_WSGI_APP",
    "Actor",
    "LoyaltyRules",
    "NewSale",
    "SaleLine",
    "Settings",
    "auth",
    "contract",
    "create_app",
    "db",
    "gunicorn_command",
    "handles_down_event",
    "kiosk_copy",
    "load_settings",
    "new_id",
    "outbox",
    "receive_maximum",
    "sales",
    "stock",
    "sync_available",
]

ROOT = Path(__file__).resolve().parents[1]

# The module that ``passerelle`` (the console script) runs, started by module name so that
# the child imports this checkout's code (see ``bench.procs.EDGE_CLI``).
EDGE_CLI_MODULE = "edge.cli"
# The WSGI app in ``edge.system.runner.gunicorn_command``'s command line, which the
# baseline replaces.
EDGE_WSGI_APP = "edge.web.wsgi:app"


def sync_available() -> bool:
    """The sync worker of *this* checkout (not one an editable install of another finds).

    Branches without the sync worker still measure the HTTP phases; the MQTT phases then say
    they were not measured instead of failing."""
    try:
        spec = importlib.util.find_spec("sync.worker")
    except ModuleNotFoundError:
        return False
    return spec is not None and str(spec.origin or "").startswith(str(ROOT) + os.sep)


def handles_down_event(type_: str) -> bool:
    """Whether the edge's inbox has a handler for a down-event type (``order.placed`` is not
    on every branch), so that the catch-up sends only what this edge applies.

    Imported when asked: only the MQTT phases need the inbox, and only once the sync worker
    is known to be there."""
    from edge import handlers

    return type_ in handlers.HANDLERS


def receive_maximum() -> int:
    """The in-flight window the edge's sync worker asks the broker for, which the bare
    subscriber asks for too so that the broker sends both the same way.

    Imported when asked, like ``handles_down_event``: ``sync.mqtt`` exists only with the sync
    worker."""
    from sync.mqtt import RECEIVE_MAXIMUM

    return RECEIVE_MAXIMUM


def create_app(overrides: dict[str, Any]) -> Any:
    """The edge's WSGI app for ``bench.inprocess``, imported when asked (Flask and the routes
    are no concern of the other phases)."""
    from edge.web.app import create_app as make

    return make(overrides)


def kiosk_copy(dataset_db: Path, work: Path) -> str:
    """A working copy of a data set's database at ``work``, migrated to this checkout's schema,
    with a kiosk token for the lookups: the token. The cached data set itself is never
    written (``bench.inprocess`` and ``bench.profile`` measure on the copy)."""
    shutil.copyfile(dataset_db, work)
    conn = db.open_database(work)
    try:
        return auth.create_token(conn, name="bench-kiosk", role="kiosk")
    finally:
        conn.close()


def __getattr__(name: str) -> ModuleType:
    """``contract`` (the sync's ``sync.contract``, which the soak uses) is imported when first
    asked for, like ``receive_maximum``: at the top of this module it would stop every
    benchmark on a branch without the sync worker."""
    if name == "contract":
        from sync import contract

        return contract
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
