"""The soak's parts, its load and its faults (``make soak``, see ``bench.soak``).

What the soak *does* to the system is here; what it *checks* (the run's loop, the settling
and the count on both sides) is in ``bench.soak``. Split so that each half stays under the
layout's limits (tests/bench/test_layout.py) and reads on its own: a new fault is a change to
this module, a new invariant a change to ``bench.soak``.

``SoakRig`` starts the parts (two bridged Mosquittos, the reference online store, the edge's
sync worker as its own process), plays the tills and the web (``web_activity``, ``sale``) and
injects one fault at a time (``fault``). The edge and the sync are reached through
``bench.edge_api``, like everywhere in ``bench/``.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from online_store.auth import store_token
from online_store.service import OnlineStore
from online_store.shop import ShopError
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from bench.edge_api import (
    EDGE_CLI_MODULE,
    LoyaltyRules,
    NewSale,
    SaleLine,
    contract,
    db,
    sales,
)
from tests.support.broker import Broker, free_port

STORE = "S001"
PREFIX = contract.DEFAULT_PREFIX
TOKEN = "soak-token"
SKUS = ("SKU-MUG", "SKU-CAFE-250", "SKU-THE-VERT")
FAULTS = ("kill_edge", "kill_store_broker", "cut_bridge", "backfill_down", "duplicates")


@dataclass
class SoakRig:
    """The parts, the load and the faults; ``bench.soak.Soak`` adds the run and the count."""

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
            [sys.executable, "-m", EDGE_CLI_MODULE, "worker", "sync"],
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
        if not wait(lambda: drained(conn) and self._web_has_all(conn), 60):
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


def mqtt_client(client_id: str, port: int, **callbacks: Any) -> mqtt.Client:
    """A persistent-session MQTT 5 client on the store's broker, already looping; callbacks
    are set before it connects (the sync tests' client too, ``tests.sync.support``)."""
    c = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv5,
    )
    for name, fn in callbacks.items():
        setattr(c, name, fn)
    c.max_inflight_messages_set(100)
    c.reconnect_delay_set(1, 2)
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 3600
    c.connect_async("127.0.0.1", port, clean_start=False, properties=props)
    c.loop_start()
    return c


def drained(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0] == 0


def wait(cond: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if cond():
                return True
        except sqlite3.Error:
            pass
        time.sleep(0.5)
    return False
