"""One identity per store (issue 19): what a store may read and what it may say.

- **Backfill tokens per store.** The endpoint's ``--token`` is the chain's master secret and
  is never handed to a store: each store gets ``store_token(master, store_id)`` (an HMAC of
  its id; ``python -m online_store.auth token S001`` prints it), which opens the chain's
  stream and that store's own streams (down, and up as received), nothing else. The master
  itself opens only the chain's stream (nothing personal to one store).
- **The store is the topic's.** An up-event's store is the one its topic names (the broker's
  ACL lets a store publish only under its own topics): ``loyalty.entry`` and
  ``coupon.redeemed`` take it from there, never from ``data.store_id``; ``pickup.updated``
  is refused for an order of another store.
- **Caps and audit on loyalty entries from stores.** A store earns points on its sales and
  spends them on redemptions: a ``purchase`` entry must be positive and refer to a sale of
  that store, ``redeem`` and ``expire`` must be negative, and ``adjust``/``bonus`` entries
  (no till makes them) are capped per entry and per store and day. Each adjustment, and each
  refusal, is kept in ``store_loyalty_audit``; a refused entry is a dead letter.
"""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
import sys
from typing import Any

from online_store.db import now_iso
from sync import contract

ADJUST_CAP = 1_000
"""Most points one ``adjust`` or ``bonus`` entry of a store may move, either way."""
DAILY_ADJUST_CAP = 5_000
"""Most points a store's adjustments may move in one (UTC) day, all members together."""
PURCHASE_CAP = 100_000
"""Most points one purchase may earn (a sale of 1,000 EUR at the gold tier earns 1,500)."""


class Refused(Exception):
    """An up-event a store is not allowed to send: dead-lettered, never applied."""


# -- backfill tokens ------------------------------------------------------------------------


def store_token(master: str, store_id: str) -> str:
    """The backfill token of one store, derived from the master (nothing to store)."""
    mac = hmac.new(master.encode(), f"backfill:{store_id}".encode(), hashlib.sha256)
    return f"pbf_{store_id}_{mac.hexdigest()[:40]}"


def backfill_scope(master: str, stores: list[str], given: str) -> list[str] | None:
    """The sources the bearer ``given`` may read, or None for no valid token at all."""
    if not given or not master:
        return None
    if hmac.compare_digest(given.encode(), master.encode()):
        return [contract.CHAIN_SOURCE]
    store_id = given.removeprefix("pbf_").rpartition("_")[0]
    if store_id not in stores:
        return None
    if not hmac.compare_digest(given.encode(), store_token(master, store_id).encode()):
        return None
    # contract 1.1: and its own up-stream as received (a restored box recovers its past)
    return [
        contract.CHAIN_SOURCE,
        contract.store_down_source(store_id),
        contract.up_source(store_id),
    ]


# -- up-events ------------------------------------------------------------------------------


def check_pickup(conn: sqlite3.Connection, store_id: str, data: dict[str, Any]) -> None:
    row = conn.execute(
        "SELECT store_id FROM orders WHERE order_id = ?", (data.get("order_id"),)
    ).fetchone()
    if row is not None and row["store_id"] != store_id:
        raise Refused(
            f"pickup.updated from store {store_id} for order {data.get('order_id')} of store "
            f"{row['store_id']}"
        )


def _audit(conn: sqlite3.Connection, store_id: str, d: dict[str, Any], outcome: str) -> None:
    conn.execute(
        "INSERT INTO store_loyalty_audit (store_id, entry_id, at, customer_id, points, reason, "
        "outcome) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (store_id, entry_id) DO NOTHING",
        (
            store_id,
            str(d.get("entry_id")),
            now_iso(),
            d.get("customer_id"),
            d.get("points"),
            d.get("reason"),
            outcome[:500],
        ),
    )


def loyalty_entry(conn: sqlite3.Connection, store_id: str, d: dict[str, Any]) -> dict[str, Any]:
    """The entry as it is kept: the topic's store, checked against the caps (or Refused)."""
    entry = {**d, "channel": "store", "store_id": store_id}
    points, reason = int(d["points"]), d["reason"]
    problem = None
    if reason == "purchase":
        sale = conn.execute(
            "SELECT store_id FROM purchases WHERE purchase_id = ?", (d.get("ref"),)
        ).fetchone()
        if not 0 < points <= PURCHASE_CAP:
            problem = f"purchase points must be 1 to {PURCHASE_CAP}"
        elif sale is None or sale["store_id"] != store_id:
            problem = f"purchase points for {d.get('ref')!r}, which is no sale of {store_id}"
    elif reason in ("redeem", "expire"):
        if points >= 0:
            problem = f"{reason} entries take points away"
    else:  # adjust, bonus
        used = conn.execute(
            "SELECT COALESCE(SUM(ABS(points)), 0) FROM store_loyalty_audit WHERE store_id = ? "
            "AND outcome = 'applied' AND reason IN ('adjust', 'bonus') AND at LIKE ?",
            (store_id, now_iso()[:10] + "%"),
        ).fetchone()[0]
        if abs(points) > ADJUST_CAP:
            problem = f"an adjustment moves at most {ADJUST_CAP} points"
        elif used + abs(points) > DAILY_ADJUST_CAP:
            problem = f"store {store_id} has used its {DAILY_ADJUST_CAP} adjustment points today"
    if problem is not None:
        _audit(conn, store_id, d, f"refused: {problem}")
        raise Refused(problem)
    if reason in ("adjust", "bonus"):
        _audit(conn, store_id, d, "applied")
    return entry


def redemption(store_id: str, d: dict[str, Any]) -> dict[str, Any]:
    return {**d, "channel": "store", "store_id": store_id}


def main(argv: list[str] | None = None) -> int:
    """``python -m online_store.auth token STORE_ID [--master-file F]``: a store's token."""
    import argparse
    import os

    p = argparse.ArgumentParser(prog="python -m online_store.auth")
    sub = p.add_subparsers(dest="command", required=True)
    tok = sub.add_parser("token", help="print the backfill token of one store")
    tok.add_argument("store_id")
    tok.add_argument("--master-file", help="file holding the master token (else $MASTER_TOKEN)")
    args = p.parse_args(argv)
    if args.master_file:
        with open(args.master_file, encoding="utf-8") as fh:
            master = fh.read().strip()
    else:
        master = os.environ.get("MASTER_TOKEN", "")
    if not master:
        print("give the master token in --master-file or $MASTER_TOKEN", file=sys.stderr)
        return 2
    print(store_token(master, args.store_id))
    return 0


if __name__ == "__main__":
    sys.exit(main())
