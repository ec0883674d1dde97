-- Store stock (issue 17): per SKU what is on the shelves, what is held for click-and-collect
-- orders, and every movement that changed either (who, when, why), so the stock of a SKU at
-- any moment can be explained. Stock changes only through a movement, written in the same
-- transaction as its cause (a sale, a return, a receipt, an adjustment, a count, an order).

CREATE TABLE stock_levels (
    sku             TEXT PRIMARY KEY,
    on_hand         INTEGER NOT NULL DEFAULT 0,   -- may go negative: the shelf is the truth
    reserved        INTEGER NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    version         INTEGER NOT NULL DEFAULT 0,   -- grows with every change of this SKU
    last_reason     TEXT,
    updated_at      TEXT NOT NULL,
    counted_at      TEXT,
    -- Coalescing of stock.changed: the outbox sequence of this SKU's last event, and whether
    -- a newer state waits for that event to be sent (edge.stock.announce).
    event_sequence  INTEGER,
    dirty           INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX stock_levels_dirty ON stock_levels (sku) WHERE dirty = 1;

-- Append-only: the explanation of every figure.
CREATE TABLE stock_movements (
    movement_id     INTEGER PRIMARY KEY AUTOINCREMENT,
    sku             TEXT NOT NULL,
    reason          TEXT NOT NULL CHECK (reason IN ('sale', 'return', 'receipt', 'adjustment',
                    'count', 'reservation', 'release', 'collect')),
    on_hand_delta   INTEGER NOT NULL,
    reserved_delta  INTEGER NOT NULL,
    on_hand_after   INTEGER NOT NULL,
    reserved_after  INTEGER NOT NULL,
    version         INTEGER NOT NULL,
    ref             TEXT,      -- the sale, return, order or delivery note
    note            TEXT,      -- an adjustment's reason (damaged, stolen, found, correction)
    actor           TEXT NOT NULL,
    occurred_at     TEXT NOT NULL
);
CREATE INDEX stock_movements_sku ON stock_movements (sku, movement_id);
CREATE TRIGGER stock_movements_no_update BEFORE UPDATE ON stock_movements
BEGIN
    SELECT RAISE(ABORT, 'stock_movements is append-only');
END;
CREATE TRIGGER stock_movements_no_delete BEFORE DELETE ON stock_movements
BEGIN
    SELECT RAISE(ABORT, 'stock_movements is append-only');
END;

-- What each click-and-collect order holds, per SKU, until it is released or collected.
CREATE TABLE stock_reservations (
    order_id     TEXT NOT NULL,
    sku          TEXT NOT NULL,
    qty          INTEGER NOT NULL CHECK (qty > 0),
    reserved_at  TEXT NOT NULL,
    closed       TEXT CHECK (closed IN ('released', 'collected')),
    closed_at    TEXT,
    PRIMARY KEY (order_id, sku)
) WITHOUT ROWID;
CREATE INDEX stock_reservations_open ON stock_reservations (sku, reserved_at)
    WHERE closed IS NULL;

-- Other stores' stock, from the stock.changed the online store re-publishes on the chain:
-- what the kiosk shows as "3 at S002".
CREATE TABLE stock_elsewhere (
    store_id     TEXT NOT NULL,
    sku          TEXT NOT NULL,
    on_hand      INTEGER NOT NULL,
    reserved     INTEGER NOT NULL,
    available    INTEGER NOT NULL,
    version      INTEGER NOT NULL,
    occurred_at  TEXT NOT NULL,
    received_at  TEXT NOT NULL,
    PRIMARY KEY (store_id, sku)
) WITHOUT ROWID;
CREATE INDEX stock_elsewhere_sku ON stock_elsewhere (sku);
