"""The online-store side: its own SQLite database (never the edge's).

Same rules as the store's database, for the same reasons: WAL so the web pages read while
the MQTT worker writes, ``synchronous=FULL`` so a committed event is on disk before anyone
hears of it, and every write opened with ``BEGIN IMMEDIATE`` (a deferred transaction that
reads then writes can fail with "database is locked" without waiting, cpython #124510).
Several online-store instances may share one database file: the write lock is what keeps
their sequences and dedupe records consistent.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from online_store import campaign_schema

SCHEMA = """
-- Outgoing streams: one row per source we publish (/web/chain, /web/stores/{id}).
CREATE TABLE IF NOT EXISTS streams (
    source TEXT PRIMARY KEY,
    last_sequence INTEGER NOT NULL
);
-- Every event we publish, kept for ever: the backfill endpoint serves it from here, and the
-- publisher sends the rows with published_at NULL (marked only after the broker's PUBACK).
CREATE TABLE IF NOT EXISTS events (
    source TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    time TEXT NOT NULL,
    data TEXT NOT NULL,
    published_at TEXT,
    PRIMARY KEY (source, sequence)
);
CREATE INDEX IF NOT EXISTS events_unpublished ON events (published_at)
    WHERE published_at IS NULL;

-- Incoming up-streams, one per store: the last sequence applied without a hole, what the
-- store's retained status announced, and when we last asked for a replay.
CREATE TABLE IF NOT EXISTS up_streams (
    store_id TEXT PRIMARY KEY,
    last_sequence INTEGER NOT NULL DEFAULT 0,
    announced_sequence INTEGER NOT NULL DEFAULT 0,
    behind_since REAL,
    replay_after INTEGER,
    replay_requested_at REAL
);
-- The dedupe record: (source, id) of every up-event applied (or dead-lettered).
CREATE TABLE IF NOT EXISTS received (
    source TEXT NOT NULL,
    id TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    type TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (source, id)
);
-- Up-events that arrived after a hole: held until the missing ones come, then applied in order.
CREATE TABLE IF NOT EXISTS pending_up (
    store_id TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    topic TEXT NOT NULL,
    payload TEXT NOT NULL,
    PRIMARY KEY (store_id, sequence)
);
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY,
    topic TEXT NOT NULL,
    payload TEXT NOT NULL,
    reason TEXT NOT NULL,
    received_at TEXT NOT NULL
);
-- One instance at a time publishes (so events leave in order, once): it holds this lease.
CREATE TABLE IF NOT EXISTS leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);

