"""``make soak``: the edge and the reference online store for N minutes under random faults,
then a count of what each side holds (issue 18).

Parts, all real: two Mosquittos (one in the store, bridged to one playing the chain's
broker), the reference online store (``online_store.OnlineStore``, its HTTP backfill
endpoint and its MQTT worker) on the chain's broker, and the edge's sync worker as its own
process (``passerelle worker sync``) on the store's broker. This process plays the tills
(sales through ``edge.sales.service``, as the API calls it) and the web (members, paid
click-and-collect orders and web purchases through the online store's API).

Faults, one at random every few seconds: the sync worker SIGKILLed (and restarted), the
store's broker SIGKILLed, the bridge cut (the chain's broker SIGKILLed, the online store's
link with it), the backfill endpoint down for a while, down-events delivered again twice and
shuffled, and the store box "replaced" by last night's backup (restored with the recovery
flag, as ``passerelle db restore`` does) once everything it held had reached the online store.

At the end (faults stopped, everything given time to settle): every acknowledged sale is
present exactly once on both sides, every web order once on the edge's board, both ledgers
hold the same entries, and every member's balance is the same on both sides.

This module is the run and its count; the parts, the load (the tills, the web) and the
faults are in ``bench.soak_faults``, split off to keep each module under the layout's
limits and so that what the soak does and what it checks read apart.

``python -m bench.soak --minutes 10`` (``make soak``, ``SOAK_MINUTES``); the CI runs a short
version (tests/sync/test_soak.py).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from online_store import db as web_db

from bench.edge_api import Actor, contract, db, load_settings, stock
from bench.soak_faults import SKUS, STORE, SoakRig, drained, wait


class Soak(SoakRig):
    """The run: load and faults for ``seconds``, then everything settles and is counted."""

    # -- the run ----------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        self.start_edge()
        conn = db.connect(self.db_path)
        for _ in range(3):
            self.web_activity()  # the first members
        # the clock starts once the store has its members and catalogue (the tills need them)
        wait(lambda: self._ready(conn), 120)
        # the store's shelves: web orders for pickup here need its stock (stock.changed up)
        settings = load_settings(None, store_id=STORE, db_path=self.db_path, secret_key="soak")
        stock.receive(conn, dict.fromkeys(SKUS, 100_000), Actor("soak", "staff"), settings)
        start = time.monotonic()
        end = start + self.seconds
        next_fault = start + self.rng.uniform(3, 8)
        # whatever the dice say, one backup ("last night's") and one restore from it
        planned = [(start + self.seconds * 0.2, "backup"), (start + self.seconds * 0.6, "restore")]
        try:
            while time.monotonic() < end:
                self.web_activity()
                self.sale(conn)
                if planned and time.monotonic() >= planned[0][0]:
                    conn = self.fault(conn, "restore")  # the first makes the backup
                    planned.pop(0)
                elif time.monotonic() >= next_fault:
                    conn = self.fault(conn)
                    next_fault = time.monotonic() + self.rng.uniform(3, 10)
                time.sleep(self.rng.uniform(0.05, 0.3))
            return self.settle_and_count(conn)
        finally:
            conn.close()
            self.kill_edge()
            self.web.stop()
            self.store.kill()
            self.central.kill()
            self.edge_log.close()

    def settle_and_count(self, conn: sqlite3.Connection) -> dict[str, Any]:
        for b in (self.central, self.store):
            if not b.running:
                b.start()
        if self.edge is None or self.edge.poll() is not None:
            self.start_edge()
        settled = wait(lambda: self._settled(conn), 180)
        edge_sales = _counted(conn, "SELECT sale_id FROM sales")
        web_conn = web_db.connect(self.web.db_path)
        try:
            web_sales = _counted(
                web_conn, "SELECT purchase_id FROM purchases WHERE channel = 'store'"
            )
            web_ledger = _rows(
                web_conn, "SELECT entry_id, customer_id, points FROM loyalty_entries"
            )
        finally:
            web_conn.close()
        edge_orders = _counted(conn, "SELECT order_id FROM pickup_orders")
        edge_ledger = _rows(conn, "SELECT entry_id, customer_id, points FROM loyalty_entries")
        acked = set(self.sales)
        balances_edge = _balances(edge_ledger)
        balances_web = _balances(web_ledger)
        problems = {
            "sales_missing_at_edge": sorted(acked - set(edge_sales)),
            "sales_missing_online": sorted(acked - set(web_sales)),
            "sales_doubled": sorted(k for k, n in {**edge_sales, **web_sales}.items() if n > 1),
            "orders_missing_at_edge": sorted(set(self.orders) - set(edge_orders)),
            "ledger_only_at_edge": len(set(edge_ledger) - set(web_ledger)),
            "ledger_only_online": len(set(web_ledger) - set(edge_ledger)),
            "balances_differ": sorted(
                c
                for c in set(balances_edge) | set(balances_web)
                if balances_edge.get(c, 0) != balances_web.get(c, 0)
            ),
        }
        ok = settled and not any(problems.values())
        return {
            "ok": ok,
            "settled": settled,
            "seconds": self.seconds,
            "faults": self.log,
            "sales": len(acked),
            "orders": len(self.orders),
            "ledger_entries": len(edge_ledger),
            "problems": problems,
        }

    def _settled(self, conn: sqlite3.Connection) -> bool:
        if not drained(conn) or not self._web_has_all(conn) or not self.web.all_published():
            return False
        for stream, source in (
            ("chain", contract.CHAIN_SOURCE),
            (f"stores/{STORE}", contract.store_down_source(STORE)),
        ):
            row = conn.execute(
                "SELECT last_sequence FROM inbox_streams WHERE source = ?", (source,)
            ).fetchone()
            if row is None or row[0] < self.web.last_sequence(stream):
                return False
        return True


def _counted(conn: sqlite3.Connection, sql: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for (key,) in conn.execute(sql):
        out[key] = out.get(key, 0) + 1
    return out


def _rows(conn: sqlite3.Connection, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in conn.execute(sql)]


def _balances(entries: list[tuple[Any, ...]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for _entry, customer, points in entries:
        out[customer] = out.get(customer, 0) + int(points)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    p.add_argument("--minutes", type=float, default=float(os.environ.get("SOAK_MINUTES", 10)))
    p.add_argument("--seed", type=int, default=int(time.time()))
    p.add_argument("--workdir", help="keep the databases and logs here (default: a temp dir)")
    args = p.parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the backfill's request lines
    with tempfile.TemporaryDirectory(prefix="passerelle-soak-") as tmp:
        workdir = Path(args.workdir or tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        print(f"soak: {args.minutes} min, seed {args.seed}, in {workdir}", flush=True)
        result = Soak(workdir, args.minutes * 60, seed=args.seed).run()
    print(json.dumps(result, indent=2))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
