"""Down-events of the loyalty area: ledger entries made by the web or another store."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

from edge.loyalty import service as loyalty
from edge.store.inbox import ApplyContext, Handler


def loyalty_entry(conn: sqlite3.Connection, d: Mapping[str, Any], ctx: ApplyContext) -> bool:
    # Our own entries come back with the same entry_id: never counted twice.
    return loyalty.insert_entry(conn, d, origin="down")


HANDLERS: dict[str, Handler] = {"loyalty.entry": loyalty_entry}