-- The shop itself.
CREATE TABLE IF NOT EXISTS customers (
    customer_id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    loyalty_card TEXT UNIQUE,
    first_name TEXT,
    last_name TEXT,
    email TEXT,
    phone TEXT,
    tier TEXT NOT NULL DEFAULT 'standard',
    locale TEXT NOT NULL DEFAULT 'fr',
    enrolled_in TEXT
);
CREATE TABLE IF NOT EXISTS products (
    sku TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    name TEXT NOT NULL,
    barcode TEXT,
    price INTEGER NOT NULL,
    currency TEXT NOT NULL,
    active INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS orders (
    order_id TEXT PRIMARY KEY,
    order_number TEXT NOT NULL UNIQUE,
    store_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    pickup_code TEXT NOT NULL,
    currency TEXT NOT NULL,
    total INTEGER NOT NULL,
    discount INTEGER NOT NULL DEFAULT 0,
    paid INTEGER NOT NULL,
    lines TEXT NOT NULL,
    placed_at TEXT NOT NULL,
    pickup_by TEXT NOT NULL,
    cancelled_reason TEXT,
    pickup_status TEXT,
    pickup_updated_at TEXT
);
CREATE TABLE IF NOT EXISTS purchases (
    purchase_id TEXT PRIMARY KEY,
    customer_id TEXT,
    channel TEXT NOT NULL,
    store_id TEXT,
    occurred_at TEXT NOT NULL,
    currency TEXT NOT NULL,
    total INTEGER NOT NULL,
    lines TEXT NOT NULL,
    points_earned INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS purchases_customer ON purchases (customer_id, occurred_at);
CREATE TABLE IF NOT EXISTS loyalty_entries (
    entry_id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL,
    points INTEGER NOT NULL,
    reason TEXT NOT NULL,
    ref TEXT,
    channel TEXT NOT NULL,
    store_id TEXT,
    occurred_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS loyalty_customer ON loyalty_entries (customer_id);
CREATE TABLE IF NOT EXISTS offers (
    offer_id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    title TEXT NOT NULL,
    kind TEXT NOT NULL,
    value INTEGER NOT NULL,
    min_total INTEGER NOT NULL,
    skus TEXT NOT NULL,
    valid_from TEXT NOT NULL,
    valid_until TEXT NOT NULL,
    active INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS coupons (
    coupon_id TEXT PRIMARY KEY,
    offer_id TEXT NOT NULL,
    code TEXT NOT NULL UNIQUE,
    customer_id TEXT,
    max_uses INTEGER NOT NULL,
    issued_at TEXT NOT NULL,
    channel TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS redemptions (
    redemption_id TEXT PRIMARY KEY,
    coupon_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    store_id TEXT,
    ref TEXT NOT NULL,
    discount INTEGER NOT NULL,
    occurred_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS redemptions_coupon ON redemptions (coupon_id);
-- The "e-mails" we send: written here and shown on the sent-messages page.
CREATE TABLE IF NOT EXISTS sent_messages (
    id INTEGER PRIMARY KEY,
    to_address TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    code TEXT,
    sent_at TEXT NOT NULL
);
-- Each store's stock, from its stock.changed (online_store/stock.py): never older over newer.
CREATE TABLE IF NOT EXISTS store_stock (
    store_id TEXT NOT NULL,
    sku TEXT NOT NULL,
    on_hand INTEGER NOT NULL,
    reserved INTEGER NOT NULL,
    available INTEGER NOT NULL,
    version INTEGER NOT NULL,
    reason TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (store_id, sku)
);
-- Contract 1.1: each store's own up-stream as received (kept at least 90 days), served on
-- the backfill endpoint as stores/{id}/up so that a restored or replaced box recovers its past.
CREATE TABLE IF NOT EXISTS up_events (
    store_id TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    id TEXT NOT NULL,
    type TEXT NOT NULL,
    time TEXT NOT NULL,
    data TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (store_id, sequence)
);
CREATE INDEX IF NOT EXISTS received_sequence ON received (source, sequence);

-- issue 19: every adjustment a store sends, and every loyalty entry refused (online_store.auth)
CREATE TABLE IF NOT EXISTS store_loyalty_audit (
    store_id TEXT NOT NULL,
    entry_id TEXT NOT NULL,
    at TEXT NOT NULL,
    customer_id TEXT,
    points INTEGER,
    reason TEXT,
    outcome TEXT NOT NULL,
    PRIMARY KEY (store_id, entry_id)
);
-- Issue 16: which purchase is which click-and-collect order (orders.py), and the returns of
-- every channel (returns.py).
CREATE TABLE IF NOT EXISTS purchase_orders (
    purchase_id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL,
    fulfilment TEXT NOT NULL,
    paid_by TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS purchase_orders_order ON purchase_orders (order_id);
CREATE TABLE IF NOT EXISTS returns (
    return_id TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    store_id TEXT,
    original_kind TEXT NOT NULL,
    original_id TEXT NOT NULL,
    purchase_id TEXT,
    customer_id TEXT,
    occurred_at TEXT NOT NULL,
    currency TEXT NOT NULL,
    total_refunded INTEGER NOT NULL,
    points_reversed INTEGER NOT NULL,
    points_restored INTEGER NOT NULL,
    reason TEXT NOT NULL,
    lines TEXT NOT NULL,
    refunds TEXT NOT NULL,
    exchange_of TEXT
);
CREATE INDEX IF NOT EXISTS returns_original ON returns (original_id);
CREATE INDEX IF NOT EXISTS returns_customer ON returns (customer_id);
-- The fleet view (fleet.py): each store's last retained status as it published it, when its
-- link state last changed, and how many duplicate up-events of it were dropped.
CREATE TABLE IF NOT EXISTS store_status (
    store_id TEXT PRIMARY KEY,
    online INTEGER NOT NULL,
    status_time TEXT NOT NULL,
    received_at REAL NOT NULL,
    changed_at REAL NOT NULL,
    payload TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS up_duplicates (
    store_id TEXT PRIMARY KEY,
    duplicates INTEGER NOT NULL
);
"""


def now_iso() -> str:
    """UTC, RFC 3339, to the millisecond: the contract's time format."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def connect(path: str | Path) -> sqlite3.Connection:
    """A connection with the house pragmas; ``isolation_level=None``: we open transactions.

    ``postgresql://…`` instead of a file: the PostgreSQL adapter (``pg.py``), for several
    instances on several machines; it speaks to the rest of the code as this connection does.
    """
    if str(path).startswith(("postgresql://", "postgres://")):
        from online_store import pg

        return pg.Connection(str(path))  # type: ignore[return-value]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
    conn.row_factory = sqlite3.Row
    for pragma in (
        "PRAGMA journal_mode=WAL",
        "PRAGMA synchronous=FULL",
        "PRAGMA busy_timeout=10000",
    ):
        conn.execute(pragma)
    return conn


def create_schema(conn: sqlite3.Connection) -> None:
    """Create what is missing (a reference service: one idempotent schema, no migrations)."""
    if not isinstance(conn, sqlite3.Connection):
        from online_store import pg

        pg.create_schema(conn, SCHEMA + campaign_schema.SCHEMA)
        return
    with write(conn):
        for statement in (SCHEMA + campaign_schema.SCHEMA).split(";"):
            if statement.strip():
                conn.execute(statement)


@contextmanager
def write(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction, BEGIN IMMEDIATE, committed or rolled back whole."""
    for attempt in range(50):
        try:
            conn.execute("BEGIN IMMEDIATE")
            break
        except sqlite3.OperationalError as exc:
            if ("locked" not in str(exc) and "busy" not in str(exc)) or attempt == 49:
                raise
            time.sleep(0.05)
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")


def next_counter(conn: sqlite3.Connection, name: str, start: int) -> int:
    """A number that grows by one per call (order numbers); caller holds the write lock."""
    row = conn.execute(
        "INSERT INTO counters (name, value) VALUES (?, ?) "
        "ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value",
        (name, start),
    ).fetchone()
    return int(row[0])
