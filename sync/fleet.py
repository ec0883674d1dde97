"""What the edge adds to its retained status for the chain's fleet view (contract 1.1, optional).

The online store's fleet page must never query a store box: it reads the retained status
each edge already publishes (at connect and every 60 s at most). These optional fields let it
say, for each store, which software and contract it runs, what it still has to send, how far
it has applied the online store's streams, its dead letters and the time of its last sale.
A reader that does not know them ignores them (readers are tolerant).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from edge import __version__
from sync import contract

CONTRACT_VERSION = "1.1"


def status_extras(conn: sqlite3.Connection, store_id: str) -> dict[str, Any]:
    """The optional status fields, read from the store database (a few indexed counts)."""
    backlog = conn.execute(
        "SELECT COUNT(*) FROM outbox WHERE source = ? AND sent_at IS NULL",
        (contract.up_source(store_id),),
    ).fetchone()[0]
    applied = dict(
        conn.execute(
            "SELECT source, last_sequence FROM inbox_streams WHERE source IN (?, ?)",
            (contract.CHAIN_SOURCE, contract.store_down_source(store_id)),
        ).fetchall()
    )
    dead = conn.execute("SELECT COUNT(*) FROM dead_letters").fetchone()[0]
    last_sale = conn.execute("SELECT MAX(occurred_at) FROM sales").fetchone()[0]
    return {
        "software_version": __version__,
        "contract_version": CONTRACT_VERSION,
        "backlog_up": int(backlog),
        "applied_chain": str(applied.get(contract.CHAIN_SOURCE, 0)),
        "applied_store": str(applied.get(contract.store_down_source(store_id), 0)),
        "dead_letters": int(dead),
        "last_sale_at": last_sale,
    }
