-- Click-and-collect orders at this store (issue 4): what order.placed brought down, where the
-- order is in its lifecycle, and what guards the handover (wrong-code counter, lock).
-- Times are RFC 3339 UTC strings in one format (now_iso's), so they sort as text.

CREATE TABLE pickup_orders (
    order_id         TEXT PRIMARY KEY,
    order_number     TEXT NOT NULL UNIQUE,      -- what the shopper sees, e.g. W-100234
    customer_id      TEXT,
    customer_name    TEXT NOT NULL,
    code_hash        TEXT NOT NULL,             -- SHA-256 of order_id:pickup_code, never the code
    currency         TEXT NOT NULL,
    total            INTEGER NOT NULL CHECK (total >= 0),
    paid             INTEGER NOT NULL,          -- paid online; else the shopper pays in store
    placed_at        TEXT NOT NULL,
    pickup_by        TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN
                     ('received', 'preparing', 'ready', 'collected', 'cancelled', 'expired')),
    checked_in_at    TEXT,
    checked_in_by    TEXT,
    wrong_codes      INTEGER NOT NULL DEFAULT 0,
    locked           INTEGER NOT NULL DEFAULT 0,
    locked_at        TEXT,
    cancel_reason    TEXT,
    cancelled_by     TEXT CHECK (cancelled_by IN ('web', 'staff')),
    put_back         INTEGER NOT NULL DEFAULT 0, -- goods were staged: the screen says to shelve them
    paid_in_store    INTEGER NOT NULL DEFAULT 0,
    ready_at         TEXT,
    collected_at     TEXT,
    collected_by     TEXT,
    closed_at        TEXT,                      -- collected, cancelled or expired
    received_at      TEXT NOT NULL,             -- when the store learnt of it
    updated_at       TEXT NOT NULL,
    updated_by       TEXT
);
CREATE INDEX pickup_orders_board ON pickup_orders (status, pickup_by);
CREATE INDEX pickup_orders_collected ON pickup_orders (collected_at) WHERE collected_at IS NOT NULL;

CREATE TABLE pickup_lines (
    order_id    TEXT NOT NULL REFERENCES pickup_orders (order_id) ON DELETE CASCADE,
    line_no     INTEGER NOT NULL,
    sku         TEXT NOT NULL,
    name        TEXT NOT NULL,
    qty         INTEGER NOT NULL CHECK (qty > 0),
    unit_price  INTEGER NOT NULL CHECK (unit_price >= 0),
    PRIMARY KEY (order_id, line_no)
) WITHOUT ROWID;

-- order.cancelled that arrived before its order.placed: the order arrives already cancelled.
CREATE TABLE pickup_tombstones (
    order_id     TEXT PRIMARY KEY,
    reason       TEXT NOT NULL,
    received_at  TEXT NOT NULL
);
