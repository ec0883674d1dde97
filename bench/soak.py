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

``python -m bench.soak --minutes 10`` (``make soak``, ``SOAK_MINUTES``); the CI runs a short
version (tests/sync/test_soak.py).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from online_store import db as web_db
from online_store.auth import store_token
from online_store.service import OnlineStore
from online_store.shop import ShopError

from edge.loyalty.rules import LoyaltyRules
from edge.sales import service as sales
from edge.sales.rules import NewSale, SaleLine
from edge.store import db
from sync import contract
from tests.support.broker import Broker, free_port
from tests.sync.support import _client as mqtt_client

STORE = "S001"
PREFIX = contract.DEFAULT_PREFIX
TOKEN = "soak-token"
SKUS = ("SKU-MUG", "SKU-CAFE-250", "SKU-THE-VERT")
FAULTS = ("kill_edge", "kill_store_broker", "cut_bridge", "backfill_down", "duplicates")


@dataclass
class Soak:
    workdir: Path
    seconds: float
    seed: int = 1
    log: list[str] = field(default_factory=list)
    sales: list[str] = field(default_factory=list)  # acknowledged sale ids
    orders: list[str] = field(default_factory=list)
    members: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.central = Broker(self.workdir / "central", max_queued=1_000_000).start()
        self.store = Broker(
            self.workdir / "store",
            max_queued=1_000_000,
            extra=(
                "connection chain\n"
                f"address 127.0.0.1:{self.central.port}\n"
                f"topic {PREFIX}/# both 1\n"
                "cleansession false\n"
                "restart_timeout 1 2\n"
            ),
        ).start()
        self.web_port = free_port()
        self.web = self._web()
        self.db_path = self.workdir / "edge.db"
        db.open_database(self.db_path).close()
        self.backup = self.workdir / "backup.db"
        self.edge: subprocess.Popen[bytes] | None = None
        self.edge_log = open(self.workdir / "edge.log", "ab")  # noqa: SIM115

    # -- the parts ------------------------------------------------------------------------

    def _web(self) -> OnlineStore:
        store = OnlineStore(
            str(self.workdir / "online.db"),
            f"mqtt://127.0.0.1:{self.central.port}",
            PREFIX,
            [STORE],
            TOKEN,
            gap_grace=1.0,
            replay_retry=5.0,
            status_interval=2.0,
        ).start()
        store.serve("127.0.0.1", self.web_port)
        return store

    def start_edge(self) -> None:
        env = dict(
            os.environ,
            PASSERELLE_STORE_ID=STORE,
            PASSERELLE_DB_PATH=str(self.db_path),
            PASSERELLE_MQTT_URL=f"mqtt://127.0.0.1:{self.store.port}",
            PASSERELLE_ONLINE_STORE_URL=f"http://127.0.0.1:{self.web_port}",
            PASSERELLE_ONLINE_STORE_TOKEN=store_token(TOKEN, STORE),  # its own (issue 19)
            PASSERELLE_SECRET_KEY="soak",
            PASSERELLE_ONLINE_STATUS_MAX_AGE="10",
        )
        self.edge = subprocess.Popen(
            [sys.executable, "-m", "edge.cli", "worker", "sync"],
            env=env,
            stdout=self.edge_log,
            stderr=subprocess.STDOUT,
        )

    def kill_edge(self) -> None:
        if self.edge is not None and self.edge.poll() is None:
            self.edge.send_signal(signal.SIGKILL)
            self.edge.wait(timeout=10)

    # -- load -------------------------------------------------------------------------------

    def web_activity(self) -> None:
        if len(self.members) < 6 or self.rng.random() < 0.1:
            made = self.web.upsert_customer(first_name="Soak", last_name=f"M{len(self.members)}")
            self.members.append(made["customer_id"])
            return
        who = self.rng.choice(self.members)
        try:
            if self.rng.random() < 0.5:
                order = self.web.place_order(who, STORE, {self.rng.choice(SKUS): 1}, paid=True)
                self.orders.append(order["order_id"])
            else:
                self.web.record_web_purchase(who, {self.rng.choice(SKUS): 1})
        except ShopError:
            pass  # refused by the shop (no stock left at the store): nothing to count

    def sale(self, conn: sqlite3.Connection) -> None:
        known = [
            r[0] for r in conn.execute("SELECT customer_id FROM customers WHERE erased_at IS NULL")
        ]
        products = {r[0] for r in conn.execute("SELECT sku FROM products")}
        if not known or not set(SKUS) <= products:
            return  # the members and the catalogue have not come down yet
        ctx = sales.SaleContext(
            store_id=STORE,
            source=contract.up_source(STORE),
            currency="EUR",
            rules=LoyaltyRules(),
            cashier_id="soak",
            role="pos",
            store_name="Soak",
        )
        sale = NewSale(
            terminal_id=f"pos-{self.rng.randint(1, 4)}",
            currency="EUR",
            customer_id=self.rng.choice(known),
            lines=(SaleLine(sku=self.rng.choice(SKUS), qty=1),),
        )
        body, _ = sales.record(conn, sale, ctx, scope="sale:soak", key=uuid.uuid4().hex)
        self.sales.append(str(body["sale_id"]))

    # -- faults -----------------------------------------------------------------------------

    def fault(self, conn: sqlite3.Connection, kind: str | None = None) -> sqlite3.Connection:
        kind = kind or self.rng.choice(FAULTS)
        self.log.append(kind)
        if kind == "kill_edge":
            self.kill_edge()
            time.sleep(self.rng.uniform(0.2, 2))
            self.start_edge()
        elif kind == "kill_store_broker":
            self.store.kill()
            time.sleep(self.rng.uniform(0.5, 3))
            self.store.start()
        elif kind == "cut_bridge":
            self.central.kill()
            time.sleep(self.rng.uniform(1, 5))
            self.central.start()
        elif kind == "backfill_down":
            self._backfill_down()
        elif kind == "duplicates":
            self._redeliver()
        elif kind == "restore":
            conn = self._restore(conn)
        return conn

    def _backfill_down(self) -> None:
        server = self.web._server
        if server is None:
            return
        server.shutdown()
        server.server_close()
        time.sleep(self.rng.uniform(2, 6))
        self.web.serve("127.0.0.1", self.web_port)

    def _redeliver(self) -> None:
        """The broker delivers some down-events again, twice, in another order."""
        events = self.web.events(f"stores/{STORE}")[-20:] + self.web.events("chain")[-20:]
        copies = events * 2
        self.rng.shuffle(copies)
        client = mqtt_client(f"soak-dup-{uuid.uuid4().hex[:6]}", self.store.port)
        try:
            for ev in copies:
                client.publish(
                    contract.down_topic_for(PREFIX, ev["source"], ev["type"]), json.dumps(ev), qos=1
                ).wait_for_publish(5)
        except (RuntimeError, ValueError):
            pass  # the broker went away meanwhile: these copies were optional anyway
        finally:
            client.disconnect()
            client.loop_stop()

    def _restore(self, conn: sqlite3.Connection) -> sqlite3.Connection:
        """The box is replaced by last night's backup, once what it held reached the online
        store (a sale never sent before the disk died is gone with it: no design helps)."""
        if not self.backup.exists():
            db.backup(conn, self.backup)  # "last night": the first restore has a fresh one
            self.log[-1] = "backup"
            return conn
        if not _wait(lambda: _drained(conn) and self._web_has_all(conn), 60):
            self.log[-1] = "restore skipped (not drained)"
            return conn
        self.kill_edge()
        conn.close()
        db.restore(self.backup, self.db_path)
        conn = db.connect(self.db_path)
        with db.write(conn):
            conn.execute(
                "INSERT INTO sync_state (key, value, updated_at) VALUES ('recovery_pending', "
                "'{}', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (db.now_iso(),),
            )
        self.start_edge()
        return conn

    def _ready(self, conn: sqlite3.Connection) -> bool:
        members = conn.execute("SELECT COUNT(*) FROM customers").fetchone()[0]
        products = {r[0] for r in conn.execute("SELECT sku FROM products")}
        return bool(members) and set(SKUS) <= products

    def _web_has_all(self, conn: sqlite3.Connection) -> bool:
        last = int(conn.execute("SELECT COALESCE(MAX(sequence), 0) FROM outbox").fetchone()[0])
        return self.web.up_sequence(STORE) >= last

    # -- the run ----------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        self.start_edge()
        conn = db.connect(self.db_path)
        for _ in range(3):
            self.web_activity()  # the first members
        # the clock starts once the store has its members and catalogue (the tills need them)
        _wait(lambda: self._ready(conn), 120)
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
        settled = _wait(lambda: self._settled(conn), 180)
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
        if not _drained(conn) or not self._web_has_all(conn) or not self.web.all_published():
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


def _drained(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0] == 0


def _wait(cond: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if cond():
                return True
        except sqlite3.Error:
            pass
        time.sleep(0.5)
    return False


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
