-- The first schema of the store database: members, one web+store purchase history, the
-- loyalty ledger, products, store sales, idempotency, the outbox and inbox of the sync
-- contract, tokens, staff and the audit log. Amounts are integers in minor units.

CREATE TABLE customers (
    customer_id   TEXT PRIMARY KEY,
    loyalty_card  TEXT UNIQUE,
    first_name    TEXT,
    last_name     TEXT,
    email         TEXT,
    phone         TEXT,
    tier          TEXT NOT NULL DEFAULT 'standard',
    locale        TEXT NOT NULL DEFAULT 'fr',
    version       INTEGER NOT NULL DEFAULT 0,
    origin        TEXT NOT NULL DEFAULT 'web' CHECK (origin IN ('web', 'store')),
    erased_at     TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX customers_phone ON customers (phone) WHERE phone IS NOT NULL;

-- One history for both channels: web purchases come down, store sales are written here
-- by the edge itself (purchase_id = sale_id), and their echo from the chain is ignored.
CREATE TABLE purchases (
    purchase_id    TEXT PRIMARY KEY,
    customer_id    TEXT,
    channel        TEXT NOT NULL CHECK (channel IN ('web', 'store')),
    store_id       TEXT,
    occurred_at    TEXT NOT NULL,
    currency       TEXT NOT NULL,
    total          INTEGER NOT NULL,
    points_earned  INTEGER NOT NULL DEFAULT 0,
    origin         TEXT NOT NULL CHECK (origin IN ('local', 'down')),
    recorded_at    TEXT NOT NULL
);
CREATE INDEX purchases_customer ON purchases (customer_id, occurred_at DESC, purchase_id DESC);

CREATE TABLE purchase_lines (
    purchase_id  TEXT NOT NULL REFERENCES purchases (purchase_id) ON DELETE CASCADE,
    line_no      INTEGER NOT NULL,
    sku          TEXT NOT NULL,
    name         TEXT NOT NULL,
    qty          INTEGER NOT NULL CHECK (qty > 0),
    unit_price   INTEGER NOT NULL CHECK (unit_price >= 0),
    PRIMARY KEY (purchase_id, line_no)
) WITHOUT ROWID;

-- Append-only: a balance is SUM(points), never a counter that a retry could double.
CREATE TABLE loyalty_entries (
    entry_id     TEXT PRIMARY KEY,
    customer_id  TEXT NOT NULL,
    points       INTEGER NOT NULL,
    reason       TEXT NOT NULL CHECK (reason IN ('purchase', 'redeem', 'adjust', 'bonus', 'expire')),
    ref          TEXT,
    channel      TEXT NOT NULL,
    store_id     TEXT,
    occurred_at  TEXT NOT NULL,
    origin       TEXT NOT NULL CHECK (origin IN ('local', 'down')),
    recorded_at  TEXT NOT NULL
);
CREATE INDEX loyalty_entries_customer ON loyalty_entries (customer_id, points);
CREATE INDEX loyalty_entries_redeem_day ON loyalty_entries (customer_id, reason, occurred_at);

CREATE TABLE products (
    sku         TEXT PRIMARY KEY,
    version     INTEGER NOT NULL DEFAULT 0,
    name        TEXT NOT NULL,
    barcode     TEXT,
    price       INTEGER NOT NULL CHECK (price >= 0),
    currency    TEXT NOT NULL,
    active      INTEGER NOT NULL DEFAULT 1,
    updated_at  TEXT NOT NULL
);
CREATE INDEX products_barcode ON products (barcode) WHERE barcode IS NOT NULL;
CREATE INDEX products_name ON products (name COLLATE NOCASE);

CREATE TABLE sales (
    sale_id          TEXT PRIMARY KEY REFERENCES purchases (purchase_id),
    terminal_id      TEXT NOT NULL,
    cashier_id       TEXT,
    customer_id      TEXT,
    occurred_at      TEXT NOT NULL,
    currency         TEXT NOT NULL,
    subtotal         INTEGER NOT NULL,
    discount         INTEGER NOT NULL DEFAULT 0,
    points_value     INTEGER NOT NULL DEFAULT 0,
    total            INTEGER NOT NULL,
    points_earned    INTEGER NOT NULL DEFAULT 0,
    points_redeemed  INTEGER NOT NULL DEFAULT 0,
    payment_method   TEXT NOT NULL DEFAULT 'card',
    locale           TEXT
);

-- A POS retry with the same key gets the first answer back instead of a second sale.
CREATE TABLE idempotency_keys (
    scope         TEXT NOT NULL,
    key           TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    status        INTEGER NOT NULL,
    response      TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (scope, key)
) WITHOUT ROWID;

-- Up-events (CloudEvents), written in the transaction of the change they announce.
-- sequence grows by exactly one per source; sent_at is set only after the broker's PUBACK.
CREATE TABLE outbox (
    source      TEXT NOT NULL,
    sequence    INTEGER NOT NULL,
    id          TEXT NOT NULL UNIQUE,
    type        TEXT NOT NULL,
    time        TEXT NOT NULL,
    data        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    sent_at     TEXT,
    attempts    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (source, sequence)
);
CREATE INDEX outbox_unsent ON outbox (source, sequence) WHERE sent_at IS NULL;

-- The last sequence handed out per up-source (kept apart from outbox so purging old rows
-- never makes a sequence number be used twice).
CREATE TABLE outbox_streams (
    source         TEXT PRIMARY KEY,
    last_sequence  INTEGER NOT NULL
);

-- Down-events already applied or dead-lettered: (source, id) is the dedupe key.
CREATE TABLE inbox (
    source      TEXT NOT NULL,
    id          TEXT NOT NULL,
    sequence    INTEGER,
    type        TEXT,
    outcome     TEXT NOT NULL CHECK (outcome IN ('applied', 'ignored', 'dead')),
    applied_at  TEXT NOT NULL,
    PRIMARY KEY (source, id)
) WITHOUT ROWID;

-- Per down-source: the last sequence applied in order, and the highest announced by the
-- online store's retained status (for tail gaps).
CREATE TABLE inbox_streams (
    source            TEXT PRIMARY KEY,
    last_sequence     INTEGER NOT NULL DEFAULT 0,
    remote_sequence   INTEGER NOT NULL DEFAULT 0,
    gaps_fetched      INTEGER NOT NULL DEFAULT 0,
    last_applied_at   TEXT
);

-- Events that arrived ahead of a gap wait here (durably, so they can be acknowledged).
CREATE TABLE inbox_pending (
    source       TEXT NOT NULL,
    sequence     INTEGER NOT NULL,
    id           TEXT NOT NULL,
    payload      TEXT NOT NULL,
    received_at  TEXT NOT NULL,
    PRIMARY KEY (source, sequence)
);

CREATE TABLE dead_letters (
    dead_id      INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at  TEXT NOT NULL,
    topic        TEXT,
    source       TEXT,
    event_id     TEXT,
    sequence     INTEGER,
    reason       TEXT NOT NULL,
    payload      TEXT
);

CREATE TABLE api_tokens (
    name        TEXT PRIMARY KEY,
    role        TEXT NOT NULL CHECK (role IN ('kiosk', 'pos', 'staff', 'admin')),
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);

CREATE TABLE staff (
    staff_id    TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    pin_hash    TEXT NOT NULL,
    role        TEXT NOT NULL DEFAULT 'staff' CHECK (role IN ('staff', 'pos', 'admin')),
    is_manager  INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL,
    disabled_at TEXT
);

CREATE TABLE audit_log (
    audit_id  INTEGER PRIMARY KEY AUTOINCREMENT,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    role      TEXT,
    action    TEXT NOT NULL,
    target    TEXT,
    detail    TEXT
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

-- Small shared state between processes (link status, last sync time, counters).
CREATE TABLE sync_state (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
